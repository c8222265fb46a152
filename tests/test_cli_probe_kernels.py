import json

from tests.conftest import run

SMALL = [
    "--data",
    "gaussian_mixture",
    "--data-opt",
    "num_train=120",
    "--data-opt",
    "num_test=40",
    "--model-opt",
    "width=12",
]


def test_probe_ntk_information_regions_json_and_pages(capsys, tmp_path):
    store = str(tmp_path / "runs.sqlite")
    code, out, _ = run(
        capsys,
        "probe",
        "ntk",
        *SMALL,
        "--limit",
        "30",
        "--test-limit",
        "20",
        "--store",
        store,
        "--json",
    )
    assert code == 0
    ntk = json.loads(out)
    assert ntk["plan"]["method"] == "structured" and ntk["num_inputs"] == 30
    assert 0 <= ntk["regression"]["ntk_accuracy"] <= 1 and ntk["lambda_max"] > 0
    page_path = tmp_path / "reports" / f"{ntk['id']}.html"
    page = page_path.read_text()
    assert "data:image/png;base64" in page and "Kernel regression" in page
    assert (tmp_path / ntk["figures"]["Kernel"]).stat().st_size > 1000
    # The picture is a stored artifact: a reused run and `occam report` keep it on the page.
    page_path.unlink()
    code, out, _ = run(
        capsys, "probe", "ntk", *SMALL, "--limit", "30", "--test-limit", "20",
        "--store", store, "--json",
    )  # fmt: skip
    assert code == 0 and json.loads(out)["reused"]
    assert page_path.read_text().count("data:image/png;base64") == 1
    page_path.unlink()
    assert run(capsys, "report", ntk["id"], "--store", store)[0] == 0
    assert page_path.read_text().count("data:image/png;base64") == 1

    code, out, _ = run(
        capsys,
        "probe",
        "regions",
        *SMALL,
        "--segments",
        "2",
        "--grid",
        "30",
        "--store",
        store,
        "--json",
    )
    assert code == 0
    regions = json.loads(out)
    assert len(regions["lines"]) == 2 and regions["plane"]["regions"] >= 1
    assert regions["line_bound"] == 13 * 13

    code, out, _ = run(
        capsys,
        "probe",
        "information",
        *SMALL,
        "--epochs",
        "2",
        "--limit",
        "100",
        "--store",
        store,
        "--json",
    )
    assert code == 0
    info = json.loads(out)
    assert [layer["layer"] for layer in info["layers"]] == ["features.2", "features.4", "output"]
    assert {r["epoch"] for r in info["records"]} == {0, 1, 2}


def test_regions_of_a_tanh_net_is_a_one_line_error(capsys, tmp_path):
    code, out, err = run(
        capsys,
        "probe",
        "regions",
        *SMALL,
        "--model-opt",
        "activation=tanh",
        "--store",
        str(tmp_path / "r.sqlite"),
        "--json",
    )
    assert code == 2 and "piecewise-linear" in err and "error" in json.loads(out)
