"""Worst-case sharpness in scaled balls: adaptive (ASAM) and filter-normalized.

Both probes estimate max L(w + δ) − L(w) over a set {δ = s ⊙ v : ‖v_g‖₂ ≤ ρ for every group g}:
a per-coordinate scale s ≥ 0 and a partition of the coordinates into groups, each an ℓ2 ball of
radius ρ in the normalized coordinates v.

* Adaptive sharpness (Kwon et al. 2021, arXiv 2102.11600; Andriushchenko et al. 2023):
  s = |w| + η, so ‖T_w⁻¹ δ‖_p ≤ ρ with T_w = diag(|w| + η). p = 2 is one group of all
  coordinates; p = ∞ makes every coordinate its own group (|v_i| ≤ ρ).
* Filter-normalized sharpness (the normalization of Li et al. 2018): s = ‖w_f‖₂ on every
  coordinate of filter f, one group per filter, so ‖δ_f‖₂ ≤ ρ‖w_f‖₂. A filter is a slice along
  dim 0 of a parameter with ≥ 2 dimensions (a row of a linear weight, an output channel of a
  conv kernel). 1-D and 0-D parameters (biases, norm scales) are left unperturbed
  (``vectors="ignore"``, as Li et al. do) or form one group each, normalized by their own norm
  (``vectors="normalize"``).

Coordinates with s = 0 (w_i = 0 with η = 0, an all-zero filter) cannot move; they are excluded
from the ball. The maximization is projected gradient ascent on v: a uniform random start in
the set, then ``steps`` steps v ← Π(v + α·d), with d the steepest-ascent direction of the set's
norm (per group, the gradient s ⊙ ∇L normalized to unit ℓ2 norm; the sign for p = ∞) and Π the
projection onto the set. The reported maximum is the largest loss over every point evaluated,
including δ = 0, so sharpness ≥ 0. The one-step (first-order, SAM/ASAM-style) estimate moves from
w straight to the maximizer of the linearized loss, v₁ = ρ·d(w); its linear prediction is
ρ Σ_g ‖(s ⊙ ∇L)_g‖₂ (ρ‖T∇L‖₂ for p = 2, ρ‖T∇L‖₁ for p = ∞).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch

from occamlab.probes.sharpness.common import (
    FlatObjective,
    SharpnessResult,
    check_choice,
    check_common,
    check_int,
    check_real,
    common_fields,
)
from occamlab.subject import SplitName, Subject


@dataclass(frozen=True)
class AscentSharpness(SharpnessResult):
    """Worst-case loss increase in a scaled ball, found by projected gradient ascent.

    Attributes:
        sharpness: perturbed_loss − base_loss (≥ 0).
        rho: radius ρ in normalized coordinates.
        base_loss: L(w).
        perturbed_loss: the largest L(w + δ) found.
        perturbation_norm: ‖δ*‖₂ in parameter units at that point.
        normalized_radius: the largest group norm ‖v*_g‖₂ there (≤ ρ; |v*_i| for p = ∞).
        one_step_sharpness: L(w + δ₁) − L(w) at the one-step (first-order) point.
        first_order_increase: the linear prediction ρ Σ_g ‖(s ⊙ ∇L(w))_g‖₂ of that increase.
        gradient_norm: ‖∇L(w)‖₂.
        optimizer: ``"projected gradient ascent"``.
        steps, step_size: ascent steps and step length α (normalized coordinates).
        movable_parameters: coordinates with s > 0 (those that can move).
    """

    sharpness: float
    rho: float
    base_loss: float
    perturbed_loss: float
    perturbation_norm: float
    normalized_radius: float
    one_step_sharpness: float
    first_order_increase: float
    gradient_norm: float
    optimizer: str
    steps: int
    step_size: float
    movable_parameters: int


@dataclass(frozen=True)
class AdaptiveSharpness(AscentSharpness):
    """Adaptive sharpness with T_w = diag(|w| + η) in the ℓ_p ball (``p`` is 2 or ``"inf"``)."""

    p: int | str
    eta: float


@dataclass(frozen=True)
class FilterNormalizedSharpness(AscentSharpness):
    """Filter-normalized sharpness; ``vectors`` says how 1-D/0-D parameters were handled."""

    vectors: str


class Ball:
    """The set {v : ‖v_g‖₂ ≤ ρ per group g, v_i = 0 where s_i = 0} and its geometry."""

    def __init__(self, scale: torch.Tensor, group: torch.Tensor, rho: float) -> None:
        self.scale = scale
        self.group = group
        self.num_groups = int(group.max()) + 1 if group.numel() else 0
        self.active = scale > 0
        self.rho = rho

    def group_norms(self, v: torch.Tensor) -> torch.Tensor:
        squares = torch.zeros(self.num_groups, dtype=v.dtype).index_add_(0, self.group, v * v)
        return squares.sqrt()

    def direction(self, v: torch.Tensor) -> torch.Tensor:
        """Each group scaled to unit ℓ2 norm (zero groups stay zero); inactive entries zeroed."""
        v = torch.where(self.active, v, torch.zeros_like(v))
        norms = self.group_norms(v)[self.group]
        return torch.where(norms > 0, v / torch.where(norms > 0, norms, 1.0), 0.0)

    def project(self, v: torch.Tensor) -> torch.Tensor:
        norms = self.group_norms(v)[self.group]
        factor = torch.where(norms > self.rho, self.rho / torch.where(norms > 0, norms, 1.0), 1.0)
        return v * factor

    def random_point(self, generator: torch.Generator) -> torch.Tensor:
        """A uniform point of the set: per group, a uniform direction and radius ρ·U^(1/dim)."""
        d = torch.randn(self.scale.shape, generator=generator, dtype=self.scale.dtype)
        counts = torch.zeros(self.num_groups, dtype=self.scale.dtype)
        counts.index_add_(0, self.group, self.active.to(self.scale.dtype))
        u = torch.rand(self.num_groups, generator=generator, dtype=self.scale.dtype)
        radius = self.rho * u.pow(1.0 / counts.clamp(min=1.0))
        return self.direction(d) * radius[self.group]


def ascent_loop(
    objective: FlatObjective,
    ball: Ball,
    *,
    base: float,
    steps: int,
    step_size: float,
    seed: int,
) -> tuple[float, torch.Tensor]:
    """Projected gradient ascent in ``ball`` from a uniform random point of it.

    Returns the largest loss over every point evaluated (``base`` at v = 0 included) and its
    normalized coordinates v (the perturbation is ``ball.scale * v``).
    """
    w, s = objective.w, ball.scale
    best_loss, best_v = base, torch.zeros_like(w)
    v = ball.random_point(torch.Generator().manual_seed(seed))
    for _ in range(steps):
        value, g = objective.loss_and_grad(w + s * v)
        if value > best_loss:
            best_loss, best_v = value, v
        v = ball.project(v + step_size * ball.direction(s * g))
    value = objective.loss(w + s * v)
    if value > best_loss:
        best_loss, best_v = value, v
    return best_loss, best_v


def _ascend(
    objective: FlatObjective, ball: Ball, *, steps: int, step_size: float, seed: int
) -> dict[str, float | int]:
    w, s = objective.w, ball.scale
    base, grad = objective.loss_and_grad(w)
    ascent = ball.direction(s * grad)
    first_order = ball.rho * float(ball.group_norms(s * grad).sum())
    one_step = objective.loss(w + s * (ball.rho * ascent)) - base
    best_loss, best_v = ascent_loop(
        objective, ball, base=base, steps=steps, step_size=step_size, seed=seed
    )
    return {
        "sharpness": best_loss - base,
        "rho": ball.rho,
        "base_loss": base,
        "perturbed_loss": best_loss,
        "perturbation_norm": float((s * best_v).double().norm()),
        "normalized_radius": float(ball.group_norms(best_v).max()) if ball.num_groups else 0.0,
        "one_step_sharpness": one_step,
        "first_order_increase": first_order,
        "gradient_norm": float(grad.double().norm()),
        "optimizer": "projected gradient ascent",
        "steps": steps,
        "step_size": step_size,
        "movable_parameters": int(ball.active.sum()),
    }


def _check_ascent(rho: float, steps: int, step_size: float | None) -> tuple[float, int, float]:
    rho = check_real("rho", rho)
    steps = check_int("steps", steps)
    if step_size is None:
        return rho, steps, rho
    return rho, steps, check_real("step_size", step_size, strict=True)


def adaptive_sharpness(
    subject: Subject,
    *,
    rho: float = 0.05,
    p: Literal[2, "inf"] = 2,
    eta: float = 0.0,
    steps: int = 10,
    step_size: float | None = None,
    seed: int = 0,
    split: SplitName = "train",
    limit: int | None = None,
) -> AdaptiveSharpness:
    """Adaptive sharpness max_{‖T_w⁻¹δ‖_p ≤ ρ} L(w + δ) − L(w), T_w = diag(|w| + η).

    Args:
        rho: radius ρ ≥ 0 of the normalized ball.
        p: 2 or ``"inf"``.
        eta: η ≥ 0; with η = 0 parameters equal to zero cannot move.
        steps: projected-gradient-ascent steps (each one loss-and-gradient evaluation).
        step_size: step length in normalized coordinates (default ρ).
        seed: seeds the random start.
        split: the data split whose full mean loss is L.
        limit: use only its first ``limit`` examples (None: all).
    """
    rho, steps, step_size = _check_ascent(rho, steps, step_size)
    p = check_choice("p", p, (2, "inf"))
    eta = check_real("eta", eta)
    check_common(seed, limit)
    with subject.eval_mode():
        objective = FlatObjective(subject, split, limit)
        w = objective.w
        group = torch.zeros(w.numel(), dtype=torch.int64) if p == 2 else torch.arange(w.numel())
        ball = Ball(w.abs() + eta, group, rho)
        fields = _ascend(objective, ball, steps=steps, step_size=step_size, seed=seed)
        return AdaptiveSharpness(p=p, eta=eta, **fields, **common_fields(objective, seed))


def _filter_groups(
    params: dict[str, torch.Tensor], vectors: str
) -> tuple[torch.Tensor, torch.Tensor]:
    scales, groups, next_group = [], [], 0
    for tensor in params.values():
        t = tensor.detach()
        if t.ndim >= 2:
            rows = t.reshape(t.shape[0], -1)
            per_row = rows.norm(dim=1, keepdim=True).expand_as(rows)
            ids = torch.arange(t.shape[0]).unsqueeze(1).expand_as(rows) + next_group
            scales.append(per_row.reshape(-1))
            groups.append(ids.reshape(-1))
            next_group += t.shape[0]
        else:
            norm = t.norm() if vectors == "normalize" else torch.zeros((), dtype=t.dtype)
            scales.append(norm.expand(t.numel()))
            groups.append(torch.full((t.numel(),), next_group, dtype=torch.int64))
            next_group += 1
    return torch.cat(scales), torch.cat(groups)


def filter_normalized_sharpness(
    subject: Subject,
    *,
    rho: float = 0.05,
    vectors: Literal["ignore", "normalize"] = "ignore",
    steps: int = 10,
    step_size: float | None = None,
    seed: int = 0,
    split: SplitName = "train",
    limit: int | None = None,
) -> FilterNormalizedSharpness:
    """Worst-case loss increase with every filter perturbed by at most ρ times its own norm.

    Args:
        rho: relative radius ρ ≥ 0: ‖δ_f‖₂ ≤ ρ‖w_f‖₂ for every filter f.
        vectors: ``"ignore"`` leaves 1-D/0-D parameters (biases, norm scales) unperturbed;
            ``"normalize"`` lets each move by at most ρ times its own ℓ2 norm.
        steps: as in :func:`adaptive_sharpness`.
        step_size: as in :func:`adaptive_sharpness` (default ρ).
        seed: as in :func:`adaptive_sharpness`.
        split: the data split whose full mean loss is L.
        limit: use only its first ``limit`` examples (None: all).
    """
    rho, steps, step_size = _check_ascent(rho, steps, step_size)
    vectors = check_choice("vectors", vectors, ("ignore", "normalize"))
    check_common(seed, limit)
    with subject.eval_mode():
        objective = FlatObjective(subject, split, limit)
        scale, group = _filter_groups(objective.like, vectors)
        ball = Ball(scale.to(objective.dtype), group, rho)
        fields = _ascend(objective, ball, steps=steps, step_size=step_size, seed=seed)
        return FilterNormalizedSharpness(
            vectors=vectors, **fields, **common_fields(objective, seed)
        )
