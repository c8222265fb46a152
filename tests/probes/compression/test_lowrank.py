import itertools

import pytest
import torch

from occamlab.probes.compression import low_rank, lowrank_curve, truncate
from occamlab.probes.compression.lowrank import (
    factored_size,
    rank_for_energy,
    ranks_for_budget,
    singular_values,
)
from occamlab.testing import tiny_subject


@pytest.mark.parametrize("shape", [(12, 7), (7, 12), (6, 3, 5), (4, 2, 3, 3)])
def test_truncation_error_is_the_discarded_singular_values(shape):
    g = torch.Generator().manual_seed(0)
    w = torch.randn(shape, generator=g, dtype=torch.float64)
    m = w.reshape(shape[0], -1)  # conv kernels: out × (in · kernel)
    s = torch.linalg.svdvals(m)
    for r in range(len(s) + 1):
        diff = (w - truncate(w, r)).reshape(shape[0], -1)
        assert float(torch.linalg.matrix_norm(diff) ** 2) == pytest.approx(
            float((s[r:] ** 2).sum()), rel=1e-10, abs=1e-10
        )
        spectral = float(torch.linalg.matrix_norm(diff, ord=2))
        assert spectral == pytest.approx(float(s[r]) if r < len(s) else 0.0, abs=1e-10)
        assert int(torch.linalg.matrix_rank(truncate(w, r).reshape(shape[0], -1))) == r
    # No other rank-2 matrix does better (Eckart–Young), e.g. random ones.
    best = float(torch.linalg.matrix_norm(m - truncate(m, 2)))
    for _ in range(20):
        a = torch.randn(m.shape[0], 2, generator=g, dtype=torch.float64)
        b = torch.linalg.lstsq(a, m).solution
        assert float(torch.linalg.matrix_norm(m - a @ b)) >= best


def test_energy_threshold_and_sizes():
    s = torch.tensor([3.0, 2.0, 1.0, 0.5], dtype=torch.float64)
    power = s**2 / (s**2).sum()
    for tau in (0.1, 0.5, 0.8, 0.95, 0.999, 1.0):
        r = rank_for_energy(s, tau)
        assert float(power[:r].sum()) >= tau - 1e-12
        assert r == 1 or float(power[: r - 1].sum()) < tau
    assert rank_for_energy(s, 1.0) == 4
    assert factored_size((10, 20), 3) == 90 and factored_size((10, 20), 9) == 200
    assert factored_size((8, 2, 3), 1) == 14
    with pytest.raises(ValueError):
        rank_for_energy(s, 0.0)


def test_budget_is_respected_and_greedy_matches_exhaustive_search():
    g = torch.Generator().manual_seed(1)
    shapes = {"a": (6, 5), "b": (4, 9), "c": (3, 3)}
    spectra = {
        k: singular_values(torch.randn(v, generator=g) * (i + 1))
        for i, (k, v) in enumerate(shapes.items())
    }

    def gain(ranks):
        return sum(
            float((spectra[k][:r] ** 2).sum() / (spectra[k] ** 2).sum()) for k, r in ranks.items()
        )

    for budget in (30, 41, 50, 63, 200):
        got = ranks_for_budget(spectra, shapes, budget)
        assert sum(factored_size(shapes[k], r) for k, r in got.items()) <= budget
        choices = itertools.product(*[range(1, len(spectra[k]) + 1) for k in shapes])
        feasible = [
            dict(zip(shapes, rs, strict=True))
            for rs in choices
            if sum(factored_size(shapes[k], r) for k, r in zip(shapes, rs, strict=True)) <= budget
        ]
        best = max(feasible, key=gain)
        # Greedy is optimal up to the last step: within one singular value's share.
        assert (
            gain(got)
            >= gain(best)
            - max(float((s**2).max() / (s**2).sum()) for s in spectra.values())
            - 1e-12
        )
    with pytest.raises(ValueError, match="budget"):
        ranks_for_budget(spectra, shapes, 10)


def test_low_rank_counts_and_curve_on_a_subject():
    subject = tiny_subject("relu_mlp")
    p = subject.params()
    full = low_rank(p, energy=1.0)
    assert full.num_parameters == full.total_parameters == subject.num_parameters
    assert all(torch.allclose(full.params[k], p[k], atol=1e-5) for k in p)
    small = low_rank(p, ranks={k: 1 for k in full.ranks})
    assert small.num_parameters == sum(
        factored_size(v.shape, 1) if k in full.ranks else v.numel() for k, v in p.items()
    )
    budgeted = low_rank(p, budget=small.num_parameters + 12)
    assert small.num_parameters <= budgeted.num_parameters <= small.num_parameters + 12
    curve = lowrank_curve(subject, energies=(1.0, 0.5))
    assert curve.rows[0]["test_accuracy"] == subject.evaluate(split="test").accuracy
    assert curve.rows[1]["num_parameters"] <= curve.rows[0]["num_parameters"]
    with pytest.raises(ValueError, match="exactly one"):
        low_rank(p, energy=0.9, budget=10)
