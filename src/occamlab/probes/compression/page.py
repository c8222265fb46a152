"""The report page of a simplify run (``occam probe simplify``): the answer, the frontier,
the smallest model within tolerance, then every compressed model."""

from typing import Any

from occamlab.report.html import esc, figure, key_values, table
from occamlab.report.render import probe_renderer


def simplify_sections(
    result: dict[str, Any], baselines: dict[str, Any] | None = None
) -> list[tuple[str, str]]:
    """The page's sections; ``baselines`` (a :class:`~occamlab.probes.baselines.BaselinesResult`
    dict) puts simpler model families on the same frontier."""
    import matplotlib

    matplotlib.use("Agg")
    from occamlab.probes.compression.frontier import plot_frontier

    ax = plot_frontier(result)
    if baselines:
        from occamlab.probes.baselines.page import add_baselines

        add_baselines(ax, baselines)
        ax.set_xlabel("parameters kept (families: numbers they predict with)")
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax.set_title(f"{result['original']['num_parameters']:,} parameters originally")
    best = result["smallest"]
    summary = {
        "model": best["method"],
        "what was done": best["setting"],
        "parameters": best["num_parameters"],
        "fraction of the original's parameters": best["fraction"],
        "test accuracy": best.get("test_accuracy"),
        "original test accuracy": result["original"].get("test_accuracy"),
        "test loss": best["test_loss"],
        "original test loss": result["original"]["test_loss"],
        "tolerance": result["spec"]["tolerance"],
        "evaluated in eval mode": result["eval_mode"],
        "seconds": result["seconds"],
    }
    columns = [
        "method",
        "setting",
        "num_parameters",
        "fraction",
        "test_accuracy",
        "test_loss",
        "train_accuracy",
    ]
    points = sorted(result["points"], key=lambda p: (p["method"], -p["num_parameters"]))
    sections = [
        (
            "Can it be simpler?",
            f"<p class='answer'>{esc(result['answer'])}</p>"
            f"<p class='answer'>Is the over-parameterization essential? "
            f"{esc(result['essential'])}</p>",
        ),
        ("Accuracy against parameters", figure(ax.figure, alt="compression frontier")),
        ("Smallest model within tolerance", key_values(summary)),
        ("Every compressed model", table(points, columns)),
        (
            "Training recipe (fine-tuning scales it; narrower networks use it)",
            key_values(result["recipe"])
            if result["recipe"] is not None
            else "<p>Unknown: nothing was fine-tuned or retrained (pass --recipe).</p>",
        ),
    ]
    if result.get("lottery"):
        sections.append(
            ("Lottery tickets (rewound to initialization)", table(result["lottery"]["table"]))
        )
    if result["notes"]:
        sections.append(("Notes", "".join(f"<p>{esc(n)}</p>" for n in result["notes"])))
    return sections


render_simplify = probe_renderer("simplify", simplify_sections)
