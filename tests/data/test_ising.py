"""The Ising sampler against exact results: Onsager's energy and magnetization, the critical
temperature, and the Boltzmann distribution of every state of a 4×4 lattice."""

import math

import numpy as np
import pytest
from scipy import integrate, stats

from occamlab.data import ising


def test_closed_forms_at_known_points():
    tc = ising.CRITICAL_TEMPERATURE
    # Kramers–Wannier self-duality: sinh(2β_c) = 1
    assert math.sinh(2 / tc) == pytest.approx(1.0, abs=1e-14)
    assert ising.onsager_energy(tc) == pytest.approx(-math.sqrt(2), abs=1e-12)
    assert ising.onsager_magnetization(tc) == 0.0
    assert ising.onsager_magnetization(tc * (1 - 1e-9)) < 0.1  # continuous: m ∝ (T_c − T)^{1/8}
    assert ising.onsager_magnetization(0.25) == pytest.approx(1.0, abs=1e-12)
    assert ising.onsager_energy(0.3) == pytest.approx(-2.0, abs=1e-9)  # ground state
    assert ising.onsager_energy(1e4) == pytest.approx(-2e-4, rel=1e-3)  # u ≈ −2 tanh β
    assert math.isinf(ising.correlation_length(tc))


@pytest.mark.parametrize("temperature", [1.2, 2.0, 2.6, 4.0])
def test_onsager_energy_is_the_derivative_of_the_free_energy(temperature):
    # −βf = ln 2/2 + (1/2π²)∬ ln[cosh²2β − sinh2β (cos θ₁ + cos θ₂)] dθ₁dθ₂ (θ over [0, π]²),
    # u = d(βf)/dβ: an independent float64 route through numerical integration
    def minus_beta_f(beta):
        c, s = math.cosh(2 * beta) ** 2, math.sinh(2 * beta)
        value, _ = integrate.dblquad(
            lambda a, b: math.log(c - s * (math.cos(a) + math.cos(b))),
            0,
            math.pi,
            0,
            math.pi,
            epsabs=1e-12,
            epsrel=1e-12,
        )
        return math.log(2) / 2 + value / (2 * math.pi**2)

    beta, h = 1 / temperature, 1e-4
    derivative = -(minus_beta_f(beta + h) - minus_beta_f(beta - h)) / (2 * h)
    assert ising.onsager_energy(temperature) == pytest.approx(derivative, abs=1e-6)


def test_energy_magnetization_and_block_spins_on_constructed_configurations():
    up = np.ones((4, 4), dtype=np.int8)
    checker = np.where(np.add.outer(np.arange(4), np.arange(4)) % 2, 1, -1)
    assert ising.energy(up) == -2.0
    assert ising.energy(checker) == 2.0
    assert ising.magnetization(checker) == 0.0
    stripes = np.repeat(np.array([[1, 1, -1, -1]]), 4, axis=0)
    assert ising.energy(stripes) == -1.0  # vertical bonds all satisfied, half the horizontal ones
    np.testing.assert_array_equal(ising.block_spins(stripes, 2), [[1, -1], [1, -1]])
    assert set(np.unique(ising.block_spins(checker, 2))) <= {-1, 1}  # ties: a coin


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="temperature"):
        ising.onsager_energy(float("nan"))
    with pytest.raises(ValueError, match="algorithm"):
        ising.sample_ising(4, 2.0, samples=2, algorithm="heatbath")
    with pytest.raises(ValueError, match="thin"):
        ising.sample_ising(4, 2.0, samples=2, thin=0)
    with pytest.raises(ValueError, match="-1 and \\+1"):
        ising.energy(np.zeros((4, 4)))
    with pytest.raises(ValueError, match="divide"):
        ising.block_spins(np.ones((6, 6), dtype=np.int8), 4)
    with pytest.raises(ValueError, match="size"):
        ising.exact_distribution(5, 2.0)


def test_sampler_is_seeded():
    a = ising.sample_ising(6, 2.3, samples=10, chains=5, burn_in=3, seed=4)
    b = ising.sample_ising(6, 2.3, samples=10, chains=5, burn_in=3, seed=4)
    c = ising.sample_ising(6, 2.3, samples=10, chains=5, burn_in=3, seed=5)
    np.testing.assert_array_equal(a, b)
    assert a.shape == (10, 6, 6) and a.dtype == np.int8
    assert (a != c).any()


def test_exact_distribution_of_a_tiny_lattice():
    ex = ising.exact_distribution(2, 1.0)
    # 2×2 periodic: every bond doubled; all-equal states have H = −8, one flipped spin 0,
    # two flipped neighbours 0, two flipped diagonals +8
    z = 2 * math.exp(8) + 12 + 2 * math.exp(-8)
    assert ex.probabilities[0] == pytest.approx(math.exp(8) / z, rel=1e-12)
    assert ex.probabilities.sum() == pytest.approx(1.0, abs=1e-14)


@pytest.mark.parametrize("algorithm", ["wolff", "swendsen-wang", "metropolis"])
@pytest.mark.parametrize("temperature", [1.8, ising.CRITICAL_TEMPERATURE, 3.0])
def test_sampler_matches_the_boltzmann_distribution_of_every_4x4_state(algorithm, temperature):
    # 3000 independent chains, one configuration each after burn-in: independent draws, so the
    # joint (energy, |magnetization|) histogram follows a multinomial; chi-square against the
    # exact Boltzmann probabilities (cells with expectation < 5 pooled)
    n = 3000
    s = ising.sample_ising(
        4, temperature, samples=n, chains=n, burn_in=60, algorithm=algorithm, seed=11
    )
    ex = ising.exact_distribution(4, temperature)
    cell = ex.energies * 100 + np.abs(ex.magnetizations)
    support = np.unique(cell)
    expected = ex.histogram(cell, support) * n
    sampled = np.rint(ising.energy(s) * 16) * 100 + np.abs(s.reshape(n, -1).sum(axis=1))
    observed = np.bincount(np.searchsorted(support, sampled), minlength=support.size)
    assert np.isin(sampled, support).all()
    keep = expected >= 5
    o = np.append(observed[keep], observed[~keep].sum())
    e = np.append(expected[keep], expected[~keep].sum())
    assert stats.chisquare(o, e).pvalue > 1e-3


@pytest.mark.parametrize(
    ("temperature", "algorithm"),
    [(1.5, "wolff"), (2.0, "wolff"), (2.0, "swendsen-wang"), (3.0, "swendsen-wang")],
)
def test_sampler_matches_onsager_on_a_16x16_lattice(temperature, algorithm):
    # tolerance: 4 standard errors of the mean (from the independent chains' means) plus the
    # finite-size allowance 2·e^{−L/ξ} with the exact ξ(T): away from T_c the corrections of a
    # periodic lattice decay as e^{−L/ξ}; exact enumeration of L = 4 puts their prefactor at
    # ≈ 1.3 for the energy and ≈ 0.05 for the magnetization (T = 2 and 3)
    size, chains = 16, 200
    s = ising.sample_ising(
        size, temperature, samples=2000, chains=chains, burn_in=100, thin=2, algorithm=algorithm
    )
    allowance = 2 * math.exp(-size / ising.correlation_length(temperature))
    for values, exact in (
        (ising.energy(s), ising.onsager_energy(temperature)),
        (np.abs(ising.magnetization(s)), ising.onsager_magnetization(temperature)),
    ):
        if temperature > ising.CRITICAL_TEMPERATURE and exact == 0.0:
            continue  # ⟨|m|⟩ of a finite lattice above T_c is O(L^{-1}), not 0
        means = values.reshape(-1, chains).mean(axis=0)
        se = means.std(ddof=1) / math.sqrt(chains)
        assert abs(means.mean() - exact) < 4 * se + allowance


def test_binder_cumulants_cross_at_the_critical_temperature():
    # U = 1 − ⟨m⁴⟩/(3⟨m²⟩²) grows with L below T_c and falls with L above it: the L = 8 and
    # L = 16 curves cross between 2.15 and 2.4, the bracket around T_c = 2.269
    def binder(size, temperature):
        m = ising.magnetization(
            ising.sample_ising(
                size,
                temperature,
                samples=4000,
                chains=200,
                burn_in=50,
                thin=2,
                algorithm="swendsen-wang",
                seed=size,
            )
        )
        return 1 - (m**4).mean() / (3 * (m**2).mean() ** 2)

    assert 2.15 < ising.CRITICAL_TEMPERATURE < 2.4
    assert binder(16, 2.15) > binder(8, 2.15) + 0.005
    assert binder(16, 2.4) < binder(8, 2.4) - 0.03
