"""``occam probe landscape``: a filter-normalized loss-landscape picture of a subject, stored as a
run whose page shows the contour plot, the 3-D surface and the numbers behind them."""

import json
from typing import Any

import typer

from occamlab.cli_options import CliKit, spec_options
from occamlab.cli_probe import probe_renderer
from occamlab.cli_subject import SubjectChoice, resolve_subject, subject_options
from occamlab.probes.landscape.surface import LandscapeSpec
from occamlab.report import figure, key_values, table
from occamlab.specs import spec_to_dict
from occamlab.store import Store


def landscape_sections(result: dict[str, Any]) -> list[tuple[str, str]]:
    """Report sections of a stored landscape result: summary, pictures, the grid's numbers."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from occamlab.probes.landscape.surface import Surface

    surface = Surface.from_dict(result)
    center = result["at_center"]
    summary = {
        "directions": result["directions"].get("kind"),
        "biases and BatchNorm parameters": result["directions"].get("vectors", "moved"),
        "grid": " × ".join(str(len(a)) for a in result["axes"]),
        "span": max(abs(x) for x in result["axes"][0]),
        "train loss at the trained point (exact)": center.get("train_loss"),
        "test loss at the trained point": center.get("test_loss"),
        "strict local minima of the train loss on the grid": result["local_minima"],
        "examples per split": result["num_examples"],
        "BatchNorm statistics re-estimated at each point": result["reestimate_bn"],
        "evaluated in eval mode": result["eval_mode"],
        "seconds": result["seconds"],
    }
    sections = [("Summary", key_values(summary))]
    metrics = [m for m in ("train_loss", "test_loss", "test_accuracy") if m in surface.values]
    if surface.ndim == 2:
        fig, axes = plt.subplots(1, len(metrics), figsize=(5.2 * len(metrics), 4.4))
        for ax, metric in zip(list(axes) if len(metrics) > 1 else [axes], metrics, strict=True):
            surface.plot(ax=ax, metric=metric)
        fig.tight_layout()
        sections.append(("Contours (red star: the trained point)", figure(fig, alt="contours")))
        fig = plt.figure(figsize=(6.4, 5.2))
        surface.plot(ax=fig.add_subplot(projection="3d"), kind="surface")
        sections.append(("3-D surface of the train loss", figure(fig, alt="3-D surface")))
    else:
        fig, ax = plt.subplots(figsize=(6.4, 3.6))
        surface.plot(ax=ax)
        sections.append(("Loss along the line", figure(fig, alt="line")))
    if result.get("init_line"):
        sections.append(_line_section(result["init_line"]))
    rows = _grid_rows(result)
    sections.append(
        (
            "The numbers behind the pictures",
            f"<p>Also saved as <code>surface.json</code> in the run's folder.</p>{table(rows)}",
        )
    )
    return sections


def _line_from_init(runs: Store, source: dict[str, Any], subject, options: LandscapeSpec):
    """The straight line from the initial weights to the trained ones (Goodfellow et al. 2015),
    when the subject was trained by a stored run that kept its initialization."""
    from occamlab.probes.connectivity import interpolate
    from occamlab.weights import load_weights

    run_id = source.get("train_run")
    if run_id is None:
        return None
    record = runs.get(run_id)
    if "init" not in record.artifacts:
        return None
    init = load_weights(runs.root / record.artifacts["init"])
    final = subject.params()
    start = {k: init[k].to(final[k]) for k in final}
    path = interpolate(
        subject,
        start,
        final,
        num_points=21,
        limit=options.limit or None,
        reestimate_bn=options.reestimate_bn,
    )
    return path.to_dict()


def _line_section(line: dict[str, Any]) -> tuple[str, str]:
    import matplotlib.pyplot as plt

    from occamlab.probes.connectivity import PathResult

    path = PathResult(**line)
    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    path.plot(ax=ax)
    ax.set_title(
        f"initialization (α = 0) to trained weights (α = 1): barrier {path.loss_barrier:.3g}"
    )
    rows = [
        {"α": a, "train loss": tl, "test loss": vl}
        for a, tl, vl in zip(path.alphas, path.train_loss, path.test_loss, strict=True)
    ]
    return (
        "Straight line from the initialization (Goodfellow et al. 2015)",
        figure(fig, alt="line from initialization") + table(rows),
    )


def _grid_rows(result: dict[str, Any]) -> list[dict[str, Any]]:
    axes, values = result["axes"], result["values"]
    rows = []
    if len(axes) == 1:
        for i, a in enumerate(axes[0]):
            rows.append({"a": a, **{k: v[i] for k, v in values.items()}})
        return rows
    for i, a in enumerate(axes[0]):
        for j, b in enumerate(axes[1]):
            rows.append({"a": a, "b": b, **{k: v[i][j] for k, v in values.items()}})
    return rows


def register(probe_app: typer.Typer, kit: CliKit) -> None:
    """Add ``occam probe landscape`` to the probe group."""
    store_opt, json_opt = kit.store_opt, kit.json_opt  # evaluated now: Typer reads annotations
    render = probe_renderer("landscape", landscape_sections)  # also used by `occam report`

    @kit.command(on=probe_app, name="landscape")
    @spec_options(LandscapeSpec, param="options")
    @subject_options()
    def landscape(
        options: LandscapeSpec,
        choice: SubjectChoice,
        store: store_opt = kit.default_store,
        as_json: json_opt = False,
    ) -> None:
        """Loss landscape: a filter-normalized plane (or line) through the trained weights."""
        from occamlab.probes.landscape.surface import landscape_plane

        runs = Store(store)
        resolved = resolve_subject(choice, runs, progress=not as_json)
        subject = resolved.subject
        run_spec = {
            "source": resolved.source,
            "subject": subject.describe(),
            "options": spec_to_dict(options),
        }
        with runs.run("probe/landscape", run_spec, name=f"landscape · {subject.name}") as run:
            if not run.reused:
                surface = landscape_plane(subject, spec=options, progress=not as_json)
                numbers = surface.to_dict()
                path = run.directory / "surface.json"
                path.write_text(json.dumps(numbers) + "\n", encoding="utf-8")
                run.add_artifact("surface", path.relative_to(runs.root))
                run.metrics.update(numbers)
                line = _line_from_init(runs, resolved.source, subject, options)
                if line is not None:
                    run.metrics["init_line"] = line
        page = render(runs, run.record)
        result = {"id": run.id, "reused": run.reused, "report": str(page), **run.metrics}

        def human() -> None:
            center = result["at_center"]
            grid = " × ".join(str(len(a)) for a in result["axes"])
            kit.out.print(
                f"{grid} {result['directions']['kind']} grid · train loss at the trained point "
                f"{center['train_loss']:.5g} · {result['local_minima']} local minima on the grid"
            )
            kit.out.print(f"report: {result['report']}")

        kit.emit(as_json, result, human)
