"""Figures of representation similarity: layer-by-layer heatmaps."""

from __future__ import annotations

import numpy as np


def plot_similarity(report):
    """CKA heatmap (and Procrustes d² beside it) between the layers of one or two models."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [("CKA", np.array(report.cka, dtype=float), (0.0, 1.0), "viridis")]
    if report.procrustes is not None:
        panels.append(
            ("Procrustes d²", np.array(report.procrustes, dtype=float), (0.0, 2.0), "magma_r")
        )
    size = max(3.5, 0.45 * max(len(report.layers_a), len(report.layers_b)) + 2)
    fig, axes = plt.subplots(1, len(panels), figsize=(size * len(panels), size), squeeze=False)
    for ax, (title, values, (lo, hi), cmap) in zip(axes[0], panels, strict=True):
        image = ax.imshow(values, vmin=lo, vmax=hi, cmap=cmap, origin="lower")
        ax.set_yticks(range(len(report.layers_a)), report.layers_a, fontsize=7)
        ax.set_xticks(range(len(report.layers_b)), report.layers_b, fontsize=7, rotation=60)
        ax.set_ylabel("model a" if report.cross_model else "layer")
        ax.set_xlabel("model b" if report.cross_model else "layer")
        ax.set_title(f"{title} ({report.spec.estimator if title == 'CKA' else 'lower: closer'})")
        fig.colorbar(image, ax=ax, fraction=0.046)
    fig.tight_layout()
    return fig
