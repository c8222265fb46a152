"""Betti numbers of the set where a function sampled on a grid is positive.

The grid's values are the filtration values of the vertices of a cubical complex (gudhi's
``CubicalComplex(vertices=...)``); a cube of any dimension enters the filtration at the largest
value of its vertices. The sublevel set of ``−f`` at the largest level below ``−level`` is then
the cubical set spanned by the grid points where ``f > level`` (a cell belongs to it exactly when
all its corners do: points are joined along grid edges, not across diagonals), and its Betti
numbers are the persistent Betti numbers at that level. ``b₀`` counts components, ``b₁``
holes (loops), ``b₂`` enclosed cavities in 3-D.
"""

from __future__ import annotations

import numpy as np


def betti_numbers(values: np.ndarray, *, level: float = 0.0) -> tuple[int, ...]:
    """Betti numbers ``(b₀, …, b_{d−1})`` of ``{x : values(x) > level}`` on a ``d``-D grid.

    Computed with gudhi's cubical persistent homology of ``−values`` (not a hand-written
    homology); ``b_d`` of a set in ``d`` dimensions is always 0 and is not returned.

    Args:
        values: a 2-D or 3-D array of finite function values on a regular grid.
        level: the threshold (0: the positive region of a binary classifier's margin).

    >>> yy, xx = np.mgrid[-1:1:64j, -1:1:64j]
    >>> r = np.hypot(xx, yy)
    >>> betti_numbers((r - 0.3) * (0.7 - r))  # an annulus: one component, one hole
    (1, 1)
    """
    import gudhi

    v = np.asarray(values, dtype=np.float64)
    if v.ndim not in (2, 3):
        raise ValueError(f"values must be a 2-D or 3-D grid, got {v.ndim} dimensions")
    if min(v.shape) < 2:
        raise ValueError(f"the grid needs at least 2 points per side, got shape {v.shape}")
    if not np.isfinite(v).all():
        raise ValueError("values must be finite (the network produced NaN or inf on the grid)")
    complex_ = gudhi.CubicalComplex(vertices=-v)
    complex_.compute_persistence()
    # {f > level} = {−f < −level} = {−f ≤ t} for t the largest float below −level.
    t = float(np.nextafter(-float(level), -np.inf))
    betti = complex_.persistent_betti_numbers(t, t)
    return tuple(int(b) for b in betti[: v.ndim])
