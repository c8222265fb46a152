"""The members of a sweep (widths, noise levels, batch sizes × seeds) train through one function.

Every experiment that sweeps registry trainings describes each training as a :class:`Member` and
hands the whole list to :func:`train_members`. Today that trains them one after another as cached
registry runs (:meth:`Context.train`); a vectorized ensemble trainer (``torch.func`` stacking of
members that share an architecture) can replace this one function without touching the
experiments.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from occamlab.experiments.framework import Context
from occamlab.train import TrainSpec


@dataclass(frozen=True)
class Member:
    """One training of a sweep: registry model and dataset specs, a recipe and a seed."""

    model: Any
    data: Any
    train: TrainSpec
    seed: int = 0


def train_members(
    ctx: Context, members: Sequence[Member], *, description: str = "training"
) -> list[dict[str, Any]]:
    """Train every member once (reusing stored runs) and return their run metrics, in order.

    The metrics are those of :func:`occamlab.runs.train_run`: final ``train_accuracy``,
    ``test_accuracy``, losses, ``steps``, ``seconds`` and the evaluation ``history``.
    """
    out = []
    for m in ctx.track(list(members), description):
        trained = ctx.train(model=m.model, data=m.data, train=m.train, seed=m.seed)
        out.append(dict(trained.record.metrics))
    return out


__all__ = ["Member", "train_members"]
