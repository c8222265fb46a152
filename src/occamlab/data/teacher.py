"""Teacher–student regression: Gaussian inputs labelled by a random MLP teacher."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import ClassVar, Literal

import torch

from occamlab.data.base import Data, Split
from occamlab.data.registry import DATASETS, DatasetSpec, check_positive
from occamlab.data.rng import torch_generator

Activation = Literal["tanh", "relu"]


@DATASETS.register
@dataclass(frozen=True, kw_only=True)
class TeacherSpec(DatasetSpec):
    """Targets of a random bias-free MLP teacher on standard Gaussian inputs.

    ``x ~ N(0, I_d)``, ``h_0 = x``, ``h_l = phi(W_l h_{l-1})`` for ``l = 1..L`` and
    ``f(x) = W_{L+1} h_L``, with ``L = teacher_depth`` hidden layers of width
    ``teacher_width`` and weights ``(W_l)_{ij} ~ N(0, 1 / fan_in)`` (``L = 0`` gives a linear
    teacher). Training targets are ``y = f(x) + noise * eps`` with ``eps ~ N(0, I)``; test
    targets are the clean ``f(x)``, so test MSE measures the distance to the teacher.

    Teacher, training inputs, test inputs and target noise come from separate streams of
    ``seed``: changing ``num_train`` changes neither the teacher nor the test set.

    Attributes:
        input_dim: input dimension ``d``.
        teacher_width: width of each hidden layer.
        teacher_depth: number of hidden layers ``L`` (``>= 0``).
        num_outputs: output dimension.
        activation: ``phi``, ``"tanh"`` or ``"relu"``.
        noise: standard deviation of the Gaussian noise added to training targets.
        num_train: number of training examples.
        num_test: number of test examples.
    """

    name: ClassVar[str] = "teacher"

    input_dim: int = 20
    teacher_width: int = 32
    teacher_depth: int = 1
    num_outputs: int = 1
    activation: Activation = "tanh"
    noise: float = 0.0
    num_train: int = 1000
    num_test: int = 1000

    def is_regression(self) -> bool:
        return True

    def validate(self) -> None:
        super().validate()
        for field in ("input_dim", "teacher_width", "num_outputs", "num_train", "num_test"):
            check_positive(field, getattr(self, field))
        if self.teacher_depth < 0:
            raise ValueError(
                f"teacher_depth is the number of hidden layers and must be >= 0, "
                f"got {self.teacher_depth}"
            )
        if self.activation not in ("tanh", "relu"):
            raise ValueError(f"activation must be 'tanh' or 'relu', got {self.activation!r}")
        if self.noise < 0:
            raise ValueError(f"noise is a standard deviation and must be >= 0, got {self.noise}")

    def load(
        self,
        *,
        root: str | os.PathLike[str] | None = None,
        cache_dir: str | os.PathLike[str] | None = None,
    ) -> Data:
        """Sample the teacher and both splits; ``root`` and ``cache_dir`` are unused."""
        weights = teacher_weights(self)
        x_train = torch.randn(
            self.num_train, self.input_dim, generator=torch_generator(self.seed, "train_inputs")
        )
        x_test = torch.randn(
            self.num_test, self.input_dim, generator=torch_generator(self.seed, "test_inputs")
        )
        y_train = teacher_forward(weights, x_train, activation=self.activation)
        if self.noise > 0:
            eps = torch.randn(y_train.shape, generator=torch_generator(self.seed, "target_noise"))
            y_train = y_train + self.noise * eps
        y_test = teacher_forward(weights, x_test, activation=self.activation)
        return Data(
            name=self.name,
            train=Split(x_train, y_train),
            test=Split(x_test, y_test),
            task="regression",
            num_outputs=self.num_outputs,
        )


def teacher_weights(spec: TeacherSpec) -> tuple[torch.Tensor, ...]:
    """The teacher's weight matrices ``(W_1, ..., W_{L+1})``, ``W_l`` of shape ``(out, in)``."""
    gen = torch_generator(spec.seed, "teacher")
    dims = [spec.input_dim] + [spec.teacher_width] * spec.teacher_depth + [spec.num_outputs]
    return tuple(
        torch.randn(fan_out, fan_in, generator=gen) / fan_in**0.5
        for fan_in, fan_out in zip(dims[:-1], dims[1:], strict=True)
    )


def teacher_forward(
    weights: tuple[torch.Tensor, ...], x: torch.Tensor, *, activation: Activation
) -> torch.Tensor:
    """``f(x) = W_{L+1} phi(W_L ... phi(W_1 x))`` for a batch ``x`` of shape ``(n, d)``."""
    phi = torch.tanh if activation == "tanh" else torch.relu
    h = x
    for w in weights[:-1]:
        h = phi(h @ w.T)
    return h @ weights[-1].T


__all__ = ["TeacherSpec", "teacher_forward", "teacher_weights"]
