import pytest

from occamlab.experiments import run_experiment
from occamlab.experiments.overparameterized_convergence import (
    OverparameterizedConvergence,
    claims,
)
from occamlab.store import Store


def _summary(exponent=-0.5, excess=-0.1, deviation=-0.5, deep_decades=5.0, seeds=4):
    jitter = [0.01 * k for k in range(seeds)]
    s = {
        "lambda0": [0.1] * seeds,
        "steps": [100] * seeds,
        "bound_final": [1e-2] * seeds,
        "widths": [256, 1024, 4096],
        "rate_excess": [excess + j for j in jitter],
        "loss_ratio_final_widest": [1e-8] * seeds,
        "movement_bound_mean": [10.0, 5.0, 2.5],
        "movement_within_bound": True,
    }
    for key in ("gram_error", "max_movement", "flip_fraction"):
        s[f"{key}_slope"] = [exponent + j for j in jitter]
        s[f"{key}_mean"] = [1.0, 0.5, 0.25]
    s["kernel_deviation_slope"] = [deviation + j for j in jitter]
    s["kernel_deviation_mean"] = [1.0, 0.5, 0.25]
    s.update(
        {
            "deep_widths": [32, 64, 128],
            "deep_decades_target": 2.0,
            "deep_decades_widest": [deep_decades + j for j in jitter],
            "deep_rate_excess_widest": [excess + j for j in jitter],
            "deep_steps_widest": [100] * seeds,
            "deep_lambda_min_widest": [0.2] * seeds,
            "deep_converged_per_width": [seeds] * 3,
            "deep_movement_slope": [exponent + j for j in jitter],
            "deep_movement_mean": [0.4, 0.3, 0.2],
            "deep_loss_ratio_mean": [1e-8] * 3,
        }
    )
    return s


def test_claims_pass_on_the_theorys_exponents_and_fail_off_them():
    assert [c.decision for c in claims(_summary())] == ["passed"] * 9
    # exponents −0.1, the loss above the bound, no approach to the kernel prediction
    bad = claims(_summary(exponent=-0.1, excess=0.2, deviation=0.2))
    expected = ["passed"] + ["failed"] * 5 + ["passed", "failed", "passed"]
    assert [c.decision for c in bad] == expected
    # a deep seed that stops short of the target, movement growing with width
    worse = claims(_summary(exponent=0.3, deep_decades=1.0))
    assert [c.decision for c in worse][6:] == ["failed", "passed", "failed"]


def test_spec_rejects_bad_sizes():
    with pytest.raises(ValueError):
        OverparameterizedConvergence(num_widths=2)
    with pytest.raises(ValueError):
        OverparameterizedConvergence(depth=0)


def test_tiny_run_end_to_end(tmp_path):
    spec = OverparameterizedConvergence(
        num_points=6,
        dim=4,
        min_width=64,
        num_widths=3,
        gram_draws=2,
        depth=2,
        deep_min_width=16,
        deep_num_widths=3,
        seeds=2,
    )
    d = run_experiment(spec, Store(tmp_path / "runs.sqlite")).to_dict()
    assert len(d["claims"]) == 9 and len(d["tables"]["widths"]) == 6
    assert len(d["tables"]["deep"]) == 6
    untested = [True] + [False] * 5 + [True, False, False]
    assert [c["test"] is None for c in d["claims"]] == untested
    assert d["claims"][0]["passed"] and d["claims"][2]["test"]["seeds"] == 2
    assert all(c["evidence"] for c in d["claims"])
    assert "loss vs (1 − ηλ₀/2)^k and movement vs m" in d["figures"]
    assert "deep residual net: loss and movement vs m" in d["figures"]
