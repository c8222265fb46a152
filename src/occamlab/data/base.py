"""The in-memory data contract every dataset, subject and probe shares."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch

Task = Literal["classification", "regression"]


@dataclass(frozen=True)
class Split:
    """One split of a dataset: inputs ``x`` (float32, ``(n, *input_shape)``) and targets ``y``.

    Classification targets are int64 class indices of shape ``(n,)``; regression targets are
    float32 of shape ``(n, num_outputs)``.
    """

    x: torch.Tensor
    y: torch.Tensor

    def __post_init__(self) -> None:
        if self.x.shape[0] != self.y.shape[0]:
            raise ValueError(
                f"inputs and targets disagree on the number of examples: "
                f"x has {self.x.shape[0]}, y has {self.y.shape[0]}"
            )

    def __len__(self) -> int:
        return int(self.x.shape[0])


@dataclass(frozen=True)
class Data:
    """A train/test pair with what a model needs to know to fit it.

    Attributes:
        name: registry name of the dataset (e.g. ``"mnist1d"``).
        train: the training split.
        test: the held-out split.
        task: ``"classification"`` or ``"regression"``.
        num_outputs: number of classes (classification) or target dimension (regression).
    """

    name: str
    train: Split
    test: Split
    task: Task
    num_outputs: int

    def __post_init__(self) -> None:
        if len(self.train) == 0:
            raise ValueError(f"dataset {self.name!r} has an empty training split")
        if self.train.x.shape[1:] != self.test.x.shape[1:]:
            raise ValueError(
                f"dataset {self.name!r}: train inputs have shape {tuple(self.train.x.shape[1:])} "
                f"but test inputs {tuple(self.test.x.shape[1:])}"
            )

    @property
    def input_shape(self) -> tuple[int, ...]:
        """Shape of one input example (without the batch dimension)."""
        return tuple(self.train.x.shape[1:])
