from occamlab.experiments import run_experiment
from occamlab.experiments.layer_robustness import LayerRobustness, claims
from occamlab.specs import make_spec
from occamlab.store import Store


def row(layer, init, early, rerand):
    return {"layer": layer, "init": init, "early": early, "rerandomized": rerand}


def test_claims_follow_the_numbers():
    paper = [
        row("l1", 0.9, 0.6, 0.9),
        row("l2", 0.4, 0.3, 0.8),
        row("l3", 0.36, 0.35, 0.7),
        row("head", 0.35, 0.34, 0.6),
    ]
    assert [c.passed for c in claims(paper, 0.33, seeds=3)] == [True, True]
    flat = [
        row("l1", 0.4, 0.3, 0.3),
        row("l2", 0.4, 0.3, 0.3),
        row("l3", 0.6, 0.3, 0.3),
        row("head", 0.5, 0.3, 0.3),
    ]
    assert [c.passed for c in claims(flat, 0.33, seeds=3)] == [False, False]


def test_tiny_run_end_to_end(tmp_path):
    spec = make_spec(LayerRobustness, {"seeds": 1, "width": 16, "depth": 2, "epochs": 2})
    run = run_experiment(spec, Store(tmp_path / "runs.sqlite"))
    d = run.to_dict()
    rows = d["tables"]["test error with one layer reset (mean over seeds)"]
    assert [r["layer"] for r in rows] == ["features.1", "features.3", "head"]
    assert all(0 <= r[s] <= 1 for r in rows for s in ("init", "early", "rerandomized"))
    assert len(d["claims"]) == 2 and all(isinstance(c["passed"], bool) for c in d["claims"])
    assert run.report.is_file()
