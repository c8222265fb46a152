"""Units of work a sweep sends to an executor: pure functions of their inputs.

A task never touches the run store; it returns everything the driver stores (metrics, weights
as safetensors bytes, figures as PNG bytes), so workers on other machines need no shared
database or file system.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from safetensors.torch import save as safetensors_bytes


def _tensors(module) -> dict:
    return {k: v.detach().contiguous().cpu() for k, v in module.state_dict().items()}


def train_task(jobs: Sequence[Any]) -> list[dict[str, Any]]:
    """Train the jobs as one group; per job its metrics and its init/final weights, or its
    error. If the group fails (one member diverged), each member is retrained alone so that
    only the failing ones fail."""
    from occamlab.runs import _subject, train_group, trained_metrics

    def payload(subject, result, members: int, init: bytes) -> dict[str, Any]:
        return {
            "metrics": trained_metrics(subject, result, members),
            "init": init,
            "weights": safetensors_bytes(_tensors(subject.model)),
        }

    inits = [safetensors_bytes(_tensors(_subject(job, None).model)) for job in jobs]
    try:
        trained = train_group(jobs)
        return [payload(s, r, len(jobs), i) for i, (s, r) in zip(inits, trained, strict=True)]
    except Exception:
        if len(jobs) == 1:
            raise
    out = []
    for init, job in zip(inits, jobs, strict=True):
        try:
            ((subject, result),) = train_group([job])
            out.append(payload(subject, result, 1, init))
        except Exception as exc:  # this member's own failure, recorded by the driver
            out.append({"error": f"{type(exc).__name__}: {exc}"})
    return out


def experiment_task(spec: Any) -> dict[str, Any]:
    """Run an experiment in a scratch store; its stored metrics and its figures' bytes."""
    from occamlab.experiments import run_experiment
    from occamlab.store import Store

    with tempfile.TemporaryDirectory() as scratch:
        store = Store(Path(scratch) / "runs.sqlite")
        run = run_experiment(spec, store)
        figures = {
            title: (store.root / rel).read_bytes()
            for title, rel in run.record.metrics.get("figures", {}).items()
        }
        return {"metrics": run.record.metrics, "figures": figures}
