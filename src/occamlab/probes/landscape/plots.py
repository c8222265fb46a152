"""Pictures of landscapes: contours with labelled levels, 3-D surfaces, trajectories, barriers.

Every function takes the result object whose numbers it draws (they are saved with the figure
through the result's ``to_dict()``) and an optional matplotlib axis, and returns the axis.
Losses spanning more than two decades are drawn on a log scale (contour levels evenly spaced in
log10), as Li et al. (2018) do.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _levels(values: np.ndarray, count: int = 14) -> tuple[np.ndarray, bool]:
    finite = values[np.isfinite(values)]
    lo, hi = float(finite.min()), float(finite.max())
    if hi <= lo:
        return np.array([lo]), False
    if lo > 0 and hi / lo > 100:
        return np.logspace(np.log10(lo), np.log10(hi), count), True
    return np.linspace(lo, hi, count), False


def _label(metric: str) -> str:
    return metric.replace("_", " ")


def contour(surface: Any, *, ax: Any = None, metric: str = "train_loss") -> Any:
    """Filled contours of a plane with labelled contour lines and the center marked."""
    plt = _pyplot()
    if ax is None:
        _, ax = plt.subplots(figsize=(5.2, 4.4))
    a, b = surface.axes
    z = np.ma.masked_invalid(np.asarray(surface.values[metric], dtype=float).T)
    levels, log = _levels(z.compressed())
    if len(levels) > 1:
        from matplotlib.colors import LogNorm

        norm = LogNorm(vmin=levels[0], vmax=levels[-1]) if log else None
        filled = ax.contourf(a, b, z, levels=levels, cmap="viridis", norm=norm)
        lines = ax.contour(a, b, z, levels=levels, colors="white", linewidths=0.6, norm=norm)
        ax.clabel(lines, inline=True, fontsize=7, fmt="%.3g")
        from matplotlib.ticker import FormatStrFormatter

        ax.figure.colorbar(
            filled,
            ax=ax,
            label=_label(metric),
            ticks=levels[::2],
            format=FormatStrFormatter("%.3g"),
        )
    ca, cb = a[surface.center[0]], b[surface.center[1]]
    ax.plot([ca], [cb], marker="*", color="red", markersize=10, label="θ₀")
    ax.set(xlabel="direction 1", ylabel="direction 2", title=_label(metric))
    ax.set_aspect("equal", adjustable="box")
    return ax


def surface_3d(surface: Any, *, ax: Any = None, metric: str = "train_loss") -> Any:
    """The plane as a 3-D surface (values clipped at the 99th percentile so spikes do not
    flatten the picture; the clip value is in the title)."""
    plt = _pyplot()
    if ax is None:
        fig = plt.figure(figsize=(5.6, 4.6))
        ax = fig.add_subplot(projection="3d")
    a, b = surface.axes
    z = np.asarray(surface.values[metric], dtype=float).T
    finite = z[np.isfinite(z)]
    cap = float(np.percentile(finite, 99)) if finite.size else 1.0
    grid_a, grid_b = np.meshgrid(a, b)
    ax.plot_surface(grid_a, grid_b, np.clip(np.nan_to_num(z, nan=cap), None, cap), cmap="viridis")
    ax.set(xlabel="direction 1", ylabel="direction 2", zlabel=_label(metric))
    ax.set_title(f"{_label(metric)} (clipped at {cap:.3g})")
    return ax


def line(surface: Any, *, ax: Any = None, metric: str = "train_loss") -> Any:
    """A 1-D surface: loss (and accuracy on a twin axis) against the coordinate."""
    plt = _pyplot()
    if ax is None:
        _, ax = plt.subplots(figsize=(5.6, 3.4))
    (a,) = surface.axes
    for name, style in (("train_loss", "-"), ("test_loss", "--")):
        if name in surface.values:
            ax.plot(a, surface.values[name], style, label=_label(name))
    ax.axvline(a[surface.center[0]], color="red", lw=0.8, alpha=0.6)
    ax.set(xlabel="coordinate along the direction", ylabel="loss")
    acc = [k for k in ("train_accuracy", "test_accuracy") if k in surface.values]
    if acc:
        twin = ax.twinx()
        for name, style in zip(acc, (":", "-."), strict=False):
            twin.plot(a, surface.values[name], style, color="tab:gray", label=_label(name))
        twin.set_ylabel("accuracy")
    ax.legend(loc="upper center")
    return ax


def trajectory(plane: Any, *, ax: Any = None, metric: str = "train_loss") -> Any:
    """Contours of the PCA plane with the training trajectory projected onto it."""
    ax = contour(plane.surface, ax=ax, metric=metric)
    xy = np.asarray(plane.coordinates)
    ax.plot(xy[:, 0], xy[:, 1], "o-", color="red", markersize=2.5, lw=1, label="trajectory")
    ax.plot(xy[:1, 0], xy[:1, 1], "s", color="orange", label="start")
    ev = plane.explained_variance
    ax.set(
        xlabel=f"PC 1 ({100 * ev[0]:.1f}% of variance)",
        ylabel=f"PC 2 ({100 * ev[1]:.1f}% of variance)",
    )
    ax.legend(loc="best", fontsize=8)
    return ax


def barriers(result: Any, *, ax: Any = None) -> Any:
    """Train loss and test error along the straight line and along the trained curve."""
    plt = _pyplot()
    if ax is None:
        _, ax = plt.subplots(figsize=(6.4, 3.6))
    paths = [("line", result.line, "--"), (result.curve_kind, result.curve, "-")]
    for name, path, style in paths:
        ax.plot(path.alphas, path.train_loss, style, color="tab:blue", label=f"train loss, {name}")
    ax.set(xlabel="t (0, 1: the two solutions)", ylabel="train loss")
    if result.line.test_accuracy is not None:
        twin = ax.twinx()
        for name, path, style in paths:
            error = [1 - v for v in path.test_accuracy]
            twin.plot(path.alphas, error, style, color="tab:red", label=f"test error, {name}")
        twin.set_ylabel("test error", color="tab:red")
        twin.legend(loc="upper right", fontsize=8)
    ax.legend(loc="upper left", fontsize=8)
    ax.set_title(
        f"loss barrier: line {result.line.loss_barrier:.3g}, "
        f"{result.curve_kind} {result.curve.loss_barrier:.3g}"
    )
    return ax


def ratio_map(curvature: Any, *, ax: Any = None) -> Any:
    """|λ_min| / |λ_max| over the plane as a heat map, each cell annotated with its value."""
    plt = _pyplot()
    if ax is None:
        _, ax = plt.subplots(figsize=(4.8, 4.2))
    a, b = curvature.axes
    ratio = np.asarray(curvature.ratio, dtype=float).T
    image = ax.pcolormesh(a, b, ratio, cmap="coolwarm", vmin=0, vmax=max(1.0, ratio.max()))
    for i, x in enumerate(a):
        for j, y in enumerate(b):
            ax.text(x, y, f"{ratio[j, i]:.2f}", ha="center", va="center", fontsize=7)
    ax.figure.colorbar(image, ax=ax, label="|λ_min| / |λ_max|")
    ax.set(
        xlabel="direction 1",
        ylabel="direction 2",
        title=f"Hessian ratio (mean {curvature.mean_ratio:.3f})",
    )
    ax.set_aspect("equal", adjustable="box")
    return ax
