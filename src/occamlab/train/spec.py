"""The training recipe as a typed spec."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

OptimizerName = Literal["sgd", "adam", "adamw", "adagrad", "rmsprop"]
ScheduleName = Literal["constant", "cosine", "step", "linear"]

# What every answer that needs the recipe says when it is not known (and it is never assumed).
UNKNOWN_RECIPE = (
    "the training recipe is unknown (pass --recipe FILE, or set Subject.recipe / recipe=)"
)


@dataclass(frozen=True)
class TrainSpec:
    """How to train a subject.

    Attributes:
        optimizer: ``sgd`` (with ``momentum``), ``adam``, ``adamw``, ``adagrad`` or ``rmsprop``
            (with ``momentum``).
        lr: peak learning rate.
        momentum: SGD's and RMSProp's heavy-ball momentum; Adam's and AdamW's β₁ (PyTorch's
            default 0.9); ignored by AdaGrad.
        beta2: Adam's and AdamW's β₂, RMSProp's smoothing constant α (ignored by SGD, AdaGrad).
        eps: the ε of the adaptive methods, added to the square root of the second moment.
        weight_decay: L2 penalty (decoupled for AdamW).
        batch_size: minibatch size; 0 means full-batch gradient descent.
        epochs: passes over the training set.
        max_steps: stop after this many optimizer steps (0: no limit).
        schedule: ``constant``; ``cosine`` decay to 0; ``step`` (×0.1 at 50% and 75%); ``linear``
            decay to 0; each after ``warmup_steps`` of linear warm-up.
        warmup_steps: linear warm-up steps from 0 to ``lr``.
        seed: seeds the data order (and nothing global).
        target_loss: stop once the full training loss is at most this (0: never).
        target_accuracy: stop once training accuracy is at least this (0: never).
        eval_every: evaluate train/test metrics every this many epochs.
        grad_clip: clip the gradient norm to this (0: no clipping).
    """

    optimizer: OptimizerName = "sgd"
    lr: float = 0.1
    momentum: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8
    weight_decay: float = 0.0
    batch_size: int = 128
    epochs: int = 60
    max_steps: int = 0
    schedule: ScheduleName = "cosine"
    warmup_steps: int = 0
    seed: int = 0
    target_loss: float = 0.0
    target_accuracy: float = 0.0
    eval_every: int = 1
    grad_clip: float = 0.0

    def __post_init__(self) -> None:
        checks = [
            (self.lr > 0, f"lr must be positive, got {self.lr}"),
            (0 <= self.momentum < 1, f"momentum must be in [0, 1), got {self.momentum}"),
            (0 <= self.beta2 < 1, f"beta2 must be in [0, 1), got {self.beta2}"),
            (self.eps > 0, f"eps must be positive, got {self.eps}"),
            (self.weight_decay >= 0, f"weight_decay must be >= 0, got {self.weight_decay}"),
            (
                self.batch_size >= 0,
                f"batch_size must be >= 0 (0 = full batch), got {self.batch_size}",
            ),
            (self.epochs >= 1 or self.max_steps >= 1, "set epochs >= 1 or max_steps >= 1"),
            (self.epochs >= 0 and self.max_steps >= 0, "epochs and max_steps must be >= 0"),
            (self.warmup_steps >= 0, f"warmup_steps must be >= 0, got {self.warmup_steps}"),
            (self.eval_every >= 1, f"eval_every must be >= 1, got {self.eval_every}"),
            (0 <= self.target_accuracy <= 1, "target_accuracy must be in [0, 1]"),
            (
                self.target_loss >= 0 and self.grad_clip >= 0,
                "target_loss and grad_clip must be >= 0",
            ),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(message)
