"""Stored training runs: train a registry subject once, find it again by its spec's hash."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from occamlab.recipes import make_subject
from occamlab.report.render import register_renderer
from occamlab.specs import spec_to_dict
from occamlab.store import RunRecord, Store
from occamlab.subject import LossName, Subject
from occamlab.train import Callback, Checkpointer, TrainResult, TrainSpec
from occamlab.train.ensemble import PER_MEMBER_FIELDS, Method, fit_ensemble
from occamlab.weights import load_into


@dataclass(frozen=True)
class TrainedSubject:
    """A trained subject and the store record of the run that trained it."""

    subject: Subject
    record: RunRecord
    reused: bool


def train_spec_dict(
    model: Any,
    data: Any,
    train: TrainSpec,
    seed: int,
    loss: str | None,
    data_contents: str | None = None,
) -> dict:
    """The spec of a training run, as hashed into its run id (with the digest of the data's
    contents when it was read from files, so other files at the same path train anew)."""
    spec = {
        "model": spec_to_dict(model),
        "data": spec_to_dict(data),
        "train": spec_to_dict(train),
        "seed": seed,
        "loss": loss,
    }
    if data_contents is not None:
        spec["data_contents"] = data_contents
    return spec


@dataclass(frozen=True)
class TrainJob:
    """One training run to do: a registry model on a dataset with a recipe and an init seed."""

    model: Any
    data: Any
    train: TrainSpec
    seed: int = 0
    loss: LossName | None = None
    data_contents: str | None = None

    def spec(self) -> dict:
        return train_spec_dict(
            self.model, self.data, self.train, self.seed, self.loss, self.data_contents
        )

    def name(self) -> str:
        return f"{type(self.model).name}/{type(self.data).name}"


def _group_key(job: TrainJob) -> str:
    """Jobs with equal keys may share one vectorized loop (labels, rates, targets may differ)."""
    data = spec_to_dict(job.data)
    if data.get("inputs", "clean") == "clean":  # label noise changes labels only
        data = {k: v for k, v in data.items() if k not in ("label_noise", "corruption_seed")}
    train = {k: v for k, v in spec_to_dict(job.train).items() if k not in PER_MEMBER_FIELDS}
    return json.dumps([spec_to_dict(job.model), data, train, job.loss], sort_keys=True)


def train_runs(
    store: Store,
    jobs: Sequence[TrainJob],
    *,
    data_root: str | os.PathLike | None = None,
    method: Method = "auto",
    progress: bool = False,
    force: bool = False,
) -> list[TrainedSubject]:
    """Train every job once and record each as its own run; finished runs are reused.

    Jobs that share an architecture, inputs and recipe (they may differ in seed, label noise,
    learning rate, weight decay and stopping targets) are trained together by
    :func:`occamlab.train.ensemble.fit_ensemble` where that is faster, with the same results as
    training each alone. Each run's artifacts: ``init.safetensors`` and ``last.safetensors``.

    Data read from ``data_root`` is part of each run's id by its contents (a digest of the
    loaded tensors), not by the path: another file at the same path is trained anew.
    """
    if data_root is not None:
        jobs = _with_data_contents(jobs, data_root)
    out: list[TrainedSubject | None] = [None] * len(jobs)
    pending: dict[str, list[int]] = {}
    for i, job in enumerate(jobs):
        record = _finished(store, job) if not force else None
        if record is not None:
            subject = _subject(job, data_root)
            load_into(subject.model, store.root / record.artifacts["weights"])
            out[i] = TrainedSubject(subject=subject, record=record, reused=True)
        else:
            pending.setdefault(_group_key(job), []).append(i)
    for indices in pending.values():
        group = [jobs[i] for i in indices]
        for i, trained in zip(
            indices, _train_group(store, group, data_root, method, progress, force), strict=True
        ):
            out[i] = trained
    return [t for t in out if t is not None]


def _with_data_contents(jobs: Sequence[TrainJob], data_root: str | os.PathLike) -> list[TrainJob]:
    from occamlab.data import load_data
    from occamlab.fingerprint import data_digest

    digests: dict[str, str] = {}
    out = []
    for job in jobs:
        key = json.dumps(spec_to_dict(job.data), sort_keys=True)
        if key not in digests:
            digests[key] = data_digest(load_data(job.data, root=data_root))
        out.append(dataclasses.replace(job, data_contents=digests[key]))
    return out


def _finished(store: Store, job: TrainJob) -> RunRecord | None:
    try:
        record = store.get(Store.run_id("train", job.spec()))
    except KeyError:
        return None
    return record if record.status == "done" else None


def _subject(job: TrainJob, data_root: str | os.PathLike | None) -> Subject:
    return make_subject(
        model=job.model, data=job.data, seed=job.seed, loss=job.loss, data_root=data_root
    )


def train_group(
    jobs: Sequence[TrainJob],
    *,
    data_root: str | os.PathLike | None = None,
    method: Method = "auto",
    callbacks: Sequence[Sequence[Callback]] | None = None,
    progress: bool = False,
) -> list[tuple[Subject, TrainResult]]:
    """Build and train the jobs (together where that is faster); nothing is stored.

    This is the unit of work a sweep sends to a worker.
    """
    subjects = [_subject(job, data_root) for job in jobs]
    results = fit_ensemble(
        subjects,
        [job.train for job in jobs],
        method=method if len(jobs) > 1 else "sequential",
        callbacks=callbacks,
        progress=progress,
    )
    return list(zip(subjects, results, strict=True))


def _train_group(
    store: Store,
    jobs: Sequence[TrainJob],
    data_root: str | os.PathLike | None,
    method: Method,
    progress: bool,
    force: bool,
) -> list[TrainedSubject]:
    with contextlib.ExitStack() as stack:
        handles = [
            stack.enter_context(store.run("train", job.spec(), name=job.name(), force=force))
            for job in jobs
        ]
        todo = [i for i, h in enumerate(handles) if not h.reused]  # another process may finish one
        for i in todo:
            rel = handles[i].directory.relative_to(store.root)
            handles[i].add_artifact("init", rel / "init.safetensors")
            handles[i].add_artifact("weights", rel / "last.safetensors")
        trained = (
            train_group(
                [jobs[i] for i in todo],
                data_root=data_root,
                method=method,
                # last.safetensors at every evaluation (with full batches an epoch is one step)
                callbacks=[
                    [Checkpointer(handles[i].directory, every=jobs[i].train.eval_every)]
                    for i in todo
                ],
                progress=progress,
            )
            if todo
            else []
        )
        subjects: dict[int, Subject] = {}
        for i, (subject, result) in zip(todo, trained, strict=True):
            handles[i].metrics.update(trained_metrics(subject, result, len(todo)))
            subjects[i] = subject
        for i, h in enumerate(handles):
            if h.reused:
                subjects[i] = _subject(jobs[i], data_root)
                load_into(subjects[i].model, store.root / h.artifacts["weights"])
    return [
        TrainedSubject(subject=subjects[i], record=h.record, reused=h.reused)
        for i, h in enumerate(handles)
    ]


def trained_metrics(subject: Subject, result: TrainResult, members: int) -> dict[str, Any]:
    """What a training run stores: size, steps, why it stopped, final metrics, history."""
    return {
        "num_parameters": subject.num_parameters,
        "steps": result.steps,
        "epochs": result.epochs,
        "stop_reason": result.stop_reason,
        "seconds": result.seconds,
        "trained_with": members,
        **{k: v for k, v in result.final.items() if k not in ("epoch", "step", "lr")},
        "history": result.history,
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
    job = TrainJob(model=model, data=data, train=train, seed=seed, loss=loss)
    (trained,) = train_runs(store, [job], data_root=data_root, progress=progress, force=force)
    return trained


@register_renderer("train")
def render_training(store: Store, record: RunRecord) -> Path:
    """The page of a training run: its final numbers and its training curves."""
    from occamlab.report import figure, key_values, training_curves, write_run_page

    m = record.metrics
    sections = [("Result", key_values({k: v for k, v in m.items() if k != "history"}))]
    if m.get("history"):
        sections.append(("Training", figure(training_curves(m["history"]), alt="training curves")))
    if record.artifacts:
        sections.append(("Artifacts", key_values(record.artifacts)))
    return write_run_page(store, record, sections, title=f"train: {record.name}")
