"""Small statistics the experiments report: mean ± spread over seeds, least-squares lines."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def mean_std(values: Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (ddof=1; 0 for a single value).

    >>> mean_std([1.0, 2.0, 3.0])
    (2.0, 1.0)
    """
    v = np.asarray(values, dtype=np.float64)
    if v.size == 0:
        raise ValueError("no values")
    return float(v.mean()), float(v.std(ddof=1)) if v.size > 1 else 0.0


def linear_fit(x: Sequence[float], y: Sequence[float]) -> tuple[float, float, float]:
    """Least-squares line y ≈ a·x + b; returns (a, b, R²).

    >>> a, b, r2 = linear_fit([0, 1, 2], [1, 3, 5])
    >>> round(a, 12), round(b, 12), round(r2, 12)
    (2.0, 1.0, 1.0)
    """
    xs, ys = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if xs.shape != ys.shape or xs.size < 2:
        raise ValueError("need two equally long sequences of at least 2 values")
    a, b = np.polyfit(xs, ys, 1)
    resid = ys - (a * xs + b)
    total = float(((ys - ys.mean()) ** 2).sum())
    r2 = 1.0 - float((resid**2).sum()) / total if total > 0 else 1.0
    return float(a), float(b), r2
