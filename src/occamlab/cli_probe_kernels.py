"""``occam probe ntk | information | regions``: kernels, information and expressivity probes.

Each stores its result as a run, its picture as a PNG artifact of the run, and writes a report
page with the numbers and the picture (``occam report`` rewrites it from the store).
Heavy modules are imported inside the commands.
"""

from typing import Any

import typer

from occamlab.cli_options import CliKit, spec_options
from occamlab.cli_probe import probe_renderer, stored_probe
from occamlab.cli_subject import SubjectChoice, subject_options
from occamlab.probes.information.probe import InformationSpec
from occamlab.probes.kernels.probe import NTKSpec
from occamlab.probes.regions.probe import RegionsSpec
from occamlab.report import key_values, table
from occamlab.store import Store


def _with_figure(report: Any, title: str) -> dict[str, Any]:
    """The report's numbers, with its picture under ``figures`` (stored as a run artifact)."""
    import matplotlib

    matplotlib.use("Agg")
    axes = report.plot()
    first = axes[0] if hasattr(axes, "__len__") else axes
    return {**report.to_dict(), "figures": {title: first.figure}}


def ntk_sections(result: dict[str, Any]) -> list[tuple[str, str]]:
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
    return parts


def information_sections(result: dict[str, Any]) -> list[tuple[str, str]]:
    return [("Layers now (bits)", table(result["layers"]))]


_SEGMENT_COLUMNS = ("regions", "pieces", "length", "regions_per_unit_length", "bound", "queries")
_PLANE_KEYS = ("regions", "refined", "grid", "area", "regions_per_unit_area", "bound")


def regions_sections(result: dict[str, Any]) -> list[tuple[str, str]]:
    parts = [("Segments (exact)", table(result["lines"], list(_SEGMENT_COLUMNS)))]
    if result["plane"]:
        parts.append(("Plane", key_values({k: result["plane"][k] for k in _PLANE_KEYS})))
    return parts


def register(probe_app: typer.Typer, kit: CliKit) -> None:
    """Add ``ntk``, ``information`` and ``regions`` to the ``occam probe`` group."""
    command, emit, out = kit.command, kit.emit, kit.out
    store_opt, json_opt, default_store = kit.store_opt, kit.json_opt, kit.default_store
    probe_renderer("ntk", ntk_sections)  # also used by `occam report`
    probe_renderer("information", information_sections)
    probe_renderer("regions", regions_sections)

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
            return _with_figure(ntk_probe(subject, spec=options), "Kernel")

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
            return _with_figure(information_probe(subject, spec=options), "Information plane")

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
            return _with_figure(regions_probe(subject, spec=options), "Picture")

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
