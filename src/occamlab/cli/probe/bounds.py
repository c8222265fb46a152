"""``occam probe bounds``: test-set, PAC-Bayes, compression and norm bounds, each next to the
test error."""

from typing import Any

import typer

from occamlab.cli.options import CliKit, spec_options
from occamlab.cli.probe.stored import stored_run
from occamlab.cli.subject import ResolvedSubject, SubjectChoice, resolve_subject, subject_options
from occamlab.probes.bounds.page import bounds_sections
from occamlab.probes.bounds.summary import BoundsSpec
from occamlab.recipes import initial_params
from occamlab.store import Store


def register(probe_app: typer.Typer, kit: CliKit) -> None:
    """Add ``occam probe bounds``."""
    command, emit, out = kit.command, kit.emit, kit.out
    store_opt, json_opt, default_store = kit.store_opt, kit.json_opt, kit.default_store

    @command(on=probe_app, name="bounds")
    @spec_options(BoundsSpec, param="options")
    @subject_options()
    def bounds(
        options: BoundsSpec,
        choice: SubjectChoice,
        store: store_opt = default_store,
        as_json: json_opt = False,
    ) -> None:
        """Test-set, PAC-Bayes, compression and norm bounds, each next to the test error."""
        from occamlab.probes.bounds.summary import error_bounds

        runs = Store(store)
        resolved = resolve_subject(choice, runs, progress=not as_json)

        def compute(r: ResolvedSubject) -> dict[str, Any]:
            return error_bounds(r.subject, init=initial_params(r.subject), spec=options).to_dict()

        result = stored_run(
            "bounds", resolved, options, runs, compute=compute, sections=bounds_sections
        )

        def human() -> None:
            out.print(f"test error {result['test_error']:.4f}")
            for row in result["rows"]:
                value = row["value"]
                shown = "> 1 (vacuous)" if value is None or value > 1 else f"{value:.4f}"
                out.print(f"{row['bound']}: {shown}  ({row['certifies']})")
            out.print(f"report: {result['report']}")

        emit(as_json, result, human)
