"""The most linear regions a ReLU network can cut its input space into."""

from __future__ import annotations

import math
from collections.abc import Sequence


def relu_region_bound(widths: Sequence[int], dim: int) -> int:
    """Most linear regions of a ReLU net with hidden ``widths`` on ``ℝ^dim``:
    ``∏_l Σ_{j ≤ min(dim, n_1, …, n_l)} C(n_l, j)`` (an arrangement of ``m`` hyperplanes in
    ``d`` dimensions has at most ``Σ_{j≤d} C(m, j)`` cells; Serra et al. 2018, arXiv 1711.02114,
    Theorem 1 with the dimension bound).

    >>> relu_region_bound([3], 2)  # three lines cut the plane into at most 7 cells
    7
    >>> relu_region_bound([4, 4], 1)  # a line crosses at most (4 + 1)² regions
    25
    """
    if dim < 1 or any(w < 1 for w in widths):
        raise ValueError(f"dim and widths must be positive, got {dim}, {list(widths)}")
    total, d = 1, dim
    for w in widths:
        d = min(d, w)
        total *= sum(math.comb(w, j) for j in range(d + 1))
    return total
