"""The flagship: one subject in; the four questions answered; one report out."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from occamlab.notebook import HtmlRepr
from occamlab.report import esc, figure, key_values, training_curves, write_run_page
from occamlab.report.render import register_renderer
from occamlab.store import RunRecord, Store
from occamlab.subject import Evaluation, Subject


@dataclass(frozen=True)
class Diagnosis(HtmlRepr):
    """What ``occam diagnose`` found about a subject."""

    subject: dict[str, Any]
    train: Evaluation
    test: Evaluation
    eval_mode: bool
    answers: dict[str, str] = field(default_factory=dict)
    run_id: str | None = None
    report: str | None = None

    @property
    def generalization_gap(self) -> float:
        """Test loss minus train loss."""
        return self.test.loss - self.train.loss

    def to_dict(self) -> dict[str, Any]:
        return {
            "subject": self.subject,
            "train": self.train.to_dict(),
            "test": self.test.to_dict(),
            "generalization_gap": self.generalization_gap,
            "eval_mode": self.eval_mode,
            "answers": self.answers,
            "run_id": self.run_id,
            "report": self.report,
        }


def _fit_sentence(train: Evaluation, test: Evaluation, num_parameters: int) -> str:
    ratio = num_parameters / train.n
    size = (
        f"{num_parameters:,} parameters for {train.n:,} training examples ({ratio:.1f} per example)"
    )
    if train.accuracy is None or test.accuracy is None:
        return f"{size}; train loss {train.loss:.4g}, test loss {test.loss:.4g}."
    gap = train.accuracy - test.accuracy
    return (
        f"{size}; it fits {train.accuracy:.1%} of the training set and {test.accuracy:.1%} of the "
        f"test set, a gap of {100 * gap:.1f} percentage points."
    )


def diagnose(subject: Subject) -> Diagnosis:
    """Evaluate ``subject`` (eval mode, streamed) and answer what the probes can answer."""
    train = subject.evaluate(split="train")
    test = subject.evaluate(split="test")
    answers = {"fit": _fit_sentence(train, test, subject.num_parameters)}
    if subject.stochastic_layers:
        answers["eval_mode"] = (
            f"layers {', '.join(subject.stochastic_layers)} behave differently in training; "
            "every number here is measured in eval mode."
        )
    return Diagnosis(
        subject=subject.describe(), train=train, test=test, eval_mode=True, answers=answers
    )


def _sections(diagnosis: Diagnosis, history: list[dict[str, Any]] | None) -> list[tuple[str, str]]:
    train, test = diagnosis.train, diagnosis.test
    sections = [
        ("Summary", "".join(f"<p class='answer'>{esc(v)}</p>" for v in diagnosis.answers.values())),
        ("Subject", key_values(diagnosis.subject)),
        (
            "Fit",
            key_values(
                {
                    "train loss": train.loss,
                    "train accuracy": train.accuracy,
                    "test loss": test.loss,
                    "test accuracy": test.accuracy,
                    "generalization gap (test − train loss)": diagnosis.generalization_gap,
                }
            ),
        ),
    ]
    if history:
        sections.append(("Training", figure(training_curves(history), alt="training curves")))
    return sections


def diagnose_run(
    subject: Subject,
    *,
    store: Store,
    source: dict[str, Any],
    history: list[dict[str, Any]] | None = None,
) -> Diagnosis:
    """Diagnose ``subject`` as a stored run (kind ``diagnose``) and write its report page.

    ``source`` says where the subject came from (a training run id, a weights file, a
    ``module:function``); it is part of the run's spec.
    """
    spec = {"subject": subject.describe(), "source": source}
    with store.run("diagnose", spec, name=f"diagnose {subject.name}", force=True) as run:
        result = diagnose(subject)
        run.metrics.update(
            {k: v for k, v in result.to_dict().items() if k not in ("run_id", "report")}
        )
    page = write_run_page(
        store, run.record, _sections(result, history), title=f"diagnose: {subject.name}"
    )
    store.update_metrics(run.id, {"report": str(page)})
    return replace(result, run_id=run.id, report=str(page))


@register_renderer("diagnose")
def render_diagnosis(store: Store, record: RunRecord) -> Path:
    """Rewrite a diagnosis page from its stored record."""
    m = record.metrics
    diagnosis = Diagnosis(
        subject=m["subject"],
        train=Evaluation(**m["train"]),
        test=Evaluation(**m["test"]),
        eval_mode=m["eval_mode"],
        answers=m["answers"],
    )
    return write_run_page(
        store, record, _sections(diagnosis, None), title=f"diagnose: {m['subject']['name']}"
    )
