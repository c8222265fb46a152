"""The flagship: one subject in; the four questions answered; one stored run and report out."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from occamlab.diagnose import questions
from occamlab.diagnose.questions import QUESTIONS, Answer
from occamlab.diagnose.spec import DiagnoseSpec
from occamlab.jsonable import jsonable
from occamlab.notebook import HtmlRepr
from occamlab.specs import spec_to_dict
from occamlab.store import Store
from occamlab.subject import Evaluation, Params, Subject
from occamlab.train import UNKNOWN_RECIPE, TrainSpec

RECIPE_NOTE = (
    f"{UNKNOWN_RECIPE}: pruned models are not fine-tuned, the width sweep and lottery tickets are "
    "skipped, and no edge-of-stability verdict is made (no recipe is assumed)"
)


@dataclass(frozen=True)
class Diagnosis(HtmlRepr):
    """What ``occam diagnose`` found about a subject.

    Attributes:
        subject: the subject's description (:meth:`Subject.describe`).
        train, test: its loss and accuracy on each split (eval mode).
        answers: the four :class:`~occamlab.diagnose.questions.Answer` objects, by key.
        spec: the options.
        notes: what was assumed or skipped.
        seconds: total wall time.
        run_id, report: the stored run and its HTML page (set by :func:`diagnose_run`).
    """

    subject: dict[str, Any]
    train: Evaluation
    test: Evaluation
    answers: dict[str, Answer] = field(default_factory=dict)
    spec: DiagnoseSpec = field(default_factory=DiagnoseSpec)
    notes: tuple[str, ...] = ()
    seconds: float = 0.0
    eval_mode: bool = True
    run_id: str | None = None
    report: str | None = None

    @property
    def generalization_gap(self) -> float:
        """Test loss minus train loss."""
        return self.test.loss - self.train.loss

    @property
    def sentences(self) -> dict[str, str]:
        """The question of each answer and its one-sentence conclusion."""
        return {a.question: a.sentence for a in self.answers.values()}

    def _repr_html_(self) -> str:
        """In a notebook: the four questions and their sentences, then the fit's numbers."""
        import html

        answers = "".join(
            f"<p><b>{html.escape(q)}</b> {html.escape(s)}</p>" for q, s in self.sentences.items()
        )
        return f"<div>{answers}{super()._repr_html_()}</div>"

    def to_dict(self) -> dict[str, Any]:
        return jsonable(
            {
                "subject": self.subject,
                "train": self.train.to_dict(),
                "test": self.test.to_dict(),
                "generalization_gap": self.generalization_gap,
                "eval_mode": self.eval_mode,
                "spec": spec_to_dict(self.spec),
                "answers": {k: a.to_dict() for k, a in self.answers.items()},
                "notes": list(self.notes),
                "seconds": self.seconds,
                "run_id": self.run_id,
                "report": self.report,
            }
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Diagnosis:
        """Rebuild a diagnosis from :meth:`to_dict` (e.g. a stored run's metrics)."""
        return cls(
            subject=data["subject"],
            train=Evaluation(**data["train"]),
            test=Evaluation(**data["test"]),
            answers={
                k: Answer(
                    key=a["key"],
                    sentence=a["sentence"],
                    numbers=a["numbers"],
                    results=a["results"],
                    seconds=a["seconds"],
                )
                for k, a in sorted(
                    data["answers"].items(), key=lambda kv: list(QUESTIONS).index(kv[0])
                )
            },
            spec=DiagnoseSpec(**data["spec"]),
            notes=tuple(data["notes"]),
            seconds=data["seconds"],
            eval_mode=data["eval_mode"],
            run_id=data.get("run_id"),
            report=data.get("report"),
        )


def diagnose(
    subject: Subject,
    *,
    spec: DiagnoseSpec | None = None,
    recipe: TrainSpec | None = None,
    init: Params | None = None,
    log: Callable[[str], None] | None = None,
) -> Diagnosis:
    """Answer the four questions about ``subject`` (never modified; evaluated in eval mode).

    Args:
        subject: a trained subject.
        spec: options and budget (:class:`DiagnoseSpec`; default: the quick budget).
        recipe: the recipe it was trained with (fine-tuning, retraining at other widths, the
            stability comparison). None: ``subject.recipe``; if that is None too, the answers
            that need a recipe say it is unknown (none is assumed).
        init: its initial weights (the PAC-Bayes prior's centre; lottery tickets at the deep
            budget). None: ``subject.init``, else rebuilt for subjects occamlab trained, else
            unknown.
        log: called with a short line as each stage starts.

    Examples:
        >>> from occamlab import TrainSpec, fit, make_subject
        >>> s = make_subject(model="mlp", data="gaussian_mixture", model_options={"width": 8},
        ...                  data_options={"num_train": 200, "num_test": 100})
        >>> recipe = TrainSpec(epochs=5)
        >>> _ = fit(s, recipe)
        >>> d = diagnose(s, recipe=recipe, spec=DiagnoseSpec(limit=100))
        >>> list(d.sentences)[0]
        'Can it be simpler?'
    """
    from occamlab.probes.bounds.certificate import has_statistics
    from occamlab.probes.compression.rebuild import initial_params

    spec = spec or DiagnoseSpec()
    say = log or (lambda _line: None)
    started = time.perf_counter()
    plan = spec.budget
    recipe = recipe if recipe is not None else subject.recipe
    notes = [] if recipe is not None else [RECIPE_NOTE]
    init = init if init is not None else initial_params(subject)
    if init is None:
        # Otherwise no PAC-Bayes bound is computed, so there is no prior to speak of.
        pacbayes = subject.data.task == "classification" and not has_statistics(subject)
        notes.append(
            "the initial weights are unknown (pass --init-weights FILE, or set Subject.init): "
            + ("the PAC-Bayes prior is centred at zero and " if pacbayes else "")
            + "lottery tickets are skipped"
        )
    if subject.stochastic_layers:
        notes.append(
            f"layers {', '.join(subject.stochastic_layers)} behave differently in training; "
            "every number here is measured in eval mode"
        )
    train = subject.evaluate(split="train")
    test = subject.evaluate(split="test")
    say("can it be simpler? compressing")
    simpler = questions.simpler(
        subject,
        recipe=recipe,
        init=init,
        plan=plan,
        tolerance=spec.tolerance,
        seed=spec.seed,
        log=say,
        families=spec.baselines,
    )
    say("is the over-parameterization essential? retraining at other widths")
    essential = questions.essential(
        subject,
        recipe=recipe,
        compressed=simpler.results["simplify"],
        plan=plan,
        tolerance=spec.tolerance,
        seed=spec.seed,
        log=say,
    )
    say("what error bound can I certify? bounds")
    bounds = questions.bounds(subject, init=init, plan=plan, delta=spec.delta, seed=spec.seed)
    say("what do the parameters say? spectra, curvature, landscape, representations")
    params = questions.parameters(subject, recipe=recipe, plan=plan, seed=spec.seed, log=say)
    return Diagnosis(
        subject=subject.describe(),
        train=train,
        test=test,
        answers={a.key: a for a in (simpler, essential, bounds, params)},
        spec=spec,
        notes=tuple(notes),
        seconds=time.perf_counter() - started,
    )


def diagnose_run(
    subject: Subject,
    *,
    store: Store,
    source: dict[str, Any],
    spec: DiagnoseSpec | None = None,
    recipe: TrainSpec | None = None,
    init: Params | None = None,
    history: list[dict[str, Any]] | None = None,
    log: Callable[[str], None] | None = None,
) -> Diagnosis:
    """Diagnose ``subject`` as a stored run (kind ``diagnose``) and write its report page.

    ``source`` says where the subject came from (a training run id, a weights file, a
    ``module:function``) and a digest of its contents; it is part of the run's spec. A run with
    the same spec is recomputed (a diagnosis is cheap and the subject's weights may have changed
    in place).
    """
    from occamlab.diagnose.page import write_diagnosis_page

    spec = spec or DiagnoseSpec()
    recipe = recipe if recipe is not None else subject.recipe
    run_spec = {
        "subject": subject.describe(),
        "source": source,
        "options": spec_to_dict(spec),
        "recipe": None if recipe is None else spec_to_dict(recipe),
    }
    with store.run("diagnose", run_spec, name=f"diagnose {subject.name}", force=True) as run:
        result = diagnose(subject, spec=spec, recipe=recipe, init=init, log=log)
        run.metrics.update(
            {k: v for k, v in result.to_dict().items() if k not in ("run_id", "report")}
        )
        if history:
            run.metrics["history"] = history
    page = write_diagnosis_page(store, run.record)
    store.update_metrics(run.id, {"report": str(page)})
    return replace(result, run_id=run.id, report=str(page))
