import json

from tests.conftest import run

SMALL = [
    "--data",
    "gaussian_mixture",
    "--data-opt",
    "num_train=120",
    "--data-opt",
    "num_test=60",
    "--model-opt",
    "width=12",
]


def test_probe_baselines_json_page_reuse_and_refusals(capsys, tmp_path):
    store = str(tmp_path / "runs.sqlite")
    args = ["probe", "baselines", *SMALL, "--families", "linear,knn,nngp", "--store", store]
    code, out, _ = run(capsys, *args, "--json")
    assert code == 0
    result = json.loads(out)
    assert [f["name"] for f in result["fits"]] == ["linear", "knn", "nngp"]
    assert result["num_train"] + result["num_validation"] == 120 and result["num_test"] == 60
    for fit in result["fits"]:
        assert fit["num_parameters"] > 0 and fit["fit_seconds"] >= 0
        assert 0 <= fit["paired"]["p_value"] <= 1
    assert result["named"] in {"linear", "knn", "nngp"} and result["answer"]
    page = (tmp_path / "reports" / f"{result['id']}.html").read_text()
    assert "Every family" in page and "data:image/png;base64" in page
    # the same spec again is the stored run; for people, one line per family and the answer
    code, out, _ = run(capsys, *args)
    assert code == 0 and "k-nearest neighbours (k " in out and result["answer"][:40] in out
    code, out, _ = run(capsys, *args, "--json")
    assert json.loads(out)["reused"]
    # unknown names and a bad split are refused with what to do
    code, out, err = run(capsys, "probe", "baselines", *SMALL, "--families", "svm", "--json")
    assert code == 2 and "unknown families" in json.loads(out)["error"]
    code, out, err = run(capsys, "probe", "baselines", *SMALL, "--validation", "0", "--json")
    assert code == 2 and "validation" in json.loads(out)["error"]
