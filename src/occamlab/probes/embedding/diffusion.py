"""Diffusion maps (Coifman & Lafon 2006) with the α normalization and a variable bandwidth
(Berry & Harlim 2016), in float64, on a dense or a k-nearest-neighbour kernel.

With squared distances ``d²ᵢⱼ`` (between a point and its k nearest neighbours, itself included,
symmetrized by the maximum; or between every pair), a bandwidth ``ρ`` (1, or the variable one
below) and a scale ε,

    Kᵢⱼ = exp(−d²ᵢⱼ / (4ε ρᵢ ρⱼ)),   qᵢ = Σⱼ Kᵢⱼ / ρᵢ²,   K⁽ᵅ⁾ᵢⱼ = Kᵢⱼ / (qᵢ qⱼ)^α,
    Pᵢⱼ = K⁽ᵅ⁾ᵢⱼ / Σₗ K⁽ᵅ⁾ᵢₗ,   L = (P − I) / (ε ρ²)   (ρ² only with a variable bandwidth).

α = 0 is the graph Laplacian, α = ½ the Fokker–Planck operator and α = 1 removes the sampling
density: L → Δ, the Laplace–Beltrami operator of the manifold the points lie on, as ε → 0 and
n → ∞ (with this kernel's 4ε convention). The eigenpairs ``L ψₖ = λₖ ψₖ``, ``0 = λ₀ > λ₁ ≥ λ₂ …``,
come from the symmetric problem ``(K⁽ᵅ⁾ − D) u = λ M u`` with ``D = diag(Σⱼ K⁽ᵅ⁾ᵢⱼ)`` and
``M = ε D ρ²`` (``ψ = M^{-1/2} u`` up to scale), so they are real and computed by a symmetric
solver (LAPACK dense; ARPACK in shift-invert mode on the sparse kernel, from a seeded start
vector). The constant ψ₀ is
dropped; each ψₖ is normalized to ``Σᵢ wᵢ ψₖ(xᵢ)² = 1`` under the stationary weights ``w ∝ M``
and signed so that its largest-magnitude entry is positive. The diffusion coordinates at time t
are ``e^{tλₖ} ψₖ`` (t = 0: the eigenfunctions).

ε, when not given, is the Berry–Giannakis–Harlim choice: the power of 2 that maximizes
``d log Σᵢⱼ exp(−d²ᵢⱼ/(4ε)) / d log ε``, twice of which estimates the intrinsic dimension. The
variable bandwidth is ``ρ = q̂^β`` with q̂ a kernel density estimate whose own bandwidth is the
root mean square distance to the 7 nearest other points, and β = −1/(d + 2) by default (d the
dimension estimated by that density estimate). These choices follow pydiffmap (Banisch, Trstanova
& Thiede), whose maps this module reproduces (``benchmarks/diffusion_maps.py``); pydiffmap divides
the density by ρ² (Berry & Harlim divide by ρ^d, the same for d = 2).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import scipy.linalg
import scipy.sparse as sps
import scipy.sparse.linalg

KernelKind = Literal["knn", "dense"]
_KDE_NEIGHBOURS = 8  # the density estimate's bandwidth: 7 nearest other points (as pydiffmap)


@dataclass(frozen=True)
class DiffusionMap:
    """Eigenpairs of the diffusion generator on the points given.

    Attributes:
        eigenvalues: λ₁ ≥ λ₂ ≥ … (all < 0) of L, the trivial λ₀ = 0 dropped.
        eigenvectors: ``(n, k)`` ψₖ, normalized to ``Σᵢ wᵢ ψₖ(xᵢ)² = 1`` and signed.
        weights: the stationary weights ``w`` (summing to 1).
        epsilon: the kernel scale ε used.
        dimension: the intrinsic dimension estimated with ε (None when ε was given).
        bandwidth: ρ at each point (None for the fixed bandwidth).
        time: t of :meth:`coordinates`.
    """

    eigenvalues: np.ndarray
    eigenvectors: np.ndarray
    weights: np.ndarray
    epsilon: float
    dimension: float | None
    bandwidth: np.ndarray | None
    time: float = 0.0

    @property
    def coordinates(self) -> np.ndarray:
        """The diffusion coordinates ``e^{tλₖ} ψₖ(xᵢ)``, shape ``(n, k)``."""
        return self.eigenvectors * np.exp(self.time * self.eigenvalues)


def bgh_epsilon(squared: np.ndarray) -> tuple[float, float]:
    """Berry–Giannakis–Harlim (2015) scale and dimension from squared (scaled) distances.

    Over ε = 2⁻⁴⁰ … 2⁴⁰, ``T(ε) = Σ exp(−d²/(4ε))``; ε is where ``d log T / d log ε`` is
    largest (the left end of that step), and the dimension is twice that slope, rounded.
    """
    from scipy.special import logsumexp

    eps = 2.0 ** np.arange(-40.0, 41.0)
    log_t = np.array([logsumexp(-squared / (4.0 * e)) for e in eps])
    slope = np.diff(log_t) / np.diff(np.log(eps))
    best = int(np.argmax(slope))
    return float(eps[best]), float(np.round(2.0 * slope[best]))


def _check_points(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"points must be a 2-D array (n, features), got shape {x.shape}")
    if x.shape[0] < 2:
        raise ValueError(f"a diffusion map needs at least 2 points, got {x.shape[0]}")
    if not np.isfinite(x).all():
        raise ValueError("points contain NaN or infinite values; clean or drop them first")
    return x


def _distance_graph(x: np.ndarray, kernel: KernelKind, k: int) -> sps.csr_matrix | np.ndarray:
    """Distances to the k nearest neighbours (self included) as a sparse matrix, or every
    pairwise distance as a dense one."""
    if kernel == "dense":
        from scipy.spatial.distance import cdist

        return cdist(x, x)
    from sklearn.neighbors import NearestNeighbors

    neighbours = NearestNeighbors(n_neighbors=min(k, len(x))).fit(x)
    return neighbours.kneighbors_graph(x, mode="distance").tocsr()


def _entries(graph) -> np.ndarray:
    return graph.data if sps.issparse(graph) else graph.ravel()


def _scaled(graph, scale_rows: np.ndarray, scale_cols: np.ndarray):
    """``graph[i, j] · scale_rows[i] · scale_cols[j]`` on the graph's own pattern."""
    if not sps.issparse(graph):
        return graph * scale_rows[:, None] * scale_cols[None, :]
    coo = graph.tocoo()
    data = coo.data * scale_rows[coo.row] * scale_cols[coo.col]
    return sps.csr_matrix((data, (coo.row, coo.col)), shape=graph.shape)


def variable_bandwidth(distances, beta: float | None) -> tuple[np.ndarray, float]:
    """Berry & Harlim's bandwidth ``ρ = q̂^β`` from the kNN (or dense) distances; returns ρ and
    the β used (``−1/(d + 2)`` with d the density estimate's dimension when ``beta`` is None)."""
    n = distances.shape[0]
    squared = distances.copy()
    if sps.issparse(squared):
        squared.data = squared.data**2
        rows = squared.data.reshape(n, -1)  # a kNN graph: the same count of entries per row
    else:
        squared = squared**2
        rows = squared
    rows = np.sort(np.where(rows > 0, rows, np.inf), axis=1)[:, : _KDE_NEIGHBOURS - 1]
    if rows.shape[1] < _KDE_NEIGHBOURS - 1 or not np.isfinite(rows).all():
        raise ValueError(
            f"the variable bandwidth needs at least {_KDE_NEIGHBOURS - 1} neighbours at a "
            "nonzero distance from every point (duplicates do not count): raise k (neighbors), "
            "or use the fixed bandwidth"
        )
    # The density estimate's own bandwidth: RMS distance to the 7 nearest other points.
    h = np.sqrt(rows.sum(axis=1) / (_KDE_NEIGHBOURS - 1))
    inv_h = 1.0 / h
    scaled = _scaled(squared, inv_h, inv_h)
    off_diagonal = (
        scaled.data[scaled.data > 0] if sps.issparse(scaled) else scaled[~np.eye(n, dtype=bool)]
    )
    eps_kde, d = bgh_epsilon(np.concatenate([off_diagonal, np.zeros(n)]))
    kernel = scaled.copy()
    if sps.issparse(kernel):
        kernel.data = np.exp(-kernel.data / (4.0 * eps_kde))
        mass = np.asarray(kernel.sum(axis=1)).ravel()
    else:
        mass = np.exp(-kernel / (4.0 * eps_kde)).sum(axis=1)
    density = mass / n / h**d / (4.0 * np.pi * eps_kde) ** (d / 2.0)
    used = -1.0 / (d + 2.0) if beta is None else beta
    return density**used, used


def diffusion_map(
    x: np.ndarray,
    *,
    components: int = 2,
    alpha: float = 1.0,
    epsilon: float | None = None,
    kernel: KernelKind = "knn",
    k: int = 64,
    bandwidth: Literal["fixed", "variable"] = "fixed",
    beta: float | None = None,
    time: float = 0.0,
    seed: int = 0,
) -> DiffusionMap:
    """The diffusion map of the rows of ``x`` (see the module docstring for the formulas).

    Args:
        x: ``(n, features)`` points.
        components: nontrivial eigenpairs kept.
        alpha: the density normalization exponent α ∈ [0, 1].
        epsilon: kernel scale ε (None: the Berry–Giannakis–Harlim choice).
        kernel: ``knn`` (sparse, k nearest neighbours) or ``dense`` (every pair).
        k: neighbours per point of the kNN kernel, the point itself included.
        bandwidth: ``fixed`` or ``variable`` (Berry & Harlim 2016).
        beta: exponent of the variable bandwidth (None: −1/(d + 2)).
        time: t of the diffusion coordinates ``e^{tλ} ψ``.
        seed: seeds ARPACK's start vector (sparse kernel).

    Example:
        Two points: P = [[1−p, p], [p, 1−p]] with p = e^{−1/(4ε)}/(1 + e^{−1/(4ε)}), so λ₁ = −2p/ε.

        >>> m = diffusion_map([[0.0], [1.0]], components=1, epsilon=1.0, kernel="dense")
        >>> p = np.exp(-0.25) / (1 + np.exp(-0.25))
        >>> bool(np.isclose(m.eigenvalues[0], -2 * p))
        True
    """
    x = _check_points(x)
    n = x.shape[0]
    most = n - 1 if kernel == "dense" else n - 2  # ARPACK finds fewer than n eigenpairs
    if not 1 <= components <= most:
        raise ValueError(
            f"components must be in [1, {most}] for {n} points and a {kernel} kernel, "
            f"got {components}"
        )
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must be in [0, 1], got {alpha}")
    if epsilon is not None and not (np.isfinite(epsilon) and epsilon > 0):
        raise ValueError(f"epsilon must be > 0 (or None for the automatic choice), got {epsilon}")
    if kernel not in ("knn", "dense"):
        raise ValueError(f"kernel must be 'knn' or 'dense', got {kernel!r}")
    if bandwidth not in ("fixed", "variable"):
        raise ValueError(f"bandwidth must be 'fixed' or 'variable', got {bandwidth!r}")
    if kernel == "knn" and k < 2:
        raise ValueError(f"k must be >= 2 (the point itself and a neighbour), got {k}")
    if time < 0:
        raise ValueError(f"time must be >= 0, got {time}")
    distances = _distance_graph(x, kernel, k)
    rho = None
    if bandwidth == "variable":
        rho, _ = variable_bandwidth(distances, beta)
    inv = np.ones(n) if rho is None else 1.0 / rho
    squared = distances.copy()
    if sps.issparse(squared):
        squared.data = squared.data**2
    else:
        squared = squared**2
    squared = _scaled(squared, inv, inv) if rho is not None else squared
    dimension = None
    if epsilon is None:
        epsilon, dimension = bgh_epsilon(_entries(squared))
    if sps.issparse(squared):
        kern = squared.copy()
        kern.data = np.exp(-kern.data / (4.0 * epsilon))
        kern = kern.maximum(kern.T).tocsr()  # the "or" symmetrization of the kNN graph
        row_sums = np.asarray(kern.sum(axis=1)).ravel()
    else:
        kern = np.exp(-squared / (4.0 * epsilon))
        row_sums = kern.sum(axis=1)
    q = row_sums if rho is None else row_sums / rho**2
    qa = q**-alpha
    kern = _scaled(kern, qa, qa)
    degree = np.asarray(kern.sum(axis=1)).ravel()
    mass = epsilon * degree * (1.0 if rho is None else rho**2)
    s = 1.0 / np.sqrt(mass)
    count = components + 1
    if sps.issparse(kern):
        sym = _scaled(kern - sps.diags(degree), s, s)
        start = np.random.default_rng(seed).standard_normal(n)
        # Shift-invert about a small σ > 0 (the spectrum is ≤ 0): the eigenvalues nearest 0
        # converge in a few iterations even when they cluster (weakly connected clusters).
        sigma = 1e-6 * float(np.abs(sym.diagonal()).max())
        values, vectors = scipy.sparse.linalg.eigsh(
            sym.tocsc(), k=count, sigma=sigma, which="LM", v0=start
        )
    else:
        sym = _scaled(kern - np.diag(degree), s, s)
        sym = (sym + sym.T) / 2.0
        values, vectors = scipy.linalg.eigh(sym, subset_by_index=[n - count, n - 1])
    order = np.argsort(values)[::-1]
    values, vectors = values[order][1:], vectors[:, order][:, 1:]
    psi = vectors * s[:, None]
    weights = mass / mass.sum()
    psi = psi / np.sqrt((weights[:, None] * psi**2).sum(axis=0))
    top = np.abs(psi).argmax(axis=0)
    psi = psi * np.sign(psi[top, np.arange(psi.shape[1])])
    return DiffusionMap(
        eigenvalues=values,
        eigenvectors=psi,
        weights=weights,
        epsilon=float(epsilon),
        dimension=dimension,
        bandwidth=rho,
        time=time,
    )


__all__ = ["DiffusionMap", "KernelKind", "bgh_epsilon", "diffusion_map", "variable_bandwidth"]
