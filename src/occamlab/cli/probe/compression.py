"""``occam probe simplify``: can the subject be simpler? The compression frontier, stored as a run
with its report page."""

from typing import Any

import typer

from occamlab.cli.options import CliKit, spec_options
from occamlab.cli.probe.stored import stored_run
from occamlab.cli.subject import ResolvedSubject, SubjectChoice, resolve_subject, subject_options
from occamlab.probes.compression.page import simplify_sections
from occamlab.probes.compression.simplify import SimplifySpec
from occamlab.store import Store


def register(probe_app: typer.Typer, kit: CliKit) -> None:
    """Add ``occam probe simplify``."""
    command, emit, out = kit.command, kit.emit, kit.out
    store_opt, json_opt, default_store = kit.store_opt, kit.json_opt, kit.default_store

    @command(on=probe_app, name="simplify")
    @spec_options(SimplifySpec, param="options")
    @subject_options()
    def simplify_command(
        options: SimplifySpec,
        choice: SubjectChoice,
        store: store_opt = default_store,
        as_json: json_opt = False,
    ) -> None:
        """Can the model be simpler? Pruning, low rank and narrower retraining on one frontier,
        and the smallest model within a tolerance of the original's test accuracy."""
        from occamlab.probes.compression import initial_params, simplify

        err = kit.err

        runs = Store(store)
        resolved = resolve_subject(choice, runs, progress=not as_json)

        def compute(r: ResolvedSubject) -> dict[str, Any]:
            # The recipe is the subject's own (a store training run's, --recipe, or the
            # factory's); without one, simplify fine-tunes nothing and says so.
            result = simplify(
                r.subject,
                spec=options,
                train=r.subject.recipe,
                init=initial_params(r.subject),
                log=None if as_json else (lambda line: err.print(f"[dim]{line}…[/]")),
            )
            return result.to_dict()

        result = stored_run(
            "simplify", resolved, options, runs, compute=compute, sections=simplify_sections
        )

        def human() -> None:
            out.print(result["answer"])
            out.print(f"Is the over-parameterization essential? {result['essential']}")
            for note in result["notes"]:
                out.print(f"[dim]note: {note}[/]")
            out.print(f"report: {result['report']}")

        emit(as_json, result, human)
