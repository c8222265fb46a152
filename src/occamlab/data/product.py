"""Product of inputs: a regression target that deep networks express far more compactly."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import ClassVar

import torch

from occamlab.data.base import Data, Split
from occamlab.data.registry import DATASETS, DatasetSpec, check_positive
from occamlab.data.rng import torch_generator

_HALF_WIDTH = math.sqrt(3.0)


@DATASETS.register
@dataclass(frozen=True, kw_only=True)
class ProductSpec(DatasetSpec):
    """``y = prod_{i < degree} x_i`` with ``x_i ~ Uniform[-sqrt(3), sqrt(3)]`` i.i.d.

    Each coordinate has mean 0 and variance 1, so the target has mean 0 and variance 1 for
    any ``degree``. The product of ``m`` numbers needs exponentially many neurons in a shallow
    network but only ``O(m)`` in a deep one (Lin, Tegmark & Rolnick 2017; Rolnick & Tegmark
    2018). Coordinates ``degree..input_dim-1`` are distractors. Targets have shape ``(n, 1)``.

    Attributes:
        input_dim: number of input coordinates.
        degree: number of leading coordinates multiplied (``1 <= degree <= input_dim``).
        num_train: number of training examples.
        num_test: number of test examples.
    """

    name: ClassVar[str] = "product"

    input_dim: int = 8
    degree: int = 4
    num_train: int = 1000
    num_test: int = 1000

    def is_regression(self) -> bool:
        return True

    def validate(self) -> None:
        super().validate()
        for field in ("input_dim", "degree", "num_train", "num_test"):
            check_positive(field, getattr(self, field))
        if self.degree > self.input_dim:
            raise ValueError(
                f"degree={self.degree} exceeds input_dim={self.input_dim}; the product uses the "
                "first `degree` coordinates, so choose degree <= input_dim"
            )

    def load(
        self,
        *,
        root: str | os.PathLike[str] | None = None,
        cache_dir: str | os.PathLike[str] | None = None,
    ) -> Data:
        """Sample both splits; ``root`` and ``cache_dir`` are unused."""
        splits = []
        for split, size in (("train", self.num_train), ("test", self.num_test)):
            gen = torch_generator(self.seed, f"{split}_inputs")
            u = torch.rand(size, self.input_dim, generator=gen)
            x = (2 * u - 1) * _HALF_WIDTH
            y = x[:, : self.degree].prod(dim=1, keepdim=True)
            splits.append(Split(x, y))
        return Data(
            name=self.name, train=splits[0], test=splits[1], task="regression", num_outputs=1
        )


__all__ = ["ProductSpec"]
