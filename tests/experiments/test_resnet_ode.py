import math

from occamlab.experiments import run_experiment
from occamlab.experiments.resnet_ode import ResnetOde, claims, summarize
from occamlab.store import Store


def test_resnet_ode_end_to_end(tmp_path):
    spec = ResnetOde(dim=4, inputs=4, depth_doublings=4, seeds=3, stability_horizon=20.0)
    run = run_experiment(spec, Store(tmp_path / "runs.sqlite"))
    claims_ = run.claims
    assert len(claims_) == 4
    for c in claims_:
        assert c["decision"] in ("passed", "failed", "inconclusive")
        assert c["test"]["method"] == "two one-sided t-tests" and c["test"]["seeds"] == 3
        assert c["evidence"] and "arXiv" in c["source"]
    assert claims_[0]["decision"] == "passed"
    assert abs(claims_[0]["test"]["estimate"] - 1.0) < 0.1
    assert run.record.metrics["figures"]
    tables = run.record.metrics["tables"]
    assert len(tables["error vs h"]) == 3 * 4 and len(tables["growth rates"]) == 3 * 3
    assert run.record.metrics["metrics"]["positive: measured_rate"] > 0
    assert run.record.metrics["metrics"]["antisymmetric: measured_rate"] < 0


def _per_seed(order, ratio):
    out = []
    for seed, wiggle in enumerate((-0.01, 0.0, 0.01, 0.005)):
        variant = {
            "h": 0.05,
            "max_real_eigenvalue": 0.5,
            "predicted_rate": 0.6,
            "measured_rate": 0.6 * (ratio + wiggle),
            "ratio": ratio + wiggle,
            "max_norm_ratio": 10.0,
        }
        out.append(
            {
                "seed": seed,
                "h": [0.1, 0.05, 0.025],
                "errors": [0.1, 0.1 * 2**-order, 0.1 * 4**-order],
                "order": order + wiggle,
                "step_limit": 0.3,
                "antisymmetric": variant,
                "positive": variant,
                "beyond step limit": variant,
            }
        )
    return out


def test_claims_follow_the_numbers():
    good = _per_seed(1.0, 1.0)
    assert [c.decision for c in claims(good, summarize(good))] == ["passed"] * 4
    bad = _per_seed(2.0, 1.5)  # second order and 50% off the predicted rate: ruled out
    assert [c.decision for c in claims(bad, summarize(bad))] == ["failed"] * 4
    assert math.isclose(summarize(bad)["order_mean"], 2.0 + 0.00125)
