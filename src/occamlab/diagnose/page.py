"""The diagnosis page: the four answers first, then one section per question with its sentence,
the figures of the probes behind it and, collapsed, their tables (each probe family's own report
sections)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from occamlab.report import details, esc, figure, key_values, training_curves, write_run_page
from occamlab.report.render import register_renderer
from occamlab.store import RunRecord, Store


def _subsections(parts: list[tuple[str, str]]) -> str:
    return "".join(f"<h3>{esc(title)}</h3>{body}" for title, body in parts)


def _answer(answer: dict[str, Any], parts: list[tuple[str, str]]) -> str:
    """The sentence, then the pictures of the probes behind it, then (collapsed) their numbers."""
    pictures = [(title, body) for title, body in parts if "<img" in body]
    numbers = [(title, body) for title, body in parts if "<img" not in body]
    behind = key_values(answer["numbers"]) + _subsections(numbers)
    return (
        f"<p class='answer'>{esc(answer['sentence'])}</p>"
        + _subsections(pictures)
        + f"<h3>The numbers behind it</h3>{details('show the tables', behind)}"
    )


def _simpler(answer: dict[str, Any]) -> list[tuple[str, str]]:
    from occamlab.probes.baselines.page import baselines_sections
    from occamlab.probes.compression.page import simplify_sections

    other = answer["results"].get("baselines")
    parts = simplify_sections(answer["results"]["simplify"], baselines=other)
    if other:
        parts += [p for p in baselines_sections(other) if p[0] in ("Every family", "Notes")]
    return [p for p in parts if p[0] != "Can it be simpler?"]


def _essential(answer: dict[str, Any]) -> list[tuple[str, str]]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from occamlab.probes.compression.width import WidthSweepResult

    sweep = answer["results"].get("width_sweep")
    if not sweep:
        return []
    result = WidthSweepResult(**{k: v for k, v in sweep.items() if k != "mean"})
    fig, ax = plt.subplots(figsize=(6.4, 3.8))
    result.plot(ax=ax)
    own = answer["numbers"].get("subject's test accuracy")
    if own is not None:
        ax.plot(result.reference["num_parameters"], own, "k*", ms=13, label="the subject")
        ax.legend()
    ax.set_title(f"retrained at other {result.width_field}s (mean over seeds)")
    from occamlab.report import table

    return [
        ("Test accuracy against size, trained from scratch", figure(fig, alt="width sweep")),
        ("Width sweep (mean over seeds)", table(sweep["mean"])),
    ]


def _bounds(answer: dict[str, Any]) -> list[tuple[str, str]]:
    from occamlab.probes.bounds.page import bounds_sections

    report = answer["results"].get("bounds")
    return bounds_sections(report) if report else []


def _parameters(answer: dict[str, Any]) -> list[tuple[str, str]]:
    from occamlab.probes.curvature.page import hessian_sections
    from occamlab.probes.landscape.page import landscape_sections
    from occamlab.probes.representations.page import similarity_sections
    from occamlab.probes.sharpness.page import sharpness_sections
    from occamlab.probes.spectra.page import spectra_sections

    results = answer["results"]

    def titled(prefix: str, parts: list[tuple[str, str]]) -> list[tuple[str, str]]:
        return [(f"{prefix}: {title}", body) for title, body in parts]

    return [
        *titled("Weight spectra", spectra_sections(results["spectra"])),
        *titled("Hessian", hessian_sections(results["hessian"])),
        *titled("Sharpness", sharpness_sections(results["sharpness"])),
        *titled("Loss landscape", landscape_sections(results["landscape"])),
        *titled("Representations", similarity_sections(results["similarity"])),
    ]


DETAILS = {
    "simpler": _simpler,
    "essential": _essential,
    "bounds": _bounds,
    "parameters": _parameters,
}


def diagnosis_sections(metrics: dict[str, Any]) -> list[tuple[str, str]]:
    """The page's sections from a stored diagnosis (:meth:`Diagnosis.to_dict`)."""
    from occamlab.diagnose.questions import QUESTIONS

    stored = metrics["answers"]  # the store keeps JSON objects with sorted keys
    answers = {key: stored[key] for key in QUESTIONS if key in stored}
    train, test = metrics["train"], metrics["test"]
    summary = "".join(
        f"<p class='answer'><b>{esc(a['question'])}</b> {esc(a['sentence'])}</p>"
        for a in answers.values()
    )
    sections = [
        ("Summary", summary),
        ("Subject", key_values(metrics["subject"])),
        (
            "Fit",
            key_values(
                {
                    "train loss": train["loss"],
                    "train accuracy": train["accuracy"],
                    "test loss": test["loss"],
                    "test accuracy": test["accuracy"],
                    "generalization gap (test − train loss)": metrics["generalization_gap"],
                    "evaluated in eval mode": metrics["eval_mode"],
                    "diagnosis seconds": metrics["seconds"],
                }
            ),
        ),
    ]
    for key, answer in answers.items():
        body = _answer(answer, DETAILS[key](answer))
        sections.append((answer["question"], f"<section id='{esc(key)}'>{body}</section>"))
    if metrics.get("history"):
        sections.append(("Training", figure(training_curves(metrics["history"]), alt="training")))
    if metrics.get("notes"):
        sections.append(("Notes", "".join(f"<p>{esc(n)}</p>" for n in metrics["notes"])))
    return sections


@register_renderer("diagnose")
def write_diagnosis_page(store: Store, record: RunRecord) -> Path:
    """Write (or rewrite) a diagnosis page from its stored record."""
    name = record.metrics["subject"]["name"]
    return write_run_page(
        store, record, diagnosis_sections(record.metrics), title=f"diagnose: {name}"
    )
