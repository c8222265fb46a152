import pytest

from occamlab.experiments import run_experiment
from occamlab.experiments.framework import corrected
from occamlab.experiments.lazy_vs_rich import LazyVsRich, claims
from occamlab.experiments.registry import settings_of, spec_at_scale
from occamlab.store import Store

TINY = {"alphas": 2, "width": 16, "num_train": 12, "num_test": 8, "steps": 5, "seeds": 2}


def rows(per_alpha, seeds=4):
    """One row per (α, seed); per_alpha maps α to (kernel distance, deviation), jittered by seed."""
    return [
        {
            "alpha": alpha,
            "seed": s,
            "kernel_distance": dist * (1 + 0.05 * s),
            "deviation_from_ntk": dev * (1 + 0.05 * s),
        }
        for alpha, (dist, dev) in per_alpha.items()
        for s in range(seeds)
    ]


def decisions(table):
    return [c.decision for c in corrected(claims(table))]


def test_claims_are_tests_that_follow_the_measurements():
    good = rows({0.03: (0.3, 0.3), 1.0: (0.01, 0.05), 100.0: (1e-5, 0.005)})
    result = corrected(claims(good))
    assert [c.decision for c in result] == ["passed"] * 6
    assert all(c.test is not None and c.test.seeds in (4, 12) for c in result)
    flat = rows({0.03: (0.005, 0.01), 1.0: (0.004, 0.01), 100.0: (0.003, 0.01)})
    assert decisions(flat) == ["passed", "failed", "passed", "passed", "failed", "failed"]


def test_a_kernel_that_does_not_shrink_with_alpha_fails_the_trend():
    rising = rows({0.03: (0.2, 0.3), 1.0: (0.3, 0.05), 100.0: (0.5, 0.005)})
    assert decisions(rising)[2] == "failed"


def test_evidence_lists_every_seed():
    claim = claims(rows({0.03: (0.3, 0.3), 100.0: (1e-5, 0.005)}, seeds=3))[1]
    assert claim.evidence.endswith("per seed: 0.300, 0.315, 0.330")


def test_tiny_run_end_to_end(tmp_path):
    spec = spec_at_scale(LazyVsRich, "quick", TINY)
    run = run_experiment(spec, Store(tmp_path / "s.sqlite"))
    payload = run.to_dict()
    assert len(payload["claims"]) == 6
    assert all(c["test"]["seeds"] in (2, 4) for c in payload["claims"])
    assert {(r["alpha"], r["seed"]) for r in payload["metrics"]["runs"]} == {
        (0.03, 0),
        (0.03, 1),
        (100.0, 0),
        (100.0, 1),
    }
    assert [r["seeds"] for r in payload["metrics"]["by_alpha"]] == [2, 2]
    assert run.report.exists()


def test_the_tanh_setting_runs_with_its_own_fields(tmp_path):
    assert "tanh" in settings_of(LazyVsRich)
    spec = spec_at_scale(LazyVsRich, "quick", TINY, setting="tanh")
    assert (spec.activation, spec.input_dim, spec.teacher_width) == ("tanh", 16, 32)
    payload = run_experiment(spec, Store(tmp_path / "s.sqlite")).to_dict()
    assert payload["spec"]["input_dim"] == 16 and payload["spec"]["seeds"] == 2
    assert all(c["decision"] in ("passed", "failed", "inconclusive") for c in payload["claims"])
    assert all(c["test"] is not None for c in payload["claims"])


def test_invalid_sizes_are_rejected():
    with pytest.raises(ValueError):
        LazyVsRich(seeds=0)
    with pytest.raises(ValueError):
        LazyVsRich(input_dim=0)
