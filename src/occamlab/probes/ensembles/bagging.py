"""Bagging (Breiman 1996) and the variance it removes (Bühlmann & Yu 2002, "Analyzing bagging").

The bagged predictor averages a base predictor refit on B bootstrap resamples of the training
set (n draws with replacement each):

    f_bag(x) = (1/B) Σ_b f(x; (x_i, y_i)_{i ∈ I_b}),   I_b ~ Uniform{1..n}ⁿ

Bühlmann & Yu show it smooths hard decisions: for unstable predictors (a stump's threshold, a
tree's splits) it reduces the variance of the prediction over training sets, by a factor of
about 3 near a stump's split point; for smooth (stable) predictors such as least squares it
changes little. :func:`prediction_variance` measures that variance from predictions made on one
test set by the predictor fit on independent training sets.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

FitPredict = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]


def bootstrap_indices(n: int, bootstraps: int, *, seed: int) -> np.ndarray:
    """``bootstraps`` resamples of ``range(n)`` with replacement, shape ``(bootstraps, n)``,
    from ``numpy.random.default_rng(seed)``."""
    if n < 1 or bootstraps < 1:
        raise ValueError(f"need n >= 1 and bootstraps >= 1, got n={n}, bootstraps={bootstraps}")
    return np.random.default_rng(seed).integers(0, n, size=(bootstraps, n))


def bagged_predict(
    fit_predict: FitPredict,
    x: np.ndarray,
    y: np.ndarray,
    x_test: np.ndarray,
    *,
    bootstraps: int | None = None,
    seed: int = 0,
    indices: np.ndarray | None = None,
) -> np.ndarray:
    """The bagged prediction at ``x_test``: the mean of ``fit_predict(x[I], y[I], x_test)`` over
    the resamples ``I`` (the rows of ``indices``, or ``bootstraps`` rows drawn by
    :func:`bootstrap_indices` from ``seed``).

    >>> mean = lambda x, y, t: np.full(len(t), y.mean())
    >>> bagged_predict(mean, np.zeros((3, 1)), np.array([0.0, 3.0, 6.0]), np.zeros((1, 1)),
    ...                indices=np.array([[0, 0, 1], [2, 2, 2]]))
    array([3.5])
    """
    if indices is None:
        if bootstraps is None:
            raise ValueError("pass bootstraps (how many resamples to draw) or indices")
        indices = bootstrap_indices(len(x), bootstraps, seed=seed)
    indices = np.asarray(indices)
    if indices.ndim != 2 or indices.shape[0] == 0:
        raise ValueError(f"indices must have shape (B, m) with B >= 1, got {indices.shape}")
    total = None
    for rows in indices:
        pred = np.asarray(fit_predict(x[rows], y[rows], x_test), dtype=np.float64)
        total = pred if total is None else total + pred
    return total / len(indices)


def prediction_variance(predictions: np.ndarray) -> float:
    """The variance of a predictor over training sets, averaged over test points:
    ``mean_x Var_r f_r(x)`` (unbiased over the R fits, ddof = 1) from ``predictions`` of shape
    ``(R, n_test)`` (or ``(R, n_test, C)``: summed over outputs), one row per independent
    training set.

    >>> prediction_variance(np.array([[0.0, 1.0], [2.0, 1.0]]))
    1.0
    """
    p = np.asarray(predictions, dtype=np.float64)
    if p.ndim < 2 or p.shape[0] < 2:
        raise ValueError(f"need predictions of at least 2 fits, shape (R, n_test), got {p.shape}")
    v = p.var(axis=0, ddof=1)
    return float(v.reshape(v.shape[0], -1).sum(-1).mean())
