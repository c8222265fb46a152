"""Stored training runs: train a registry subject once, find it again by its spec's hash."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from occamlab.recipes import make_subject
from occamlab.specs import spec_to_dict
from occamlab.store import RunRecord, Store
from occamlab.subject import LossName, Subject
from occamlab.train import Checkpointer, TrainSpec, fit
from occamlab.weights import load_into


@dataclass(frozen=True)
class TrainedSubject:
    """A trained subject and the store record of the run that trained it."""

    subject: Subject
    record: RunRecord
    reused: bool


def train_spec_dict(model: Any, data: Any, train: TrainSpec, seed: int, loss: str | None) -> dict:
    """The spec of a training run, as hashed into its run id."""
    return {
        "model": spec_to_dict(model),
        "data": spec_to_dict(data),
        "train": spec_to_dict(train),
        "seed": seed,
        "loss": loss,
    }


def train_run(
    store: Store,
    *,
    model: Any,
    data: Any,
    train: TrainSpec,
    seed: int = 0,
    loss: LossName | None = None,
    data_root: str | os.PathLike | None = None,
    progress: bool = False,
    force: bool = False,
) -> TrainedSubject:
    """Train ``model`` on ``data`` with ``train`` and record the run, or reuse a finished one.

    Artifacts: ``init.safetensors`` (the initial weights) and ``last.safetensors`` (the final
    weights; after a crash, the last good epoch's). A finished run is not retrained: the subject is
    rebuilt from its spec and loaded from ``last.safetensors``.
    """
    subject = make_subject(model=model, data=data, seed=seed, loss=loss, data_root=data_root)
    spec = train_spec_dict(model, data, train, seed, loss)
    name = f"{type(model).name}/{type(data).name}"
    with store.run("train", spec, name=name, force=force) as run:
        if run.reused:
            load_into(subject.model, store.root / run.artifacts["weights"])
            return TrainedSubject(subject=subject, record=run.record, reused=True)
        rel = run.directory.relative_to(store.root)
        run.add_artifact("init", rel / "init.safetensors")
        run.add_artifact("weights", rel / "last.safetensors")
        result = fit(subject, train, callbacks=[Checkpointer(run.directory)], progress=progress)
        run.metrics.update(
            {
                "num_parameters": subject.num_parameters,
                "steps": result.steps,
                "epochs": result.epochs,
                "stop_reason": result.stop_reason,
                "seconds": result.seconds,
                **{k: v for k, v in result.final.items() if k not in ("epoch", "step", "lr")},
                "history": result.history,
            }
        )
    return TrainedSubject(subject=subject, record=run.record, reused=False)
