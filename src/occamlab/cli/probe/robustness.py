"""``occam probe robustness``: a classification subject's accuracy under the PGD attack against
the attack radius ε (ℓ∞ or ℓ2). The curve is stored as a PNG artifact."""

from typing import Any

import typer

from occamlab.cli.options import CliKit, spec_options
from occamlab.cli.probe.stored import stored_probe, with_figure
from occamlab.cli.subject import SubjectChoice, subject_options
from occamlab.probes.robustness.curve import RobustnessSpec
from occamlab.probes.robustness.page import robustness_sections
from occamlab.store import Store


def register(probe_app: typer.Typer, kit: CliKit) -> None:
    """Add ``occam probe robustness``."""
    command, emit, out = kit.command, kit.emit, kit.out
    store_opt, json_opt, default_store = kit.store_opt, kit.json_opt, kit.default_store

    @command(on=probe_app, name="robustness")
    @spec_options(RobustnessSpec, param="options")
    @subject_options()
    def robustness(
        options: RobustnessSpec,
        choice: SubjectChoice,
        store: store_opt = default_store,
        as_json: json_opt = False,
    ) -> None:
        """Accuracy under PGD (Madry et al. 2018) against the attack radius ε."""
        from occamlab.probes.robustness.curve import robustness_curve

        def compute(subject) -> dict[str, Any]:
            return with_figure(robustness_curve(subject, spec=options), "Accuracy vs epsilon")

        result = stored_probe(
            "robustness",
            choice,
            options,
            Store(store),
            progress=not as_json,
            compute=compute,
            sections=robustness_sections,
        )

        def human() -> None:
            norm = "ℓ∞" if result["norm"] == "linf" else "ℓ2"
            points = ", ".join(
                f"ε={e:.3g}: {a:.3f}"
                for e, a in zip(result["eps"], result["accuracy"], strict=True)
            )
            out.print(
                f"accuracy under {result['steps']}-step {norm} PGD on {result['n']} "
                f"{result['split']} examples: {points}"
            )
            out.print(f"report: {result['report']}")

        emit(as_json, result, human)
