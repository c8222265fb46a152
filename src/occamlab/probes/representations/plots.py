"""Figures of representation similarity: layer-by-layer heatmaps."""

from __future__ import annotations

import numpy as np


def plot_similarity(report):
    """:func:`draw_similarity` of a :class:`~occamlab.probes.representations.SimilarityReport`."""
    return draw_similarity(
        layers_a=report.layers_a,
        layers_b=report.layers_b,
        cka=report.cka,
        procrustes=report.procrustes,
        estimator=report.spec.estimator,
        cross_model=report.cross_model,
    )


def draw_similarity(*, layers_a, layers_b, cka, procrustes, estimator: str, cross_model: bool):
    """CKA heatmap (and Procrustes d² beside it) between the layers of one or two models."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [
        (
            "CKA",
            np.array([[np.nan if v is None else v for v in row] for row in cka]),
            (0.0, 1.0),
            "viridis",
        )
    ]
    if procrustes is not None:
        values = np.array([[np.nan if v is None else v for v in row] for row in procrustes])
        panels.append(("Procrustes d²", values, (0.0, 2.0), "magma_r"))
    size = max(3.5, 0.45 * max(len(layers_a), len(layers_b)) + 2)
    fig, axes = plt.subplots(1, len(panels), figsize=(size * len(panels), size), squeeze=False)
    for ax, (title, values, (lo, hi), cmap) in zip(axes[0], panels, strict=True):
        image = ax.imshow(values, vmin=lo, vmax=hi, cmap=cmap, origin="lower")
        ax.set_yticks(range(len(layers_a)), layers_a, fontsize=7)
        ax.set_xticks(range(len(layers_b)), layers_b, fontsize=7, rotation=60)
        ax.set_ylabel("model a" if cross_model else "layer")
        ax.set_xlabel("model b" if cross_model else "layer")
        ax.set_title(f"{title} ({estimator if title == 'CKA' else 'lower: closer'})")
        fig.colorbar(image, ax=ax, fraction=0.046)
    fig.tight_layout()
    return fig
