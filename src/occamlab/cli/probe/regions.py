"""``occam probe regions``: the linear regions of a ReLU network along segments and on a plane.
The picture is stored as a PNG artifact of the run."""

from typing import Any

import typer

from occamlab.cli.options import CliKit, spec_options
from occamlab.cli.probe.stored import stored_probe, with_figure
from occamlab.cli.subject import SubjectChoice, subject_options
from occamlab.probes.regions.page import regions_sections
from occamlab.probes.regions.probe import RegionsSpec
from occamlab.store import Store


def register(probe_app: typer.Typer, kit: CliKit) -> None:
    """Add ``occam probe regions``."""
    command, emit, out = kit.command, kit.emit, kit.out
    store_opt, json_opt, default_store = kit.store_opt, kit.json_opt, kit.default_store

    @command(on=probe_app, name="regions")
    @spec_options(RegionsSpec, param="options")
    @subject_options()
    def regions(
        options: RegionsSpec,
        choice: SubjectChoice,
        store: store_opt = default_store,
        as_json: json_opt = False,
    ) -> None:
        """Linear regions of a ReLU net: exact along segments, counted on a plane."""
        from occamlab.probes.regions.probe import regions_probe

        def compute(subject) -> dict[str, Any]:
            return with_figure(regions_probe(subject, spec=options), "Picture")

        result = stored_probe(
            "regions",
            choice,
            options,
            Store(store),
            progress=not as_json,
            compute=compute,
            sections=regions_sections,
        )

        def human() -> None:
            out.print(
                f"{result['mean_regions_per_segment']:.1f} regions per segment on average "
                f"(bound {result['line_bound']:.3g}; {result['neurons']} ReLUs)"
            )
            if result["plane"]:
                p = result["plane"]
                out.print(f"plane: {p['regions']} regions ({p['refined']} on a 2x finer grid)")
            out.print(f"report: {result['report']}")

        emit(as_json, result, human)
