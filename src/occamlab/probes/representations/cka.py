"""Centred kernel alignment (Kornblith et al. 2019, arXiv 1905.00414).

``CKA(K, L) = HSIC(K, L) / √(HSIC(K, K) HSIC(L, L))`` for kernel matrices of two representations
of the same ``n`` examples.

- Biased HSIC (Gretton et al. 2005): ``tr(KHLH)/(n−1)²``. For linear kernels ``K = XXᵀ`` it is,
  in feature space, ``‖X_cᵀY_c‖²_F`` with column-centred ``X_c``: ``O(n d²)`` instead of the
  ``O(n² d)`` (or ``O(n³)``) of the Gram form. Two *independent* representations read well above
  0 when d is not ≪ n.
- Unbiased HSIC (Song et al. 2012, used by Nguyen, Raghu & Kornblith 2021, arXiv 2010.15327):
  with ``K̃, L̃`` the kernels with zeroed diagonals,
  ``[tr(K̃L̃) + 1ᵀK̃1·1ᵀL̃1/((n−1)(n−2)) − 2/(n−2)·1ᵀK̃L̃1] / (n(n−3))``;
  it is ≈ 0 for independent representations. The default.

Linear CKA here is computed from :class:`FeatureStats` (feature space, exact, streamable), so
the minibatch version (Nguyen et al. 2021) equals the full-batch value: it accumulates the
statistics, it does not average per-batch CKA values. RBF CKA needs the ``n × n`` kernels and is
full batch; its bandwidth is ``σ = factor × median pairwise distance`` (Kornblith et al.).
"""

from __future__ import annotations

from typing import Literal

import torch

from occamlab.probes.representations.feature_stats import FeatureStats

Estimator = Literal["unbiased", "biased"]


def _as_matrix(x: torch.Tensor, name: str) -> torch.Tensor:
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if x.dim() == 1:
        x = x[:, None]
    return x.reshape(x.shape[0], -1)


def _hsic_pair(stats: FeatureStats, i: int, j: int, estimator: Estimator) -> float:
    n = stats.n
    if estimator == "biased":
        return float((stats.centred_cross(i, j) ** 2).sum()) / (n - 1) ** 2
    if n < 4:
        raise ValueError(f"the unbiased HSIC estimator needs n >= 4 examples, got {n}")
    c = stats.cross(i, j)
    si, sj = stats.sums[stats.block(i)], stats.sums[stats.block(j)]
    kl = float(stats.norm_products[i, j])
    trace = float((c**2).sum()) - kl
    ones_k = float(si @ si) - float(stats.norm_sums[i])
    ones_l = float(sj @ sj) - float(stats.norm_sums[j])
    # 1ᵀK̃L̃1 = Σ_n (x_n·s_x − k_n)(y_n·s_y − l_n)
    a = stats.norm_weighted[j, stats.block(i)]  # Σ l_n x_n
    b = stats.norm_weighted[i, stats.block(j)]  # Σ k_n y_n
    cross = float(si @ c @ sj) - float(si @ a) - float(sj @ b) + kl
    value = trace + ones_k * ones_l / ((n - 1) * (n - 2)) - 2.0 / (n - 2) * cross
    return value / (n * (n - 3))


def hsic_matrix(stats: FeatureStats, *, estimator: Estimator = "unbiased") -> torch.Tensor:
    """Linear HSIC between every pair of representations held by ``stats``, ``(L, L)``."""
    count = len(stats.dims)
    out = torch.zeros(count, count, dtype=torch.float64)
    for i in range(count):
        for j in range(i, count):
            out[i, j] = out[j, i] = _hsic_pair(stats, i, j, estimator)
    return out


def cka_from_hsic(hsic: torch.Tensor) -> torch.Tensor:
    """``HSIC_ij / √(HSIC_ii HSIC_jj)``; a representation with no variation gives NaN rows."""
    d = torch.sqrt(torch.clamp(torch.diagonal(hsic), min=0))
    scale = torch.outer(d, d)
    out = hsic / scale
    out[scale == 0] = float("nan")
    return out


def linear_cka(
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    estimator: Estimator = "unbiased",
    chunk: int = 2048,
    dtype: Literal["float32", "float64"] = "float32",
) -> float:
    """Linear CKA of ``x`` ``(n, d₁)`` and ``y`` ``(n, d₂)`` (extra dims are flattened).

    Computed in feature space from statistics accumulated over row chunks of ``chunk``
    examples (float64 accumulation of centred products). Invariant to orthogonal transforms,
    isotropic scaling and constant offsets of either input; 1 for identical inputs.

    Example:
        >>> import torch
        >>> x = torch.randn(500, 8, generator=torch.Generator().manual_seed(0))
        >>> round(linear_cka(x, 3 * x + 1), 6)
        1.0
    """
    x, y = _as_matrix(x, "x"), _as_matrix(y, "y")
    if x.shape[0] != y.shape[0]:
        raise ValueError(f"x and y need the same examples: {x.shape[0]} vs {y.shape[0]} rows")
    stats = FeatureStats([x.shape[1], y.shape[1]], dtype=dtype)
    for start in range(0, x.shape[0], chunk):
        stats.update([x[start : start + chunk], y[start : start + chunk]])
    if stats.n < 2:
        raise ValueError(f"CKA needs at least 2 examples, got {stats.n}")
    value = float(cka_from_hsic(hsic_matrix(stats, estimator=estimator))[0, 1])
    if value != value:
        raise ValueError("a representation is constant across examples: CKA is undefined")
    return value


class StreamingCKA:
    """Minibatch linear CKA (Nguyen et al. 2021) that equals the full-batch value exactly.

    The statistics are the full-batch ones, accumulated: in float64 products the two agree to
    rounding (~1e-17); with the default float32 products both carry float32 rounding of the
    products (~1e-8 absolute).

    Example:
        >>> import torch
        >>> g = torch.Generator().manual_seed(0)
        >>> x, y = torch.randn(300, 5, generator=g), torch.randn(300, 4, generator=g)
        >>> s = StreamingCKA(dtype="float64")
        >>> for b in range(0, 300, 64): s.update(x[b:b + 64], y[b:b + 64])
        >>> abs(s.compute() - linear_cka(x, y, dtype="float64")) < 1e-12
        True
    """

    def __init__(
        self,
        *,
        estimator: Estimator = "unbiased",
        dtype: Literal["float32", "float64"] = "float32",
    ) -> None:
        self.estimator, self.dtype = estimator, dtype
        self.stats: FeatureStats | None = None

    def update(self, x: torch.Tensor, y: torch.Tensor) -> None:
        x, y = _as_matrix(x, "x"), _as_matrix(y, "y")
        if self.stats is None:
            self.stats = FeatureStats([x.shape[1], y.shape[1]], dtype=self.dtype)
        self.stats.update([x, y])

    def compute(self) -> float:
        if self.stats is None:
            raise ValueError("no batches were added")
        return float(cka_from_hsic(hsic_matrix(self.stats, estimator=self.estimator))[0, 1])


def _sq_distances(x: torch.Tensor) -> torch.Tensor:
    sq = (x * x).sum(dim=1)
    d = torch.addmm(sq[None, :], x, x.T, alpha=-2.0)  # ‖a‖² + ‖b‖² − 2aᵀb, fused
    d.add_(sq[:, None]).clamp_(min=0)
    d.fill_diagonal_(0)
    return d


def median_bandwidth(sq_dist: torch.Tensor, *, bins: int = 4096) -> float:
    """Median of the off-diagonal pairwise distances (from squared distances), exactly.

    The ``n`` diagonal zeros are the smallest entries, so the off-diagonal median is the
    ``k = n + ⌈(n² − n)/2⌉``-th smallest entry of the whole matrix. A histogram finds the bin
    holding it; only that bin's entries are then sorted (no full selection over n² values).
    """
    n = sq_dist.shape[0]
    k = n + (n * n - n + 1) // 2
    flat = sq_dist.reshape(-1)
    top = float(flat.max())
    if top <= 0:
        return 0.0
    counts = torch.histc(flat, bins=bins, min=0.0, max=top).to(torch.int64)
    b = int(torch.searchsorted(torch.cumsum(counts, 0), torch.tensor(k)).item())
    lo, hi = top * b / bins, top * (b + 1) / bins
    # Count with the same comparisons used to select, so rounding at bin edges cannot matter.
    below = int((flat < lo).sum())
    inside = flat[(flat >= lo) & (flat <= hi)]
    rank = k - below
    if not 1 <= rank <= inside.numel():  # histc put an edge value elsewhere: select exactly
        return float(flat.kthvalue(k).values.sqrt())
    return float(inside.kthvalue(rank).values.sqrt())


class _KernelSums:
    """Row sums and diagonal of one ``n × n`` kernel, in float64 (computed once per kernel)."""

    def __init__(self, k: torch.Tensor) -> None:
        self.rows = k.sum(1).to(torch.float64)
        self.diag = torch.diagonal(k).to(torch.float64)


def _inner(a: torch.Tensor, b: torch.Tensor, *, rows: int = 256) -> float:
    """``Σ aᵢⱼ bᵢⱼ`` over row blocks (cascade-summed within a block, float64 across blocks)."""
    total = 0.0
    for start in range(0, a.shape[0], rows):
        total += float((a[start : start + rows] * b[start : start + rows]).sum(dtype=torch.float64))
    return total


def _hsic_gram(
    inner: float, k: _KernelSums, lk: _KernelSums, n: int, estimator: Estimator
) -> float:
    """HSIC of two ``n × n`` kernels from ``Σ K∘L``, row sums and diagonals; the unbiased form
    drops the diagonals analytically (no copies)."""
    if estimator == "biased":
        # tr(KHLH) = Σ K∘L − (2/n) (K1)ᵀ(L1) + (1ᵀK1)(1ᵀL1)/n²
        value = (
            inner
            - 2.0 / n * float(k.rows @ lk.rows)
            + float(k.rows.sum()) * float(lk.rows.sum()) / n**2
        )
        return value / (n - 1) ** 2
    if n < 4:
        raise ValueError(f"the unbiased HSIC estimator needs n >= 4 examples, got {n}")
    kr, lr = k.rows - k.diag, lk.rows - lk.diag  # row sums of K̃, L̃
    trace = inner - float(k.diag @ lk.diag)
    value = (
        trace
        + float(kr.sum()) * float(lr.sum()) / ((n - 1) * (n - 2))
        - 2.0 / (n - 2) * float(kr @ lr)
    )
    return value / (n * (n - 3))


def rbf_cka(
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    factor: float = 1.0,
    estimator: Estimator = "unbiased",
    dtype: Literal["float32", "float64"] = "float32",
) -> float:
    """CKA with Gaussian kernels ``exp(−‖a − b‖²/(2σ²))``, ``σ = factor ×`` the median
    pairwise distance of each representation (Kornblith et al. 2019). Full batch: memory
    ``O(n²)``. Inputs are centred in float64 first (distances do not depend on it)."""
    x, y = _as_matrix(x, "x"), _as_matrix(y, "y")
    if x.shape[0] != y.shape[0]:
        raise ValueError(f"x and y need the same examples: {x.shape[0]} vs {y.shape[0]} rows")
    if factor <= 0:
        raise ValueError(f"factor must be positive, got {factor}")
    work = torch.float32 if dtype == "float32" else torch.float64
    kernels = []
    for z in (x, y):
        z = z.to(torch.float64)
        z = (z - z.mean(0)).to(work)
        d = _sq_distances(z)
        sigma = factor * median_bandwidth(d)
        if sigma == 0:
            raise ValueError("a representation is constant across examples: CKA is undefined")
        d.mul_(-1.0 / (2 * sigma * sigma)).exp_()
        kernels.append(d)
    k, lk = kernels
    n = k.shape[0]
    sk, sl = _KernelSums(k), _KernelSums(lk)
    kl = _hsic_gram(_inner(k, lk), sk, sl, n, estimator)
    kk = _hsic_gram(_inner(k, k), sk, sk, n, estimator)
    ll = _hsic_gram(_inner(lk, lk), sl, sl, n, estimator)
    return kl / (kk * ll) ** 0.5
