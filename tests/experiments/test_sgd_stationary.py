import numpy as np

from occamlab.experiments import run_experiment
from occamlab.experiments.sgd_stationary import SgdStationary, claims
from occamlab.store import Store


def fake(seeds=8, bias=0.02, ratio=1.0, kl_star=0.4, kl_sgld=0.01, seed=0):
    """Per-seed measurements shaped like SgdStationary.measure's (scalars only)."""
    rng = np.random.default_rng(seed)
    out = []
    for s in range(seeds):
        z = rng.standard_normal(8)
        sampling = 0.04 * (1 + 0.1 * z[0])
        error = float(np.sqrt(sampling**2 + bias**2) * (1 + 0.05 * z[1]))
        cond = {"error": error, "sampling": sampling, "same_temperature_error": error}
        row = {
            "seed": s,
            "base": {**cond, "trace": 1.0, "lr": 0.01, "batch": 10},
            "double both": {**cond, "trace": ratio * (1 + 0.01 * z[2]), "lr": 0.02, "batch": 20},
            "double rate": {
                **cond,
                "trace": 2 * ratio * (1 + 0.01 * z[3]),
                "lr": 0.02,
                "batch": 10,
            },
            "eta*/c": {"kl": 1.5 + 0.05 * z[4], "kl_predicted": 1.5, "lr": 0.007},
            "eta*": {"kl": kl_star * (1 + 0.02 * z[5]), "kl_predicted": 0.4, "lr": 0.02},
            "c*eta*": {"kl": 3.0 + 0.05 * z[6], "kl_predicted": 2.7, "lr": 0.06},
            "preconditioned": {"kl": 0.007 * (1 + 0.2 * z[7]), "kl_predicted": 0.0},
            "sgld": {**cond, "kl": kl_sgld * (1 + 0.2 * z[7]), "kl_predicted": 0.005},
            "logistic": {**cond, "lr": 0.3, "batch": 10, "lr_lambda_max": 0.05},
        }
        out.append(row)
    return out


def test_claims_pass_on_the_papers_pattern():
    assert [c.decision for c in claims(fake(), 0.05)] == ["passed"] * 11


def test_claims_fail_where_the_pattern_breaks():
    # Σ 30% off the OU prediction, temperature not η/S (ratio 1.5), KL at η* far from its
    # closed form and worse than the neighbours, SGLD far from the posterior.
    d = [c.decision for c in claims(fake(bias=0.3, ratio=1.5, kl_star=4.0, kl_sgld=0.5), 0.05)]
    assert d[0] == d[1] == d[9] == d[10] == "failed"  # the bias tests (linear, logistic, SGLD)
    assert d[2] == d[3] == "failed"  # trace ratios
    assert d[4] == d[5] == d[6] == "failed" and d[8] == "failed"
    assert d[7] == "passed"  # the preconditioned sampler is untouched


def test_tiny_run_end_to_end(tmp_path):
    spec = SgdStationary(
        seeds=3,
        dim=2,
        num_train=60,
        chains=8,
        burn_in=1.0,
        sample_time=3.0,
        sgld_batch=10,
        sgld_contraction=0.1,
    )
    d = run_experiment(spec, Store(tmp_path / "runs.sqlite")).to_dict()
    assert len(d["claims"]) == 11
    for c in d["claims"]:
        assert isinstance(c["passed"], bool) and c["evidence"] and c["source"]
        assert c["test"]["seeds"] == 3 and c["decision"] in ("passed", "failed", "inconclusive")
        lo, hi = c["test"]["interval"]
        assert lo <= c["test"]["estimate"] <= hi
    assert "stationary covariance" in d["figures"]
    assert [r["condition"] for r in d["tables"]["conditions"]][:4] == [
        "base",
        "double both",
        "double rate",
        "logistic",
    ]
    assert len(d["tables"]["per seed"]) == 3
    # the closed-form KL of the preconditioned sampler is exactly the posterior's
    assert abs(d["metrics"]["preconditioned kl_predicted"]) < 1e-9
