"""Random Fourier features and minimum-norm least squares: the double-descent model of Belkin et al.

Random Fourier features (Rahimi & Recht 2007) approximate the Gaussian kernel
``k(x, y) = exp(-‖x - y‖² / (2σ²))`` by an explicit ``N``-dimensional feature map
``φ(x) = sqrt(2/N) cos(Wᵀx + b)``, ``W_ij ~ N(0, 1/σ²)``, ``b_j ~ U[0, 2π)``, since
``E[φ(x)·φ(y)] = k(x, y)``. Fitting ``Φθ ≈ Y`` by the *minimum-norm* least-squares solution
``θ = Φ⁺Y`` and sweeping ``N`` through the number of training points ``n`` traces the
double-descent risk curve (Belkin, Hsu, Ma & Mandal 2019, arXiv 1812.11118, Fig. 2): the solution
interpolates from ``N = n`` on, its norm and test risk peak there, and both fall again as ``N``
grows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class RandomFourierFeatures:
    """The feature map ``φ(x) = sqrt(2/N) cos(Wᵀx + b)`` of the Gaussian kernel with bandwidth σ.

    Attributes:
        weights: ``W``, float64 of shape ``(d, N)`` with entries ``N(0, 1/σ²)``.
        phases: ``b``, float64 of shape ``(N,)`` with entries ``U[0, 2π)``.
    """

    weights: torch.Tensor
    phases: torch.Tensor

    @classmethod
    def sample(
        cls,
        *,
        input_dim: int,
        num_features: int,
        bandwidth: float,
        generator: torch.Generator,
    ) -> RandomFourierFeatures:
        """Draw ``W`` and ``b`` from ``generator`` (the global RNG is never used)."""
        if input_dim < 1 or num_features < 1:
            raise ValueError(
                f"input_dim and num_features must be positive, got {input_dim}, {num_features}"
            )
        if not (math.isfinite(bandwidth) and bandwidth > 0):
            raise ValueError(f"bandwidth σ must be a positive number, got {bandwidth}")
        weights = torch.randn(input_dim, num_features, generator=generator, dtype=torch.float64)
        phases = torch.rand(num_features, generator=generator, dtype=torch.float64)
        return cls(weights=weights / bandwidth, phases=phases * (2 * math.pi))

    @property
    def num_features(self) -> int:
        return int(self.weights.shape[1])

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """Features of ``x`` (``(n, d)``, any float dtype) as a float64 ``(n, N)`` matrix."""
        x = x.reshape(x.shape[0], -1).to(torch.float64)
        if x.shape[1] != self.weights.shape[0]:
            raise ValueError(
                f"inputs have {x.shape[1]} features but the map was drawn for "
                f"{self.weights.shape[0]}"
            )
        return math.sqrt(2.0 / self.num_features) * torch.cos(x @ self.weights + self.phases)


def gaussian_kernel(x: torch.Tensor, y: torch.Tensor, *, bandwidth: float) -> torch.Tensor:
    """``k(x_i, y_j) = exp(-‖x_i - y_j‖² / (2σ²))`` in float64: what the features approximate."""
    x64, y64 = x.reshape(x.shape[0], -1).double(), y.reshape(y.shape[0], -1).double()
    return torch.exp(-torch.cdist(x64, y64).pow(2) / (2 * bandwidth**2))


def min_norm_least_squares(
    features: torch.Tensor, targets: torch.Tensor, *, rcond: float | None = None
) -> torch.Tensor:
    """The least-squares solution of smallest Euclidean norm, ``θ = Φ⁺Y``.

    Among all minimizers of ``‖Φθ - Y‖_F`` the one with the smallest ``‖θ‖_F``: for ``N < n``
    (full column rank) the ordinary least-squares fit, for ``N ≥ n`` (full row rank) the
    interpolating solution ``Φᵀ(ΦΦᵀ)⁻¹Y`` of minimum norm. Computed in float64 with LAPACK's
    SVD-based ``gelsd`` (as ``numpy.linalg.lstsq``), which stays accurate at ``N ≈ n`` where
    ``Φ`` is worst conditioned; singular values below ``rcond · σ_max`` count as zero.

    Args:
        features: ``Φ``, shape ``(n, N)``.
        targets: ``Y``, shape ``(n,)`` or ``(n, k)``.
        rcond: relative cutoff for small singular values; ``None`` gives
            ``eps · max(n, N)`` (numpy's default).

    Returns:
        ``θ`` in float64, shape ``(N,)`` or ``(N, k)``.
    """
    if features.dim() != 2:
        raise ValueError(f"features must be a matrix (n, N), got shape {tuple(features.shape)}")
    if targets.shape[0] != features.shape[0] or targets.dim() not in (1, 2):
        raise ValueError(
            f"targets must have shape (n,) or (n, k) with n = {features.shape[0]}, "
            f"got {tuple(targets.shape)}"
        )
    a, b = features.to(torch.float64).cpu(), targets.to(torch.float64).cpu()
    if not (torch.isfinite(a).all() and torch.isfinite(b).all()):
        raise ValueError("features and targets must be finite (found NaN or inf)")
    vector = b.dim() == 1
    if rcond is None:
        rcond = torch.finfo(torch.float64).eps * max(a.shape)
    solution = torch.linalg.lstsq(a, b[:, None] if vector else b, rcond=rcond, driver="gelsd")
    theta = solution.solution
    return theta[:, 0] if vector else theta


__all__ = ["RandomFourierFeatures", "gaussian_kernel", "min_norm_least_squares"]
