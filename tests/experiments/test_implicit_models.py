import math

import pytest

from occamlab.experiments import run_experiment
from occamlab.experiments.framework import corrected
from occamlab.experiments.implicit_models import (
    ImplicitModels,
    claims,
    summarize,
)
from occamlab.experiments.registry import settings_of
from occamlab.models import model_spec
from occamlab.models.mlp import fully_connected_num_parameters, fully_connected_width
from occamlab.store import Store

TINY = ImplicitModels(
    width=8, epochs=2, seeds=2, num_train=400, check_examples=8, probe_examples=100
)


def test_implicit_models_end_to_end(tmp_path):
    run = run_experiment(TINY, Store(tmp_path / "runs.sqlite"))
    m = run.record.metrics
    assert [c["decision"] for c in m["claims"]][:1] == ["passed"]
    assert len(m["claims"]) == 6 and m["claims"][-1]["passed"]  # well posed
    for c in m["claims"]:
        assert c["evidence"] and "arXiv" in c["source"]
    rows = m["tables"]["per seed"]
    assert len(rows) == 2
    for r in rows:
        assert r["gradient_error"] < 1e-10 and r["hvp_error"] < 1e-9
        assert r["norm_A"] <= 0.9 + 1e-6 and r["rate_over_bound"] <= 1.0
        assert 0.0 <= r["deq_test_accuracy"] <= 1.0
    s = m["metrics"]
    # the explicit network has (nearly) the implicit one's parameter count
    assert s["deq_parameters"] == model_spec("deq", width=8).num_parameters((40,), 10) == 882
    assert abs(s["mlp_parameters"] - s["deq_parameters"]) <= 51 // 2
    probes = {(r["probe"], r["quantity"]): r for r in m["tables"]["probes (seed 0)"]}
    assert probes[("hessian", "λ_max")]["deq"] > 0 and probes[("hessian", "λ_max")]["mlp"] > 0
    assert "implicit" in probes[("bounds", "norms (refused)")]["deq"]
    assert "mlp" not in probes[("bounds", "norms (refused)")]
    assert m["figures"]


def test_matching_width_is_the_closest_count():
    for target, depth in ((7770, 1), (7770, 2), (100, 1)):
        w = fully_connected_width(target, 40, depth, 10)
        gap = abs(fully_connected_num_parameters(40, (w,) * depth, 10) - target)
        for other in (w - 1, w + 1):
            if other >= 1:
                assert gap <= abs(fully_connected_num_parameters(40, (other,) * depth, 10) - target)
    assert fully_connected_width(7770, 40, 1, 10) == 152


def _rows(*, gradient=1e-13, rate=0.7, picard=30, anderson=12, gap=0.0, seeds=5):
    out = []
    for s in range(seeds):
        j = 1 + 0.1 * s
        out.append(
            {
                "seed": s,
                "deq_test_accuracy": 0.6 + gap + 0.01 * (s % 3),
                "mlp_test_accuracy": 0.6 + 0.01 * (s % 3) + 0.002 * s,
                "norm_A": 0.9,
                "gradient_error": gradient * j,
                "hvp_error": gradient * 3 * j,
                "worst_rate": rate * 0.9 * j / 1.5,
                "rate_over_bound": rate * j / 1.5,
                "fixed_point_spread": 1e-15,
                "picard_iterations": picard + s,
                "anderson_iterations": anderson + (s % 2),
            }
        )
    return out


def _decisions(rows):
    s = summarize(rows) | {"deq_parameters": 7770, "mlp_parameters": 7762, "mlp_width": 152}
    return [c.decision for c in corrected(claims(rows, s, ImplicitModels()))]


def test_claims_follow_the_numbers():
    assert _decisions(_rows()) == ["passed"] * 6
    bad = _decisions(_rows(gradient=1e-4, rate=2.0, picard=10, anderson=30, gap=-0.1))
    assert bad == ["failed"] * 5 + ["passed"]
    assert math.isclose(summarize(_rows())["picard_iterations_mean"], 32.0)


def test_settings_and_validation():
    assert settings_of(ImplicitModels) == ["default", "tanh"]
    assert ImplicitModels.settings["tanh"] == {"activation": "tanh"}
    with pytest.raises(ValueError, match="activation must be one of"):
        ImplicitModels(activation="gelu")
    with pytest.raises(ValueError, match="0 < kappa < 1"):
        ImplicitModels(kappa=1.0)
