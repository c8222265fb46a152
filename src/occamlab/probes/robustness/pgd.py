"""Projected gradient descent (Madry et al. 2018, arXiv 1706.06083, §2): the worst-case input in
an ε-ball, found by ascending the loss and projecting back onto the ball after every step.

For ``x`` with label ``y``, starting from ``δ₀`` (0, or uniform in the ball with a random start):

* ℓ∞: ``δ ← clip_[−ε, ε](δ + α · sign(∇_δ L(x + δ, y)))``
* ℓ2: ``δ ← Π_ε(δ + α · g / ‖g‖₂)`` with ``g = ∇_δ L(x + δ, y)`` and
  ``Π_ε(δ) = δ · min(1, ε / ‖δ‖₂)`` (per example)

then ``x + δ`` is clipped to the box ``[clip_min, clip_max]`` when one is given. The step size
``α`` defaults to ``2.5 ε / steps`` (Madry et al.'s choice: the last steps can still reach the
ball's far side from anywhere inside it). The model is evaluated in eval mode (dropout off,
BatchNorm on its running statistics): the attack targets one fixed function. Randomness comes
only from the ``generator`` passed in.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Literal

import torch
from torch import nn

from occamlab.subject import LossName, loss_value

Norm = Literal["linf", "l2"]
NORMS: tuple[str, ...] = ("linf", "l2")


@dataclass(frozen=True)
class PGDSpec:
    """One PGD attack.

    Attributes:
        eps: radius ε of the ball (in the norm ``norm``); 0 leaves the inputs unchanged.
        norm: ``linf`` or ``l2``.
        steps: gradient steps.
        step_size: α; 0 means ``2.5 ε / steps``.
        random_start: start from a uniform point of the ball instead of the input itself.
        clip_min, clip_max: the box the inputs live in (both None: no box).
    """

    eps: float
    norm: Norm = "linf"
    steps: int = 10
    step_size: float = 0.0
    random_start: bool = True
    clip_min: float | None = None
    clip_max: float | None = None

    def __post_init__(self) -> None:
        if not (math.isfinite(self.eps) and self.eps >= 0):
            raise ValueError(f"eps must be a finite number >= 0, got {self.eps!r}")
        if self.norm not in NORMS:
            raise ValueError(f"norm must be one of {', '.join(NORMS)}, got {self.norm!r}")
        if isinstance(self.steps, bool) or not isinstance(self.steps, int) or self.steps < 1:
            raise ValueError(f"steps must be an integer >= 1, got {self.steps!r}")
        if not (math.isfinite(self.step_size) and self.step_size >= 0):
            raise ValueError(f"step_size must be >= 0 (0: 2.5·eps/steps), got {self.step_size!r}")
        if (self.clip_min is None) != (self.clip_max is None):
            raise ValueError("give both clip_min and clip_max (the input box), or neither")
        if self.clip_min is not None and not self.clip_min < self.clip_max:
            raise ValueError(f"clip_min must be < clip_max, got {self.clip_min}, {self.clip_max}")

    @property
    def alpha(self) -> float:
        """The step size α actually taken."""
        return self.step_size or 2.5 * self.eps / self.steps


@contextlib.contextmanager
def _eval(model: Callable) -> Iterator[None]:
    """Every submodule in eval mode, each one's own mode restored on exit."""
    modules = list(model.modules()) if isinstance(model, nn.Module) else []
    modes = [(m, m.training) for m in modules]
    for m in modules:
        m.training = False
    try:
        yield
    finally:
        for m, mode in modes:
            m.training = mode


def _per_example_norm(v: torch.Tensor) -> torch.Tensor:
    """‖v_i‖₂ of every example, shaped to broadcast against ``v``."""
    return v.flatten(1).norm(dim=1).reshape(-1, *([1] * (v.dim() - 1)))


def project(delta: torch.Tensor, eps: float, norm: Norm) -> torch.Tensor:
    """The nearest point of the ε-ball to each example's ``δ`` (Euclidean projection)."""
    if norm == "linf":
        return delta.clamp(-eps, eps)
    length = _per_example_norm(delta)
    return delta * torch.clamp(eps / length.clamp_min(torch.finfo(delta.dtype).tiny), max=1.0)


def random_start(
    x: torch.Tensor, eps: float, norm: Norm, generator: torch.Generator | None
) -> torch.Tensor:
    """A uniform point of the ε-ball around the origin for every example (ℓ2: a uniform
    direction and radius ε·u^(1/n) with n the input size)."""
    if norm == "linf":
        return (2 * torch.rand(x.shape, generator=generator, dtype=x.dtype) - 1) * eps
    direction = torch.randn(x.shape, generator=generator, dtype=x.dtype)
    direction = direction / _per_example_norm(direction)
    n = x[0].numel()
    u = torch.rand(len(x), generator=generator, dtype=x.dtype)
    return direction * (eps * u ** (1.0 / n)).reshape(-1, *([1] * (x.dim() - 1)))


def pgd(
    model: Callable[[torch.Tensor], torch.Tensor],
    x: torch.Tensor,
    y: torch.Tensor,
    attack: PGDSpec,
    *,
    loss: LossName = "cross_entropy",
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Adversarial examples ``x + δ`` (``‖δ‖ ≤ ε``) that ascend ``loss`` of ``model`` at ``(x, y)``.

    Args:
        model: maps a batch of inputs to outputs (a module is put in eval mode meanwhile).
        x: a batch of inputs.
        y: their targets (class indices for cross-entropy).
        attack: the attack (:class:`PGDSpec`).
        loss: the loss ascended (summed over the batch: each example's own gradient).
        generator: the random start's randomness (required with ``random_start``).

    Returns:
        The adversarial inputs, detached, of the dtype and shape of ``x``.
    """
    x = x.detach()
    if attack.eps == 0:
        return x.clone()
    if attack.random_start and generator is None:
        raise ValueError("a random start needs a generator (torch.Generator().manual_seed(s))")
    delta = (
        random_start(x, attack.eps, attack.norm, generator)
        if attack.random_start
        else torch.zeros_like(x)
    )
    box = (attack.clip_min, attack.clip_max) if attack.clip_min is not None else None
    if box is not None:
        delta = (x + delta).clamp(*box) - x
    alpha = attack.alpha
    with _eval(model), torch.enable_grad():
        for _ in range(attack.steps):
            delta.requires_grad_(True)
            value = loss_value(model(x + delta), y, loss, reduction="sum")
            (grad,) = torch.autograd.grad(value, delta)
            with torch.no_grad():
                if attack.norm == "linf":
                    step = grad.sign()
                else:
                    step = grad / _per_example_norm(grad).clamp_min(torch.finfo(grad.dtype).tiny)
                delta = project(delta + alpha * step, attack.eps, attack.norm)
                if box is not None:
                    delta = (x + delta).clamp(*box) - x
    return (x + delta).detach()


__all__ = ["NORMS", "Norm", "PGDSpec", "pgd", "project", "random_start"]
