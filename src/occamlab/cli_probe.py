"""``occam probe NAME``: one probe on one subject, stored as a run with its own report page."""

from typing import Any

import typer

from occamlab.cli_options import CliKit, spec_options
from occamlab.cli_subject import (
    ResolvedSubject,
    SubjectChoice,
    resolve_subject,
    subject_options,
)
from occamlab.probes.curvature import HessianReport, HessianSpec, hessian_spectrum
from occamlab.probes.sharpness_summary import SharpnessSpec, sharpness_summary
from occamlab.report import (
    figure,
    figure_sections,
    key_values,
    register_renderer,
    save_run_figures,
    table,
    write_run_page,
)
from occamlab.specs import spec_to_dict
from occamlab.store import Store


def stored_probe(
    kind: str, choice: SubjectChoice, spec: Any, store: Store, *, progress: bool, compute, sections
) -> dict[str, Any]:
    """Resolve the subject, run (or reuse) the probe as a stored run, write its page."""
    resolved = resolve_subject(choice, store, progress=progress)
    return stored_run(
        kind, resolved, spec, store, compute=lambda r: compute(r.subject), sections=sections
    )


def stored_run(
    kind: str, resolved: ResolvedSubject, spec: Any, store: Store, *, compute, sections
) -> dict[str, Any]:
    """Run (or reuse) ``compute(resolved)`` as a stored probe run and write its page.

    ``compute`` returns the run's metrics; matplotlib figures under its ``figures`` key
    (``{title: figure}``) are stored as PNG artifacts, and ``figures`` then maps each title to
    its file (relative to the store).
    """
    subject = resolved.subject
    run_spec = {
        "source": resolved.source,
        "subject": subject.describe(),
        "options": spec_to_dict(spec),
    }
    with store.run(f"probe/{kind}", run_spec, name=f"{kind} · {subject.name}") as run:
        if not run.reused:
            metrics = dict(compute(resolved))
            figures = metrics.pop("figures", None)
            if figures:
                metrics["figures"] = save_run_figures(store, run, figures)
            run.metrics.update(metrics)
    page = probe_renderer(kind, sections)(store, run.record)
    return {"id": run.id, "reused": run.reused, "report": str(page), **run.metrics}


def probe_renderer(kind: str, sections) -> Any:
    """Register (and return) the page writer of ``probe/KIND`` runs: ``sections(metrics)``
    gives the page's sections, followed by the run's stored figures, so ``occam report`` can
    rewrite it from the store."""

    def render(store: Store, record: Any) -> Any:
        name = record.spec.get("subject", {}).get("name", record.name)
        parts = sections(record.metrics) + figure_sections(store, record.metrics.get("figures", {}))
        return write_run_page(store, record, parts, title=f"{kind}: {name}")

    return register_renderer(f"probe/{kind}")(render)


def hessian_sections(result: dict[str, Any]) -> list[tuple[str, str]]:
    rows = [
        {"i": i + 1, "eigenvalue": v, "relative residual": r}
        for i, (v, r) in enumerate(
            zip(result["eigenvalues"], result["relative_residuals"], strict=True)
        )
    ]
    summary = {
        "λ_max": result["lambda_max"],
        "2/λ_max (largest stable GD step)": result["max_stable_lr"],
        "trace": result["trace"],
        "trace standard error": result["trace_standard_error"],
        "trace method": result["trace_method"],
        "converged": result["converged"],
        "matrix-vector products (eigen / trace)": f"{result['eigen_matvecs']} / "
        f"{result['trace_matvecs']}",
        "evaluated in eval mode": result["operator"]["eval_mode"],
        "examples": result["operator"]["num_examples"],
    }
    sections = [("Summary", key_values(summary)), ("Eigenvalues", table(rows))]
    if result.get("density"):
        sections.append(("Spectral density", _density_figure(result)))
    if result.get("layers"):
        sections.append(("Per layer", table(result["layers"])))
    return sections


def _density_figure(result: dict[str, Any]) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    fig, ax = plt.subplots(figsize=(7, 3.4))
    nodes = np.asarray(result["density"]["nodes"], dtype=float)
    weights = np.asarray(result["density"]["weights"], dtype=float)
    span = max(nodes.max() - nodes.min(), 1e-12)
    grid = np.linspace(nodes.min() - 0.05 * span, nodes.max() + 0.05 * span, 600)
    sigma = span / 200
    dens = (weights[None, :] * np.exp(-0.5 * ((grid[:, None] - nodes[None, :]) / sigma) ** 2)).sum(
        1
    )
    dens /= sigma * np.sqrt(2 * np.pi)
    ax.semilogy(grid, np.maximum(dens, 1e-12))
    for value in result["eigenvalues"]:
        ax.axvline(value, color="tab:red", alpha=0.4, lw=1)
    ax.set(
        xlabel="eigenvalue",
        ylabel="density (log)",
        ylim=(1e-6, None),
        title="SLQ spectral density (red: computed top eigenvalues)",
    )
    return figure(fig, alt="spectral density")


def sharpness_sections(result: dict[str, Any]) -> list[tuple[str, str]]:
    rows = [
        {"measure": "λ_max", "value": result["lambda_max"], "note": "top Hessian eigenvalue"},
        {"measure": "2/λ_max", "value": result["max_stable_lr"], "note": "largest stable GD step"},
        {
            "measure": "trace",
            "value": result["hessian_trace"],
            "note": result["hessian_trace_method"],
        },
    ]
    for key in (
        "keskar",
        "keskar_half_epsilon",
        "keskar_subspace",
        "adaptive",
        "filter_normalized",
    ):
        if key in result:
            r = result[key]
            rows.append({"measure": key, "value": r["sharpness"], "note": r.get("optimizer", "")})
    pb = result["pacbayes"]
    rows.append({"measure": "PAC-Bayes σ", "value": pb["sigma"], "note": "Jiang et al. 2019"})
    return [("Sharpness", table(rows, ["measure", "value", "note"]))]


def register(app: typer.Typer, kit: CliKit) -> typer.Typer:
    """Add the ``probe`` command group to ``app`` and return it (probe families add to it)."""
    command, emit, out = kit.command, kit.emit, kit.out
    store_opt, json_opt, default_store = kit.store_opt, kit.json_opt, kit.default_store
    probe_renderer("hessian", hessian_sections)
    probe_renderer("sharpness", sharpness_sections)
    probe_app = typer.Typer(help="Run one probe on a subject.", no_args_is_help=True)
    app.add_typer(probe_app, name="probe")

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

    return probe_app
