"""``occam diagnose``: the four questions about a subject, answered in one report."""

from __future__ import annotations

import dataclasses
from typing import Annotated

import typer

from occamlab.cli.app import JsonOpt, StoreOpt, command, emit, err, out
from occamlab.cli.options import spec_options
from occamlab.cli.subject import SubjectChoice, resolve_subject, subject_options
from occamlab.diagnose.spec import DiagnoseSpec
from occamlab.store import DEFAULT_STORE, Store


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

    emit(as_json, result.to_dict(), human)
