"""Sparse parity: the label is the parity of a hidden subset of ``k`` out of ``n`` bits."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import ClassVar

import torch

from occamlab.data.base import Data, Split
from occamlab.data.registry import DATASETS, DatasetSpec, check_positive
from occamlab.data.rng import torch_generator


@DATASETS.register
@dataclass(frozen=True, kw_only=True)
class ParitySpec(DatasetSpec):
    """``(n, k)``-sparse parity with ±1 inputs.

    ``x ~ Uniform{-1, +1}^n`` and ``y = (prod_{i in S} x_i + 1) / 2`` in ``{0, 1}``, where the
    support ``S`` (``|S| = k``) is drawn uniformly from the seed (see :func:`parity_support`).
    Train and test inputs are drawn independently (duplicates across splits are possible
    but rare when ``2^n`` is large).

    Attributes:
        n: number of input bits.
        k: size of the support ``S`` (``1 <= k <= n``).
        num_train: number of training examples.
        num_test: number of test examples.
    """

    name: ClassVar[str] = "parity"

    n: int = 30
    k: int = 3
    num_train: int = 2000
    num_test: int = 1000

    def validate(self) -> None:
        super().validate()
        for field in ("n", "k", "num_train", "num_test"):
            check_positive(field, getattr(self, field))
        if self.k > self.n:
            raise ValueError(
                f"the parity support size k={self.k} exceeds the number of bits n={self.n}; "
                "choose k <= n"
            )

    def load(
        self,
        *,
        root: str | os.PathLike[str] | None = None,
        cache_dir: str | os.PathLike[str] | None = None,
    ) -> Data:
        """Sample both splits; ``root`` and ``cache_dir`` are unused."""
        support = torch.tensor(parity_support(self), dtype=torch.int64)
        splits = []
        for split, size in (("train", self.num_train), ("test", self.num_test)):
            gen = torch_generator(self.seed, f"{split}_inputs")
            bits = torch.randint(0, 2, (size, self.n), generator=gen)
            x = (2 * bits - 1).to(torch.float32)
            y = parity_labels(x, support)
            splits.append(Split(x, y))
        return Data(
            name=self.name, train=splits[0], test=splits[1], task="classification", num_outputs=2
        )


def parity_support(spec: ParitySpec) -> tuple[int, ...]:
    """The sorted support ``S`` of the parity, drawn uniformly among ``k``-subsets of ``n``."""
    gen = torch_generator(spec.seed, "support")
    chosen = torch.randperm(spec.n, generator=gen)[: spec.k]
    return tuple(sorted(int(i) for i in chosen))


def parity_labels(x: torch.Tensor, support: torch.Tensor) -> torch.Tensor:
    """``y = (prod_{i in S} x_i + 1) / 2`` as int64, for ±1 inputs ``x`` of shape ``(m, n)``."""
    prod = x[:, support].prod(dim=1)
    return ((prod + 1) / 2).round().to(torch.int64)


__all__ = ["ParitySpec", "parity_labels", "parity_support"]
