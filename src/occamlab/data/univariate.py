"""Functions of one input on [0, 1]: the sawtooth (composed tent maps), a sine and the square.

The sawtooth ``g_k = t ∘ … ∘ t`` (k times) of the tent map ``t(x) = 2 min(x, 1 − x)`` has
``2^k`` linear pieces: a depth-k ReLU network of width 2 computes it exactly, while a network with
one hidden layer needs about ``2^k`` units (Telgarsky 2016, arXiv 1602.04485). Its compositional
depth is ``k``; the sine ``sin(π·order·x)`` and the square ``x²`` are smooth targets to compare it
with.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import ClassVar, Literal, TypeVar

import numpy as np
import torch

from occamlab.data.base import Data, Split
from occamlab.data.registry import DATASETS, DatasetSpec, check_positive
from occamlab.data.rng import torch_generator

Function = Literal["sawtooth", "sine", "square"]
FUNCTIONS: tuple[str, ...] = ("sawtooth", "sine", "square")

Array = TypeVar("Array", np.ndarray, torch.Tensor)


def tent(x: Array) -> Array:
    """The tent map ``t(x) = 2 min(x, 1 − x)`` (exact in floating point on dyadic rationals).

    >>> tent(np.array([0.0, 0.25, 0.5, 0.75, 1.0])).tolist()
    [0.0, 0.5, 1.0, 0.5, 0.0]
    """
    return 2 * _min(x, 1 - x)


def _min(a: Array, b: Array) -> Array:
    return np.minimum(a, b) if isinstance(a, np.ndarray) else torch.minimum(a, b)


def sawtooth(x: Array, k: int) -> Array:
    """``g_k(x)``: the tent map composed ``k`` times (``g_0(x) = x``); ``2^k`` linear pieces on
    [0, 1], equal to 0 at the even and 1 at the odd multiples of ``2^−k``.

    >>> sawtooth(np.array([0.0, 0.125, 0.25, 0.375, 0.5]), 2).tolist()
    [0.0, 0.5, 1.0, 0.5, 0.0]
    """
    if k < 0:
        raise ValueError(f"the sawtooth needs k >= 0 compositions, got {k}")
    for _ in range(k):
        x = tent(x)
    return x


def univariate(x: Array, function: Function, order: int) -> Array:
    """The target ``function`` of the given ``order`` at ``x`` (see :class:`UnivariateSpec`)."""
    if function == "sawtooth":
        return sawtooth(x, order)
    if function == "sine":
        return (
            np.sin(np.pi * order * x)
            if isinstance(x, np.ndarray)
            else torch.sin(torch.pi * order * x)
        )
    if function == "square":
        return x * x
    raise ValueError(f"function must be one of {', '.join(FUNCTIONS)}, got {function!r}")


@DATASETS.register
@dataclass(frozen=True, kw_only=True)
class UnivariateSpec(DatasetSpec):
    """``y = f(x)`` with ``x ~ Uniform[0, 1]`` (train and test drawn independently).

    Attributes:
        function: ``"sawtooth"``: ``g_order``, the tent map ``2 min(x, 1 − x)`` composed
            ``order`` times (``2^order`` linear pieces); ``"sine"``: ``sin(π·order·x)``;
            ``"square"``: ``x²`` (``order`` unused).
        order: compositions of the tent map, or the sine's frequency (in half periods on [0, 1]).
        num_train: number of training examples.
        num_test: number of test examples.
    """

    name: ClassVar[str] = "univariate"

    function: Function = "sawtooth"
    order: int = 3
    num_train: int = 1000
    num_test: int = 1000

    def is_regression(self) -> bool:
        return True

    def validate(self) -> None:
        super().validate()
        for field in ("num_train", "num_test"):
            check_positive(field, getattr(self, field))
        if self.function not in FUNCTIONS:
            raise ValueError(
                f"function must be one of {', '.join(FUNCTIONS)}, got {self.function!r}"
            )
        if isinstance(self.order, bool) or not isinstance(self.order, int) or self.order < 0:
            raise ValueError(f"order must be an integer >= 0, got {self.order!r}")

    def load(
        self,
        *,
        root: str | os.PathLike[str] | None = None,
        cache_dir: str | os.PathLike[str] | None = None,
    ) -> Data:
        """Sample both splits (targets computed in float64 at the float32 inputs); ``root`` and
        ``cache_dir`` are unused."""
        splits = []
        for split, size in (("train", self.num_train), ("test", self.num_test)):
            gen = torch_generator(self.seed, f"{split}_inputs")
            x = torch.rand(size, 1, generator=gen)
            y = univariate(x.double(), self.function, self.order)  # at the inputs the net sees
            splits.append(Split(x.contiguous(), y.float().contiguous()))
        return Data(
            name=self.name, train=splits[0], test=splits[1], task="regression", num_outputs=1
        )


__all__ = ["FUNCTIONS", "UnivariateSpec", "sawtooth", "tent", "univariate"]
