"""Closed-form upper bounds on the sum of Betti numbers of a ReLU network's positive region.

A ReLU network ``f`` on ``ℝⁿ`` is affine on each of its linear regions, which are convex. Each
layer's units cut every region of the layers below along at most ``n_l`` hyperplanes, so the
regions number at most ``R = ∏_l Σ_{j ≤ min(n, n_1, …, n_l)} C(n_l, j)`` (an arrangement of
``m`` hyperplanes in ``d`` dimensions has at most ``Σ_{j≤d} C(m, j)`` cells; Serra et al. 2018,
arXiv 1711.02114, Thm. 1 with the dimension bound). On a region, ``{f > 0}`` is a convex piece
(an open half-space met with a convex set), and so is ``{f ≤ 0}``. Hence, for generic weights:

* ``b₀ ≤ R``: every component of the positive set holds a piece;
* ``b_{n−1} ≤ R``: by Alexander duality ``b_{n−1}`` counts the bounded components of the
  complement, each holding a piece of ``{f ≤ 0}``;
* in between, the positive set is covered by its ``≤ R`` closed convex pieces, so by the nerve
  theorem ``b_k ≤ C(R, k + 1)`` (``k``-simplices of the nerve).

In the plane this gives ``B = b₀ + b₁ ≤ 2R``, in space ``B ≤ 2R + C(R, 2)``. For one hidden
layer of ``h`` units in the plane, ``2R = 2(1 + h + C(h, 2)) = O(h²)``: the ``O(hⁿ)`` of
Bianchini & Scarselli (2014, Table I, threshold units; the same hyperplane-arrangement count).
With depth the product grows exponentially in the number of layers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from occamlab.probes.regions.bounds import relu_region_bound


def relu_betti_bound(widths: Sequence[int], dim: int) -> int:
    """Upper bound on ``b₀ + … + b_{dim−1}`` of ``{f > 0}`` for a ReLU net with hidden
    ``widths`` on ``ℝ^dim`` (``dim`` = 2 or 3; see the module docstring).

    >>> relu_betti_bound([3], 2)
    14
    """
    r = relu_region_bound(widths, dim)
    if dim == 2:
        return 2 * r
    if dim == 3:
        return 2 * r + math.comb(r, 2)
    raise ValueError(f"the bound is stated for dim 2 or 3, got {dim}")
