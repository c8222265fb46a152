"""Optimization-based measures (Jiang et al. 2019, §C.7): how training went.

* ``steps_to_loss_0.1``: optimizer steps from initialization until the full training
  cross-entropy first reaches 0.1.
* ``steps_0.1_to_0.01``: steps from there until it reaches 0.01.
* ``gradient_noise``: the per-example gradient variance at the end of training,

      Var[∇ℓ] = (1/m) Σ_i ‖∇ℓ(x_i) − ∇L‖²₂,    ∇L = (1/m) Σ_i ∇ℓ(x_i),

  over the training split in eval mode (per-example gradients with ``torch.func.vmap``, sums
  accumulated in float64). A minibatch of b examples drawn with replacement has gradient
  variance Var[∇ℓ]/b, so this is the batch-size-free part of SGD's noise.

The training loss is only known where the loop evaluated it (every ``eval_every`` epochs, on the
whole training split). A crossing step is interpolated linearly in ln(loss) between the two
evaluations around it (from step 0 and ``initial_loss`` when the first evaluation is already
below the threshold); it is None if the loss never reached the threshold.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
from torch.func import functional_call, grad, vmap

from occamlab.subject import Params, Subject, loss_value


def steps_to_loss(
    history: Sequence[dict[str, Any]], threshold: float, *, initial_loss: float | None = None
) -> float | None:
    """The (interpolated) step at which the training loss first reached ``threshold``.

    Args:
        history: the training loop's evaluations (``step`` and ``train_loss`` of each).
        threshold: the loss level (> 0).
        initial_loss: the training loss at step 0, if known.

    >>> steps_to_loss([{"step": 10, "train_loss": 1.0}, {"step": 20, "train_loss": 0.01}], 0.1)
    15.0
    """
    if not threshold > 0:
        raise ValueError(f"threshold must be > 0, got {threshold!r}")
    points = [(0.0, initial_loss)] if initial_loss is not None else []
    points += [(float(h["step"]), float(h["train_loss"])) for h in history]
    for i, (step, loss) in enumerate(points):
        if loss <= threshold:
            if i == 0:
                return step
            step0, loss0 = points[i - 1]
            if loss0 <= 0 or loss <= 0:
                return step
            t = (math.log(loss0) - math.log(threshold)) / (math.log(loss0) - math.log(loss))
            return step0 + t * (step - step0)
    return None


def gradient_noise(
    subject: Subject, params: Params | None = None, *, limit: int | None = None
) -> float:
    """(1/m) Σ_i ‖∇ℓ(x_i) − ∇L‖² over the training split (eval mode, per-example gradients)."""
    params = {k: v.detach() for k, v in (params or subject.params()).items()}
    buffers = subject.buffers()
    model = subject.model

    def example_loss(p, x, y):
        out = functional_call(model, (p, buffers), (x.unsqueeze(0),))
        return loss_value(out, y.unsqueeze(0), subject.loss)

    per_example = vmap(grad(example_loss), in_dims=(None, 0, 0))
    total = None
    squares, n = 0.0, 0
    size = max(
        1,
        min(subject.eval_batch_size, (1 << 22) // max(1, sum(v.numel() for v in params.values()))),
    )
    with subject.eval_mode():
        for x, y in subject.batches("train", batch_size=size, limit=limit):
            grads = per_example(params, x, y)
            flat = torch.cat([g.reshape(len(y), -1).double() for g in grads.values()], dim=1)
            squares += float(flat.pow(2).sum())
            total = flat.sum(0) if total is None else total + flat.sum(0)
            n += len(y)
    if n == 0:
        raise ValueError("the training split is empty")
    mean = total / n
    return max(squares / n - float(mean.pow(2).sum()), 0.0)


def optimization_measures(
    subject: Subject,
    *,
    history: Sequence[dict[str, Any]] | None = None,
    initial_loss: float | None = None,
    limit: int | None = None,
) -> dict[str, float | None]:
    """Steps to cross-entropy 0.1, steps 0.1 → 0.01 (None without a history) and gradient noise."""
    out: dict[str, float | None] = {"gradient_noise": gradient_noise(subject, limit=limit)}
    if history is None:
        out.update({"steps_to_loss_0.1": None, "steps_0.1_to_0.01": None})
        return out
    first = steps_to_loss(history, 0.1, initial_loss=initial_loss)
    second = steps_to_loss(history, 0.01, initial_loss=initial_loss)
    out["steps_to_loss_0.1"] = first
    out["steps_0.1_to_0.01"] = None if first is None or second is None else second - first
    return out


__all__ = ["gradient_noise", "optimization_measures", "steps_to_loss"]
