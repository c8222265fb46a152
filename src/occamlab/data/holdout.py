"""Seeded random splits of a dataset's training split (e.g. a prior set and a bound set)."""

from __future__ import annotations

import dataclasses

import torch

from occamlab.data.base import Data, Split


def split_train(data: Data, *, fraction: float, seed: int) -> tuple[Data, Data]:
    """Split the training examples at random into two disjoint parts; the test split is shared.

    The first part gets ``round(fraction · n)`` examples, the second the rest, each keeping
    the original order of its examples. The permutation is drawn from a generator seeded with
    ``seed`` only, so the same data, fraction and seed always give the same parts.

    Args:
        data: the dataset.
        fraction: share of the training examples in the first part, strictly between 0 and 1
            (both parts must be non-empty).
        seed: seed of the random split.

    Returns:
        ``(first, second)``: two :class:`Data` with the same test split and metadata.

    >>> import torch
    >>> d = Data("toy", Split(torch.zeros(10, 2), torch.arange(10)),
    ...          Split(torch.zeros(2, 2), torch.arange(2)), "classification", 10)
    >>> a, b = split_train(d, fraction=0.3, seed=0)
    >>> len(a.train), len(b.train), sorted(a.train.y.tolist() + b.train.y.tolist())
    (3, 7, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
    """
    n = len(data.train)
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"fraction must lie strictly between 0 and 1, got {fraction!r}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    count = round(fraction * n)
    if not 0 < count < n:
        raise ValueError(
            f"splitting {n} training examples at fraction {fraction} leaves an empty part; "
            "use more examples or a fraction further from 0 and 1"
        )
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    first, _ = order[:count].sort()
    second, _ = order[count:].sort()

    def part(index: torch.Tensor) -> Data:
        split = Split(data.train.x[index], data.train.y[index])
        return dataclasses.replace(data, train=split)

    return part(first), part(second)


__all__ = ["split_train"]
