"""``occam probe hessian``: the curvature of the loss at the trained weights."""

from typing import Any

import typer

from occamlab.cli.options import CliKit, spec_options
from occamlab.cli.probe.stored import stored_probe
from occamlab.cli.subject import SubjectChoice, subject_options
from occamlab.probes.curvature import HessianReport, HessianSpec, hessian_spectrum
from occamlab.probes.curvature.page import hessian_sections
from occamlab.store import Store


def register(probe_app: typer.Typer, kit: CliKit) -> None:
    """Add ``occam probe hessian``."""
    command, emit, out = kit.command, kit.emit, kit.out
    store_opt, json_opt, default_store = kit.store_opt, kit.json_opt, kit.default_store

    @command(on=probe_app, name="hessian")
    @spec_options(HessianSpec, param="options")
    @subject_options()
    def hessian(
        options: HessianSpec,
        choice: SubjectChoice,
        store: store_opt = default_store,
        as_json: json_opt = False,
    ) -> None:
        """Hessian (or GGN/Fisher) top eigenvalues, trace, density and per-layer curvature."""

        def compute(subject) -> dict[str, Any]:
            report: HessianReport = hessian_spectrum(subject, spec=options)
            return report.to_dict()

        result = stored_probe(
            "hessian",
            choice,
            options,
            Store(store),
            progress=not as_json,
            compute=compute,
            sections=hessian_sections,
        )

        def human() -> None:
            out.print(f"top eigenvalues: {', '.join(f'{v:.5g}' for v in result['eigenvalues'])}")
            out.print(f"λ_max {result['lambda_max']:.5g} · 2/λ_max {result['max_stable_lr']}")
            if result["trace"] is not None:
                out.print(f"trace {result['trace']:.5g} ({result['trace_method']})")
            out.print(f"report: {result['report']}")

        emit(as_json, result, human)
