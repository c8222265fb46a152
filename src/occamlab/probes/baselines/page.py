"""The report page of a baselines run (``occam probe baselines``): the answer, the families on
the accuracy-vs-parameters and accuracy-vs-fit-time planes beside the network, and the table."""

from __future__ import annotations

from typing import Any

from occamlab.report.html import esc, figure, key_values, table
from occamlab.report.render import probe_renderer

_MARKERS = {
    "linear": "o",
    "knn": "s",
    "rbf": "^",
    "ntk": "v",
    "nngp": "<",
    "random_features": "D",
    "boosted_trees": "P",
}


def add_baselines(ax: Any, result: dict[str, Any], *, against: str = "num_parameters") -> None:
    """Draw each family's point (x: ``against``, y: test accuracy or loss) on ``ax``."""
    key = "test_accuracy" if result["network"].get("test_accuracy") is not None else "test_loss"
    for fit in result["fits"]:
        ax.plot(
            [fit[against]],
            [fit[key]],
            _MARKERS.get(fit["name"], "o"),
            mfc="none",
            mew=1.6,
            ms=8,
            label=f"{fit['label']} ({fit['setting']})",
        )


def plot_baselines(result: dict[str, Any], axes: Any = None) -> Any:
    """Test accuracy (or loss) against the numbers each model predicts with, and against CPU
    seconds of its final fit; the network is the black star (its own training time is not
    known, so it is a line on the right)."""
    import matplotlib.pyplot as plt

    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    network = result["network"]
    classification = network.get("test_accuracy") is not None
    key = "test_accuracy" if classification else "test_loss"
    left, right = axes
    add_baselines(left, result)
    left.plot([network["num_parameters"]], [network[key]], "k*", ms=14, label="the network")
    add_baselines(right, result, against="fit_seconds")
    right.axhline(network[key], color="k", lw=1, label="the network")
    tol = result["spec"]["tolerance"]
    level = network[key] - tol if classification else network[key] * (1 + tol)
    for ax, xlabel in ((left, "numbers the model predicts with"), (right, "CPU seconds to fit")):
        ax.axhline(level, color="k", ls="--", lw=0.8, label=f"tolerance ({tol:g})")
        ax.set_xscale("log")
        ax.set_xlabel(xlabel)
        ax.set_ylabel(key.replace("_", " "))
    left.legend(fontsize=7)
    left.set_title("simpler families against the network")
    right.set_title("and the time they take")
    left.figure.tight_layout()
    return axes


def baselines_sections(result: dict[str, Any]) -> list[tuple[str, str]]:
    import matplotlib

    matplotlib.use("Agg")
    axes = plot_baselines(result)
    columns = [
        "name",
        "setting",
        "num_parameters",
        "fraction",
        "test_accuracy",
        "test_loss",
        "validation_score",
        "fitted_on",
        "fit_seconds",
        "search_seconds",
        "grid",
    ]
    rows = [{**f, "p (paired test)": f["paired"]["p_value"]} for f in result["fits"]]
    sections = [
        ("Can a simpler family do it?", f"<p class='answer'>{esc(result['answer'])}</p>"),
        ("Simpler families on the frontier", figure(axes[0].figure, alt="baselines")),
        ("Every family", table(rows, [*columns, "p (paired test)"])),
        (
            "Data",
            key_values(
                {
                    "fitted on (training examples)": result["num_train"],
                    "hyper-parameters chosen on (held-out training examples)": result[
                        "num_validation"
                    ],
                    "test examples": result["num_test"],
                    "the network's parameters": result["network"]["num_parameters"],
                }
            ),
        ),
    ]
    if result["notes"]:
        sections.append(("Notes", "".join(f"<p>{esc(n)}</p>" for n in result["notes"])))
    return sections


render_baselines = probe_renderer("baselines", baselines_sections)
