"""Figures of weight spectra: a layer's log-log ESD with its power-law fit and bulk edge."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def plot_esd(layer, ax=None):
    """Histogram density of the layer's eigenvalues on log bins (log-log axes), the fitted
    ``p(x) = (n_tail/N)(α−1)/x_min (x/x_min)^(−α)`` dashed from x_min, x_min and the
    Marchenko–Pastur bulk edge ``N λ₊`` as vertical lines."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(4.2, 3.2))
    values = layer.eigenvalues[layer.eigenvalues > 0]
    lo, hi = np.log10(values.min()), np.log10(values.max())
    edges = np.logspace(lo, hi + 1e-9, 40) if hi > lo else np.array([values[0] * 0.9, values[0]])
    density, _ = np.histogram(values, bins=edges, density=True)
    centres = np.sqrt(edges[1:] * edges[:-1])
    keep = density > 0
    ax.loglog(centres[keep], density[keep], ".", color="tab:blue", label="ESD")
    fit = layer.fit
    if fit is not None:
        x = np.logspace(np.log10(fit.xmin), np.log10(fit.xmax), 50)
        scale = fit.num_tail / layer.num_eigenvalues
        pdf = scale * (fit.alpha - 1) / fit.xmin * (x / fit.xmin) ** (-fit.alpha)
        ax.loglog(x, pdf, "--", color="tab:red", label=f"α = {fit.alpha:.2f}")
        ax.axvline(fit.xmin, color="tab:red", lw=0.8, alpha=0.6)
    if layer.mp is not None:
        ax.axvline(layer.mp.bulk_max * layer.n, color="tab:green", lw=0.8, label="MP edge")
    ax.set_title(layer.name, fontsize=9)
    ax.set_xlabel("eigenvalue of WᵀW")
    ax.legend(fontsize=7)
    return ax


def plot_layers(layers: Sequence, *, columns: int = 3):
    """One :func:`plot_esd` panel per layer; returns the figure."""
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
