"""Pictures of the information plane: one trajectory per layer, coloured by epoch."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


def plot_information_plane(
    records: Sequence[Mapping[str, Any]],
    *,
    estimator: str = "binning",
    bins: int | None = None,
    ax=None,
    title: str | None = None,
):
    """Scatter ``I(X;T)`` against ``I(T;Y)`` for each layer, colour = epoch (viridis), with the
    layers' trajectories joined by thin lines. ``records`` as :class:`InformationPlaneMonitor`
    writes them."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(5.5, 4.2))
    rows = [
        r
        for r in records
        if r["estimator"] == estimator
        and (bins is None or estimator != "binning" or r["bins"] == bins)
    ]
    if not rows:
        raise ValueError(f"no records for estimator {estimator!r} (bins={bins})")
    epochs = [r["epoch"] for r in rows]
    top = max(epochs) or 1
    layers = list(dict.fromkeys(r["layer"] for r in rows))
    for layer in layers:
        mine = sorted((r for r in rows if r["layer"] == layer), key=lambda r: r["epoch"])
        xs, ys = [r["i_xt"] for r in mine], [r["i_ty"] for r in mine]
        ax.plot(xs, ys, "-", color="0.75", lw=0.6, zorder=1)
        points = ax.scatter(
            xs, ys, c=[r["epoch"] for r in mine], cmap="viridis", vmin=0, vmax=top, s=12, zorder=2
        )
        ax.annotate(layer, (xs[-1], ys[-1]), fontsize=7, xytext=(3, 3), textcoords="offset points")
    ax.figure.colorbar(points, ax=ax, label="epoch")
    label = f"{estimator}" + (f", {bins} bins" if estimator == "binning" and bins else "")
    ax.set(
        xlabel="I(X;T) [bits]",
        ylabel="I(T;Y) [bits]",
        title=title or f"information plane ({label})",
    )
    return ax
