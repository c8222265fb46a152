"""``occam probe ntk | information | regions``: kernels, information and expressivity probes.

Each stores its result as a run and writes a report page with the numbers and a picture.
Heavy modules are imported inside the commands.
"""

from typing import Any

import typer

from occamlab.cli_options import CliKit, spec_options
from occamlab.cli_probe import stored_probe
from occamlab.cli_subject import SubjectChoice, subject_options
from occamlab.probes.information.probe import InformationSpec
from occamlab.probes.kernels.probe import NTKSpec
from occamlab.probes.regions.probe import RegionsSpec
from occamlab.report import figure, key_values, table
from occamlab.store import Store


def _figure_of(report: Any, alt: str) -> str:
    import matplotlib

    matplotlib.use("Agg")
    axes = report.plot()
    first = axes[0] if hasattr(axes, "__len__") else axes
    return figure(first.figure, alt=alt)


def register(probe_app: typer.Typer, kit: CliKit) -> None:
    """Add ``ntk``, ``information`` and ``regions`` to the ``occam probe`` group."""
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

        pictures: dict[str, str] = {}

        def compute(subject) -> dict[str, Any]:
            report = ntk_probe(subject, spec=options)
            pictures["kernel"] = _figure_of(report, "empirical NTK and its spectrum")
            return report.to_dict()

        def sections(result: dict[str, Any]) -> list[tuple[str, str]]:
            summary = {
                "method (cost model)": result["plan"]["method"],
                "estimated seconds per method": result["plan"]["estimated_seconds"],
                "inputs": result["num_inputs"],
                "λ_max": result["lambda_max"],
                "condition number": result["condition_number"],
                "effective rank (trace/λ_max)": result["effective_rank"],
                "label alignment (centered)": result["label_alignment"],
                "evaluated in eval mode": True,
                "seconds": result["seconds"],
            }
            parts = [("Summary", key_values(summary))]
            if result["regression"]:
                parts.append(("Kernel regression vs the network", key_values(result["regression"])))
            if "kernel" in pictures:
                parts.append(("Kernel", pictures["kernel"]))
            return parts

        result = stored_probe(
            "ntk",
            choice,
            options,
            Store(store),
            progress=not as_json,
            compute=compute,
            sections=sections,
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

        pictures: dict[str, str] = {}

        def compute(subject) -> dict[str, Any]:
            report = information_probe(subject, spec=options)
            pictures["plane"] = _figure_of(report, "information plane")
            return report.to_dict()

        def sections(result: dict[str, Any]) -> list[tuple[str, str]]:
            parts = [("Layers now (bits)", table(result["layers"]))]
            if "plane" in pictures:
                parts.append(("Information plane", pictures["plane"]))
            return parts

        result = stored_probe(
            "information",
            choice,
            options,
            Store(store),
            progress=not as_json,
            compute=compute,
            sections=sections,
        )

        def human() -> None:
            for layer in result["layers"]:
                out.print(
                    f"{layer['layer']}: I(X;T) {layer['i_xt']:.3f} bits, I(T;Y) "
                    f"{layer['i_ty']:.3f} bits, nHSIC(X,T) {layer['nhsic_xt']:.3f}"
                )
            out.print(f"report: {result['report']}")

        emit(as_json, result, human)

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

        pictures: dict[str, str] = {}

        def compute(subject) -> dict[str, Any]:
            report = regions_probe(subject, spec=options)
            pictures["regions"] = _figure_of(report, "linear regions")
            return report.to_dict()

        def sections(result: dict[str, Any]) -> list[tuple[str, str]]:
            rows = [
                {
                    k: line[k]
                    for k in (
                        "regions",
                        "pieces",
                        "length",
                        "regions_per_unit_length",
                        "bound",
                        "queries",
                    )
                }
                for line in result["lines"]
            ]
            parts = [("Segments (exact)", table(rows))]
            if result["plane"]:
                plane = result["plane"]
                parts.append(
                    (
                        "Plane",
                        key_values(
                            {
                                k: plane[k]
                                for k in (
                                    "regions",
                                    "refined",
                                    "grid",
                                    "area",
                                    "regions_per_unit_area",
                                    "bound",
                                )
                            }
                        ),
                    )
                )
            if "regions" in pictures:
                parts.append(("Picture", pictures["regions"]))
            return parts

        result = stored_probe(
            "regions",
            choice,
            options,
            Store(store),
            progress=not as_json,
            compute=compute,
            sections=sections,
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
