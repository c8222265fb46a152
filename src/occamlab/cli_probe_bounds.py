"""``occam probe bounds`` and ``occam probe measures``: error bounds and generalization measures."""

from typing import Any

import typer

from occamlab.cli_options import CliKit, spec_options
from occamlab.cli_probe import probe_renderer, stored_run
from occamlab.cli_subject import ResolvedSubject, SubjectChoice, resolve_subject, subject_options
from occamlab.probes.bounds.summary import BoundsSpec
from occamlab.probes.measures.summary import MeasuresSpec
from occamlab.recipes import initial_params
from occamlab.report import esc, figure, key_values, table
from occamlab.store import Store


def _bounds_figure(result: dict[str, Any]) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = result["rows"]
    fig, ax = plt.subplots(figsize=(7.5, 0.55 * len(rows) + 1.4))
    names = [r["bound"] for r in rows]
    values = [min(r["value"], 1.0) if r["value"] is not None else 1.0 for r in rows]
    colors = ["tab:blue" if r["kind"] == "certificate" else "tab:gray" for r in rows]
    ax.barh(names, values, color=colors)
    for i, r in enumerate(rows):
        v = r["value"]
        label = "> 1 (vacuous)" if v is None or v > 1 else f"{v:.3f}"
        ax.text(min(values[i], 1.0) + 0.01, i, label, va="center", fontsize=8)
    ax.axvline(result["test_error"], color="black", ls="--", label="network test error")
    ax.axvline(result["guessing_error"], color="tab:red", ls=":", label="guessing")
    ax.set(xlim=(0, 1.22), xlabel="error", title="Bounds next to the test error")
    ax.invert_yaxis()
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.18), ncol=2, fontsize=8)
    return figure(fig, alt="bounds next to the test error")


def bounds_sections(result: dict[str, Any]) -> list[tuple[str, str]]:
    columns = [
        "bound",
        "value",
        "kind",
        "certifies",
        "its_test_error",
        "network_test_error",
        "ratio_to_test_error",
        "non_vacuous",
        "seconds",
    ]
    sections = [
        ("Bounds next to the test error", table(result["rows"], columns)),
        ("Picture", _bounds_figure(result)),
    ]
    pb = result.get("pacbayes")
    if pb:
        keep = {k: v for k, v in pb.items() if k not in ("optimization", "prior_stds")}
        sections.append(("PAC-Bayes certificate", key_values(keep)))
        sections.append(
            (
                "PAC-Bayes prior scales",
                table([{"tensor": k, "prior std": v} for k, v in pb["prior_stds"].items()]),
            )
        )
    comp = result.get("compression")
    if comp:
        keep = {k: v for k, v in comp.items() if k not in ("settings", "bits_parts")}
        sections.append(("Compression bound", key_values(keep)))
        sections.append(("Description length (bits)", key_values(comp["bits_parts"])))
        sections.append(("Compression settings searched", table(comp["settings"])))
    if result.get("norms"):
        sections.append(("Norm bounds (shapes, usually vacuous)", key_values(result["norms"])))
    sections.append(("Test-set bound", key_values(result["testset"])))
    if result.get("skipped"):
        sections.append(("Not computed", key_values(result["skipped"])))
    return sections


def _measures_sections(result: dict[str, Any]) -> list[tuple[str, str]]:
    catalog = result["catalog"]
    rows = [
        {
            "measure": name,
            "family": catalog[name]["family"],
            "value": value,
            "definition": catalog[name]["definition"],
        }
        for name, value in result["values"].items()
    ]
    summary = {
        "train error": result["train_error"],
        "test error": result["test_error"],
        "generalization gap": result["generalization_gap"],
        "evaluated in eval mode": result["eval_mode"],
    }
    sections = [
        ("Generalization", key_values(summary)),
        ("Measures (Jiang et al. 2019)", table(rows)),
        ("Ingredients", key_values(result["ingredients"])),
        ("Seconds per family", key_values(result["seconds"])),
    ]
    if result.get("notes"):
        sections.append(("Not measured", "".join(f"<p>{esc(n)}</p>" for n in result["notes"])))
    return sections


def register(probe_app: typer.Typer, kit: CliKit) -> None:
    """Add ``occam probe bounds`` and ``occam probe measures``."""
    command, emit, out = kit.command, kit.emit, kit.out
    store_opt, json_opt, default_store = kit.store_opt, kit.json_opt, kit.default_store
    probe_renderer("bounds", bounds_sections)  # also used by `occam report`
    probe_renderer("measures", _measures_sections)

    @command(on=probe_app, name="bounds")
    @spec_options(BoundsSpec, param="options")
    @subject_options()
    def bounds(
        options: BoundsSpec,
        choice: SubjectChoice,
        store: store_opt = default_store,
        as_json: json_opt = False,
    ) -> None:
        """Test-set, PAC-Bayes, compression and norm bounds, each next to the test error."""
        from occamlab.probes.bounds.summary import error_bounds

        runs = Store(store)
        resolved = resolve_subject(choice, runs, progress=not as_json)

        def compute(r: ResolvedSubject) -> dict[str, Any]:
            return error_bounds(r.subject, init=initial_params(r.subject), spec=options).to_dict()

        result = stored_run(
            "bounds", resolved, options, runs, compute=compute, sections=bounds_sections
        )

        def human() -> None:
            out.print(f"test error {result['test_error']:.4f}")
            for row in result["rows"]:
                value = row["value"]
                shown = "> 1 (vacuous)" if value is None or value > 1 else f"{value:.4f}"
                out.print(f"{row['bound']}: {shown}  ({row['certifies']})")
            out.print(f"report: {result['report']}")

        emit(as_json, result, human)

    @command(on=probe_app, name="measures")
    @spec_options(MeasuresSpec, param="options")
    @subject_options()
    def measures(
        options: MeasuresSpec,
        choice: SubjectChoice,
        store: store_opt = default_store,
        as_json: json_opt = False,
    ) -> None:
        """Jiang et al.'s generalization measures (norms, margins, sharpness, optimization)."""
        from occamlab.probes.measures.summary import generalization_measures

        runs = Store(store)
        resolved = resolve_subject(choice, runs, progress=not as_json)

        def compute(r: ResolvedSubject) -> dict[str, Any]:
            init = initial_params(r.subject)
            initial_loss = None if init is None else r.subject.evaluate(init).loss
            report = generalization_measures(
                r.subject, init=init, history=r.history, initial_loss=initial_loss, spec=options
            )
            return report.to_dict()

        result = stored_run(
            "measures", resolved, options, runs, compute=compute, sections=_measures_sections
        )

        def human() -> None:
            out.print(
                f"train error {result['train_error']:.4f} · test error "
                f"{result['test_error']:.4f} · gap {result['generalization_gap']:.4f}"
            )
            for name, value in result["values"].items():
                out.print(f"{name}: {'—' if value is None else f'{value:.5g}'}")
            for note in result.get("notes", ()):
                out.print(f"[dim]note: {note}[/]")
            out.print(f"report: {result['report']}")

        emit(as_json, result, human)
