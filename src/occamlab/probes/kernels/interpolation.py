"""Interpolating classifiers: the minimum-norm kernel interpolant and the 1-nearest neighbour.

Belkin, Ma & Mandal (2018, arXiv 1802.01396) compare networks that fit their training labels
exactly with the two classical methods that do the same:

* the **minimum-norm interpolant** of a kernel ``k``: among the functions of the RKHS with
  ``f(xᵢ) = yᵢ`` (one-hot targets, one function per class) the one of least norm,
  ``f(x) = K(x, X) α`` with ``α = K⁺ Y`` (``K⁻¹ Y`` for a positive definite ``K``; for a singular
  one, the least-squares solution of least norm, which is the pseudo-inverse's). Solved in float64
  by :func:`~occamlab.probes.kernels.regression.kernel_regression` with no ridge. The predicted
  class is the argmax of ``f``, so the training error is zero whenever ``K`` is invertible.
* the **1-nearest-neighbour** rule: the label of the closest training input (Euclidean; ties to
  the lowest index). Its training error is zero when no two training inputs coincide.

Kernels: :func:`laplacian_kernel` (Belkin et al.'s main kernel) with its bandwidth relative to
:func:`median_distance`; the network's analytic NTK comes from
:func:`occamlab.probes.kernels.analytic.analytic_ntk`.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from occamlab.probes.kernels.regression import kernel_regression, one_hot


def laplacian_kernel(
    x1: torch.Tensor, x2: torch.Tensor | None = None, *, bandwidth: float
) -> torch.Tensor:
    """``k(x, x') = exp(−‖x − x'‖₂ / σ)`` between the rows of ``x1`` and ``x2`` (float64).

    >>> laplacian_kernel(torch.tensor([[0.0, 0.0]]), torch.tensor([[3.0, 4.0]]), bandwidth=5.0)
    tensor([[0.3679]], dtype=torch.float64)
    """
    if not bandwidth > 0:
        raise ValueError(f"bandwidth must be positive, got {bandwidth!r}")
    a = x1.double().flatten(1)
    b = a if x2 is None else x2.double().flatten(1)
    return torch.exp(-_distances(a, b) / bandwidth)


def median_distance(x: torch.Tensor) -> float:
    """The median Euclidean distance between distinct rows of ``x`` (the usual bandwidth scale).

    >>> median_distance(torch.tensor([[0.0], [1.0], [3.0]]))
    2.0
    """
    a = x.double().flatten(1)
    if a.shape[0] < 2:
        raise ValueError("the median distance needs at least 2 inputs")
    d = _distances(a, a)
    i, j = torch.triu_indices(a.shape[0], a.shape[0], offset=1)
    return float(d[i, j].median())


def _distances(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    # the direct difference, not the ‖a‖² + ‖b‖² − 2a·b expansion, which loses the zeros
    return torch.cdist(a, b, compute_mode="donot_use_mm_for_euclid_dist")


@dataclass(frozen=True)
class Interpolant:
    """The minimum-norm kernel interpolant of one-hot labels, evaluated on a test set.

    Attributes:
        train_error: fraction of training labels its argmax gets wrong (0 when it interpolates).
        max_residual: ``max |f(xᵢ) − yᵢ|`` over the training inputs and classes.
        test_predictions: predicted classes of the test inputs.
    """

    train_error: float
    max_residual: float
    test_predictions: torch.Tensor

    def error(self, y_test: torch.Tensor) -> float:
        """Fraction of ``y_test`` predicted wrongly."""
        return float((self.test_predictions != y_test).double().mean())


def interpolate(
    k_train: torch.Tensor, y_train: torch.Tensor, k_test_train: torch.Tensor, *, num_classes: int
) -> Interpolant:
    """Fit the minimum-norm interpolant ``α = K⁺ Y`` of the one-hot labels ``y_train`` and
    predict the argmax class on the test inputs.

    Args:
        k_train: kernel between the training inputs ``(n, n)``.
        y_train: class indices ``(n,)``.
        k_test_train: kernel between test and training inputs ``(m, n)``.
        num_classes: number of classes ``C``.
    """
    targets = one_hot(y_train, num_classes)
    fit = kernel_regression(k_train, targets)
    on_train = fit.predict(k_train)
    return Interpolant(
        train_error=float((on_train.argmax(1) != y_train).double().mean()),
        max_residual=float((on_train - targets).abs().max()),
        test_predictions=fit.predict(k_test_train).argmax(1),
    )


def nearest_neighbour(
    x_train: torch.Tensor, y_train: torch.Tensor, x_test: torch.Tensor
) -> torch.Tensor:
    """The 1-nearest-neighbour prediction for each row of ``x_test`` (Euclidean distance in
    float64; among equally close training inputs the first).

    >>> nearest_neighbour(torch.tensor([[0.0], [2.0]]), torch.tensor([5, 7]), torch.tensor([[1.5]]))
    tensor([7])
    """
    a, b = x_test.double().flatten(1), x_train.double().flatten(1)
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"test inputs have {a.shape[1]} features, training inputs {b.shape[1]}")
    return y_train[_distances(a, b).argmin(dim=1)]


__all__ = [
    "Interpolant",
    "interpolate",
    "laplacian_kernel",
    "median_distance",
    "nearest_neighbour",
]
