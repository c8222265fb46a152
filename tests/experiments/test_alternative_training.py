import math

import pytest

from occamlab.experiments import run_experiment
from occamlab.experiments.alternative_training import (
    ALTERNATIVES,
    LEARNERS,
    AlternativeTraining,
    claims,
)
from occamlab.experiments.framework import corrected
from occamlab.experiments.registry import settings_of, spec_at_scale
from occamlab.store import Store

TINY = {
    "width": 8,
    "num_train": 100,
    "num_test": 50,
    "epochs": 2,
    "format_epochs": 1,
    "batch_size": 50,
    "check_examples": 3,
    "check_betas": 3,
    "check_free_steps": 100,
    "check_nudged_steps": 50,
    "seeds": 2,
}


def rows(accuracy=None, seeds=5):
    """Synthetic final accuracies per learner, jittered by seed."""
    accuracy = accuracy or {
        "backprop": 0.50,
        "hsic": 0.47,
        "equilibrium": 0.49,
        "lifted": 0.50,
        "random_features": 0.35,
    }
    return [
        {"learner": k, "seed": s, "train_accuracy": v, "test_accuracy": v + 0.01 * (s % 3)}
        for k, v in accuracy.items()
        for s in range(seeds)
    ]


def alignment(one=1.0, sym=2.0, floor=0.0, seeds=5):
    """Synthetic EP checks: relative error ∝ β^one (one-sided) and β^sym (symmetric), 1 − cos
    the square of it (plus ``floor``), jittered by seed."""
    out = []
    for s in range(seeds):
        for k in range(1, 6):
            beta = 10.0**-k
            for nudging, order in (("one-sided", one), ("symmetric", sym)):
                error = (1 + 0.1 * s) * beta**order
                out.append(
                    {
                        "seed": s,
                        "beta": beta,
                        "nudging": nudging,
                        "relative_error": error + floor,
                        "misalignment": error**2 + floor,
                        "cosine": 1 - error**2 - floor,
                    }
                )
    return out


def decisions(final, checks):
    return [c.decision for c in corrected(claims(final, checks))]


def test_claims_are_tests_that_follow_the_measurements():
    assert decisions(rows(), alignment()) == ["passed"] * 10
    worse = dict(backprop=0.5, hsic=0.12, equilibrium=0.3, lifted=0.5, random_features=0.35)
    got = decisions(rows(worse), alignment())
    assert got[0] == "failed"  # HSIC at chance does not learn
    assert got[3] == "failed" and got[4] == "failed" and got[5] == "passed"  # gaps to backprop
    assert got[6] == "failed"  # HSIC below its random-features control
    # an EP estimate that stops improving (a floor): no alignment, no symmetric gain
    stuck = decisions(rows(), alignment(floor=1e-2))
    assert stuck[7] == "failed" and stuck[9] == "failed"
    # alignment that gets worse as β shrinks: the trend fails
    assert decisions(rows(), alignment(one=-0.5, sym=-0.5))[8] == "failed"


def test_claim_evidence_and_estimates():
    out = claims(rows(seeds=3), alignment(seeds=3))
    assert out[3].test.estimate == pytest.approx(-0.03)
    assert out[3].evidence.startswith("test accuracy per seed: hsic 0.470, 0.480, 0.490")
    # −log10(1 − cos) at β = 1e-5, misalignment ((1 + 0.1 s)·1e-5)², seeds 0, 1, 2
    expected = 10 - 2 * (math.log10(1.1) + math.log10(1.2)) / 3
    assert out[7].test.estimate == pytest.approx(expected, rel=1e-12)


def test_tiny_run_end_to_end(tmp_path):
    spec = spec_at_scale(AlternativeTraining, "quick", TINY)
    payload = run_experiment(spec, Store(tmp_path / "s.sqlite")).to_dict()
    assert len(payload["claims"]) == 10
    assert all(c["test"]["seeds"] >= 2 for c in payload["claims"])
    runs = payload["metrics"]["runs"]
    assert sorted((r["learner"], r["seed"]) for r in runs) == sorted(
        (k, s) for k in LEARNERS for s in range(2)
    )
    curves = {(c["learner"], c["seed"]): c["curve"] for c in payload["metrics"]["curves"]}
    for (learner, _), curve in curves.items():
        assert len(curve) == (1 if learner in ("hsic", "random_features") else 2)
    for r in runs:
        assert curves[(r["learner"], r["seed"])][-1] == r["test_accuracy"]
        assert 0 <= r["test_accuracy"] <= 1
        assert r["test_accuracy"] * 50 == pytest.approx(round(r["test_accuracy"] * 50))
    table = {r["learner"]: r for r in payload["metrics"]["accuracy"]}
    for learner in LEARNERS:
        values = [r["test_accuracy"] for r in runs if r["learner"] == learner]
        assert table[learner]["test_accuracy"] == pytest.approx(sum(values) / 2)
    # the same learner retrained gives the stored number (one loop, seeded)
    again = spec.train("lifted", 1)
    stored = next(r for r in runs if r["learner"] == "lifted" and r["seed"] == 1)
    assert again["test_accuracy"] == stored["test_accuracy"]
    checks = payload["metrics"]["alignment"]
    assert len(checks) == 2 * 3 * 2
    assert payload["metrics"]["check_residual_max"] < 1e-13
    for seed in range(2):
        one = sorted(
            (r for r in checks if r["seed"] == seed and r["nudging"] == "one-sided"),
            key=lambda r: r["beta"],
        )
        assert one[0]["beta"] == pytest.approx(1e-3)
        assert one[0]["misalignment"] < one[-1]["misalignment"]
    assert set(ALTERNATIVES) < set(LEARNERS)


def test_settings_and_validation():
    assert settings_of(AlternativeTraining) == ["default", "wide"]
    assert AlternativeTraining.settings == {"wide": {"width": 300}}
    with pytest.raises(ValueError, match="width"):
        AlternativeTraining(width=0)
    with pytest.raises(ValueError, match="check_betas"):
        AlternativeTraining(check_betas=2)
    with pytest.raises(ValueError, match="ep_step_size"):
        AlternativeTraining(ep_step_size=2.0)
    with pytest.raises(ValueError, match="lr"):
        AlternativeTraining(lr=float("nan"))
    with pytest.raises(ValueError, match="unknown learner"):
        AlternativeTraining().train("feedback-alignment", 0)
