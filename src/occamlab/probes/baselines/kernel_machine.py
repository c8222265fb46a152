"""Kernel ridge with any kernel function, as a scikit-learn estimator (imported only when a
kernel family is fitted: scikit-learn is slow to import, and the CLI imports the families)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from sklearn.base import BaseEstimator

PREDICT_ROWS = 2048


class KernelMachine(BaseEstimator):
    """Kernel ridge regression (scikit-learn's ``KernelRidge`` on a precomputed kernel) with any
    kernel function; classification regresses onto one-hot targets and predicts the argmax.

    The ridge ``λ`` is relative to the mean of the kernel's diagonal, so one grid serves kernels
    of any scale.
    """

    def __init__(
        self,
        kernel: Callable[[np.ndarray, np.ndarray], np.ndarray],
        ridge: float = 1e-3,
        num_classes: int | None = None,
    ) -> None:
        self.kernel, self.ridge, self.num_classes = kernel, ridge, num_classes

    def fit(self, x: np.ndarray, y: np.ndarray) -> KernelMachine:
        from sklearn.kernel_ridge import KernelRidge

        k = self.kernel(x, x)
        targets = np.eye(self.num_classes)[y] if self.num_classes else y
        scale = float(np.mean(np.diag(k))) or 1.0
        self.model_ = KernelRidge(alpha=self.ridge * scale, kernel="precomputed").fit(k, targets)
        self.x_ = x
        return self

    def predict(self, x: np.ndarray) -> np.ndarray:
        # In blocks of rows: a kernel block between many new inputs and the training inputs
        # (and its temporaries) would otherwise take several times n_new × n_train numbers.
        size = PREDICT_ROWS if len(x) > PREDICT_ROWS else len(x)
        blocks = [x[i : i + size] for i in range(0, len(x), size)] if size else [x]
        out = np.concatenate([self.model_.predict(self.kernel(b, self.x_)) for b in blocks])
        return out.argmax(axis=1) if self.num_classes else out


__all__ = ["PREDICT_ROWS", "KernelMachine"]
