"""Figures of the maps: one scatter panel per layer (and per checkpoint along training),
coloured by label."""

from __future__ import annotations

from typing import Any

import numpy as np

_TITLES = {
    "diffusion": ("ψ₁", "ψ₂"),
    "pca": ("PC 1", "PC 2"),
    "isomap": ("Isomap 1", "Isomap 2"),
    "tsne": ("t-SNE 1", "t-SNE 2"),
    "umap": ("UMAP 1", "UMAP 2"),
}


def _scatter(ax, coordinates: np.ndarray, labels: np.ndarray, classification: bool):
    x = coordinates[:, 0]
    y = coordinates[:, 1] if coordinates.shape[1] > 1 else np.zeros_like(x)
    cmap = "tab10" if classification and labels.max() < 10 else "viridis"
    return ax.scatter(x, y, c=labels, cmap=cmap, s=6, linewidths=0, alpha=0.85)


def draw_maps(result: dict[str, Any], *, trajectory: bool):
    """The maps of a probe result (its ``to_dict()``): one row of layers, or layers (rows) by
    checkpoints (columns) when ``trajectory``."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    spec = result["spec"]
    labels = np.asarray(result["labels"], dtype=float)
    maps = result["trajectory"] if trajectory else result["maps"]
    drawn = {m["layer"] for m in maps}
    layers = [name for name in result["layers"] if name in drawn]
    epochs = sorted({m["epoch"] for m in maps}) if trajectory else [None]
    rows, cols = (len(layers), len(epochs)) if trajectory else (1, len(layers))
    fig = Figure(figsize=(2.6 * cols + 0.8, 2.5 * rows + 0.4), layout="constrained")
    axes = np.asarray(fig.subplots(rows, cols, squeeze=False))
    xlabel, ylabel = _TITLES.get(spec["method"], ("1", "2"))
    points = None
    for m in maps:
        r = layers.index(m["layer"]) if trajectory else 0
        c = epochs.index(m["epoch"]) if trajectory else layers.index(m["layer"])
        ax = axes[r, c]
        coordinates = np.asarray(m["coordinates"], dtype=float)
        points = _scatter(ax, coordinates, labels, result["classification"])
        title = m["layer"] if not trajectory else f"{m['layer']} · epoch {m['epoch']}"
        if m["knn_accuracy"] is not None:
            title += f"\n5-NN acc {m['knn_accuracy']:.2f}"
        ax.set_title(title, fontsize=8)
        ax.set_xticks([])
        ax.set_yticks([])
        if r == rows - 1:
            ax.set_xlabel(xlabel, fontsize=8)
        if c == 0:
            ax.set_ylabel(ylabel, fontsize=8)
    if points is not None:
        bar = fig.colorbar(points, ax=axes.ravel().tolist(), fraction=0.02)
        bar.set_label("label" if result["classification"] else "target", fontsize=8)
    where = "along training" if trajectory else "by layer"
    fig.suptitle(f"{spec['method']} maps {where} ({spec['split']}, n={result['n']})", fontsize=10)
    return fig
