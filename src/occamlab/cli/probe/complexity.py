"""``occam probe complexity``: the functional complexity of a subject's output (Molnar et al.
2019): features used, interaction strength, main-effect complexity, ALE curves of the strongest
features and Friedman's H² between them. The pictures are stored as PNG artifacts."""

from typing import Any

import typer

from occamlab.cli.options import CliKit, spec_options
from occamlab.cli.probe.stored import stored_probe
from occamlab.cli.subject import SubjectChoice, subject_options
from occamlab.probes.complexity.decomposition import ComplexitySpec
from occamlab.probes.complexity.page import complexity_sections
from occamlab.store import Store


def register(probe_app: typer.Typer, kit: CliKit) -> None:
    """Add ``occam probe complexity``."""
    command, emit, out = kit.command, kit.emit, kit.out
    store_opt, json_opt, default_store = kit.store_opt, kit.json_opt, kit.default_store

    @command(on=probe_app, name="complexity")
    @spec_options(ComplexitySpec, param="options")
    @subject_options()
    def complexity(
        options: ComplexitySpec,
        choice: SubjectChoice,
        store: store_opt = default_store,
        as_json: json_opt = False,
    ) -> None:
        """Functional complexity: NF, interaction strength, main-effect complexity (Molnar et al.
        2019), ALE curves and Friedman's H²."""
        import matplotlib

        from occamlab.probes.complexity.decomposition import functional_complexity

        def compute(subject) -> dict[str, Any]:
            matplotlib.use("Agg")
            result = functional_complexity(subject, spec=options)
            figures = {"ALE main effects": result.plot().figure}
            if result.h_features:
                figures["Friedman's H statistic"] = result.plot_h().figure
                figures["Second-order ALE of the strongest pair"] = result.plot_surface().figure
            return {**result.to_dict(), "figures": figures}

        result = stored_probe(
            "complexity",
            choice,
            options,
            Store(store),
            progress=not as_json,
            compute=compute,
            sections=complexity_sections,
        )

        def human() -> None:
            out.print(
                f"{result['output']} of output(s) {result['outputs']} on {result['n']} "
                f"{result['split']} examples: NF = {result['features_used']} of "
                f"{result['num_features']}, IAS = {result['interaction_strength']:.4f}, "
                f"MEC = {result['main_effect_complexity']:.3f}"
            )
            out.print(f"report: {result['report']}")

        emit(as_json, result, human)
