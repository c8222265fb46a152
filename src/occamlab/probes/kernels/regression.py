"""Kernel regression and classification with any kernel (NTK, NNGP, ...), in float64.

* :func:`kernel_regression` — exact or ridge solve ``α = (K + λ I)⁻¹ (Y − f₀)``, predictions
  ``f(x) = f₀(x) + K(x, X) α``. With ``λ = 0`` and ``K`` the NTK this is the infinitely trained
  linearized network (Jacot et al. 2018; Lee et al. 2019, arXiv 1902.06720, eq. 9 with
  ``t → ∞``). A singular ``K`` is solved by least squares.
* :meth:`KernelRegression.at_time` — the same model after gradient flow for time ``τ`` on the mean
  squared error: on the training inputs ``f_τ = f₀ + (I − e^{−τK})(Y − f₀)``, elsewhere
  ``f₀(x) + K(x, X) K⁻¹ (I − e^{−τK})(Y − f₀)`` (Lee et al. 2019, eq. 9). With the subject's mse
  (``(1/(n k)) Σ ‖f − y‖²``), ``s`` steps of gradient descent at learning rate ``η`` correspond to
  ``τ = 2 η s / (n k)`` when the kernel is the NTK.
* Classification: regress onto one-hot targets, predict the argmax (:func:`one_hot`).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


def one_hot(y: torch.Tensor, num_classes: int) -> torch.Tensor:
    """Class indices ``(n,)`` as float64 one-hot targets ``(n, C)``."""
    return torch.nn.functional.one_hot(y.long(), num_classes).double()


def _check_kernel(k_train: torch.Tensor, y: torch.Tensor) -> None:
    if k_train.ndim != 2 or k_train.shape[0] != k_train.shape[1]:
        raise ValueError(f"k_train must be a square (n, n) matrix, got {tuple(k_train.shape)}")
    if y.shape[0] != k_train.shape[0]:
        raise ValueError(
            f"k_train is {k_train.shape[0]}×{k_train.shape[0]} but there are {y.shape[0]} targets"
        )
    if not torch.isfinite(k_train).all() or not torch.isfinite(y).all():
        raise ValueError("the kernel or the targets contain NaN or infinite values")


@dataclass(frozen=True)
class KernelRegression:
    """A fitted kernel regression (all float64).

    Attributes:
        k_train: the training kernel ``(n, n)``.
        residual: ``Y − f₀(X)`` ``(n, k)``.
        alpha: ``(K + λI)⁻¹ residual`` ``(n, k)``.
        ridge: ``λ``.
    """

    k_train: torch.Tensor
    residual: torch.Tensor
    alpha: torch.Tensor
    ridge: float

    def predict(self, k_test_train: torch.Tensor, f0: torch.Tensor | None = None) -> torch.Tensor:
        """``f₀(x) + K(x, X) α`` for a kernel block ``(m, n)`` between new and training inputs."""
        k = k_test_train.double()
        if k.ndim != 2 or k.shape[1] != self.alpha.shape[0]:
            raise ValueError(
                f"expected a kernel block (m, {self.alpha.shape[0]}), got {tuple(k.shape)}"
            )
        out = k @ self.alpha
        return out if f0 is None else out + f0.double().reshape(out.shape)

    def at_time(
        self, tau: float, k_test_train: torch.Tensor, f0: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Predictions after gradient flow for time ``τ`` (see the module docstring)."""
        if tau < 0:
            raise ValueError(f"tau must be >= 0, got {tau}")
        evals, evecs = torch.linalg.eigh(self.k_train)
        evals = evals.clamp_min(0.0)
        # K⁻¹ (I − e^{−τK}) has eigenvalues (1 − e^{−τλ})/λ -> τ as λ -> 0.
        small = evals < 1e-12 * max(float(evals.max()), 1e-300)
        factor = torch.where(small, torch.full_like(evals, tau), -torch.expm1(-tau * evals) / evals)
        coef = evecs @ (factor[:, None] * (evecs.T @ self.residual))
        out = k_test_train.double() @ coef
        return out if f0 is None else out + f0.double().reshape(out.shape)


def kernel_regression(
    k_train: torch.Tensor,
    y_train: torch.Tensor,
    *,
    ridge: float = 0.0,
    f0_train: torch.Tensor | None = None,
) -> KernelRegression:
    """Fit kernel (ridge) regression of targets ``y_train`` ``(n,)`` or ``(n, k)``.

    Args:
        k_train: kernel between training inputs ``(n, n)`` (symmetric positive semi-definite).
        y_train: targets; one-hot them first for classification (:func:`one_hot`).
        ridge: ``λ >= 0`` added to the diagonal.
        f0_train: the model's outputs at initialization (the linearized network starts there).
    """
    if ridge < 0:
        raise ValueError(f"ridge must be >= 0, got {ridge}")
    k = k_train.double()
    y = y_train.double().reshape(y_train.shape[0], -1)
    _check_kernel(k, y)
    residual = y if f0_train is None else y - f0_train.double().reshape(y.shape)
    a = k + ridge * torch.eye(k.shape[0], dtype=k.dtype)
    try:
        chol = torch.linalg.cholesky(a)
        alpha = torch.cholesky_solve(residual, chol)
    except torch.linalg.LinAlgError:
        alpha = torch.linalg.lstsq(a, residual, driver="gelsd").solution
    return KernelRegression(k_train=k, residual=residual, alpha=alpha, ridge=float(ridge))
