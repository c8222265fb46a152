import math

import pytest

from occamlab.experiments import run_experiment
from occamlab.experiments.framework import corrected
from occamlab.experiments.functional_complexity import FunctionalComplexity, claims, points
from occamlab.experiments.registry import settings_of, spec_at_scale
from occamlab.models import model_spec
from occamlab.probes.complexity import ComplexitySpec, functional_complexity
from occamlab.recipes import make_subject
from occamlab.store import Store

TINY = {
    "width": 8,
    "widths": "4,8,16",
    "depths": "1,2,3",
    "checkpoints": "1,2,3",
    "num_train": 200,
    "limit": 40,
    "bins": 5,
    "seeds": 2,
}


def rows(ias_slope=0.1, mec_slope=0.2, seeds=4):
    """Synthetic measurements growing linearly in each sweep's axis, jittered by seed."""
    out = []
    axes = {"epochs": (1, 2, 4, 8), "width": (32, 64, 128), "depth": (1, 2, 3)}
    for sweep, values in axes.items():
        for v in values:
            x = v if sweep == "depth" else math.log2(v)
            for s in range(seeds):
                out.append(
                    {
                        "sweep": sweep,
                        "width": v if sweep == "width" else 64,
                        "depth": v if sweep == "depth" else 2,
                        "epochs": v if sweep == "epochs" else 8,
                        "seed": s,
                        "interaction_strength": 0.1 + ias_slope * x + 0.01 * (s % 2),
                        "main_effect_complexity": 1 + mec_slope * x - 0.02 * (s % 2),
                        "test_accuracy": 0.5,
                    }
                )
    return out


def decisions(table):
    return [c.decision for c in corrected(claims(table))]


def test_claims_are_slope_tests_that_follow_the_measurements():
    assert decisions(rows()) == ["passed"] * 5
    assert decisions(rows(ias_slope=-0.1)) == ["failed", "passed", "failed", "failed", "passed"]
    assert decisions(rows(mec_slope=-0.2)) == ["passed", "failed", "passed", "passed", "failed"]
    evidence = claims(rows(seeds=2))[2].evidence
    assert evidence == "mean IAS over seeds at width 32: 0.605, width 64: 0.705, width 128: 0.805"
    x, y = points(rows(seeds=2), "width", "interaction_strength")
    assert x == [5.0, 5.0, 6.0, 6.0, 7.0, 7.0] and y[0] == pytest.approx(0.6)
    # the untrained network (epoch 0) is shown but not a point of the training-time trend
    extra = rows(seeds=2) + [{**rows(seeds=1)[0], "epochs": 0, "interaction_strength": 9.0}]
    assert 9.0 not in points(extra, "epochs", "interaction_strength")[1]


def test_tiny_run_end_to_end(tmp_path):
    spec = spec_at_scale(FunctionalComplexity, "quick", TINY)
    payload = run_experiment(spec, Store(tmp_path / "s.sqlite")).to_dict()
    assert len(payload["claims"]) == 5
    assert all(c["test"]["seeds"] > 2 for c in payload["claims"])
    runs = payload["metrics"]["rows"]
    # 4 checkpoints (with the untrained network) + 3 widths + 3 depths, per seed
    assert len(runs) == (4 + 3 + 3) * 2
    assert {r["epochs"] for r in runs if r["sweep"] == "epochs"} == {0, 1, 2, 3}
    assert all(0 <= r["interaction_strength"] <= 1 for r in runs)
    assert all(r["features_used"] == 40 for r in runs)  # a dense MLP uses every input
    # the numbers are the probe's: the untrained network of seed 1, measured again
    (init,) = [r for r in runs if r["sweep"] == "epochs" and r["epochs"] == 0 and r["seed"] == 1]
    subject = make_subject(model=model_spec("mlp", width=8, depth=2), data=spec.dataset(), seed=1)
    again = functional_complexity(subject, spec=spec.probe())
    assert init["interaction_strength"] == pytest.approx(again.interaction_strength, rel=1e-9)
    assert init["main_effect_complexity"] == pytest.approx(again.main_effect_complexity, rel=1e-9)
    assert init["test_accuracy"] is None
    assert payload["figures"]


def test_the_probability_setting_and_invalid_specs():
    assert "probability" in settings_of(FunctionalComplexity)
    spec = spec_at_scale(FunctionalComplexity, "quick", TINY, setting="probability")
    assert spec.probe() == ComplexitySpec(
        output="probability", pool=True, bins=5, h_features=0, curves=0, limit=40
    )
    with pytest.raises(ValueError, match="widths"):
        FunctionalComplexity(widths="32,64")
    with pytest.raises(ValueError, match="checkpoints"):
        FunctionalComplexity(checkpoints="1,a,3")
    with pytest.raises(ValueError, match="seeds"):
        FunctionalComplexity(seeds=0)
