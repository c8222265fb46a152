"""SGD, Adam and AdamW over stacked parameters, with one rate and weight decay per member.

An ensemble keeps each parameter of its K members as one ``(K, ...)`` tensor. These updates are
PyTorch's (``torch.optim.SGD``/``Adam``/``AdamW`` with their defaults: no dampening or Nesterov,
betas (0.9, 0.999), eps 1e-8), applied to all members at once with per-member learning rates and
weight decays broadcast along the first dimension; gradient clipping is per member, as
``clip_grad_norm_`` would clip each member alone. A member whose rate is 0 (frozen at its
stopping target) keeps its parameters exactly.

The training loop drives it like a torch optimizer: ``param_groups`` holds one dict per member
(``lr``, ``base_lr``, ``frozen``; its ``params`` list is empty because clipping happens here).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch

from occamlab.train.spec import TrainSpec

BETAS = (0.9, 0.999)
EPS = 1e-8


class StackedOptimizer:
    """The optimizer of ``spec`` over stacked ``(K, ...)`` parameters.

    Args:
        params: the stacked parameters (leaf tensors, first dimension K).
        spec: the shared recipe (optimizer, momentum, grad_clip).
        lrs: each member's peak learning rate.
        weight_decays: each member's weight decay.
    """

    def __init__(
        self,
        params: Sequence[torch.Tensor],
        spec: TrainSpec,
        *,
        lrs: Sequence[float],
        weight_decays: Sequence[float],
    ) -> None:
        if spec.optimizer not in ("sgd", "adam", "adamw"):
            raise ValueError(f"unknown optimizer {spec.optimizer!r}; valid: sgd, adam, adamw")
        self.params = list(params)
        self.k = len(lrs)
        if any(p.shape[0] != self.k for p in self.params):
            raise ValueError("every stacked parameter needs the members along its first dim")
        self.spec = spec
        self.weight_decays = torch.tensor(list(weight_decays), dtype=torch.float64)
        self.param_groups: list[dict[str, Any]] = [
            {"params": [], "lr": float(lr), "base_lr": float(lr), "weight_decay": float(wd)}
            for lr, wd in zip(lrs, weight_decays, strict=True)
        ]
        self.state: dict[int, dict[str, torch.Tensor]] = {}
        self.steps = 0

    def zero_grad(self, set_to_none: bool = True) -> None:
        for p in self.params:
            if set_to_none:
                p.grad = None
            elif p.grad is not None:
                p.grad.zero_()

    def _column(self, values: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
        return values.to(like.dtype).reshape(self.k, *([1] * (like.dim() - 1)))

    @torch.no_grad()
    def _clip(self, max_norm: float) -> None:
        grads = [p.grad for p in self.params if p.grad is not None]
        if not grads:
            return
        squares = sum(g.reshape(self.k, -1).double().pow(2).sum(dim=1) for g in grads)
        coef = (max_norm / (squares.sqrt() + 1e-6)).clamp(max=1.0)
        for g in grads:
            g.mul_(self._column(coef, g))

    @torch.no_grad()
    def step(self) -> None:
        if self.spec.grad_clip:
            self._clip(self.spec.grad_clip)
        self.steps += 1
        lr = torch.tensor([g["lr"] for g in self.param_groups], dtype=torch.float64)
        for i, p in enumerate(self.params):
            if p.grad is None:
                continue
            state = self.state.setdefault(i, {})
            lr_k, wd_k = self._column(lr, p), self._column(self.weight_decays, p)
            if self.spec.optimizer == "sgd":
                self._sgd(p, state, lr_k, wd_k)
            else:
                self._adam(p, state, lr_k, wd_k, lr)

    def _sgd(self, p, state, lr_k, wd_k) -> None:
        g = p.grad + wd_k * p if bool(self.weight_decays.any()) else p.grad
        momentum = self.spec.momentum
        if momentum:
            if "momentum" not in state:
                state["momentum"] = g.clone()
            else:
                state["momentum"].mul_(momentum).add_(g)
            g = state["momentum"]
        p.sub_(lr_k * g)

    def _adam(self, p, state, lr_k, wd_k, lr) -> None:
        g = p.grad
        if self.spec.optimizer == "adamw":
            p.mul_(1 - lr_k * wd_k)
        elif bool(self.weight_decays.any()):
            g = g + wd_k * p
        if "exp_avg" not in state:
            state["exp_avg"] = torch.zeros_like(p)
            state["exp_avg_sq"] = torch.zeros_like(p)
        m, v = state["exp_avg"], state["exp_avg_sq"]
        beta1, beta2 = BETAS
        m.lerp_(g, 1 - beta1)
        v.mul_(beta2).addcmul_(g, g, value=1 - beta2)
        step_size = self._column(lr / (1 - beta1**self.steps), p)
        denom = v.sqrt().div_(math.sqrt(1 - beta2**self.steps)).add_(EPS)
        p.sub_(step_size * (m / denom))
