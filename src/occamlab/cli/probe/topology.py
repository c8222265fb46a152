"""``occam probe topology``: the Betti numbers of a network's decision region on a grid over its
input space (or a 2-D slice through its data). The picture is stored as a PNG artifact."""

from typing import Any

import typer

from occamlab.cli.options import CliKit, spec_options
from occamlab.cli.probe.stored import stored_probe, with_figure
from occamlab.cli.subject import SubjectChoice, subject_options
from occamlab.probes.topology.page import topology_sections
from occamlab.probes.topology.probe import TopologySpec
from occamlab.store import Store


def register(probe_app: typer.Typer, kit: CliKit) -> None:
    """Add ``occam probe topology``."""
    command, emit, out = kit.command, kit.emit, kit.out
    store_opt, json_opt, default_store = kit.store_opt, kit.json_opt, kit.default_store

    @command(on=probe_app, name="topology")
    @spec_options(TopologySpec, param="options")
    @subject_options()
    def topology(
        options: TopologySpec,
        choice: SubjectChoice,
        store: store_opt = default_store,
        as_json: json_opt = False,
    ) -> None:
        """Betti numbers of the decision region on a 2-D/3-D grid (cubical homology)."""
        from occamlab.probes.topology.probe import topology_probe

        def compute(subject) -> dict[str, Any]:
            return with_figure(topology_probe(subject, spec=options), "Region")

        result = stored_probe(
            "topology",
            choice,
            options,
            Store(store),
            progress=not as_json,
            compute=compute,
            sections=topology_sections,
        )

        def human() -> None:
            names = (("component", "components"), ("hole", "holes"), ("cavity", "cavities"))
            counts = ", ".join(
                f"{b} {n[b != 1]}" for b, n in zip(result["betti"], names, strict=False)
            )
            out.print(
                f"{result['output']}: Betti numbers {result['betti']} ({counts}; sum "
                f"{result['betti_sum']}) on a {result['grid']}-point grid per side"
            )
            out.print(f"report: {result['report']}")

        emit(as_json, result, human)
