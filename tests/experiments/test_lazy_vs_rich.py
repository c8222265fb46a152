from occamlab.experiments import run_experiment
from occamlab.experiments.lazy_vs_rich import LazyVsRich, claims
from occamlab.experiments.registry import spec_at_scale
from occamlab.store import Store


def row(alpha, dist, dev):
    return {"alpha": alpha, "kernel_distance": dist, "deviation_from_ntk": dev}


def test_claims_follow_the_measurements():
    good = [row(0.03, 0.3, 0.3), row(1.0, 0.01, 0.05), row(100.0, 1e-5, 0.005)]
    assert [c.passed for c in claims(good)] == [True] * 5
    flat = [row(0.03, 0.005, 0.01), row(1.0, 0.004, 0.01), row(100.0, 0.003, 0.01)]
    assert [c.passed for c in claims(flat)] == [True, False, True, True, False]


def test_tiny_run_end_to_end(tmp_path):
    spec = spec_at_scale(
        LazyVsRich, "quick", {"alphas": 2, "width": 16, "num_train": 12, "num_test": 8, "steps": 5}
    )
    run = run_experiment(spec, Store(tmp_path / "s.sqlite"))
    payload = run.to_dict()
    assert len(payload["claims"]) == 5
    assert {r["alpha"] for r in payload["metrics"]["by_alpha"]} == {0.03, 100.0}
    assert run.report.exists()
