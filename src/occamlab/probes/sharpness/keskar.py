"""Keskar et al. (2017, arXiv 1609.04836) ε-sharpness, maximized by L-BFGS-B in a box.

    φ_ε = 100 · (max_{y ∈ C_ε} L(x + A y) − L(x)) / (1 + L(x)),
    C_ε = {z ∈ R^p : |z_i| ≤ ε (|(A⁺x)_i| + 1)}.

Full space: A = I (p = n), so each parameter may move by ε(|x_i| + 1). Random subspace:
A ∈ R^{n×p} with i.i.d. N(0, 1) entries drawn from ``seed`` and A⁺x the least-squares
coordinates of x in A's column space, computed in float64 as (AᵀA)⁻¹Aᵀx from a Gram matrix
accumulated in row chunks (A has full column rank almost surely when p ≤ n). A is held in the
parameters' dtype (n·p numbers).

The maximization is scipy's L-BFGS-B on −L(x + A y) with exact autograd gradients −Aᵀ∇L,
float64 on the scipy side, ``maxiter=max_iter`` (Keskar et al. used 10) and scipy's function and
projected-gradient tolerances switched off (ftol = gtol = 0) so that only ``max_iter``, a stalled
line search or an exact stationary point stop it. It starts from a uniform random point of the
box (at an exact minimum the gradient at y = 0 vanishes and a start there could not move). The
reported maximum is the largest loss among all points evaluated, including y = 0, so φ ≥ 0; at
ε = 0 the box is the single point y = 0 and φ is exactly 0 (no optimization is run).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from scipy.optimize import Bounds, minimize

from occamlab.probes.sharpness.common import (
    FlatObjective,
    SharpnessResult,
    check_common,
    check_int,
    check_real,
    common_fields,
)
from occamlab.subject import SplitName, Subject

_GRAM_CHUNK = 1 << 16


@dataclass(frozen=True)
class KeskarSharpness(SharpnessResult):
    """Keskar et al.'s φ_ε and its ingredients.

    Attributes:
        sharpness: φ_ε = 100 · (perturbed_loss − base_loss) / (1 + base_loss).
        epsilon: ε, the relative box size.
        subspace_dim: p for the random-subspace variant, None for the full space.
        base_loss: L(x).
        perturbed_loss: the largest L(x + A y) found in the box (≥ base_loss).
        perturbation_norm: ‖A y*‖₂ at that point (parameter units).
        box_norm: ‖ε(|A⁺x| + 1)‖₂, the Euclidean norm of the box's half-widths in y.
        optimizer: ``"L-BFGS-B"`` (scipy).
        max_iter, iterations: the iteration cap and the iterations L-BFGS-B ran.
        optimizer_message: scipy's termination message.
    """

    sharpness: float
    epsilon: float
    subspace_dim: int | None
    base_loss: float
    perturbed_loss: float
    perturbation_norm: float
    box_norm: float
    optimizer: str
    max_iter: int
    iterations: int
    optimizer_message: str


def _subspace_coordinates(a: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """A⁺x in float64 for a tall A of full column rank, via a chunked Gram matrix."""
    p = a.shape[1]
    gram = torch.zeros(p, p, dtype=torch.float64)
    rhs = torch.zeros(p, dtype=torch.float64)
    for start in range(0, a.shape[0], _GRAM_CHUNK):
        block = a[start : start + _GRAM_CHUNK].double()
        gram += block.T @ block
        rhs += block.T @ x[start : start + _GRAM_CHUNK].double()
    return torch.linalg.lstsq(gram, rhs.unsqueeze(1)).solution.squeeze(1)


def keskar_sharpness(
    subject: Subject,
    *,
    epsilon: float = 1e-3,
    subspace_dim: int | None = None,
    max_iter: int = 10,
    seed: int = 0,
    split: SplitName = "train",
    limit: int | None = None,
) -> KeskarSharpness:
    """Keskar et al.'s ε-sharpness φ_ε of ``subject`` at its current parameters.

    Args:
        epsilon: relative box size ε ≥ 0 (Keskar et al. report 1e-3 and 5e-4).
        subspace_dim: None for the full space (A = I); p ≥ 1 (at most the number of
            parameters) for a random N(0, 1) matrix A ∈ R^{n×p} (Keskar et al. use p = 100).
        max_iter: L-BFGS-B iterations (Keskar et al. use 10).
        seed: seeds A and the random start in the box.
        split: the data split whose full mean loss is L.
        limit: use only its first ``limit`` examples (None: all).

    Returns:
        A :class:`KeskarSharpness`; the module's parameters are not modified.
    """
    epsilon = check_real("epsilon", epsilon)
    max_iter = check_int("max_iter", max_iter)
    check_common(seed, limit)
    with subject.eval_mode():
        objective = FlatObjective(subject, split, limit)
        x = objective.w
        n = x.numel()
        if subspace_dim is not None:
            subspace_dim = check_int("subspace_dim", subspace_dim)
            if subspace_dim > n:
                raise ValueError(
                    f"subspace_dim must be at most the number of parameters ({n}), "
                    f"got {subspace_dim}"
                )
        base = objective.loss(x)
        generator = torch.Generator().manual_seed(seed)
        if subspace_dim is None:
            a = None
            center = x.double()
        else:
            a = torch.randn(n, subspace_dim, generator=generator, dtype=x.dtype)
            center = _subspace_coordinates(a, x)
        half = epsilon * (center.abs() + 1.0)
        best = {"loss": base, "delta": torch.zeros_like(x)}
        result_fields = {"iterations": 0, "message": "epsilon = 0: the box is the point y = 0"}

        def delta_of(y: torch.Tensor) -> torch.Tensor:
            return y.to(x.dtype) if a is None else a @ y.to(x.dtype)

        def negative_loss(y_np: np.ndarray) -> tuple[float, np.ndarray]:
            delta = delta_of(torch.from_numpy(y_np))
            value, grad = objective.loss_and_grad(x + delta)
            if value > best["loss"]:
                best["loss"], best["delta"] = value, delta.clone()
            grad_y = grad if a is None else a.T @ grad
            return -value, -grad_y.double().numpy()

        if epsilon > 0:
            u = torch.rand(half.shape, generator=generator, dtype=torch.float64)
            start = ((2.0 * u - 1.0) * half).numpy()
            bounds = Bounds(-half.numpy(), half.numpy())
            solution = minimize(
                negative_loss,
                start,
                jac=True,
                method="L-BFGS-B",
                bounds=bounds,
                options={"maxiter": max_iter, "ftol": 0.0, "gtol": 0.0},
            )
            result_fields = {"iterations": int(solution.nit), "message": str(solution.message)}
        return KeskarSharpness(
            sharpness=100.0 * (best["loss"] - base) / (1.0 + base),
            epsilon=epsilon,
            subspace_dim=subspace_dim,
            base_loss=base,
            perturbed_loss=best["loss"],
            perturbation_norm=float(best["delta"].double().norm()),
            box_norm=float(half.norm()),
            optimizer="L-BFGS-B",
            max_iter=max_iter,
            iterations=result_fields["iterations"],
            optimizer_message=result_fields["message"],
            **common_fields(objective, seed),
        )
