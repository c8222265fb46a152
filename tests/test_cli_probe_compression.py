import json
from pathlib import Path

from tests.conftest import SMALL, run


def test_probe_simplify_names_the_smallest_model_and_writes_the_frontier(capsys, tmp_path):
    store = str(tmp_path / "runs.sqlite")
    args = ["probe", "simplify", *SMALL, "--budget", "quick", "--tolerance", "0.02"]
    code, out, _ = run(capsys, *args, "--store", store, "--json")
    assert code == 0
    result = json.loads(out)
    assert not result["reused"]
    best = result["smallest"]
    assert best["num_parameters"] <= result["original"]["num_parameters"]
    assert {p["method"] for p in result["points"]} >= {"magnitude", "lowrank", "narrower"}
    assert result["answer"] and result["essential"] and result["spec"]["tolerance"] == 0.02
    page = Path(result["report"]).read_text()
    assert "Accuracy against parameters" in page and "<img" in page
    assert "Smallest model within tolerance" in page
    code, out, _ = run(capsys, *args, "--store", store, "--json")
    assert code == 0 and json.loads(out)["reused"]
    code, out, _ = run(capsys, *args, "--store", store)
    assert code == 0 and "report:" in out and "over-parameterization" in out
    code, out, err = run(capsys, "probe", "simplify", "--budget", "huge", "--store", store)
    assert code == 2 and "budget" in err
