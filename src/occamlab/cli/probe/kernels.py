"""``occam probe ntk``: the empirical neural tangent kernel of a subject, its spectrum, label
alignment and kernel regression. The picture is stored as a PNG artifact of the run."""

from typing import Any

import typer

from occamlab.cli.options import CliKit, spec_options
from occamlab.cli.probe.stored import stored_probe, with_figure
from occamlab.cli.subject import SubjectChoice, subject_options
from occamlab.probes.kernels.page import ntk_sections
from occamlab.probes.kernels.probe import NTKSpec
from occamlab.store import Store


def register(probe_app: typer.Typer, kit: CliKit) -> None:
    """Add ``occam probe ntk``."""
    command, emit, out = kit.command, kit.emit, kit.out
    store_opt, json_opt, default_store = kit.store_opt, kit.json_opt, kit.default_store

    @command(on=probe_app, name="ntk")
    @spec_options(NTKSpec, param="options")
    @subject_options()
    def ntk(
        options: NTKSpec,
        choice: SubjectChoice,
        store: store_opt = default_store,
        as_json: json_opt = False,
    ) -> None:
        """Empirical NTK: method chosen by cost, spectrum, label alignment, kernel regression."""
        from occamlab.probes.kernels.probe import ntk_probe

        def compute(subject) -> dict[str, Any]:
            return with_figure(ntk_probe(subject, spec=options), "Kernel")

        result = stored_probe(
            "ntk",
            choice,
            options,
            Store(store),
            progress=not as_json,
            compute=compute,
            sections=ntk_sections,
        )

        def human() -> None:
            out.print(
                f"NTK on {result['num_inputs']} inputs by {result['plan']['method']!r}: "
                f"λ_max {result['lambda_max']:.4g}, alignment {result['label_alignment']:.3f}"
            )
            reg = result["regression"]
            if reg and "ntk_accuracy" in reg:
                out.print(
                    f"kernel regression accuracy {reg['ntk_accuracy']:.3f} vs network "
                    f"{reg['network_accuracy']:.3f} on {reg['num_test']} test inputs"
                )
            out.print(f"report: {result['report']}")

        emit(as_json, result, human)
