"""``occam list`` and ``occam show``: the runs in the store."""

from __future__ import annotations

import json
import time
from typing import Annotated

import typer
from rich.table import Table

from occamlab.cli.app import JsonOpt, StoreOpt, command, emit, out, print_metrics
from occamlab.store import DEFAULT_STORE, Store


@command("list")
def list_runs(
    kind: Annotated[str | None, typer.Option(help="Only runs of this kind.")] = None,
    status: Annotated[str | None, typer.Option(help="running, done or failed.")] = None,
    models: Annotated[bool, typer.Option("--models", help="List model names instead.")] = False,
    datasets: Annotated[
        bool, typer.Option("--datasets", help="List dataset names instead.")
    ] = False,
    store: StoreOpt = DEFAULT_STORE,
    as_json: JsonOpt = False,
) -> None:
    """List the runs in the store (or the registered models/datasets).

    A store that does not exist yet lists no runs (and is not created).
    """
    if models or datasets:
        from occamlab.data import DATASETS
        from occamlab.models import MODELS

        names = {"models": MODELS.names()} if models else {}
        if datasets:
            names["datasets"] = DATASETS.names()
        emit(as_json, names, lambda: [out.print(f"{k}: {', '.join(v)}") for k, v in names.items()])
        return
    if status not in (None, "running", "done", "failed"):
        raise ValueError(f"--status must be running, done or failed, got {status!r}")
    exists = store.exists()
    records = Store(store, create=False).runs(kind=kind, status=status) if exists else []
    rows = [
        {
            "id": r.id,
            "kind": r.kind,
            "name": r.name,
            "status": r.status,
            "updated": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(r.updated)),
            "test_accuracy": r.metrics.get("test_accuracy"),
        }
        for r in records
    ]

    def human() -> None:
        title = f"{len(rows)} runs in {store}" if exists else f"no store at {store} yet: 0 runs"
        table = Table(title=title)
        for column in ("id", "kind", "name", "status", "updated", "test_accuracy"):
            table.add_column(column)
        for row in rows:
            acc = row["test_accuracy"]
            table.add_row(
                *(str(row[c]) for c in list(row)[:-1]), "" if acc is None else f"{acc:.4f}"
            )
        out.print(table)

    emit(as_json, rows, human)


@command()
def show(
    run: Annotated[str, typer.Argument(help="Run id (or a unique prefix).")],
    store: StoreOpt = DEFAULT_STORE,
    as_json: JsonOpt = False,
) -> None:
    """Show one run: spec, status, metrics and artifacts."""
    record = Store(store, create=False).get(run)

    def human() -> None:
        out.print(f"run [bold]{record.id}[/] · {record.kind} · {record.name} · {record.status}")
        if record.error:
            out.print(f"[red]error:[/] {record.error}")
        out.print_json(json.dumps(record.spec))
        print_metrics({k: v for k, v in record.metrics.items() if k != "history"})
        for key, path in record.artifacts.items():
            out.print(f"{key}: {path}")

    emit(as_json, record.to_dict(), human)
