"""The accuracy-vs-parameters frontier of compressed models, and the smallest one that is good
enough.

A *point* is one compressed model: a dict with ``method``, ``setting`` (what was done, in words),
``num_parameters`` (parameters it needs), ``fraction`` (of the original's), and its final metrics
``test_accuracy``/``test_loss``/``train_accuracy``/``train_loss``. The frontier is the set of
points not dominated by a point with fewer (or as many) parameters and at least as good a test
metric. The smallest model within tolerance is the point with the fewest parameters whose test
accuracy is at least the original's minus ``tolerance`` (for regression: whose test loss is at
most the original's times ``1 + tolerance``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

METHOD_LABELS = {
    "original": "original",
    "magnitude": "magnitude pruning + fine-tuning",
    "random": "random pruning + fine-tuning (control)",
    "neurons": "neuron/channel pruning + fine-tuning",
    "lowrank": "low rank (truncated SVD, no retraining)",
    "narrower": "narrower, retrained from scratch",
    "ticket": "lottery ticket (rewound, retrained)",
}
_STYLE = {
    "magnitude": ("o-", "tab:blue"),
    "random": ("x:", "tab:gray"),
    "neurons": ("s-", "tab:orange"),
    "lowrank": ("^-", "tab:green"),
    "narrower": ("D-", "tab:purple"),
    "ticket": ("v-", "tab:brown"),
}


def score(point: Mapping[str, Any]) -> float:
    """Higher is better: test accuracy, or minus the test loss for regression."""
    acc = point.get("test_accuracy")
    return float(acc) if acc is not None else -float(point["test_loss"])


def within(point: Mapping[str, Any], original: Mapping[str, Any], tolerance: float) -> bool:
    """Whether ``point`` is within ``tolerance`` of ``original`` (accuracy points, or relative
    loss for regression)."""
    if original.get("test_accuracy") is not None:
        return point["test_accuracy"] >= original["test_accuracy"] - tolerance - 1e-12
    return point["test_loss"] <= original["test_loss"] * (1.0 + tolerance) + 1e-12


def pareto(points: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Points not dominated by one with fewer or as many parameters and a better-or-equal score,
    sorted by parameters.

    >>> pts = [{"num_parameters": 10, "test_accuracy": 0.9},
    ...        {"num_parameters": 5, "test_accuracy": 0.95},
    ...        {"num_parameters": 2, "test_accuracy": 0.5}]
    >>> [p["num_parameters"] for p in pareto(pts)]
    [2, 5]
    """
    ordered = sorted(points, key=lambda p: (p["num_parameters"], -score(p)))
    front, best = [], float("-inf")
    for p in ordered:
        if score(p) > best:
            front.append(dict(p))
            best = score(p)
    return front


def smallest_within(
    points: Sequence[Mapping[str, Any]], original: Mapping[str, Any], tolerance: float
) -> dict[str, Any]:
    """The point with the fewest parameters within ``tolerance`` of ``original`` (ties: the
    better score); the original itself if none is smaller."""
    good = [p for p in points if within(p, original, tolerance)]
    good.append(dict(original))
    return dict(min(good, key=lambda p: (p["num_parameters"], -score(p))))


def plot_frontier(result: Mapping[str, Any], ax: Any = None) -> Any:
    """Test accuracy (or loss) against parameters for every method, from a result's dict.

    Draws each method's points, the original (black star), the tolerance line and the named
    smallest model (red ring). Works from ``SimplifyResult.to_dict()`` so stored runs can be
    drawn again.
    """
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(8, 4.6))
    original, points = result["original"], result["points"]
    classification = original.get("test_accuracy") is not None
    key = "test_accuracy" if classification else "test_loss"
    for method, (style, color) in _STYLE.items():
        line = sorted(
            (p for p in points if p["method"] == method), key=lambda p: p["num_parameters"]
        )
        if line:
            ax.plot(
                [p["num_parameters"] for p in line],
                [p[key] for p in line],
                style,
                color=color,
                label=METHOD_LABELS[method],
                ms=5,
            )
    ax.plot([original["num_parameters"]], [original[key]], "k*", ms=14, label="original")
    tol = result["spec"]["tolerance"]
    level = original[key] - tol if classification else original[key] * (1 + tol)
    ax.axhline(level, color="k", ls="--", lw=0.8, label=f"tolerance ({tol:g})")
    best = result["smallest"]
    ax.plot(
        [best["num_parameters"]],
        [best[key]],
        "o",
        ms=16,
        mfc="none",
        mec="red",
        mew=2,
        label=f"smallest within tolerance: {best['fraction']:.1%} of parameters",
    )
    ax.set(xscale="log", xlabel="parameters kept", ylabel=key.replace("_", " "))
    if classification:
        lowest = min(p[key] for p in [*points, original])
        ax.set_ylim(max(lowest - 0.02, level - 0.25), min(1.0, original[key] + 0.05))
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return ax
