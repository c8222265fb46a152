"""Evaluating one subject at many parameter points: the engine under every landscape probe.

A *point set* is ``num_points`` parameter sets given by a function ``fill(i, out)`` that writes
point ``i`` into ``out`` (a dict of preallocated tensors shaped like :meth:`Subject.params`).
Each point is always computed from scratch (e.g. θ₀ + a·d₁ + b·d₂), never by walking in place, so
rounding never accumulates along the grid, and the tensors live in buffers allocated once.

The network reads the point buffers through one :func:`torch.func.functional_call` around the
whole loop (the module's own tensors are swapped out for the duration and restored, never
written), in eval mode, streaming each split in the subject's batches and adding per-batch loss
*sums* exactly as :meth:`Subject.evaluate` does: at the unperturbed parameters the numbers are
bit-identical to ``subject.evaluate()``.

Batching grid points (``points_per_pass > 1``) stacks that many parameter sets and runs them
through one :func:`torch.func.vmap`-ed forward pass. It pays only when one point's forward pass is
small; on bigger models the activations of many points fall out of cache. Measured here (one CPU
thread, MNIST-1D MLPs, 11 × 11 planes; speed-up of vmap over one point at a time, best of four)::

    parameters × examples per batch     8 per pass    32 per pass
      1.1e5  (MLP-16, 100 examples)        1.57          2.43
      7.4e5  (MLP-64, 100)                 1.21          2.02
      1.1e6  (MLP-16, 1,000)               1.19          1.23
      7.4e6  (MLP-64, 1,000)               1.00          0.78
      2.3e7  (MLP-128, 1,000)              0.90          0.70
      7.9e7  (MLP-256, 1,000)              0.95          0.65  (benchmarks/landscape.py)

so ``points_per_pass=0`` ("auto") is 32 on CPU when parameters × batch size ≤ 2e6, 1 above, and
16 on CUDA (not measured here: no GPU on this machine). Points that must be exact (the center of
a grid) are always evaluated alone, so the center is bit-identical to ``subject.evaluate()``
either way.

BatchNorm: by default the running statistics stored in the module are used at every point (eval
mode). With ``reestimate_bn=True`` they are recomputed at every point from the training split
(Garipov et al. 2018 show that without this, errors along curves between BN networks are wrong):
a forward pass in train mode over the training data, on a private copy of the module, with the
running averages weighted by batch size so the result is the example-weighted mean of the batch
statistics.

When :mod:`torch.distributed` is initialized the points are split across ranks (point ``i`` on
rank ``i mod world_size``) and gathered with one all-reduce; every rank returns all values. A
data-parallel subject (:func:`occamlab.sweep.distributed.shard`: each process holds a shard of
the data) is the other way round: every process evaluates every point on its shard and the loss
sums and correct counts are added over processes through ``subject.all_sum``.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.func import functional_call

from occamlab.subject import Params, Subject, loss_value

Fill = Callable[[int, dict[str, torch.Tensor]], None]
SPLITS: tuple[str, ...] = ("train", "test")


def check_splits(subject: Subject, splits: Sequence[str]) -> tuple[str, ...]:
    """The requested splits, validated (known, non-empty, no repeats)."""
    splits = tuple(splits)
    if not splits:
        raise ValueError("give at least one split to evaluate (train and/or test)")
    for split in splits:
        if split not in SPLITS:
            raise ValueError(f"unknown split {split!r}; valid splits: train, test")
        if len(subject.split(split)) == 0:
            raise ValueError(f"the {split} split of {subject.data.name!r} is empty")
    if len(set(splits)) != len(splits):
        raise ValueError(f"splits repeat: {splits}")
    return splits


#: On CPU, vmap-batching grid points pays below this many parameters × examples per batch.
CPU_BATCHING_WORK = 2_000_000


def auto_points_per_pass(device: torch.device, work: int) -> int:
    """Grid points per forward pass when ``points_per_pass=0`` (measured: module docstring).

    Args:
        device: where the parameters live.
        work: number of parameters × examples per batch (the size of one point's forward pass).
    """
    if device.type == "cuda":
        return 16
    return 32 if work <= CPU_BATCHING_WORK else 1


def _batchnorms(model: nn.Module) -> list[nn.modules.batchnorm._BatchNorm]:
    return [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]


def reestimate_bn_buffers(
    subject: Subject,
    params: Params,
    *,
    limit: int | None = None,
    model: nn.Module | None = None,
) -> dict[str, torch.Tensor]:
    """The module's buffers with every BatchNorm's running statistics recomputed at ``params``.

    The statistics are the batch-size-weighted mean of the per-batch mean and (unbiased)
    variance over the first ``limit`` training examples, as in the "bn_update" of Garipov et al.
    (2018) and Izmailov et al. (2018). Runs on ``model`` (default: a private copy of the
    subject's module), never on the user's module.
    """
    model = copy.deepcopy(subject.model) if model is None else model
    buffers = {k: b.detach().clone() for k, b in model.named_buffers()}
    norms = [
        (n, m) for n, m in model.named_modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)
    ]
    if not norms:
        return buffers
    for name, m in norms:
        if not m.track_running_stats:
            continue
        prefix = f"{name}." if name else ""
        buffers[prefix + "running_mean"].zero_()
        buffers[prefix + "running_var"].fill_(1.0)
        buffers[prefix + "num_batches_tracked"].zero_()
    modes = [(m, m.training, m.momentum) for _, m in norms]
    was = [(m, m.training) for m in model.modules()]
    seen = 0
    try:
        model.eval()
        for _, m in norms:
            m.train()
        with torch.no_grad():
            for x, _ in subject.batches("train", limit=limit):
                for _, m in norms:
                    m.momentum = len(x) / (seen + len(x))
                functional_call(model, (dict(params), buffers), (x,))
                seen += len(x)
    finally:
        for m, training in was:
            m.training = training
        for m, training, momentum in modes:
            m.training, m.momentum = training, momentum
    if seen == 0:
        raise ValueError(f"the train split of {subject.data.name!r} is empty")
    return buffers


class PointEvaluator:
    """Loss and accuracy of a subject at many parameter points (see the module docstring).

    Args:
        subject: architecture, loss and data; its module is never written.
        splits: which splits to evaluate, in the order of the output columns.
        limit: evaluate on the first ``limit`` examples of each split (None: all).
        reestimate_bn: recompute BatchNorm statistics at every point.
        bn_limit: training examples used to re-estimate them (None: the same ``limit``).
        points_per_pass: grid points per vmapped forward pass; 0 chooses (see
            :func:`auto_points_per_pass`).
        accuracy: also count correct predictions (classification; its column is NaN otherwise).
    """

    def __init__(
        self,
        subject: Subject,
        *,
        splits: Sequence[str] = SPLITS,
        limit: int | None = None,
        reestimate_bn: bool = False,
        bn_limit: int | None = None,
        points_per_pass: int = 0,
        accuracy: bool = True,
    ) -> None:
        if limit is not None and limit < 1:
            raise ValueError(f"limit must be >= 1 (or None for all examples), got {limit}")
        if points_per_pass < 0:
            raise ValueError(f"points_per_pass must be >= 0 (0: automatic), got {points_per_pass}")
        self.subject = subject
        self.splits = check_splits(subject, splits)
        self.limit = limit
        self.reestimate_bn = bool(reestimate_bn)
        self.bn_limit = limit if bn_limit is None else bn_limit
        self.like = subject.params()
        if not self.like:
            raise ValueError("the subject has no trainable parameters to move")
        self.classification = subject.data.task == "classification"
        self.accuracy = bool(accuracy) and self.classification
        self.columns = [f"{s}_{m}" for s in self.splits for m in ("loss", "accuracy")]
        self.batches = {s: list(subject.batches(s, limit=limit)) for s in self.splits}
        device = next(iter(self.like.values())).device
        batch = max(len(y) for b in self.batches.values() for _, y in b)
        work = batch * sum(p.numel() for p in self.like.values())
        self.points_per_pass = points_per_pass or auto_points_per_pass(device, work)
        if self.reestimate_bn:
            self.points_per_pass = 1  # statistics differ per point
        # Examples of the whole split (all processes together for a data-parallel subject).
        self.num_examples = {s: subject.num_examples(s, limit) for s in self.splits}
        self.data_parallel = data_parallel(subject)
        if self.data_parallel and self.reestimate_bn:
            raise ValueError(
                "reestimate_bn needs all the training data in one process; use the unsharded "
                "subject (grid points are then split over the processes instead)"
            )
        # Snapshots: the evaluation reads copies, so nothing below can reach the module.
        self._buffers = {k: b.detach().clone() for k, b in subject.model.named_buffers()}
        # Point buffers start as copies of the parameters: a fill that writes only some tensors
        # leaves the others at the module's values.
        self._point = {k: v.clone() for k, v in self.like.items()}
        self._bn_model = copy.deepcopy(subject.model) if self.reestimate_bn else None
        self.has_batchnorm = bool(_batchnorms(subject.model))
        self.num_evaluated = 0

    # -- one point ---------------------------------------------------------------------------
    def _single(self, network: nn.Module) -> np.ndarray:
        """Loss sum and correct count per split of ``network``, whose parameters and buffers are
        the point buffers (inside :meth:`_sweep`)."""
        if self.reestimate_bn and self.has_batchnorm:
            fresh = reestimate_bn_buffers(
                self.subject, self._point, limit=self.bn_limit, model=self._bn_model
            )
            for k, b in self._buffers.items():
                b.copy_(fresh[k])
        loss = self.subject.loss
        row = np.zeros(len(self.columns))
        for s_index, split in enumerate(self.splits):
            total, correct = 0.0, 0
            for x, y in self.batches[split]:
                out = network(x)
                total += float(loss_value(out, y, loss, reduction="sum"))
                if self.accuracy:
                    correct += int((out.argmax(dim=-1) == y).sum())
            row[2 * s_index], row[2 * s_index + 1] = total, correct
        self.num_evaluated += 1
        return row

    def _sweep(self, body: Callable[[nn.Module], None]) -> None:
        """Run ``body(network)`` with the network reading the point buffers.

        One :func:`functional_call` around the whole loop: the module's own tensors are swapped
        for the point buffers once (and restored afterwards, never written), and each point only
        refills the buffers in place. Swapping per point cost ~10% of a forward pass of the MLP
        40-256-256-10 on 1,000 examples; this costs nothing measurable.
        """
        sweep = _Sweep(self.subject.model)
        tensors = {f"network.{k}": v for k, v in self._point.items()}
        buffers = {f"network.{k}": v for k, v in self._buffers.items()}
        functional_call(sweep, (tensors, buffers), (body,))

    # -- several points in one vmapped pass --------------------------------------------------
    def _stacked(self, stack: dict[str, torch.Tensor], count: int) -> np.ndarray:
        model, loss, buffers = self.subject.model, self.subject.loss, self._buffers

        def forward(p: dict[str, torch.Tensor], x: torch.Tensor) -> torch.Tensor:
            return functional_call(model, (p, buffers), (x,))

        batched = torch.func.vmap(forward, in_dims=(0, None))
        rows = np.zeros((count, len(self.columns)))
        params = {k: v[:count] for k, v in stack.items()}
        for s_index, split in enumerate(self.splits):
            total = torch.zeros(count, dtype=torch.float64)
            correct = torch.zeros(count, dtype=torch.int64)
            for x, y in self.batches[split]:
                out = batched(params, x)  # (count, b, k)
                flat = out.reshape(count * len(y), -1)
                targets = y.repeat(count, *([1] * (y.ndim - 1)))
                per = loss_value(flat, targets, loss, reduction="none")
                total += per.reshape(count, len(y)).sum(dim=1).double()
                if self.accuracy:
                    correct += (out.argmax(dim=-1) == y).sum(dim=1)
            rows[:, 2 * s_index] = total.numpy()
            rows[:, 2 * s_index + 1] = correct.double().numpy()
        self.num_evaluated += count
        return rows

    # -- a whole point set -------------------------------------------------------------------
    def run(
        self,
        fill: Fill,
        num_points: int,
        *,
        exact: Sequence[int] = (),
        progress: Callable[[int], Any] | None = None,
    ) -> np.ndarray:
        """Values ``(num_points, len(columns))`` (float64) of every point of ``fill``.

        Args:
            fill: ``fill(i, out)`` writes point ``i``'s parameters into the tensors of ``out``.
            num_points: number of points.
            exact: points evaluated alone even when batching (bit-identical to
                ``subject.evaluate`` at the unperturbed parameters).
            progress: called with the number of points finished by this rank, after each.
        """
        # A data-parallel subject: every process evaluates every point on its shard and the sums
        # are added over processes. Otherwise, with torch.distributed up, points are split.
        rank, world = (0, 1) if self.data_parallel else rank_and_world()
        mine = list(range(rank, num_points, world))
        values = np.zeros((num_points, len(self.columns)))  # loss sums and correct counts
        exact = set(exact)
        alone = [i for i in mine if self.points_per_pass == 1 or i in exact]
        grouped = [i for i in mine if not (self.points_per_pass == 1 or i in exact)]
        done = 0
        with torch.no_grad(), self.subject.eval_mode():

            def body(network: nn.Module) -> None:
                nonlocal done
                for i in alone:
                    fill(i, self._point)
                    values[i] = self._single(network)
                    done += 1
                    if progress is not None:
                        progress(done)

            if alone:
                self._sweep(body)
            if grouped:
                size = self.points_per_pass
                stack = {k: v.expand(size, *v.shape).clone() for k, v in self.like.items()}
                for start in range(0, len(grouped), size):
                    chunk = grouped[start : start + size]
                    for j, i in enumerate(chunk):
                        fill(i, {k: v[j] for k, v in stack.items()})
                    values[chunk] = self._stacked(stack, len(chunk))
                    done += len(chunk)
                    if progress is not None:
                        progress(done)
        if self.data_parallel:
            values = self.subject.all_sum(torch.from_numpy(values)).numpy()
        elif world > 1:
            values = all_reduce_sum(values)
        counts = np.array([self.num_examples[s] for s in self.splits for _ in range(2)], float)
        values = values / counts
        if not self.accuracy:
            values[:, 1::2] = np.nan
        return values


class _Sweep(nn.Module):
    """Holds the subject's network so one functional call can cover a loop over many points."""

    def __init__(self, network: nn.Module) -> None:
        super().__init__()
        self.network = network

    def forward(self, body: Callable[[nn.Module], None]) -> None:
        body(self.network)


def rank_and_world() -> tuple[int, int]:
    dist = torch.distributed
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def data_parallel(subject: Subject) -> bool:
    """Whether ``subject`` holds one shard of data-parallel data (its ``all_sum`` adds partial
    sums over processes, as :func:`occamlab.sweep.distributed.shard` subjects do)."""
    return type(subject).all_sum is not Subject.all_sum


def all_reduce_sum(values: np.ndarray) -> np.ndarray:
    """Sum over ranks; each point's row is non-zero on exactly one rank, so the sum is exact."""
    dist = torch.distributed
    device = "cuda" if dist.get_backend() == "nccl" else "cpu"  # NCCL reduces GPU tensors only
    tensor = torch.from_numpy(values).to(device)
    dist.all_reduce(tensor)
    return tensor.cpu().numpy()
