"""Monte-Carlo samples of the 2-D Ising model and its exact (Onsager) results.

The ferromagnetic Ising model on an L×L periodic square lattice, H(s) = −Σ_⟨ij⟩ s_i s_j
(J = 1, k_B = 1, each nearest-neighbour bond counted once), sampled at temperature T = 1/β.

Samplers (all vectorized over ``chains`` independent Markov chains, each a valid MCMC of the
Boltzmann distribution p(s) ∝ e^{−βH(s)}):

* ``"wolff"`` (Wolff 1989): bonds between equal neighbouring spins are opened with probability
  p = 1 − e^{−2β}; the connected cluster of one uniformly chosen site is flipped. The cluster that
  Wolff grows site by site from the seed is exactly the seed's connected component of the
  opened-bond graph, so it is found here for all chains at once by
  :func:`scipy.sparse.csgraph.connected_components` on their joint graph (no Python loop over
  sites). One step = one cluster flip.
* ``"swendsen-wang"`` (1987): the same bonds, and every cluster flipped with probability ½.
* ``"metropolis"``: checkerboard single-spin Metropolis (the two sublattices updated in turn; one
  step = one sweep of all sites). Local, so it decorrelates slowly near T_c.

Exact references: the critical temperature T_c = 2/ln(1 + √2) (Kramers & Wannier 1941), the
spontaneous magnetization m(T) = (1 − sinh(2β)^{−4})^{1/8} below T_c (Onsager 1949, Yang 1952),
the energy per spin of the infinite lattice (Onsager 1944)

    u(T) = −coth(2β) [1 + (2/π)(2 tanh²(2β) − 1) K(k²)],   k = 2 sinh(2β)/cosh²(2β),

with K the complete elliptic integral of the first kind (:func:`scipy.special.ellipk`, which
takes the parameter m = k²), the exact correlation length ξ(T) (1/ξ = ln coth β − 2β above T_c,
twice that, with the sign flipped, below), and for tiny lattices the Boltzmann distribution of
all 2^{L²} states (:func:`exact_distribution`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np

Algorithm = Literal["wolff", "swendsen-wang", "metropolis"]
ALGORITHMS: tuple[str, ...] = ("wolff", "swendsen-wang", "metropolis")
CRITICAL_TEMPERATURE = 2.0 / math.log(1.0 + math.sqrt(2.0))


def _beta(temperature: float) -> float:
    t = float(temperature) if isinstance(temperature, int | float) else math.nan
    if not math.isfinite(t) or t <= 0:
        raise ValueError(f"temperature must be a finite number > 0, got {temperature!r}")
    return 1.0 / t


def onsager_magnetization(temperature: float) -> float:
    """Spontaneous magnetization per spin of the infinite lattice: (1 − sinh(2β)^{−4})^{1/8}
    below T_c, 0 at and above it.

    >>> round(onsager_magnetization(2.0), 6)
    0.911319
    >>> onsager_magnetization(3.0)
    0.0
    """
    beta = _beta(temperature)
    if temperature >= CRITICAL_TEMPERATURE:
        return 0.0
    return float((1.0 - math.sinh(2.0 * beta) ** -4) ** 0.125)


def onsager_energy(temperature: float) -> float:
    """Energy per spin of the infinite lattice (Onsager 1944), −√2 at T_c.

    >>> round(onsager_energy(CRITICAL_TEMPERATURE), 6)
    -1.414214
    """
    from scipy.special import ellipk

    beta = _beta(temperature)
    k = 2.0 * math.sinh(2.0 * beta) / math.cosh(2.0 * beta) ** 2
    t = math.tanh(2.0 * beta)
    # at T_c, k = 1 and K diverges logarithmically while its factor 2t² − 1 vanishes: the product
    # tends to 0 (the limit, not inf·0)
    product = 0.0 if abs(2 * t * t - 1) < 1e-15 else (2 * t * t - 1) * float(ellipk(k * k))
    return float(-(1.0 / t) * (1.0 + (2.0 / math.pi) * product))


def correlation_length(temperature: float) -> float:
    """Exact (exponential) correlation length ξ of the infinite lattice: 1/ξ = ln coth β − 2β
    above T_c and 2(2β − ln coth β) below it (infinite at T_c). Finite-size corrections to the
    energy and magnetization of an L×L periodic lattice away from T_c decay as e^{−L/ξ}."""
    beta = _beta(temperature)
    gap = math.log(1.0 / math.tanh(beta)) - 2.0 * beta
    if abs(gap) < 1e-15:
        return math.inf
    return 1.0 / gap if gap > 0 else 1.0 / (-2.0 * gap)


def energy(spins: np.ndarray) -> np.ndarray:
    """Energy per spin H(s)/L² of ±1 configurations of shape (..., L, L), periodic bonds."""
    s = _configurations(spins)
    bonds = s * np.roll(s, 1, axis=-1) + s * np.roll(s, 1, axis=-2)
    return -bonds.sum(axis=(-2, -1)) / (s.shape[-1] * s.shape[-2])


def magnetization(spins: np.ndarray) -> np.ndarray:
    """Magnetization per spin Σ s_i / L² (signed) of configurations of shape (..., L, L)."""
    s = _configurations(spins)
    return s.mean(axis=(-2, -1))


def _configurations(spins: np.ndarray) -> np.ndarray:
    s = np.asarray(spins)
    if s.ndim < 2 or s.shape[-1] != s.shape[-2] or s.shape[-1] < 2:
        raise ValueError(f"spin configurations need shape (..., L, L) with L >= 2, got {s.shape}")
    if not np.isin(s, (-1, 1)).all():
        raise ValueError("spin configurations must hold only -1 and +1")
    return s.astype(np.float64)


@dataclass(frozen=True)
class ExactDistribution:
    """The Boltzmann distribution of every configuration of a tiny lattice.

    Attributes:
        energies: total energy H(s) of each of the 2^{L²} states.
        magnetizations: total magnetization Σ s_i of each state.
        probabilities: e^{−βH}/Z, summing to 1.
    """

    energies: np.ndarray
    magnetizations: np.ndarray
    probabilities: np.ndarray

    def histogram(self, values: np.ndarray, support: np.ndarray) -> np.ndarray:
        """Probability of each value in ``support`` of the per-state ``values``."""
        index = np.searchsorted(support, values)
        return np.bincount(index, weights=self.probabilities, minlength=support.size)


def exact_distribution(size: int, temperature: float) -> ExactDistribution:
    """Enumerate all 2^{L²} states of an L×L periodic lattice (L ≤ 4) in float64."""
    if not 2 <= size <= 4:
        raise ValueError(f"exact enumeration takes 2 <= size <= 4 (2^(L^2) states), got {size}")
    beta = _beta(temperature)
    n = size * size
    codes = np.arange(2**n, dtype=np.int64)
    bits = (codes[:, None] >> np.arange(n)) & 1
    spins = (2 * bits - 1).reshape(-1, size, size).astype(np.int8)
    e = np.rint(energy(spins) * n)
    m = spins.reshape(-1, n).sum(axis=1).astype(np.float64)
    w = np.exp(-beta * (e - e.min()))
    return ExactDistribution(e, m, w / w.sum())


def _neighbour_edges(size: int) -> tuple[np.ndarray, np.ndarray]:
    """Site indices of the right and down neighbour bonds of an L×L periodic lattice."""
    idx = np.arange(size * size).reshape(size, size)
    first = np.concatenate([idx.ravel(), idx.ravel()])
    second = np.concatenate([np.roll(idx, -1, axis=1).ravel(), np.roll(idx, -1, axis=0).ravel()])
    return first, second


def _cluster_step(
    spins: np.ndarray,
    beta: float,
    edges: tuple[np.ndarray, np.ndarray],
    rng: np.random.Generator,
    *,
    wolff: bool,
) -> None:
    """One Wolff or Swendsen–Wang update of every chain of ``spins`` (chains, N), in place."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    chains, n = spins.shape
    a, b = edges
    open_ = (spins[:, a] == spins[:, b]) & (rng.random((chains, a.size)) < -math.expm1(-2 * beta))
    offset = (np.arange(chains) * n)[:, None]
    rows, cols = (a[None, :] + offset)[open_], (b[None, :] + offset)[open_]
    graph = coo_matrix((np.ones(rows.size, dtype=np.int8), (rows, cols)), shape=(chains * n,) * 2)
    count, labels = connected_components(graph, directed=False)
    labels = labels.reshape(chains, n)
    if wolff:
        seeds = labels[np.arange(chains), rng.integers(0, n, chains)]
        flip = labels == seeds[:, None]
    else:
        flip = (rng.random(count) < 0.5)[labels]
    spins[flip] *= -1


def _metropolis_step(
    spins: np.ndarray, beta: float, rng: np.random.Generator, masks: np.ndarray
) -> None:
    """One checkerboard Metropolis sweep of every chain of ``spins`` (chains, L, L), in place."""
    for mask in masks:
        field = (
            np.roll(spins, 1, axis=1)
            + np.roll(spins, -1, axis=1)
            + np.roll(spins, 1, axis=2)
            + np.roll(spins, -1, axis=2)
        )
        delta = 2 * spins * field  # energy change of flipping each spin
        accept = rng.random(spins.shape) < np.exp(-beta * np.maximum(delta, 0))
        spins[accept & mask] *= -1


def sample_ising(
    size: int,
    temperature: float,
    *,
    samples: int,
    chains: int = 16,
    burn_in: int = 100,
    thin: int = 1,
    algorithm: Algorithm = "wolff",
    start: Literal["hot", "cold"] = "hot",
    seed: int = 0,
) -> np.ndarray:
    """Configurations of the 2-D Ising model on an L×L periodic lattice at ``temperature``.

    Runs ``chains`` independent Markov chains side by side; each discards ``burn_in`` steps, then
    keeps one configuration every ``thin`` steps until ``samples`` configurations are kept in all
    (⌈samples/chains⌉ per chain, the surplus of the last round dropped). A Wolff step flips one
    cluster (near T_c a sizable fraction of the lattice, far above it a few sites: thin more
    there); a Swendsen–Wang step updates every cluster; a Metropolis step is one sweep.

    Args:
        size: L (≥ 2).
        temperature: T = 1/β (> 0); T_c = 2/ln(1 + √2) ≈ 2.269.
        samples: configurations to return (≥ 1).
        chains: independent chains run at once (vectorized).
        burn_in: steps discarded at the start of each chain.
        thin: steps between kept configurations (≥ 1).
        algorithm: ``"wolff"``, ``"swendsen-wang"`` or ``"metropolis"``.
        start: ``"hot"`` (independent random spins) or ``"cold"`` (all +1).
        seed: seed of the NumPy generator: the same arguments give the same configurations.

    Returns:
        int8 array (samples, L, L) of ±1, ordered step by step (the chains interleaved).
    """
    beta = _beta(temperature)
    if size < 2 or samples < 1 or chains < 1 or burn_in < 0 or thin < 1:
        raise ValueError(
            "sample_ising needs size >= 2, samples >= 1, chains >= 1, burn_in >= 0 and "
            f"thin >= 1; got size={size}, samples={samples}, chains={chains}, "
            f"burn_in={burn_in}, thin={thin}"
        )
    if algorithm not in ALGORITHMS:
        raise ValueError(f"unknown algorithm {algorithm!r}; choose one of {', '.join(ALGORITHMS)}")
    if start not in ("hot", "cold"):
        raise ValueError(f"start must be 'hot' or 'cold', got {start!r}")
    rng = np.random.default_rng(seed)
    n = size * size
    if start == "hot":
        spins = np.where(rng.random((chains, n)) < 0.5, -1, 1).astype(np.int8)
    else:
        spins = np.ones((chains, n), dtype=np.int8)
    edges = _neighbour_edges(size)
    parity = np.add.outer(np.arange(size), np.arange(size)) % 2
    masks = np.stack([parity == 0, parity == 1])[:, None]

    def step() -> None:
        nonlocal spins
        if algorithm == "metropolis":
            grid = spins.reshape(chains, size, size)
            _metropolis_step(grid, beta, rng, masks)
        else:
            _cluster_step(spins, beta, edges, rng, wolff=algorithm == "wolff")

    for _ in range(burn_in):
        step()
    rounds = -(-samples // chains)
    kept = np.empty((rounds, chains, n), dtype=np.int8)
    for r in range(rounds):
        for _ in range(thin):
            step()
        kept[r] = spins
    return kept.reshape(-1, size, size)[:samples].copy()


def block_spins(spins: np.ndarray, block: int, *, seed: int = 0) -> np.ndarray:
    """Majority-rule block spins (Kadanoff): the sign of each block×block block's sum, ties
    broken by a fair coin (seeded). Configurations (..., L, L) with L divisible by ``block``
    give (..., L/block, L/block) of ±1."""
    s = _configurations(spins)
    size = s.shape[-1]
    if block < 1 or size % block:
        raise ValueError(f"block must be >= 1 and divide L = {size}, got {block}")
    k = size // block
    sums = s.reshape(*s.shape[:-2], k, block, k, block).sum(axis=(-3, -1))
    coin = np.where(np.random.default_rng(seed).random(sums.shape) < 0.5, -1.0, 1.0)
    return np.where(sums == 0, coin, np.sign(sums)).astype(np.int8)
