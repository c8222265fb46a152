"""``occam probe sharpness``: how much the loss rises around the trained weights."""

import typer

from occamlab.cli.options import CliKit, spec_options
from occamlab.cli.probe.stored import stored_probe
from occamlab.cli.subject import SubjectChoice, subject_options
from occamlab.probes.sharpness.page import sharpness_sections
from occamlab.probes.sharpness.summary import SharpnessSpec, sharpness_summary
from occamlab.store import Store


def register(probe_app: typer.Typer, kit: CliKit) -> None:
    """Add ``occam probe sharpness``."""
    command, emit, out = kit.command, kit.emit, kit.out
    store_opt, json_opt, default_store = kit.store_opt, kit.json_opt, kit.default_store

    @command(on=probe_app, name="sharpness")
    @spec_options(SharpnessSpec, param="options")
    @subject_options()
    def sharpness(
        options: SharpnessSpec,
        choice: SubjectChoice,
        store: store_opt = default_store,
        as_json: json_opt = False,
    ) -> None:
        """λ_max, Keskar φ_ε, adaptive and filter-normalized sharpness, PAC-Bayes σ."""
        result = stored_probe(
            "sharpness",
            choice,
            options,
            Store(store),
            progress=not as_json,
            compute=lambda subject: sharpness_summary(subject, spec=options),
            sections=sharpness_sections,
        )

        def human() -> None:
            out.print(
                f"λ_max {result['lambda_max']:.5g} · Keskar φ(ε={options.epsilon}) "
                f"{result['keskar']['sharpness']:.4g} · PAC-Bayes σ "
                f"{result['pacbayes']['sigma']:.4g}"
            )
            out.print(f"report: {result['report']}")

        emit(as_json, result, human)
