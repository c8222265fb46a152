"""Canonical correlation family: mean CCA, SVCCA and PWCCA, with the checks they need.

CCA finds directions of ``X`` and ``Y`` (centred, ``n`` examples) with maximal correlation; the
canonical correlations ``ρ₁ ≥ … ≥ ρ_k`` are the singular values of ``U_xᵀU_y``, where ``U`` holds
orthonormal bases of the column spaces (from the SVD of each centred matrix).

- SVCCA (Raghu et al. 2017, arXiv 1706.05806): keep the top singular directions explaining
  ``variance`` (99%) of each representation, then the mean of the ρ.
- PWCCA (Morcos, Raghu & Bengio 2018, arXiv 1806.05759): ``Σ αᵢρᵢ`` with weights
  ``αᵢ ∝ Σ_j |⟨hᵢ, x_j⟩|`` of the canonical variates ``hᵢ`` of ``X`` on its (centred) neurons
  ``x_j``: directions that carry much of ``X`` count more.

Bias and what to do about it: with ``k`` directions and ``n`` examples, independent data have
canonical correlations around √(k/n) and reach 1 at ``k ≥ n``. The rule here: each side is first
truncated by SVD (to the variance threshold, and never beyond rank ``n − 1``); a warning is
issued when ``n < 10·k``; ``regularization`` shrinks the correlations (ridge CCA, ``Σ + εI`` with
``ε`` = regularization × mean variance); and a permutation null (rows of ``Y`` shuffled, the same
truncation) is reported by default, so a value can be read against what unrelated data give.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Literal

import torch

from occamlab.probes.representations.cka import _as_matrix

Method = Literal["svcca", "pwcca", "mean_cca"]


class CCABiasWarning(UserWarning):
    """Too few examples for the number of CCA directions: correlations are inflated."""


@dataclass(frozen=True)
class CCAResult:
    """One CCA-family similarity with its null.

    Attributes:
        method: ``svcca``, ``pwcca`` or ``mean_cca``.
        value: the similarity.
        correlations: the canonical correlations (descending).
        dims: directions kept on each side after truncation.
        n: examples.
        null_mean: mean value under the permutation null (None if not computed).
        null_quantile: 95th percentile under the null.
        p_value: fraction of null values ≥ the observed one (with the +1 correction).
    """

    method: str
    value: float
    correlations: tuple[float, ...]
    dims: tuple[int, int]
    n: int
    null_mean: float | None
    null_quantile: float | None
    p_value: float | None

    def to_dict(self) -> dict:
        return {
            "method": self.method,
            "value": self.value,
            "correlations": list(self.correlations),
            "dims": list(self.dims),
            "n": self.n,
            "null_mean": self.null_mean,
            "null_quantile": self.null_quantile,
            "p_value": self.p_value,
        }


def _basis(
    x: torch.Tensor, variance: float, max_dims: int | None, regularization: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """Orthonormal basis of the kept directions, shrink factors ``s/√(s² + ε)`` (all 1 without
    regularization)."""
    u, s, _ = torch.linalg.svd(x, full_matrices=False)
    tol = s.max() * max(x.shape) * torch.finfo(x.dtype).eps if s.numel() else 0
    s = s[s > tol]
    if s.numel() == 0:
        raise ValueError("a representation is constant across examples: CCA is undefined")
    power = s**2
    keep = int(torch.searchsorted(torch.cumsum(power, 0) / power.sum(), variance).item()) + 1
    keep = min(keep, s.numel(), x.shape[0] - 1)
    if max_dims is not None:
        keep = min(keep, max_dims)
    s = s[:keep]
    eps = regularization * float((s**2).mean())
    return u[:, :keep], s / torch.sqrt(s**2 + eps)


def _value(
    method: Method,
    ux: torch.Tensor,
    fx: torch.Tensor,
    uy: torch.Tensor,
    fy: torch.Tensor,
    x: torch.Tensor,
) -> tuple[float, torch.Tensor]:
    m = (fx[:, None] * (ux.T @ uy)) * fy[None, :]
    p, rho, _ = torch.linalg.svd(m, full_matrices=False)
    rho = rho.clamp(max=1.0)
    if method == "pwcca":
        h = ux @ p  # canonical variates of X (n, k), unit norm
        weights = (h.T @ x).abs().sum(dim=1)
        return float((weights * rho).sum() / weights.sum()), rho
    return float(rho.mean()), rho


def cca_similarity(
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    method: Method = "svcca",
    variance: float = 0.99,
    max_dims: int | None = None,
    regularization: float = 0.0,
    permutations: int = 20,
    generator: torch.Generator | None = None,
) -> CCAResult:
    """SVCCA, PWCCA or mean CCA of ``x`` ``(n, d₁)`` and ``y`` ``(n, d₂)``, with a permutation null.

    Args:
        method: ``svcca`` (mean ρ after SVD truncation), ``pwcca`` (projection-weighted) or
            ``mean_cca`` (mean ρ, no variance truncation: ``variance`` is taken as 1).
        variance: fraction of each side's variance the kept SVD directions explain.
        max_dims: cap on the directions kept per side.
        regularization: ridge ``ε`` as a multiple of the mean kept variance (0: plain CCA).
        permutations: row shuffles of ``y`` for the null (0: skip).
        generator: randomness of the shuffles.

    Warns:
        CCABiasWarning: when ``n < 10·k`` for the larger side's ``k`` kept directions.
    """
    if method not in ("svcca", "pwcca", "mean_cca"):
        raise ValueError(f"unknown method {method!r}; valid: svcca, pwcca, mean_cca")
    if not 0 < variance <= 1:
        raise ValueError(f"variance must be in (0, 1], got {variance}")
    if regularization < 0 or permutations < 0:
        raise ValueError("regularization and permutations must be >= 0")
    x, y = _as_matrix(x, "x"), _as_matrix(y, "y")
    if x.shape[0] != y.shape[0]:
        raise ValueError(f"x and y need the same examples: {x.shape[0]} vs {y.shape[0]} rows")
    n = x.shape[0]
    if n < 3:
        raise ValueError(f"CCA needs at least 3 examples, got {n}")
    x = x.to(torch.float64)
    y = y.to(torch.float64)
    x, y = x - x.mean(0), y - y.mean(0)
    frac = 1.0 if method == "mean_cca" else variance
    ux, fx = _basis(x, frac, max_dims, regularization)
    uy, fy = _basis(y, frac, max_dims, regularization)
    k = max(ux.shape[1], uy.shape[1])
    if n < 10 * k:
        warnings.warn(
            f"CCA with n={n} examples and k={k} directions (n < 10·k): canonical correlations "
            "are inflated (independent data give about √(k/n)); compare with the permutation "
            "null, lower max_dims or add regularization",
            CCABiasWarning,
            stacklevel=2,
        )
    value, rho = _value(method, ux, fx, uy, fy, x)
    null_mean = null_q = p = None
    if permutations:
        null = torch.tensor(
            [
                _value(method, ux, fx, uy[torch.randperm(n, generator=generator)], fy, x)[0]
                for _ in range(permutations)
            ],
            dtype=torch.float64,
        )
        null_mean = float(null.mean())
        null_q = float(torch.quantile(null, 0.95))
        p = float(((null >= value).sum() + 1) / (permutations + 1))
    return CCAResult(
        method,
        value,
        tuple(float(r) for r in rho),
        (ux.shape[1], uy.shape[1]),
        n,
        null_mean,
        null_q,
        p,
    )
