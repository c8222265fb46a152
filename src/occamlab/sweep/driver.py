"""The sweep driver: skips finished members, sends the rest to an executor, stores results.

Only the driver writes the run store (one SQLite file; no database is shared between
machines). Training members that share an architecture and recipe travel as one task and train
as one vectorized ensemble. A member already done in the store is skipped, so a sweep whose
driver was killed continues where it stopped; a failing task marks its members failed and the
sweep goes on.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from occamlab.report.pages import save_run_figures
from occamlab.runs import TrainJob, _group_key
from occamlab.specs import spec_to_dict
from occamlab.store import Store
from occamlab.sweep.executors import Executor
from occamlab.sweep.spec import SweepSpec
from occamlab.sweep.tasks import experiment_task, train_task


@dataclass
class SweepResult:
    """Counts and run ids of a sweep (``runs`` in member order; failed members hold errors)."""

    name: str
    kind: str
    runs: list[str] = field(default_factory=list)
    done: int = 0
    reused: int = 0
    failed: int = 0
    errors: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _member_kind(sweep: SweepSpec) -> str:
    return "train" if sweep.kind == "train" else "experiment"


def _member_spec(member: Any) -> dict[str, Any]:
    return member.spec() if isinstance(member, TrainJob) else spec_to_dict(member)


def _batches(sweep: SweepSpec, todo: Sequence[int], max_group: int) -> list[list[int]]:
    """Member indices per task: groups of compatible training jobs, else one member each."""
    if sweep.kind != "train":
        return [[i] for i in todo]
    groups: dict[str, list[int]] = {}
    for i in todo:
        groups.setdefault(_group_key(sweep.members[i]), []).append(i)
    return [g[k : k + max_group] for g in groups.values() for k in range(0, len(g), max_group)]


def _store_train(store: Store, job: TrainJob, payload: dict[str, Any]) -> str:
    with store.run("train", job.spec(), name=job.name(), force=True) as run:
        rel = run.directory.relative_to(store.root)
        for key, blob in (("init", payload["init"]), ("weights", payload["weights"])):
            name = "init.safetensors" if key == "init" else "last.safetensors"
            (run.directory / name).write_bytes(blob)
            run.add_artifact(key, rel / name)
        run.metrics.update(payload["metrics"])
    return run.id


def _store_experiment(store: Store, spec: Any, payload: dict[str, Any]) -> str:
    from occamlab.experiments.page import write_experiment_page

    name = type(spec).name
    with store.run("experiment", spec_to_dict(spec), name=name, force=True) as run:
        figures = save_run_figures(store, run, payload["figures"])
        run.metrics.update({**payload["metrics"], "figures": figures})
    write_experiment_page(store, run.record, spec)
    return run.id


def run_sweep(
    sweep: SweepSpec,
    store: Store,
    executor: Executor,
    *,
    max_group: int = 64,
    progress: bool = False,
    force: bool = False,
) -> SweepResult:
    """Run every member not yet done in ``store`` through ``executor``; store each result.

    Args:
        sweep: the members.
        store: the run store (written by this process only).
        executor: where tasks run (:class:`~occamlab.sweep.executors.LocalExecutor`, Ray).
        max_group: most training members per task (one vectorized ensemble).
        progress: a progress bar with counts and time remaining on stderr.
        force: rerun members that are already done.
    """
    started = time.perf_counter()
    kind = _member_kind(sweep)
    result = SweepResult(name=sweep.name, kind=sweep.kind)
    ids = [Store.run_id(kind, _member_spec(m)) for m in sweep.members]
    result.runs = ids
    store.reap()
    todo = []
    for i, run_id in enumerate(ids):
        try:
            finished = store.get(run_id).status == "done"
        except KeyError:
            finished = False
        if finished and not force:
            result.reused += 1
        else:
            todo.append(i)
    batches = _batches(sweep, todo, max_group)
    if sweep.kind == "train":
        fn, items = train_task, [[sweep.members[i] for i in b] for b in batches]
    else:
        fn, items = experiment_task, [sweep.members[b[0]] for b in batches]
    bar = _progress(progress, len(sweep.members), result.reused, sweep.name)
    try:
        for index, payload, error in executor.run(fn, items):
            members = batches[index]
            if error is not None:
                for i in members:
                    _record_failure(store, kind, sweep.members[i], error)
                    result.errors[ids[i]] = error
                result.failed += len(members)
            else:
                outputs = payload if sweep.kind == "train" else [payload]
                for i, out in zip(members, outputs, strict=True):
                    member = sweep.members[i]
                    if "error" in out:
                        _record_failure(store, kind, member, out["error"])
                        result.errors[ids[i]] = out["error"]
                        result.failed += 1
                        continue
                    if sweep.kind == "train":
                        _store_train(store, member, out)
                    else:
                        _store_experiment(store, member, out)
                    result.done += 1
            if bar is not None:
                bar[0].update(bar[1], advance=len(members))
    finally:
        if bar is not None:
            bar[0].stop()
    result.seconds = time.perf_counter() - started
    return result


def _record_failure(store: Store, kind: str, member: Any, error: str) -> None:
    name = member.name() if isinstance(member, TrainJob) else type(member).name
    record, _ = store.begin(kind, _member_spec(member), name=name, force=True)
    store.fail(record.id, error)


def _progress(enabled: bool, total: int, completed: int, name: str):
    if not enabled:
        return None
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    bar = Progress(
        TextColumn(f"sweep {name}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    )
    bar.start()
    return bar, bar.add_task("", total=total, completed=completed)
