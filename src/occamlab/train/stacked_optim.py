"""SGD, Adam and AdamW over stacked parameters, with one rate and weight decay per member.

An ensemble keeps each parameter of its K members as one ``(K, ...)`` tensor. These updates are
PyTorch's (``torch.optim.SGD``/``Adam``/``AdamW``: no dampening or Nesterov; Adam's betas are
``(spec.momentum, spec.beta2)`` and its ε ``spec.eps``), applied to all members at once with
per-member learning rates and weight decays broadcast along the first dimension; gradient
clipping is per member, as ``clip_grad_norm_`` would clip each member alone. A member whose
rate is 0 (frozen at its stopping target) keeps its parameters exactly.

The training loop drives it like a torch optimizer: ``param_groups`` holds one dict per member
(``lr``, ``base_lr``, ``frozen``; its ``params`` list is empty because clipping happens here).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch

from occamlab.train.spec import TrainSpec

#: The optimizers updated here; ensembles of members trained with others train one by one.
STACKED_OPTIMIZERS = ("sgd", "adam", "adamw")


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
        if spec.optimizer not in STACKED_OPTIMIZERS:
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
        live = [i for i, p in enumerate(self.params) if p.grad is not None]
        if not live:
            return
        params = [self.params[i] for i in live]
        grads = [p.grad for p in params]
        states = [self.state.setdefault(i, {}) for i in live]
        rates = [g["lr"] for g in self.param_groups]
        # One rate for every member (the usual case): multi-tensor updates with a scalar.
        lr = float(rates[0]) if len(set(rates)) == 1 else torch.tensor(rates, dtype=torch.float64)
        if self.spec.optimizer == "sgd":
            self._sgd(params, grads, states, lr)
        else:
            self._adam(params, grads, states, lr)

    def _decayed(self, params, grads) -> list[torch.Tensor]:
        """Gradients plus each member's L2 term (the coupled weight decay of SGD and Adam)."""
        if not bool(self.weight_decays.any()):
            return grads
        decays = [self._column(self.weight_decays, p) for p in params]
        return [g + d * p for g, d, p in zip(grads, decays, params, strict=True)]

    def _sgd(self, params, grads, states, lr) -> None:
        grads = self._decayed(params, grads)
        momentum = self.spec.momentum
        if momentum:
            pairs = zip(states, grads, strict=True)
            running = [(s["momentum"], g) for s, g in pairs if "momentum" in s]
            if running:
                bufs, new = map(list, zip(*running, strict=True))
                torch._foreach_mul_(bufs, momentum)
                torch._foreach_add_(bufs, new)
            for s, g in zip(states, grads, strict=True):
                s.setdefault("momentum", g.clone())
            grads = [s["momentum"] for s in states]
        if isinstance(lr, float):
            torch._foreach_add_(params, grads, alpha=-lr)
        else:
            for p, g in zip(params, grads, strict=True):
                p.sub_(self._column(lr, p) * g)

    def _adam(self, params, grads, states, lr) -> None:
        if self.spec.optimizer == "adamw":
            if bool(self.weight_decays.any()):
                for p in params:
                    rate = lr if isinstance(lr, float) else self._column(lr, p)
                    p.mul_(1 - rate * self._column(self.weight_decays, p))
        else:
            grads = self._decayed(params, grads)
        for s, p in zip(states, params, strict=True):
            if "exp_avg" not in s:
                s["exp_avg"] = torch.zeros_like(p)
                s["exp_avg_sq"] = torch.zeros_like(p)
        m = [s["exp_avg"] for s in states]
        v = [s["exp_avg_sq"] for s in states]
        beta1, beta2 = self.spec.momentum, self.spec.beta2
        torch._foreach_lerp_(m, grads, 1 - beta1)
        torch._foreach_mul_(v, beta2)
        torch._foreach_addcmul_(v, grads, grads, value=1 - beta2)
        denom = torch._foreach_sqrt(v)
        torch._foreach_div_(denom, math.sqrt(1 - beta2**self.steps))
        torch._foreach_add_(denom, self.spec.eps)
        bias = 1 - beta1**self.steps
        if isinstance(lr, float):
            torch._foreach_addcdiv_(params, m, denom, value=-lr / bias)
        else:
            for p, m_p, d in zip(params, m, denom, strict=True):
                p.sub_(self._column(lr / bias, p) * (m_p / d))
