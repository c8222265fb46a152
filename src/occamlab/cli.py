"""The ``occam`` command: a thin Typer layer over the library.

Every command that prints a result takes ``--json`` and then prints exactly one JSON document on
stdout; progress bars and logs go to stderr. Bad input ends in a one-line error and a non-zero exit.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import sqlite3
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from occamlab.cli_options import CliKit, spec_options
from occamlab.cli_probe import register as register_probes
from occamlab.cli_probe_bounds import register as register_bound_probes
from occamlab.cli_probe_compression import register as register_compression
from occamlab.cli_probe_kernels import register as register_kernel_probes
from occamlab.cli_probe_landscape import register as register_landscape
from occamlab.cli_probe_spectra import register as register_spectra
from occamlab.cli_report import register as register_reports
from occamlab.cli_run import register as register_experiments
from occamlab.cli_subject import SubjectChoice, given_flags, resolve_subject, subject_options
from occamlab.cli_sweep import register as register_sweep
from occamlab.diagnose.spec import DiagnoseSpec
from occamlab.jsonable import jsonable
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


@app.callback()
def _root(
    threads: Annotated[
        int,
        typer.Option(
            "--threads",
            min=0,
            envvar="OCCAM_THREADS",
            help="Torch threads of this process (0: torch's default). occamlab's workloads are "
            "small networks, which run fastest on one thread; several threads slow them down "
            "many times when the cores are busy.",
        ),
    ] = 1,
) -> None:
    """occamlab: probe what a trained network learned, and reproduce deep learning theory."""
    if threads:
        import torch

        torch.set_num_threads(threads)


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
StoreOpt = Annotated[
    Path,
    typer.Option("--store", help="SQLite run store (created by the commands that record runs)."),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")]


def command(name: str | None = None, *, on: typer.Typer | None = None):
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

        return (on or app).command(name)(wrapper)

    return decorate


def _emit(as_json: bool, payload: Any, human) -> None:
    if as_json:
        sys.stdout.write(json.dumps(jsonable(payload), indent=2) + "\n")
    else:
        human()


# -- commands ----------------------------------------------------------------------------------


@command()
@spec_options(TrainSpec, param="recipe")
@subject_options()
def train(
    recipe: TrainSpec,
    choice: SubjectChoice,
    store: StoreOpt = DEFAULT_STORE,
    force: Annotated[
        bool, typer.Option("--force", help="Retrain even if this spec is done.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Train a registry model on a dataset and record the run (reused if already done)."""
    from occamlab.runs import train_run

    given = given_flags(choice, ("subject", "weights", "init_weights", "recipe_file"))
    if given:
        raise ValueError(
            f"occam train builds and trains registry models; drop {', '.join(given)} (the recipe "
            "is given by the training flags, e.g. --optimizer adam --lr 0.001)"
        )
    model_spec, data_spec = choice.specs()
    trained = train_run(
        Store(store),
        model=model_spec,
        data=data_spec,
        train=recipe,
        seed=choice.seed,
        data_root=choice.data_root,
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
        _emit(as_json, names, lambda: [out.print(f"{k}: {', '.join(v)}") for k, v in names.items()])
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

    _emit(as_json, rows, human)


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
        _print_metrics({k: v for k, v in record.metrics.items() if k != "history"})
        for key, path in record.artifacts.items():
            out.print(f"{key}: {path}")

    _emit(as_json, record.to_dict(), human)


@command()
@spec_options(DiagnoseSpec, param="options", exclude=("deep",))
@subject_options()
def diagnose(
    options: DiagnoseSpec,
    choice: SubjectChoice,
    deep: Annotated[
        bool,
        typer.Option(
            "--quick/--deep",
            help="Quick budget (≤ 3 min for the default subject) or the deep one (lottery "
            "tickets, wider sweeps, longer bound optimization, all examples). \\[default: quick]",
            show_default=False,
        ),
    ] = False,
    store: StoreOpt = DEFAULT_STORE,
    as_json: JsonOpt = False,
) -> None:
    """Answer the four questions about a subject and write its HTML report.

    Can it be simpler? Is the over-parameterization essential? What error bound can I certify?
    What do the parameters say? With no subject options: the embedded default (an MLP on
    MNIST-1D), trained on the spot the first time and reused from the store afterwards.
    """
    from occamlab.diagnose import diagnose_run

    runs = Store(store)
    resolved = resolve_subject(choice, runs, progress=not as_json)
    subject = resolved.subject
    result = diagnose_run(
        subject,
        store=runs,
        source=resolved.source,
        spec=dataclasses.replace(options, deep=deep),
        history=resolved.history,
        log=None if as_json else (lambda line: err.print(f"[dim]{line}…[/]")),
    )

    def human() -> None:
        fit = (
            f"test accuracy {result.test.accuracy:.3f}"
            if result.test.accuracy is not None
            else f"test loss {result.test.loss:.4g}"
        )
        out.print(
            f"[bold]{subject.name}[/] · {subject.num_parameters:,} parameters · {fit}"
            f" · {result.seconds:.0f} s"
        )
        for question, sentence in result.sentences.items():
            out.print(f"\n[bold]{question}[/]\n{sentence}")
        for note in result.notes:
            out.print(f"[dim]note: {note}[/]")
        out.print(f"\nreport: {result.report}")

    _emit(as_json, result.to_dict(), human)


kit = CliKit(
    command=command,
    emit=_emit,
    out=out,
    err=err,
    store_opt=StoreOpt,
    json_opt=JsonOpt,
    default_store=DEFAULT_STORE,
)
register_experiments(app, kit)
register_sweep(app, kit)
register_reports(app, kit)
probe_app = register_probes(app, kit)
# Probe families add their `occam probe NAME` commands here: register(probe_app, kit).
register_bound_probes(probe_app, kit)
register_compression(probe_app, kit)
register_landscape(probe_app, kit)
register_spectra(probe_app, kit)
register_kernel_probes(probe_app, kit)


def main(argv: list[str] | None = None) -> None:
    """Console entry point (``occam``)."""
    app(args=argv, prog_name="occam")
