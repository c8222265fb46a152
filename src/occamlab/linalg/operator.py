"""Linear operators on flat parameter vectors: the common currency of curvature code.

An operator knows its ``shape`` and ``dtype`` and applies itself to a vector (``matvec``) or to
the columns of a matrix (``matmat``); ``op @ v`` dispatches on the number of dimensions. It counts
how many vectors it was applied to (``num_matvecs``), so solvers can report their cost, and
converts to a :class:`scipy.sparse.linalg.LinearOperator` for interop (float64 NumPy in and out).
"""

from __future__ import annotations

import numpy as np
import torch
from scipy.sparse.linalg import LinearOperator


class Operator:
    """A square linear operator of size ``n`` acting on 1-D torch tensors.

    Subclasses implement :meth:`_matvec` (and may override :meth:`_matmat` with something faster
    than a loop). Inputs are converted to the operator's dtype.
    """

    def __init__(self, n: int, *, dtype: torch.dtype = torch.float32, symmetric: bool = True):
        if n < 1:
            raise ValueError(f"operator size must be positive, got {n}")
        self.n = int(n)
        self.dtype = dtype
        self.symmetric = symmetric
        self.num_matvecs = 0

    @property
    def shape(self) -> tuple[int, int]:
        return (self.n, self.n)

    def _matvec(self, v: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def _matmat(self, m: torch.Tensor) -> torch.Tensor:
        return torch.stack([self._matvec(m[:, j]) for j in range(m.shape[1])], dim=1)

    def _check(self, x: torch.Tensor, ndim: int) -> torch.Tensor:
        if not isinstance(x, torch.Tensor):
            x = torch.as_tensor(x)
        if x.ndim != ndim or x.shape[0] != self.n:
            want = f"({self.n},)" if ndim == 1 else f"({self.n}, k)"
            raise ValueError(
                f"operator of size {self.n} expects shape {want}, got {tuple(x.shape)}"
            )
        return x.to(self.dtype)

    def matvec(self, v: torch.Tensor) -> torch.Tensor:
        """``A v`` for a vector of shape ``(n,)``."""
        v = self._check(v, 1)
        self.num_matvecs += 1
        return self._matvec(v)

    def matmat(self, m: torch.Tensor) -> torch.Tensor:
        """``A M`` for a matrix of shape ``(n, k)`` (counts ``k`` products)."""
        m = self._check(m, 2)
        self.num_matvecs += m.shape[1]
        return self._matmat(m)

    def __matmul__(self, x: torch.Tensor) -> torch.Tensor:
        return self.matvec(x) if x.ndim == 1 else self.matmat(x)

    def to_scipy(self) -> LinearOperator:
        """This operator as a SciPy ``LinearOperator`` (float64 NumPy arrays in and out)."""

        def mv(v: np.ndarray) -> np.ndarray:
            out = self.matvec(torch.from_numpy(np.ascontiguousarray(v, dtype=np.float64).ravel()))
            return out.detach().to(torch.float64).numpy()

        def mm(m: np.ndarray) -> np.ndarray:
            out = self.matmat(torch.from_numpy(np.ascontiguousarray(m, dtype=np.float64)))
            return out.detach().to(torch.float64).numpy()

        return LinearOperator(
            self.shape,
            matvec=mv,
            rmatvec=mv if self.symmetric else None,
            matmat=mm,
            dtype=np.float64,
        )

    def dense(self) -> torch.Tensor:
        """The full ``(n, n)`` matrix, column by column (for tests and small problems)."""
        return self.matmat(torch.eye(self.n, dtype=self.dtype))


class DenseOperator(Operator):
    """An explicit matrix as an operator (known spectra in tests, small exact problems)."""

    def __init__(self, matrix: torch.Tensor, *, symmetric: bool = True):
        if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
            raise ValueError(f"expected a square matrix, got shape {tuple(matrix.shape)}")
        super().__init__(matrix.shape[0], dtype=matrix.dtype, symmetric=symmetric)
        self.matrix = matrix

    def _matvec(self, v: torch.Tensor) -> torch.Tensor:
        return self.matrix @ v

    def _matmat(self, m: torch.Tensor) -> torch.Tensor:
        return self.matrix @ m
