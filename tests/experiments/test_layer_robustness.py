from occamlab.experiments import run_experiment, spec_at_scale
from occamlab.experiments.layer_robustness import LayerRobustness, claims
from occamlab.specs import make_spec
from occamlab.store import Store


def result(baseline, *layers):
    """One seed: its trained error and (init, early, rerandomized) error per layer."""
    names = ["l1", "l2", "l3", "head"]
    return {
        "baseline": baseline,
        "rows": [
            {"layer": n, "init": a, "early": b, "rerandomized": c, "num_parameters": 1}
            for n, (a, b, c) in zip(names, layers, strict=True)
        ],
    }


def test_claims_are_tests_over_the_seeds():
    paper = [
        result(0.33, (0.9, 0.6, 0.9), (0.4, 0.3, 0.8), (0.36, 0.35, 0.7), (0.35, 0.34, 0.6)),
        result(0.32, (0.85, 0.6, 0.9), (0.45, 0.3, 0.8), (0.34, 0.3, 0.7), (0.33, 0.3, 0.65)),
        result(0.34, (0.88, 0.6, 0.92), (0.42, 0.3, 0.85), (0.37, 0.3, 0.72), (0.36, 0.3, 0.6)),
    ]
    ok = claims(paper)
    assert [c.decision for c in ok] == ["passed", "passed"]
    assert ok[0].test.method == "one-sample t-test" and ok[0].test.seeds == 3
    assert ok[1].test.method == "paired t-test"
    flat = [
        result(0.33, (0.4, 0.3, 0.3), (0.4, 0.3, 0.3), (0.6, 0.3, 0.3), (0.5, 0.3, 0.3)),
        result(0.32, (0.41, 0.3, 0.31), (0.4, 0.3, 0.3), (0.62, 0.3, 0.3), (0.5, 0.3, 0.3)),
        result(0.34, (0.42, 0.3, 0.3), (0.4, 0.3, 0.29), (0.58, 0.3, 0.3), (0.52, 0.3, 0.3)),
    ]
    assert [c.decision for c in claims(flat)] == ["failed", "failed"]
    # re-randomized and re-initialized errors that differ by ±0.02 from seed to seed
    noisy = [
        result(0.33, (0.9, 0.6, 0.92), (0.4, 0.3, 0.42), (0.36, 0.3, 0.36), (0.35, 0.3, 0.35)),
        result(0.32, (0.85, 0.6, 0.83), (0.45, 0.3, 0.43), (0.34, 0.3, 0.34), (0.33, 0.3, 0.33)),
        result(0.34, (0.88, 0.6, 0.89), (0.42, 0.3, 0.42), (0.37, 0.3, 0.37), (0.36, 0.3, 0.36)),
    ]
    rerand = claims(noisy)[1]
    assert rerand.decision == "inconclusive" and rerand.test.seeds_needed > 3


def test_tiny_run_end_to_end(tmp_path):
    spec = make_spec(LayerRobustness, {"seeds": 1, "width": 16, "depth": 2, "epochs": 2})
    run = run_experiment(spec, Store(tmp_path / "runs.sqlite"))
    d = run.to_dict()
    rows = d["tables"]["test error with one layer reset (mean over seeds)"]
    assert [r["layer"] for r in rows] == ["features.1", "features.3", "head"]
    assert all(0 <= r[s] <= 1 for r in rows for s in ("init", "early", "rerandomized"))
    assert len(d["claims"]) == 2 and all(isinstance(c["passed"], bool) for c in d["claims"])
    # one seed tests nothing: both claims are inconclusive
    assert [c["decision"] for c in d["claims"]] == ["inconclusive", "inconclusive"]
    assert run.report.is_file()


def test_the_deep_setting_runs_on_another_data_set(tmp_path):
    spec = spec_at_scale(
        LayerRobustness, "quick", {"seeds": 2, "width": 8, "epochs": 2, "data": "digits"}, "deep"
    )
    assert (spec.depth, spec.data) == (4, "digits")
    d = run_experiment(spec, Store(tmp_path / "runs.sqlite")).to_dict()
    rows = d["tables"]["test error with one layer reset (mean over seeds)"]
    assert len(rows) == 5  # four hidden layers and the head
    assert all(c["test"]["seeds"] == 2 for c in d["claims"])
