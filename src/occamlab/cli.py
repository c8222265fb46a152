"""The ``occam`` command: a thin Typer layer over the library.

Every command that prints a result takes ``--json`` and then prints exactly one JSON document on
stdout; progress bars and logs go to stderr. Bad input ends in a one-line error and a non-zero exit.
"""

from __future__ import annotations

import functools
import json
import sqlite3
import sys
import time
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from occamlab.jsonable import jsonable
from occamlab.specs import parse_assignments
from occamlab.store import DEFAULT_STORE, RunInProgressError, Store
from occamlab.train import NonFiniteLossError, TrainSpec
from occamlab.weights import WeightsError

app = typer.Typer(
    name="occam",
    help="occamlab: probe what a trained network learned, and reproduce deep learning theory.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out = Console()
err = Console(stderr=True)

USER_ERRORS = (
    ValueError,
    KeyError,
    FileNotFoundError,
    WeightsError,
    RunInProgressError,
    NonFiniteLossError,
    sqlite3.DatabaseError,
)

# -- shared options -------------------------------------------------------------------------------
StoreOpt = Annotated[Path, typer.Option("--store", help="SQLite run store (created if missing).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")]
ModelOpt = Annotated[str, typer.Option("--model", help="Model name (see `occam list --models`).")]
ModelArgs = Annotated[
    Optional[list[str]],  # noqa: UP045
    typer.Option("--model-opt", help="Model option KEY=VALUE (repeatable), e.g. width=256."),
]
DataOpt = Annotated[str, typer.Option("--data", help="Dataset name (see `occam list --datasets`).")]
DataArgs = Annotated[
    Optional[list[str]],  # noqa: UP045
    typer.Option("--data-opt", help="Dataset option KEY=VALUE (repeatable), e.g. num_train=8000."),
]
DataRoot = Annotated[
    Optional[Path],  # noqa: UP045
    typer.Option("--data-root", help="Folder holding file datasets (MNIST IDX, CIFAR-10, npz)."),
]
InitSeed = Annotated[int, typer.Option("--init-seed", help="Seed of the model's initialization.")]
WeightsOpt = Annotated[
    Optional[Path],  # noqa: UP045
    typer.Option("--weights", help="Trained weights (.safetensors) for --model on --data."),
]
SubjectOpt = Annotated[
    Optional[str],  # noqa: UP045
    typer.Option(
        "--subject", help="Your own subject: 'package.module:function' returning a Subject."
    ),
]


def command(name: str | None = None):
    """Register a command whose user errors end in one line on stderr and exit code 2.

    With ``--json`` the error is also printed as ``{"error": ...}`` so stdout stays one JSON
    document. Anything else is a bug and keeps its traceback.
    """

    def decorate(fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            try:
                return fn(*args, **kwargs)
            except USER_ERRORS as exc:
                message = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
                if kwargs.get("as_json"):
                    sys.stdout.write(json.dumps({"error": str(message)}) + "\n")
                err.print(f"[red]error:[/] {escape(str(message))}", highlight=False, soft_wrap=True)
                raise typer.Exit(2) from None

        return app.command(name)(wrapper)

    return decorate


def _emit(as_json: bool, payload: Any, human) -> None:
    if as_json:
        sys.stdout.write(json.dumps(jsonable(payload), indent=2) + "\n")
    else:
        human()


def _specs(model: str, model_opt, data: str, data_opt):
    from occamlab.data import DATASETS
    from occamlab.models import MODELS

    return (
        MODELS.spec(model, **parse_assignments(model_opt or [])),
        DATASETS.spec(data, **parse_assignments(data_opt or [])),
    )


# -- commands ----------------------------------------------------------------------------------
from occamlab.cli_options import spec_options  # noqa: E402


@command()
@spec_options(TrainSpec, param="recipe")
def train(
    recipe: TrainSpec,
    model: ModelOpt = "mlp",
    model_opt: ModelArgs = None,
    data: DataOpt = "mnist1d",
    data_opt: DataArgs = None,
    data_root: DataRoot = None,
    init_seed: InitSeed = 0,
    store: StoreOpt = DEFAULT_STORE,
    force: Annotated[
        bool, typer.Option("--force", help="Retrain even if this spec is done.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Train a registry model on a dataset and record the run (reused if already done)."""
    from occamlab.runs import train_run

    model_spec, data_spec = _specs(model, model_opt, data, data_opt)
    trained = train_run(
        Store(store),
        model=model_spec,
        data=data_spec,
        train=recipe,
        seed=init_seed,
        data_root=data_root,
        progress=not as_json,
        force=force,
    )
    record = trained.record
    payload = {**record.to_dict(), "reused": trained.reused}
    payload["metrics"] = {k: v for k, v in record.metrics.items() if k != "history"}

    def human() -> None:
        note = " (reused: this spec was already trained)" if trained.reused else ""
        out.print(f"run [bold]{record.id}[/] {record.status}{note}")
        _print_metrics(payload["metrics"])

    _emit(as_json, payload, human)


def _print_metrics(metrics: dict[str, Any]) -> None:
    table = Table(show_header=False)
    nested = []
    for key, value in metrics.items():
        if isinstance(value, (dict, list)):
            nested.append(key)
        else:
            table.add_row(key, f"{value:.4g}" if isinstance(value, float) else str(value))
    out.print(table)
    if nested:
        out.print(f"(also {', '.join(nested)}: see --json)")


@command("list")
def list_runs(
    kind: Annotated[Optional[str], typer.Option(help="Only runs of this kind.")] = None,  # noqa: UP045
    status: Annotated[Optional[str], typer.Option(help="running, done or failed.")] = None,  # noqa: UP045
    models: Annotated[bool, typer.Option("--models", help="List model names instead.")] = False,
    datasets: Annotated[
        bool, typer.Option("--datasets", help="List dataset names instead.")
    ] = False,
    store: StoreOpt = DEFAULT_STORE,
    as_json: JsonOpt = False,
) -> None:
    """List the runs in the store (or the registered models/datasets)."""
    if models or datasets:
        from occamlab.data import DATASETS
        from occamlab.models import MODELS

        names = {"models": MODELS.names()} if models else {}
        if datasets:
            names["datasets"] = DATASETS.names()
        _emit(as_json, names, lambda: [out.print(f"{k}: {', '.join(v)}") for k, v in names.items()])
        return
    if status not in (None, "running", "done", "failed"):
        raise ValueError(f"--status must be running, done or failed, got {status!r}")
    records = Store(store).runs(kind=kind, status=status)
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
        table = Table(title=f"{len(rows)} runs in {store}")
        for column in ("id", "kind", "name", "status", "updated", "test_accuracy"):
            table.add_column(column)
        for row in rows:
            acc = row["test_accuracy"]
            table.add_row(
                *(str(row[c]) for c in list(row)[:-1]), "" if acc is None else f"{acc:.4f}"
            )
        out.print(table)

    _emit(as_json, rows, human)


@command()
def show(
    run: Annotated[str, typer.Argument(help="Run id (or a unique prefix).")],
    store: StoreOpt = DEFAULT_STORE,
    as_json: JsonOpt = False,
) -> None:
    """Show one run: spec, status, metrics and artifacts."""
    record = Store(store).get(run)

    def human() -> None:
        out.print(f"run [bold]{record.id}[/] · {record.kind} · {record.name} · {record.status}")
        if record.error:
            out.print(f"[red]error:[/] {record.error}")
        out.print_json(json.dumps(record.spec))
        _print_metrics({k: v for k, v in record.metrics.items() if k != "history"})
        for key, path in record.artifacts.items():
            out.print(f"{key}: {path}")

    _emit(as_json, record.to_dict(), human)


@command()
def diagnose(
    subject: SubjectOpt = None,
    model: ModelOpt = "mlp",
    model_opt: ModelArgs = None,
    data: DataOpt = "mnist1d",
    data_opt: DataArgs = None,
    data_root: DataRoot = None,
    weights: WeightsOpt = None,
    init_seed: InitSeed = 0,
    store: StoreOpt = DEFAULT_STORE,
    as_json: JsonOpt = False,
) -> None:
    """Answer the four questions about a subject and write its HTML report.

    With no subject options: the embedded default (an MLP on MNIST-1D), trained on the spot the
    first time and reused from the store afterwards.
    """
    from occamlab.diagnose import diagnose_run
    from occamlab.recipes import import_subject, make_subject
    from occamlab.runs import train_run

    runs = Store(store)
    history = None
    if subject is not None:
        the_subject = import_subject(subject)
        source: dict[str, Any] = {"subject": subject}
    elif weights is not None:
        model_spec, data_spec = _specs(model, model_opt, data, data_opt)
        the_subject = make_subject(
            model=model_spec, data=data_spec, seed=init_seed, weights=weights, data_root=data_root
        )
        source = {"weights": str(weights)}
    else:
        model_spec, data_spec = _specs(model, model_opt, data, data_opt)
        trained = train_run(
            runs,
            model=model_spec,
            data=data_spec,
            train=TrainSpec(),
            seed=init_seed,
            data_root=data_root,
            progress=not as_json,
        )
        the_subject = trained.subject
        history = trained.record.metrics.get("history")
        source = {"train_run": trained.record.id}
    result = diagnose_run(the_subject, store=runs, source=source, history=history)

    def human() -> None:
        out.print(f"[bold]{the_subject.name}[/] · {the_subject.num_parameters:,} parameters")
        for key, sentence in result.answers.items():
            out.print(f"[bold]{key}[/]: {sentence}")
        out.print(f"report: {result.report}")

    _emit(as_json, result.to_dict(), human)


def main(argv: list[str] | None = None) -> None:
    """Console entry point (``occam``)."""
    app(args=argv, prog_name="occam")
