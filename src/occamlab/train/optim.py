"""Optimizers and learning-rate schedules for :class:`TrainSpec`."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import torch

from occamlab.train.spec import TrainSpec


def make_optimizer(
    params: Iterable[torch.nn.Parameter] | Iterable[dict[str, Any]], spec: TrainSpec
) -> torch.optim.Optimizer:
    """The optimizer named by ``spec``.

    ``params`` is a list of parameters or of param groups (dicts with ``"params"`` and optional
    ``"lr"``/``"weight_decay"`` overriding the spec's, e.g. one group per ensemble member). Each
    group remembers its peak rate as ``"base_lr"`` for the schedule.
    """
    params = list(params)
    # foreach: one multi-tensor update per group instead of a Python loop over its tensors
    # (PyTorch picks the per-tensor loop on CPU by default); the arithmetic is the same.
    options = {"lr": spec.lr, "weight_decay": spec.weight_decay, "foreach": True}
    if spec.optimizer == "sgd":
        optimizer: torch.optim.Optimizer = torch.optim.SGD(
            params, momentum=spec.momentum, **options
        )
    elif spec.optimizer in ("adam", "adamw"):
        cls = torch.optim.Adam if spec.optimizer == "adam" else torch.optim.AdamW
        optimizer = cls(params, betas=(spec.momentum, spec.beta2), eps=spec.eps, **options)
    elif spec.optimizer == "adagrad":
        optimizer = torch.optim.Adagrad(params, eps=spec.eps, **options)
    elif spec.optimizer == "rmsprop":
        optimizer = torch.optim.RMSprop(
            params, alpha=spec.beta2, eps=spec.eps, momentum=spec.momentum, **options
        )
    else:
        raise ValueError(
            f"unknown optimizer {spec.optimizer!r}; valid: sgd, adam, adamw, adagrad, rmsprop"
        )
    for group in optimizer.param_groups:
        group["base_lr"] = group["lr"]
    return optimizer


def lr_factor(step: int, total_steps: int, spec: TrainSpec) -> float:
    """Multiplier of ``spec.lr`` at optimizer step ``step`` (0-based) of ``total_steps``.

    >>> from occamlab.train.spec import TrainSpec
    >>> lr_factor(50, 100, TrainSpec(schedule="cosine"))
    0.5
    """
    if step < spec.warmup_steps:
        return (step + 1) / spec.warmup_steps
    span = max(total_steps - spec.warmup_steps, 1)
    t = min((step - spec.warmup_steps) / span, 1.0)
    if spec.schedule == "constant":
        return 1.0
    if spec.schedule == "cosine":
        return 0.5 * (1.0 + math.cos(math.pi * t))
    if spec.schedule == "linear":
        return 1.0 - t
    if spec.schedule == "step":
        return 0.1 ** ((t >= 0.5) + (t >= 0.75))
    raise ValueError(f"unknown schedule {spec.schedule!r}; valid: constant, cosine, step, linear")
