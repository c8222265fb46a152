"""Marchenko–Pastur law: the eigenvalue density of a random correlation matrix, and its fit.

For ``W`` an ``N × M`` matrix (``N ≥ M``) of i.i.d. entries with variance ``σ²``, the eigenvalues
of ``X = WᵀW/N`` follow, as ``N, M → ∞`` with ``y = M/N`` fixed (Marchenko & Pastur 1967),

    ρ(λ) = √((λ₊ − λ)(λ − λ₋)) / (2π σ² y λ),   λ± = σ² (1 ± √y)².

Martin & Mahoney (arXiv 1810.01075) read a trained layer as a random bulk plus what training
put outside it. :func:`fit_marchenko_pastur` fits ``σ²`` to the bulk by its median (robust to the
few large eigenvalues training adds): ``σ² = median(bulk)/m(y)`` with ``m(y)`` the median of the
unit-variance law; eigenvalues above the bulk edge plus a Tracy–Widom margin are spikes, and the
fit is repeated on the remaining bulk until the spike set is stable. The margin is the 99th
percentile of the largest eigenvalue of a null Wishart matrix (Johnstone 2001: centre
``σ²(√(N−½)+√(M−½))²/N``, scale ``σ²(√(N−½)+√(M−½))(1/√(N−½)+1/√(M−½))^(1/3)/N``,
TW₁ 99% quantile 2.02), so pure noise has no spikes with probability about 0.99 per matrix.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

_TW1_Q99 = 2.0234
_GRID = 513


def mp_edges(ratio: float, sigma2: float = 1.0) -> tuple[float, float]:
    """``(λ₋, λ₊) = σ²(1 ∓ √y)²`` for aspect ratio ``y = M/N ≤ 1``."""
    r = math.sqrt(ratio)
    return sigma2 * (1 - r) ** 2, sigma2 * (1 + r) ** 2


def mp_density(x: np.ndarray, ratio: float, sigma2: float = 1.0) -> np.ndarray:
    """The Marchenko–Pastur density at ``x`` (zero outside ``[λ₋, λ₊]``)."""
    lo, hi = mp_edges(ratio, sigma2)
    x = np.asarray(x, dtype=np.float64)
    inside = (x > lo) & (x < hi)
    out = np.zeros_like(x)
    xi = x[inside]
    out[inside] = np.sqrt((hi - xi) * (xi - lo)) / (2 * np.pi * sigma2 * ratio * xi)
    return out


def _cdf_grid(ratio: float) -> tuple[np.ndarray, np.ndarray]:
    """Unit-variance CDF on ``λ(t) = λ₋ + (λ₊−λ₋)(1 − cos t)/2``: the substitution removes the
    square-root edges, so the trapezoid rule converges fast (also at y = 1, where ρ ~ λ^(−½))."""
    lo, hi = mp_edges(ratio)
    t = np.linspace(0.0, np.pi, _GRID)
    lam = lo + (hi - lo) * (1 - np.cos(t)) / 2
    # ρ(λ) dλ/dt with √((λ₊−λ)(λ−λ₋)) = (λ₊−λ₋) sin(t)/2 and dλ/dt = (λ₊−λ₋) sin(t)/2.
    with np.errstate(divide="ignore", invalid="ignore"):
        f = ((hi - lo) * np.sin(t) / 2) ** 2 / (2 * np.pi * ratio * lam)
    # At t = 0 the integrand is 0 when λ₋ > 0 and tends to λ₊/(2π y) when λ₋ = 0 (y = 1).
    f[0] = hi / (2 * np.pi * ratio) if lo == 0 else 0.0
    cdf = np.concatenate([[0.0], np.cumsum((f[1:] + f[:-1]) / 2 * np.diff(t))])
    return lam, cdf / cdf[-1]


def mp_cdf(x: np.ndarray, ratio: float, sigma2: float = 1.0) -> np.ndarray:
    """The Marchenko–Pastur CDF at ``x`` (interpolated on a 513-point grid; error < 1e-5)."""
    lam, cdf = _cdf_grid(ratio)
    return np.interp(np.asarray(x, dtype=np.float64) / sigma2, lam, cdf, left=0.0, right=1.0)


def mp_quantile(q: float, ratio: float, sigma2: float = 1.0) -> float:
    lam, cdf = _cdf_grid(ratio)
    return float(sigma2 * np.interp(q, cdf, lam))


def tracy_widom_edge(n: int, m: int, sigma2: float = 1.0) -> float:
    """Bulk edge plus the TW₁ 99% margin for the largest eigenvalue of ``WᵀW/N``."""
    a, b = math.sqrt(n - 0.5), math.sqrt(m - 0.5)
    centre = (a + b) ** 2 / n
    scale = (a + b) * (1 / a + 1 / b) ** (1 / 3) / n
    return sigma2 * (centre + _TW1_Q99 * scale)


@dataclass(frozen=True)
class MarchenkoPasturFit:
    """The random bulk of a layer's ESD (eigenvalues of ``X = WᵀW/N``).

    Attributes:
        sigma2: fitted element variance σ².
        ratio: aspect ratio ``y = M/N``.
        bulk_min: λ₋ of the fitted law.
        bulk_max: λ₊, the bulk edge.
        spike_threshold: λ₊ plus the Tracy–Widom margin.
        num_spikes: eigenvalues above ``spike_threshold``.
        soft_rank: ``λ₊ / λ_max`` (WeightWatcher's mp_softrank).
        ks_distance: KS distance of the bulk to the fitted law.
    """

    sigma2: float
    ratio: float
    bulk_min: float
    bulk_max: float
    spike_threshold: float
    num_spikes: int
    soft_rank: float
    ks_distance: float

    def to_dict(self) -> dict[str, float | int]:
        return dict(self.__dict__)


def fit_marchenko_pastur(
    eigenvalues: np.ndarray,
    *,
    n: int,
    m: int,
    grids: dict[float, tuple[np.ndarray, np.ndarray]] | None = None,
) -> MarchenkoPasturFit:
    """Fit the Marchenko–Pastur bulk to eigenvalues of ``WᵀW/N`` of ``N × M`` matrices.

    Args:
        eigenvalues: eigenvalues of ``X = WᵀW/N`` (several matrices of one shape may be pooled).
        n: the larger dimension ``N``.
        m: the smaller dimension ``M``.
        grids: a caller's cache of unit-variance CDF grids by aspect ratio, filled as needed
            (layers of one shape share a grid).
    """
    if m > n or m < 1:
        raise ValueError(f"need 1 <= m <= n, got n={n}, m={m}")
    x = np.sort(np.asarray(eigenvalues, dtype=np.float64))
    if x.size == 0 or x[-1] <= 0:
        raise ValueError("the Marchenko–Pastur fit needs at least one positive eigenvalue")
    ratio = m / n
    if grids is None:
        grids = {}
    if ratio not in grids:
        grids[ratio] = _cdf_grid(ratio)
    grid, cdf_grid = grids[ratio]  # unit variance; scaled by σ² below
    median1 = float(np.interp(0.5, cdf_grid, grid))

    def prefix_median(k: int) -> float:  # the bulk is a prefix of the sorted eigenvalues
        return 0.5 * float(x[(k - 1) // 2] + x[k // 2])

    k = x.size
    sigma2 = prefix_median(k) / median1
    for _ in range(50):
        threshold = tracy_widom_edge(n, m, sigma2)
        new_k = int(np.searchsorted(x, threshold, side="right"))
        if new_k == k or new_k == 0:
            break
        k = new_k
        sigma2 = prefix_median(k) / median1
    threshold = tracy_widom_edge(n, m, sigma2)
    k = int(np.searchsorted(x, threshold, side="right"))
    lo, hi = mp_edges(ratio, sigma2)
    ks = 0.0
    if k:
        cdf = np.interp(x[:k] / sigma2, grid, cdf_grid, left=0.0, right=1.0)
        steps = np.arange(k + 1) / k
        ks = float(np.max(np.maximum(cdf - steps[:-1], steps[1:] - cdf)))
    return MarchenkoPasturFit(
        sigma2=sigma2,
        ratio=ratio,
        bulk_min=lo,
        bulk_max=hi,
        spike_threshold=threshold,
        num_spikes=int(x.size - k),
        soft_rank=float(hi / x[-1]),
        ks_distance=ks,
    )
