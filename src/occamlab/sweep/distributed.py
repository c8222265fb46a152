"""Data-parallel probes with ``torch.distributed``: each process holds one shard of the data.

:func:`shard` turns a subject into this process's part of a data-parallel subject: its splits
keep only a contiguous slice of the examples, and :meth:`Subject.all_sum` all-reduces every
partial sum. Every full-data quantity the probes use — losses and accuracies
(:meth:`Subject.evaluate`), gradients and Hessian/GGN/Fisher products (the curvature operators),
exact diagonals, the sharpness objectives — is a sum over examples that ends in ``all_sum``, so
probes run unchanged and return the same numbers on every process as one process would on the
whole data (up to the summation order). Launch one process per shard, e.g.::

    torchrun --nproc-per-node 2 my_probe.py      # my_probe.py: init_process_group("gloo"),
                                                 # then shard(subject) and any probe

Training is not data-parallel: :func:`occamlab.train.fit` on a sharded subject would fit the
shard only.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist

from occamlab.data.base import Split
from occamlab.subject import SplitName, Subject


@dataclass(eq=False)
class ShardedSubject(Subject):
    """One process's shard of a data-parallel subject (built by :func:`shard`).

    Attributes:
        offsets: global index of this shard's first example, per split.
        totals: examples of the whole split across processes, per split.
        group: the process group (None: the default group).
    """

    offsets: dict[str, int] = dataclasses.field(default_factory=dict)
    totals: dict[str, int] = dataclasses.field(default_factory=dict)
    group: Any = None

    def num_examples(self, split: SplitName = "train", limit: int | None = None) -> int:
        self.split(split)  # validates the name
        total = self.totals[split]
        return total if limit is None else min(limit, total)

    def batches(
        self, split: SplitName = "train", *, batch_size: int | None = None, limit: int | None = None
    ):
        """This shard's batches; ``limit`` counts global examples (the first ``limit`` of the
        whole split), as on one process."""
        local = None
        if limit is not None:
            local = max(0, min(limit - self.offsets[split], len(self.split(split))))
            if local == 0:
                return
        yield from super().batches(split, batch_size=batch_size, limit=local)

    def all_sum(self, tensor: torch.Tensor) -> torch.Tensor:
        out = tensor.detach().clone()
        dist.all_reduce(out, op=dist.ReduceOp.SUM, group=self.group)
        return out

    def describe(self) -> dict[str, Any]:
        world = dist.get_world_size(self.group)
        return {
            **super().describe(),
            "num_train": self.totals["train"],
            "num_test": self.totals["test"],
            "data_parallel_processes": world,
        }


def _slice(split: Split, rank: int, world: int) -> tuple[Split, int]:
    n = len(split)
    start, stop = rank * n // world, (rank + 1) * n // world
    return Split(split.x[start:stop], split.y[start:stop]), start


def shard(subject: Subject, *, group: Any = None) -> ShardedSubject:
    """This process's shard of ``subject`` (contiguous slices; every process calls this).

    Requires ``torch.distributed`` to be initialized; every process must build the same
    subject (same data and weights), e.g. from the same specs and seed.
    """
    if not dist.is_available() or not dist.is_initialized():
        raise ValueError(
            "torch.distributed is not initialized: call torch.distributed.init_process_group "
            "(e.g. backend='gloo', or launch with torchrun) before shard()"
        )
    rank, world = dist.get_rank(group), dist.get_world_size(group)
    data = subject.data
    if len(data.train) < world:
        raise ValueError(f"{len(data.train)} training examples cannot be split over {world}")
    train, train_start = _slice(data.train, rank, world)
    test, test_start = _slice(data.test, rank, world)
    local = dataclasses.replace(data, train=train, test=test)
    return ShardedSubject(
        model=subject.model,
        data=local,
        loss=subject.loss,
        eval_batch_size=subject.eval_batch_size,
        name=subject.name,
        meta=dict(subject.meta),
        offsets={"train": train_start, "test": test_start},
        totals={"train": len(data.train), "test": len(data.test)},
        group=group,
    )
