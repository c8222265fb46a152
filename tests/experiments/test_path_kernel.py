import math

import pytest
import torch

from occamlab.experiments import run_experiment
from occamlab.experiments.framework import corrected
from occamlab.experiments.path_kernel import PathKernel, claims, seed_table
from occamlab.experiments.registry import settings_of, spec_at_scale
from occamlab.probes.kernels import empirical_ntk
from occamlab.probes.kernels.distance import kernel_distance
from occamlab.store import Store

TINY = {
    "width_lazy": 16,
    "width_rich": 16,
    "num_train": 6,
    "num_test": 5,
    "steps": 4,
    "step_sizes": 3,
    "seeds": 2,
}


def rows(*, slope=(1.0, 1.0), residual=(1e-5, 3e-3), distance=(1e-6, 0.05), seeds=5):
    """Synthetic sweeps: per regime (lazy, rich) a residual ∝ η^slope reaching ``residual`` at
    the smallest of 4 steps and a kernel distance, jittered by seed."""
    out = []
    for i, regime in enumerate(("lazy", "rich")):
        for s in range(seeds):
            jitter = 1 + 0.05 * s
            for j in range(4):
                lr = 0.1 / 2**j
                out.append(
                    {
                        "regime": regime,
                        "seed": s,
                        "halvings": j,
                        "lr": lr,
                        "residual": residual[i] * jitter * (lr / (0.1 / 8)) ** slope[i],
                        "kernel_distance": distance[i] * jitter,
                    }
                )
    return out


def decisions(table):
    return [c.decision for c in corrected(claims(table))]


def test_claims_are_tests_that_follow_the_measurements():
    assert decisions(rows()) == ["passed"] * 7
    # a residual that does not shrink with η, and stays above 1%: identity and O(η) fail (rich)
    flat = decisions(rows(slope=(1.0, 0.0), residual=(1e-5, 0.05)))
    assert flat[1] == "failed" and flat[3] == "failed" and flat[2] == "passed"
    # second order in η: the O(η) claim fails as well
    assert decisions(rows(slope=(2.0, 1.0)))[2] == "failed"
    # a path kernel that moves as much in both regimes: the lazy and the ratio claims fail
    same = decisions(rows(distance=(0.05, 0.05)))
    assert same[4] == "failed" and same[5] == "passed" and same[6] == "failed"


def test_seed_table_slopes_and_evidence():
    table = seed_table(rows(slope=(1.0, 0.5), seeds=3))
    assert [round(r["slope"], 12) for r in table] == [1.0] * 3 + [0.5] * 3
    claim = claims(rows(seeds=3))[4]
    assert claim.evidence == "d(Θ₀, K) per seed: 1.00e-06, 1.05e-06, 1.10e-06"
    assert claim.test is not None and claim.test.seeds == 3


def test_tiny_run_end_to_end(tmp_path):
    spec = spec_at_scale(PathKernel, "quick", TINY)
    payload = run_experiment(spec, Store(tmp_path / "s.sqlite")).to_dict()
    assert len(payload["claims"]) == 7
    assert all(c["test"]["seeds"] == 2 for c in payload["claims"])
    runs = payload["metrics"]["runs"]
    assert len(runs) == 2 * 2 * 3
    for r in runs:  # the same training time at every step size
        assert r["steps"] == 4 * 2 ** r["halvings"]
        first = next(
            q
            for q in runs
            if (q["regime"], q["seed"], q["halvings"]) == (r["regime"], r["seed"], 0)
        )
        assert r["time"] == pytest.approx(first["time"], rel=1e-12)
        assert r["lr"] == pytest.approx(first["lr"] / 2 ** r["halvings"], rel=1e-12)
    # the numbers are right: O(η) residuals halve with the step, lazy kernels barely move
    for r in payload["tables"]["per regime and seed"]:
        assert r["slope"] == pytest.approx(1.0, abs=0.15)
    lazy = [r["kernel_distance"] for r in runs if r["regime"] == "lazy"]
    rich = [r["kernel_distance"] for r in runs if r["regime"] == "rich"]
    assert max(lazy) < 1e-4 < min(rich)


def test_the_step_size_is_relative_to_the_stability_limit():
    spec = spec_at_scale(PathKernel, "quick", TINY)
    subject = spec.subject("rich", 0)
    assert subject.data.train.x.dtype == torch.float64
    k0 = empirical_ntk(subject.model, subject.data.train.x, mode="trace")
    lr = spec.step_size * 6 / float(torch.linalg.eigvalsh(k0)[-1])
    first = spec.sweep("rich", 0)["rows"][0]
    assert first["lr"] == pytest.approx(lr, rel=1e-12)
    assert kernel_distance(k0, k0) == pytest.approx(0.0, abs=1e-15)
    assert math.isfinite(first["residual"]) and first["residual"] > 0


def test_the_width_setting_runs_with_its_own_fields(tmp_path):
    assert "width" in settings_of(PathKernel)
    spec = spec_at_scale(
        PathKernel, "quick", {**TINY, "width_lazy": 64, "width_rich": 4}, setting="width"
    )
    assert (spec.alpha_lazy, spec.alpha_rich, spec.depth) == (1.0, 1.0, 1)
    payload = run_experiment(spec, Store(tmp_path / "s.sqlite")).to_dict()
    assert payload["spec"]["width_rich"] == 4 and payload["spec"]["seeds"] == 2
    assert all(c["decision"] in ("passed", "failed", "inconclusive") for c in payload["claims"])


def test_invalid_specs_are_rejected():
    with pytest.raises(ValueError):
        PathKernel(seeds=0)
    with pytest.raises(ValueError):
        PathKernel(step_sizes=2)
    with pytest.raises(ValueError):
        PathKernel(step_size=1.5)
    with pytest.raises(ValueError):
        PathKernel(alpha_rich=0.0)
