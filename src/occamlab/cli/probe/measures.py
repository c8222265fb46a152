"""``occam probe measures``: Jiang et al.'s generalization measures of a subject."""

from typing import Any

import typer

from occamlab.cli.options import CliKit, spec_options
from occamlab.cli.probe.stored import stored_run
from occamlab.cli.subject import ResolvedSubject, SubjectChoice, resolve_subject, subject_options
from occamlab.probes.measures.page import measures_sections
from occamlab.probes.measures.summary import MeasuresSpec
from occamlab.recipes import initial_params
from occamlab.store import Store


def register(probe_app: typer.Typer, kit: CliKit) -> None:
    """Add ``occam probe measures``."""
    command, emit, out = kit.command, kit.emit, kit.out
    store_opt, json_opt, default_store = kit.store_opt, kit.json_opt, kit.default_store

    @command(on=probe_app, name="measures")
    @spec_options(MeasuresSpec, param="options")
    @subject_options()
    def measures(
        options: MeasuresSpec,
        choice: SubjectChoice,
        store: store_opt = default_store,
        as_json: json_opt = False,
    ) -> None:
        """Jiang et al.'s generalization measures (norms, margins, sharpness, optimization)."""
        from occamlab.probes.measures.summary import generalization_measures

        runs = Store(store)
        resolved = resolve_subject(choice, runs, progress=not as_json)

        def compute(r: ResolvedSubject) -> dict[str, Any]:
            init = initial_params(r.subject)
            initial_loss = None if init is None else r.subject.evaluate(init).loss
            report = generalization_measures(
                r.subject, init=init, history=r.history, initial_loss=initial_loss, spec=options
            )
            return report.to_dict()

        result = stored_run(
            "measures", resolved, options, runs, compute=compute, sections=measures_sections
        )

        def human() -> None:
            out.print(
                f"train error {result['train_error']:.4f} · test error "
                f"{result['test_error']:.4f} · gap {result['generalization_gap']:.4f}"
            )
            for name, value in result["values"].items():
                out.print(f"{name}: {'—' if value is None else f'{value:.5g}'}")
            for note in result.get("notes", ()):
                out.print(f"[dim]note: {note}[/]")
            out.print(f"report: {result['report']}")

        emit(as_json, result, human)
