"""``occam probe baselines``: simpler model families (linear, nearest neighbours, kernel
machines, random features, boosted trees) fitted on the subject's own data, against the network."""

from typing import Any

import typer

from occamlab.cli.options import CliKit, spec_options
from occamlab.cli.probe.stored import stored_probe
from occamlab.cli.subject import SubjectChoice, subject_options
from occamlab.probes.baselines.page import baselines_sections
from occamlab.probes.baselines.probe import BaselinesSpec
from occamlab.store import Store


def register(probe_app: typer.Typer, kit: CliKit) -> None:
    """Add ``occam probe baselines``."""
    command, emit, out = kit.command, kit.emit, kit.out
    store_opt, json_opt, default_store = kit.store_opt, kit.json_opt, kit.default_store

    @command(on=probe_app, name="baselines")
    @spec_options(BaselinesSpec, param="options")
    @subject_options()
    def baselines(
        options: BaselinesSpec,
        choice: SubjectChoice,
        store: store_opt = default_store,
        as_json: json_opt = False,
    ) -> None:
        """Simpler model families on the subject's data against the network (paired test)."""
        from occamlab.probes.baselines.probe import baselines as fit_baselines

        def compute(subject) -> dict[str, Any]:
            log = None if as_json else (lambda line: kit.err.print(f"[dim]{line}…[/]"))
            return fit_baselines(subject, spec=options, log=log).to_dict()

        result = stored_probe(
            "baselines",
            choice,
            options,
            Store(store),
            progress=not as_json,
            compute=compute,
            sections=baselines_sections,
        )

        def human() -> None:
            net = result["network"]
            key = "test_accuracy" if net.get("test_accuracy") is not None else "test_loss"
            out.print(
                f"the network: {key.replace('_', ' ')} {net[key]:.4g}, "
                f"{net['num_parameters']:,} parameters"
            )
            for fit in result["fits"]:
                out.print(
                    f"  {fit['label']} ({fit['setting']}): {fit[key]:.4g}, "
                    f"{fit['num_parameters']:,} numbers, fit {fit['fit_seconds']:.2g} CPU s"
                )
            out.print(result["answer"])
            for note in result["notes"]:
                out.print(f"[dim]note: {note}[/]")
            out.print(f"report: {result['report']}")

        emit(as_json, result, human)
