"""The subject flags every command that takes a subject shares, and how they resolve.

A subject comes from exactly one of:

- ``--subject pkg.mod:fn``: the user's own function returning a :class:`~occamlab.Subject`
  (its own module and data; it may carry its ``recipe`` and ``init``), optionally with
  ``--weights`` loaded into its module;
- a registry spec plus ``--weights FILE`` (trained elsewhere);
- a registry spec alone (trained with ``--recipe`` or the default recipe through the store on
  first use, reused afterwards).

``--recipe FILE`` (TOML or JSON with :class:`~occamlab.TrainSpec` fields) and ``--init-weights
FILE`` tell occamlab how the weights were trained and where training started. A flag that does
not apply to the chosen way is refused, never ignored. Every run about a subject is keyed by its
contents (:func:`occamlab.fingerprint.subject_fingerprint`), not by the names of its files.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import typer

from occamlab.cli.options import option_group
from occamlab.specs import parse_assignments
from occamlab.store import Store
from occamlab.subject import Subject

_PANEL = "Subject"


def _option(name: str, annotation: Any, default: Any, help: str, flag: str | None = None):
    return inspect.Parameter(
        name,
        inspect.Parameter.KEYWORD_ONLY,
        default=typer.Option(
            default, flag or "--" + name.replace("_", "-"), help=help, rich_help_panel=_PANEL
        ),
        annotation=annotation,
    )


SUBJECT_OPTIONS = [
    _option(
        "subject",
        str | None,
        None,
        "Your own subject: 'package.module:function' returning an occamlab.Subject.",
    ),
    _option("model", str | None, None, "Model name (see `occam list --models`; default: mlp)."),
    _option(
        "model_opt",
        list[str] | None,
        None,
        "Model option KEY=VALUE (repeatable), e.g. width=128.",
    ),
    _option(
        "data", str | None, None, "Dataset name (see `occam list --datasets`; default: mnist1d)."
    ),
    _option(
        "data_opt",
        list[str] | None,
        None,
        "Dataset option KEY=VALUE (repeatable), e.g. num_train=8000.",
    ),
    _option(
        "data_root",
        Path | None,
        None,
        "Folder holding file datasets (MNIST IDX, CIFAR-10, npz).",
    ),
    _option(
        "weights",
        Path | None,
        None,
        "Trained weights (.safetensors) for --model on --data, or for your --subject's module.",
    ),
    _option(
        "init_weights",
        Path | None,
        None,
        "The weights training started from (.safetensors), for --weights or --subject: the "
        "PAC-Bayes prior's centre, lottery rewinding, distances from the initialization.",
    ),
    _option(
        "recipe_file",
        Path | None,
        None,
        "How the weights were trained: a TOML or JSON file of TrainSpec fields (optimizer, lr, "
        "momentum, batch_size, epochs, ...). Without --weights/--subject: the recipe to train "
        "with.",
        flag="--recipe",
    ),
    _option(
        "init_seed", int | None, None, "Seed of the registry model's initialization (default: 0)."
    ),
]


@dataclass(frozen=True)
class SubjectChoice:
    """What the subject flags said."""

    subject: str | None = None
    model: str | None = None
    model_opt: tuple[str, ...] = ()
    data: str | None = None
    data_opt: tuple[str, ...] = ()
    data_root: Path | None = None
    weights: Path | None = None
    init_weights: Path | None = None
    recipe_file: Path | None = None
    init_seed: int | None = None

    def specs(self):
        """The model and dataset specs named by the flags (validated)."""
        from occamlab.data import DATASETS
        from occamlab.models import MODELS

        return (
            MODELS.spec(self.model or "mlp", **parse_assignments(self.model_opt)),
            DATASETS.spec(self.data or "mnist1d", **parse_assignments(self.data_opt)),
        )

    @property
    def seed(self) -> int:
        return 0 if self.init_seed is None else self.init_seed


def subject_options(param: str = "choice"):
    """Decorate a command so it takes the subject flags and receives a :class:`SubjectChoice`."""

    def build(values: dict[str, Any]) -> SubjectChoice:
        values = {k: v for k, v in values.items() if v is not None}
        for key in ("model_opt", "data_opt"):
            values[key] = tuple(values.get(key, ()))
        return SubjectChoice(**values)

    return option_group(param, SUBJECT_OPTIONS, build)


@dataclass(frozen=True)
class ResolvedSubject:
    """A subject, where it came from (part of any run spec about it: names and a digest of its
    contents) and its training history (known only for the store's training runs). Its recipe
    and initial weights, when known, are the subject's own (``subject.recipe``/``subject.init``).
    """

    subject: Subject
    source: dict[str, Any]
    history: list[dict[str, Any]] | None = None


def load_recipe(path: Path) -> Any:
    """A :class:`~occamlab.TrainSpec` from a TOML or JSON file of its fields (validated)."""
    from occamlab.specs import make_spec
    from occamlab.train import TrainSpec

    if not path.is_file():
        raise FileNotFoundError(f"recipe file {str(path)!r} does not exist")
    text = path.read_text()
    try:
        values = json.loads(text) if path.suffix == ".json" else tomllib.loads(text)
    except (json.JSONDecodeError, tomllib.TOMLDecodeError) as exc:
        kind = "JSON" if path.suffix == ".json" else "TOML"
        raise ValueError(f"recipe file {str(path)!r} is not valid {kind}: {exc}") from None
    if (
        isinstance(values, dict)
        and set(values) == {"recipe"}
        and isinstance(values["recipe"], dict)
    ):
        values = values["recipe"]  # a [recipe] table
    if not isinstance(values, dict) or any(isinstance(v, dict | list) for v in values.values()):
        raise ValueError(
            f"recipe file {str(path)!r} must hold flat TrainSpec fields, e.g. optimizer = "
            '"adam", lr = 0.001, batch_size = 64, epochs = 30'
        )
    try:
        return make_spec(TrainSpec, values)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"recipe file {str(path)!r}: {exc}") from None


# Each field of SubjectChoice and the flag that sets it (``recipe_file`` is ``--recipe``).
FLAGS = {p.name: p.default.param_decls[0] for p in SUBJECT_OPTIONS}


def given_flags(choice: SubjectChoice, fields: tuple[str, ...]) -> list[str]:
    """The flags among ``fields`` that the user gave."""
    return [FLAGS[f] for f in fields if getattr(choice, f) not in (None, ())]


def _refuse(choice: SubjectChoice, fields: tuple[str, ...], why: str) -> None:
    given = given_flags(choice, fields)
    if given:
        raise ValueError(f"{', '.join(given)} cannot be used {why}")


def _with_history(subject: Subject, choice: SubjectChoice) -> Subject:
    """``subject`` with the recipe and initial weights the flags give (they win over its own)."""
    from occamlab.weights import load_weights

    changes: dict[str, Any] = {}
    if choice.recipe_file is not None:
        changes["recipe"] = load_recipe(choice.recipe_file)
    if choice.init_weights is not None:
        changes["init"] = load_weights(choice.init_weights)
    return dataclasses.replace(subject, **changes) if changes else subject


def resolve_subject(choice: SubjectChoice, store: Store, *, progress: bool) -> ResolvedSubject:
    """Build (or train, or import) the subject the flags describe."""
    from occamlab.data.arrays import check_finite
    from occamlab.fingerprint import subject_fingerprint
    from occamlab.recipes import import_subject, make_subject
    from occamlab.runs import train_run
    from occamlab.train import TrainSpec
    from occamlab.weights import load_into

    if choice.subject is not None:
        _refuse(
            choice,
            ("model", "model_opt", "data", "data_opt", "data_root", "init_seed"),
            "with --subject: your function builds the model and data",
        )
        subject, factory = import_subject(choice.subject, with_factory=True)
        for split in ("train", "test"):  # data from a user's function: checked like files
            for name, tensor in (("x", subject.split(split).x), ("y", subject.split(split).y)):
                check_finite(tensor.numpy(), source=choice.subject, name=f"{split} split's {name}")
        if choice.weights is not None:
            load_into(subject.model, choice.weights)
            subject.meta["weights"] = str(choice.weights)
        subject = _with_history(subject, choice)
        source = {"subject": choice.subject, "contents": subject_fingerprint(subject, factory)}
        return ResolvedSubject(subject, source)
    model_spec, data_spec = choice.specs()
    if choice.weights is not None:
        subject = make_subject(
            model=model_spec,
            data=data_spec,
            seed=choice.seed,
            weights=choice.weights,
            data_root=choice.data_root,
        )
        subject = _with_history(subject, choice)
        source = {"weights": str(choice.weights), "contents": subject_fingerprint(subject)}
        return ResolvedSubject(subject, source)
    _refuse(
        choice,
        ("init_weights",),
        "without --weights or --subject: occamlab trains this subject itself from --init-seed",
    )
    recipe = load_recipe(choice.recipe_file) if choice.recipe_file is not None else TrainSpec()
    trained = train_run(
        store,
        model=model_spec,
        data=data_spec,
        train=recipe,
        seed=choice.seed,
        data_root=choice.data_root,
        progress=progress,
    )
    subject = dataclasses.replace(trained.subject, recipe=recipe)
    return ResolvedSubject(
        subject, {"train_run": trained.record.id}, trained.record.metrics.get("history")
    )
