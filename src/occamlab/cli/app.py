"""The ``occam`` Typer app: its root options, how commands report errors and print results.

Every command that prints a result takes ``--json`` and then prints exactly one JSON document on
stdout; progress bars and logs go to stderr. Bad input ends in a one-line error and a non-zero exit.
The commands themselves live in the modules of this package, one per command (group).
"""

from __future__ import annotations

import functools
import json
import sqlite3
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from occamlab.cli.options import CliKit
from occamlab.jsonable import jsonable
from occamlab.store import DEFAULT_STORE, RunInProgressError
from occamlab.train import NonFiniteLossError
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
            help="Torch, BLAS (NumPy/SciPy) and OpenMP threads of this process (0: their "
            "defaults). occamlab's workloads are small networks and matrices, which run fastest "
            "on one thread; several threads slow them down many times when the cores are busy.",
        ),
    ] = 1,
) -> None:
    """occamlab: probe what a trained network learned, and reproduce deep learning theory."""
    if threads:
        from occamlab.threads import limit_threads

        limit_threads(threads)


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


def emit(as_json: bool, payload: Any, human) -> None:
    """Print ``payload`` as one JSON document (``--json``), or call ``human()``."""
    if as_json:
        sys.stdout.write(json.dumps(jsonable(payload), indent=2) + "\n")
    else:
        human()


def print_metrics(metrics: dict[str, Any]) -> None:
    """A run's scalar metrics as a table (nested ones named, for ``--json``)."""
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


kit = CliKit(
    command=command,
    emit=emit,
    out=out,
    err=err,
    store_opt=StoreOpt,
    json_opt=JsonOpt,
    default_store=DEFAULT_STORE,
)
