"""``occam probe simplify``: can the subject be simpler? The compression frontier, stored as a run
with its report page."""

from typing import Any

import typer

from occamlab.cli_options import CliKit, spec_options
from occamlab.cli_probe import probe_renderer, stored_run
from occamlab.cli_subject import ResolvedSubject, SubjectChoice, resolve_subject, subject_options
from occamlab.probes.compression.simplify import SimplifySpec
from occamlab.report import esc, figure, key_values, table
from occamlab.store import Store


def simplify_sections(result: dict[str, Any]) -> list[tuple[str, str]]:
    import matplotlib

    matplotlib.use("Agg")
    from occamlab.probes.compression.frontier import plot_frontier

    ax = plot_frontier(result)
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


def register(probe_app: typer.Typer, kit: CliKit) -> None:
    """Add ``occam probe simplify``."""
    command, emit, out = kit.command, kit.emit, kit.out
    store_opt, json_opt, default_store = kit.store_opt, kit.json_opt, kit.default_store
    probe_renderer("simplify", simplify_sections)

    @command(on=probe_app, name="simplify")
    @spec_options(SimplifySpec, param="options")
    @subject_options()
    def simplify_command(
        options: SimplifySpec,
        choice: SubjectChoice,
        store: store_opt = default_store,
        as_json: json_opt = False,
    ) -> None:
        """Can the model be simpler? Pruning, low rank and narrower retraining on one frontier,
        and the smallest model within a tolerance of the original's test accuracy."""
        from occamlab.probes.compression import initial_params, simplify

        err = kit.err

        runs = Store(store)
        resolved = resolve_subject(choice, runs, progress=not as_json)

        def compute(r: ResolvedSubject) -> dict[str, Any]:
            # The recipe is the subject's own (a store training run's, --recipe, or the
            # factory's); without one, simplify fine-tunes nothing and says so.
            result = simplify(
                r.subject,
                spec=options,
                train=r.subject.recipe,
                init=initial_params(r.subject),
                log=None if as_json else (lambda line: err.print(f"[dim]{line}…[/]")),
            )
            return result.to_dict()

        result = stored_run(
            "simplify", resolved, options, runs, compute=compute, sections=simplify_sections
        )

        def human() -> None:
            out.print(result["answer"])
            out.print(f"Is the over-parameterization essential? {result['essential']}")
            for note in result["notes"]:
                out.print(f"[dim]note: {note}[/]")
            out.print(f"report: {result['report']}")

        emit(as_json, result, human)
