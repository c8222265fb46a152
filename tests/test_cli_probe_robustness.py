import json

from tests.conftest import run

SMALL = [
    "--data",
    "gaussian_mixture",
    "--data-opt",
    "dim=4",
    "--data-opt",
    "num_train=120",
    "--data-opt",
    "num_test=40",
    "--model-opt",
    "width=12",
]


def test_probe_robustness_json_page_and_text(capsys, tmp_path):
    store = str(tmp_path / "runs.sqlite")
    args = ["probe", "robustness", *SMALL, "--eps-max", "1.0", "--points", "3", "--steps", "5"]
    code, out, _ = run(capsys, *args, "--store", store, "--json")
    assert code == 0
    result = json.loads(out)
    assert result["eps"] == [0.0, 0.5, 1.0] and len(result["accuracy"]) == 3
    assert result["norm"] == "linf" and result["steps"] == 5 and result["n"] == 40
    assert result["accuracy"][-1] <= result["accuracy"][0]
    page = (tmp_path / "reports" / f"{result['id']}.html").read_text()
    assert "Accuracy under PGD" in page and "data:image/png;base64" in page
    assert (tmp_path / result["figures"]["Accuracy vs epsilon"]).stat().st_size > 1000
    # the same run, read back for people
    code, out, _ = run(capsys, *args, "--store", store)
    text = " ".join(out.split())  # the console wraps long lines
    assert code == 0 and "5-step ℓ∞ PGD on 40 test examples" in text
    assert f"ε=1: {result['accuracy'][-1]:.3f}" in text
    # the ℓ2 curve, and a clear error for a bad option
    code, out, _ = run(capsys, *args, "--norm", "l2", "--store", store, "--json")
    assert code == 0 and json.loads(out)["norm"] == "l2"
    code, out, err = run(capsys, *args, "--norm", "l1", "--store", store, "--json")
    assert code == 2 and "norm" in (err + out)
