"""Figures shared by reports."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def training_curves(history: Sequence[dict[str, Any]]):
    """Loss and accuracy against training step, train and test, from a run's history."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(9, 3.2))
    steps = [h["step"] for h in history]
    for split, style in (("train", "-"), ("test", "--")):
        losses = [h.get(f"{split}_loss") for h in history]
        if any(v is not None for v in losses):
            ax_loss.plot(steps, losses, style, marker=".", label=split)
        accs = [h.get(f"{split}_accuracy") for h in history]
        if any(v is not None for v in accs):
            ax_acc.plot(steps, accs, style, marker=".", label=split)
    ax_loss.set(xlabel="step", ylabel="loss", yscale="log", title="loss")
    ax_acc.set(xlabel="step", ylabel="accuracy", title="accuracy")
    for ax in (ax_loss, ax_acc):
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    return fig
