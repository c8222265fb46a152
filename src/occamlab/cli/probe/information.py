"""``occam probe information``: the information plane of each layer (and, with ``--epochs``, its
trajectory). The picture is stored as a PNG artifact of the run."""

from typing import Any

import typer

from occamlab.cli.options import CliKit, spec_options
from occamlab.cli.probe.stored import stored_probe, with_figure
from occamlab.cli.subject import SubjectChoice, subject_options
from occamlab.probes.information.page import information_sections
from occamlab.probes.information.probe import InformationSpec
from occamlab.store import Store


def register(probe_app: typer.Typer, kit: CliKit) -> None:
    """Add ``occam probe information``."""
    command, emit, out = kit.command, kit.emit, kit.out
    store_opt, json_opt, default_store = kit.store_opt, kit.json_opt, kit.default_store

    @command(on=probe_app, name="information")
    @spec_options(InformationSpec, param="options")
    @subject_options()
    def information(
        options: InformationSpec,
        choice: SubjectChoice,
        store: store_opt = default_store,
        as_json: json_opt = False,
    ) -> None:
        """Information plane per layer: I(X;T), I(T;Y), nHSIC; with --epochs, a trajectory."""
        from occamlab.probes.information.probe import information_probe

        def compute(subject) -> dict[str, Any]:
            return with_figure(information_probe(subject, spec=options), "Information plane")

        result = stored_probe(
            "information",
            choice,
            options,
            Store(store),
            progress=not as_json,
            compute=compute,
            sections=information_sections,
        )

        def human() -> None:
            for layer in result["layers"]:
                out.print(
                    f"{layer['layer']}: I(X;T) {layer['i_xt']:.3f} bits, I(T;Y) "
                    f"{layer['i_ty']:.3f} bits, nHSIC(X,T) {layer['nhsic_xt']:.3f}"
                )
            out.print(f"report: {result['report']}")

        emit(as_json, result, human)
