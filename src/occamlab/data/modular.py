"""Modular arithmetic tables ``a ∘ b mod p``, the grokking benchmark of Power et al. (2022)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import ClassVar, Literal

import torch

from occamlab.data.base import Data, Split
from occamlab.data.registry import DATASETS, DatasetSpec, check_open_fraction
from occamlab.data.rng import numpy_generator
from occamlab.data.splits import random_split

ModularOp = Literal["add", "sub", "mul", "div"]


@DATASETS.register
@dataclass(frozen=True, kw_only=True)
class ModularSpec(DatasetSpec):
    """All equations ``a ∘ b = c (mod p)`` split at random into train and test.

    The dataset is every pair ``(a, b)`` in ``{0..p-1}^2`` (``b != 0`` for ``div``), with
    ``c = a + b``, ``a - b``, ``a b`` or ``a b^{-1}`` (mod ``p``). Inputs are the
    concatenation ``[onehot_p(a), onehot_p(b)]`` (dimension ``2p``); the target is the class
    ``c`` among ``p``. A fraction ``train_fraction`` of the pairs (rounded) is used for
    training, the rest for testing (Power et al. 2022, arXiv:2201.02177).

    Attributes:
        p: the modulus (prime for ``div``).
        op: ``"add"``, ``"sub"``, ``"mul"`` or ``"div"``.
        train_fraction: fraction of all pairs in the training split.
    """

    name: ClassVar[str] = "modular"

    p: int = 97
    op: ModularOp = "add"
    train_fraction: float = 0.3

    def validate(self) -> None:
        super().validate()
        if self.p < 2:
            raise ValueError(f"the modulus p must be at least 2, got {self.p}")
        if self.op not in ("add", "sub", "mul", "div"):
            raise ValueError(f"op must be one of ['add', 'sub', 'mul', 'div'], got {self.op!r}")
        if self.op == "div" and not _is_prime(self.p):
            raise ValueError(
                f"op='div' needs every nonzero b to be invertible mod p, i.e. a prime p; "
                f"{self.p} is not prime (try 97 or 113)"
            )
        check_open_fraction("train_fraction", self.train_fraction)

    def load(
        self,
        *,
        root: str | os.PathLike[str] | None = None,
        cache_dir: str | os.PathLike[str] | None = None,
    ) -> Data:
        """Enumerate all pairs and split them; ``root`` and ``cache_dir`` are unused."""
        a, b, c = modular_table(self.p, self.op)
        x = torch.cat(
            [
                torch.nn.functional.one_hot(a, self.p),
                torch.nn.functional.one_hot(b, self.p),
            ],
            dim=1,
        ).to(torch.float32)
        train, test = random_split(
            a.shape[0],
            test_fraction=1.0 - self.train_fraction,
            rng=numpy_generator(self.seed, "split"),
        )
        train_idx, test_idx = torch.from_numpy(train), torch.from_numpy(test)
        return Data(
            name=self.name,
            train=Split(x[train_idx], c[train_idx]),
            test=Split(x[test_idx], c[test_idx]),
            task="classification",
            num_outputs=self.p,
        )


def modular_table(p: int, op: ModularOp) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """All operands and results ``(a, b, a ∘ b mod p)`` as int64 vectors, in row-major order."""
    a, b = torch.meshgrid(torch.arange(p), torch.arange(p), indexing="ij")
    a, b = a.reshape(-1), b.reshape(-1)
    if op == "add":
        c = (a + b) % p
    elif op == "sub":
        c = (a - b) % p
    elif op == "mul":
        c = (a * b) % p
    elif op == "div":
        keep = b != 0
        a, b = a[keep], b[keep]
        inverse = torch.tensor([0] + [pow(v, -1, p) for v in range(1, p)], dtype=torch.int64)
        c = (a * inverse[b]) % p
    else:
        raise ValueError(f"op must be one of ['add', 'sub', 'mul', 'div'], got {op!r}")
    return a, b, c


def _is_prime(n: int) -> bool:
    if n < 2:
        return False
    return all(n % d for d in range(2, int(n**0.5) + 1))


__all__ = ["ModularSpec", "modular_table"]
