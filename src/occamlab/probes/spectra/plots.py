"""Figures of weight spectra: a layer's log-log ESD with its power-law fit and bulk edge."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


def plot_esd(layer: dict[str, Any], ax=None):
    """:func:`draw_esd` of one layer's ``to_dict(include_eigenvalues=True)`` (or stored JSON)."""
    fit, mp = layer["fit"], layer["mp"]
    return draw_esd(
        ax,
        title=layer["name"],
        eigenvalues=np.asarray(layer["eigenvalues"], dtype=float),
        alpha=None if fit is None else fit["alpha"],
        xmin=None if fit is None else fit["xmin"],
        xmax=None if fit is None else fit["xmax"],
        tail_fraction=None if fit is None else fit["num_tail"] / layer["num_eigenvalues"],
        bulk_edge=None if mp is None else mp["bulk_max"] * layer["n"],
    )


def draw_esd(
    ax,
    *,
    title: str,
    eigenvalues: np.ndarray,
    alpha: float | None = None,
    xmin: float | None = None,
    xmax: float | None = None,
    tail_fraction: float | None = None,
    bulk_edge: float | None = None,
):
    """Histogram density of eigenvalues on log bins (log-log axes), the fitted
    ``p(x) = f (α−1)/x_min (x/x_min)^(−α)`` (``f`` the tail fraction) dashed from x_min, and the
    Marchenko–Pastur bulk edge (in eigenvalues of WᵀW) as a vertical line."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(4.2, 3.2))
    values = np.asarray(eigenvalues, dtype=float)
    values = values[values > 0]
    lo, hi = np.log10(values.min()), np.log10(values.max())
    bins = int(np.clip(2 * np.sqrt(values.size), 5, 40))  # few eigenvalues, few bins
    edges = np.logspace(lo, hi + 1e-9, bins) if hi > lo else np.array([values[0] * 0.9, values[0]])
    density, _ = np.histogram(values, bins=edges, density=True)
    centres = np.sqrt(edges[1:] * edges[:-1])
    keep = density > 0
    ax.loglog(centres[keep], density[keep], ".", color="tab:blue", label="ESD")
    if alpha is not None and xmin is not None and xmax is not None and tail_fraction is not None:
        x = np.logspace(np.log10(xmin), np.log10(xmax), 50)
        pdf = tail_fraction * (alpha - 1) / xmin * (x / xmin) ** (-alpha)
        ax.loglog(x, pdf, "--", color="tab:red", label=f"α = {alpha:.2f}")
        ax.axvline(xmin, color="tab:red", lw=0.8, alpha=0.6)
    if bulk_edge is not None:
        ax.axvline(bulk_edge, color="tab:green", lw=0.8, label="MP edge")
    from matplotlib.ticker import FormatStrFormatter, LogLocator, NullFormatter

    # Under a decade there are no major ticks: label a few minor ones instead.
    ax.xaxis.set_minor_locator(LogLocator(base=10, subs=(2.0, 5.0)))
    ax.xaxis.set_minor_formatter(FormatStrFormatter("%.2g") if hi - lo < 1 else NullFormatter())
    ax.set_title(title, fontsize=9)
    ax.set_xlabel("eigenvalue of WᵀW")
    ax.legend(fontsize=7)
    return ax


def plot_layers(layers: Sequence[dict[str, Any]], *, columns: int = 3):
    """One :func:`plot_esd` panel per layer dict; returns the figure."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = max(1, -(-len(layers) // columns))
    cols = min(columns, max(1, len(layers)))
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.2 * rows), squeeze=False)
    for ax, layer in zip(axes.ravel(), layers, strict=False):
        plot_esd(layer, ax=ax)
    for ax in axes.ravel()[len(layers) :]:
        ax.axis("off")
    fig.tight_layout()
    return fig
