"""The report page of a loss-landscape run (``occam probe landscape``): summary, contours and
the 3-D surface, the line from the initialization, then the grid's numbers."""

from typing import Any

from occamlab.report.html import details, figure, key_values, table
from occamlab.report.render import probe_renderer


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
            "<p>Also saved as <code>surface.json</code> in the run's folder.</p>"
            + details(f"the losses at all {len(rows)} grid points", table(rows, collapse=None)),
        )
    )
    return sections


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


render_landscape = probe_renderer("landscape", landscape_sections)
