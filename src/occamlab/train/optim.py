"""Optimizers and learning-rate schedules for :class:`TrainSpec`."""

from __future__ import annotations

import math
from collections.abc import Iterable

import torch

from occamlab.train.spec import TrainSpec


def make_optimizer(params: Iterable[torch.nn.Parameter], spec: TrainSpec) -> torch.optim.Optimizer:
    """The optimizer named by ``spec``."""
    params = list(params)
    if spec.optimizer == "sgd":
        return torch.optim.SGD(
            params, lr=spec.lr, momentum=spec.momentum, weight_decay=spec.weight_decay
        )
    if spec.optimizer == "adam":
        return torch.optim.Adam(params, lr=spec.lr, weight_decay=spec.weight_decay)
    if spec.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=spec.lr, weight_decay=spec.weight_decay)
    raise ValueError(f"unknown optimizer {spec.optimizer!r}; valid: sgd, adam, adamw")


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
