"""Orthogonal Procrustes distance between representations (Ding, Denain & Steinhardt 2021,
arXiv 2108.01661; Williams et al. 2021, arXiv 2110.14739).

After centring and scaling each representation to unit Frobenius norm,

    d²(X, Y) = min_Q ‖X − YQ‖²_F = 2 − 2 ‖XᵀY‖_*   (Q orthogonal; ‖·‖_* the nuclear norm),

zero-padding the narrower representation. A distance (0 for representations equal up to rotation,
scale and offset; at most 2). Computed from :class:`FeatureStats`, so it streams.
"""

from __future__ import annotations

from typing import Literal

import torch

from occamlab.probes.representations.cka import _as_matrix
from occamlab.probes.representations.feature_stats import FeatureStats


def procrustes_from_stats(stats: FeatureStats, i: int, j: int) -> float:
    """Squared Procrustes distance ``d²`` between representations ``i`` and ``j``."""
    cross = stats.centred_cross(i, j)
    norm_i = float(torch.diagonal(stats.centred_cross(i, i)).sum())
    norm_j = float(torch.diagonal(stats.centred_cross(j, j)).sum())
    if norm_i <= 0 or norm_j <= 0:
        raise ValueError("a representation is constant across examples: the distance is undefined")
    nuclear = float(torch.linalg.svdvals(cross).sum())
    return max(0.0, 2.0 - 2.0 * nuclear / (norm_i * norm_j) ** 0.5)


def procrustes_distance(
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    chunk: int = 2048,
    dtype: Literal["float32", "float64"] = "float32",
) -> float:
    """Squared orthogonal Procrustes distance ``d² ∈ [0, 2]`` of ``x`` ``(n, d₁)`` and ``y``."""
    x, y = _as_matrix(x, "x"), _as_matrix(y, "y")
    if x.shape[0] != y.shape[0]:
        raise ValueError(f"x and y need the same examples: {x.shape[0]} vs {y.shape[0]} rows")
    stats = FeatureStats([x.shape[1], y.shape[1]], dtype=dtype)
    for start in range(0, x.shape[0], chunk):
        stats.update([x[start : start + chunk], y[start : start + chunk]])
    return procrustes_from_stats(stats, 0, 1)
