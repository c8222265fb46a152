"""Training with a pruning mask: pruned weights start at zero and stay exactly zero.

:class:`MaskKeeper` is a callback of the one training loop (:func:`occamlab.train.fit`). On
``on_train_begin`` it zeroes the pruned entries and registers a hook on each masked parameter
that multiplies its accumulated gradient by the mask in place, so the optimizer never sees a
pruned entry. That alone keeps them exactly zero with every optimizer of
:class:`occamlab.TrainSpec`: SGD momentum buffers and Adam moments of a pruned entry stay 0
(Adam's step is then ``lr · 0 / (0 + eps) = 0``), L2 weight decay adds ``wd · 0 = 0``, AdamW's
decoupled decay scales 0 to 0, and gradient clipping measures (and scales) the surviving
gradient only. The weights are multiplied by the mask once more when training ends, and the
tests check the zeros after every step for each optimizer.

:func:`finetune` trains a clone of the subject (never the user's module) from masked weights.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import torch

from occamlab.probes.pruning import apply_masks
from occamlab.subject import Params, Subject
from occamlab.train import Callback, TrainResult, TrainSpec, TrainState, fit


class MaskKeeper(Callback):
    """Keep the entries where ``masks[name]`` is False at exactly zero during :func:`fit`.

    One instance can serve several ``fit`` calls in turn (it acts on ``state.subject.model``).

    Args:
        masks: bool keep-masks by parameter name, shaped like the parameters.
    """

    def __init__(self, masks: Mapping[str, torch.Tensor]) -> None:
        self.masks = {k: m.detach().to(torch.bool) for k, m in masks.items()}
        self._handles: list[torch.utils.hooks.RemovableHandle] = []
        self._targets: list[tuple[torch.Tensor, torch.Tensor]] = []

    def on_train_begin(self, state: TrainState) -> None:
        own = dict(state.subject.model.named_parameters())
        unknown = sorted(set(self.masks) - set(own))
        if unknown:
            raise ValueError(f"masks name unknown parameters {unknown}; valid: {sorted(own)}")
        self._remove()
        for name, mask in self.masks.items():
            param = own[name]
            if tuple(mask.shape) != tuple(param.shape):
                raise ValueError(
                    f"mask of {name!r} has shape {tuple(mask.shape)}, the parameter "
                    f"{tuple(param.shape)}"
                )
            keep = mask.to(param.dtype)
            self._targets.append((param, keep))
            self._handles.append(param.register_post_accumulate_grad_hook(_masker(keep)))
        self._zero()

    def _zero(self) -> None:
        with torch.no_grad():
            for param, keep in self._targets:
                param.mul_(keep)

    def on_train_end(self, state: TrainState) -> None:
        self._zero()
        self._remove()

    def _remove(self) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles, self._targets = [], []


def _masker(keep: torch.Tensor):
    def hook(param: torch.Tensor) -> None:
        param.grad.mul_(keep)  # in place, once the gradient is accumulated, before the step

    return hook


@dataclass(frozen=True)
class Finetuned:
    """A masked subject after training: the trained clone and the loop's result."""

    subject: Subject
    result: TrainResult


def finetune(
    subject: Subject,
    masks: Mapping[str, torch.Tensor],
    train: TrainSpec,
    *,
    params: Params | None = None,
    callbacks: Sequence[Callback] = (),
) -> Finetuned:
    """Train a clone of ``subject`` starting from ``params ⊙ masks``, keeping the mask.

    Args:
        subject: architecture, loss and data; its module is not modified.
        masks: keep-masks (e.g. from :func:`occamlab.probes.pruning.magnitude_masks`).
        train: the recipe (fine-tuning after pruning, or retraining a rewound ticket).
        params: starting weights (default: the subject's current weights).
        callbacks: further callbacks for the loop.
    """
    start = apply_masks(dict(subject.params() if params is None else params), masks)
    clone = subject.clone(start)
    result = fit(clone, train, callbacks=[MaskKeeper(masks), *callbacks])
    return Finetuned(subject=clone, result=result)


def finetune_recipe(train: TrainSpec, *, epochs: int, lr_scale: float) -> TrainSpec:
    """``train`` shortened to ``epochs`` epochs at ``lr_scale ×`` its learning rate (no warm-up).

    >>> finetune_recipe(TrainSpec(lr=0.1, epochs=60), epochs=5, lr_scale=0.1).epochs
    5
    """
    if epochs < 1:
        raise ValueError(f"fine-tuning needs epochs >= 1, got {epochs}")
    if lr_scale <= 0:
        raise ValueError(f"lr_scale must be positive, got {lr_scale}")
    return dataclasses.replace(
        train, epochs=epochs, max_steps=0, lr=train.lr * lr_scale, warmup_steps=0
    )


def total_steps(train: TrainSpec, num_train: int) -> int:
    """Optimizer steps :func:`fit` takes with ``train`` on ``num_train`` examples.

    >>> total_steps(TrainSpec(batch_size=60, epochs=0, max_steps=3000), 4000)
    3000
    >>> total_steps(TrainSpec(batch_size=128, epochs=2), 1000)
    16
    """
    batch = train.batch_size or num_train
    per_epoch = -(-num_train // batch)
    steps = train.epochs * per_epoch if train.epochs else train.max_steps
    return min(steps, train.max_steps) if train.max_steps else steps


def with_steps(train: TrainSpec, steps: int) -> TrainSpec:
    """``train`` set to run exactly ``steps`` optimizer steps."""
    if steps < 1:
        raise ValueError(f"need at least one training step, got {steps}")
    return dataclasses.replace(train, epochs=0, max_steps=steps)
