import json

from tests.conftest import run

PLANE = [
    "--data",
    "gaussian_mixture",
    "--data-opt",
    "dim=2",
    "--data-opt",
    "num_train=120",
    "--data-opt",
    "num_test=40",
    "--model-opt",
    "width=12",
]


def test_probe_topology_json_page_and_slices(capsys, tmp_path):
    store = str(tmp_path / "runs.sqlite")
    code, out, _ = run(
        capsys, "probe", "topology", *PLANE, "--grid", "64", "--store", store, "--json"
    )
    assert code == 0
    result = json.loads(out)
    assert len(result["betti"]) == 2 and result["betti_sum"] == sum(result["betti"]) >= 1
    assert result["grid"] == 64 and not result["sliced"] and result["output"] == "class 0 vs rest"
    assert 0 < result["positive_fraction"] < 1
    page = (tmp_path / "reports" / f"{result['id']}.html").read_text()
    assert "Betti numbers" in page and "data:image/png;base64" in page
    assert (tmp_path / result["figures"]["Region"]).stat().st_size > 1000
    # the same run, read back for people: counts with their nouns in the right number
    code, out, _ = run(capsys, "probe", "topology", *PLANE, "--grid", "64", "--store", store)
    b0, b1 = result["betti"]
    assert code == 0 and f"{b0} component{'s' * (b0 != 1)}, {b1} hole{'s' * (b1 != 1)};" in out

    # 10 inputs: a clear error without a slice, a 2-D slice with one
    wide = ["--data", "gaussian_mixture", "--data-opt", "num_train=60", "--data-opt", "num_test=30"]
    code, out, err = run(capsys, "probe", "topology", *wide, "--store", store, "--json")
    assert code == 2 and "slice" in err and "error" in json.loads(out)
    code, out, _ = run(
        capsys, "probe", "topology", *wide, "--slice", "pca", "--grid", "32", "--store", store,
        "--json",
    )  # fmt: skip
    assert code == 0 and json.loads(out)["sliced"] and len(json.loads(out)["betti"]) == 2
