"""The subject flags every command that takes a subject shares, and how they resolve.

A subject comes from exactly one of: ``--subject pkg.mod:fn`` (the user's own function), a registry
spec plus ``--weights FILE``, or a registry spec alone (trained with the default recipe through
the store on first use, reused afterwards).
"""

from __future__ import annotations

import hashlib
import inspect
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import typer

from occamlab.cli_options import option_group
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
    _option("model", str, "mlp", "Model name (see `occam list --models`)."),
    _option(
        "model_opt",
        list[str] | None,
        None,
        "Model option KEY=VALUE (repeatable), e.g. width=128.",
    ),
    _option("data", str, "mnist1d", "Dataset name (see `occam list --datasets`)."),
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
        "Trained weights (.safetensors) for --model on --data.",
    ),
    _option("init_seed", int, 0, "Seed of the model's initialization."),
]


@dataclass(frozen=True)
class SubjectChoice:
    """What the subject flags said."""

    subject: str | None = None
    model: str = "mlp"
    model_opt: tuple[str, ...] = ()
    data: str = "mnist1d"
    data_opt: tuple[str, ...] = ()
    data_root: Path | None = None
    weights: Path | None = None
    init_seed: int = 0

    def specs(self):
        """The model and dataset specs named by the flags (validated)."""
        from occamlab.data import DATASETS
        from occamlab.models import MODELS

        return (
            MODELS.spec(self.model, **parse_assignments(self.model_opt)),
            DATASETS.spec(self.data, **parse_assignments(self.data_opt)),
        )


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
    """A subject, where it came from (part of any run spec about it), its training history and
    the recipe it was trained with (known only for the store's training runs)."""

    subject: Subject
    source: dict[str, Any]
    history: list[dict[str, Any]] | None = None
    recipe: Any = None  # a TrainSpec


def file_digest(path: Path) -> str:
    """SHA-256 of a file's bytes (so runs on different weights at one path differ)."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def resolve_subject(choice: SubjectChoice, store: Store, *, progress: bool) -> ResolvedSubject:
    """Build (or train, or import) the subject the flags describe."""
    from occamlab.recipes import import_subject, make_subject
    from occamlab.runs import train_run
    from occamlab.train import TrainSpec

    if choice.subject is not None:
        return ResolvedSubject(import_subject(choice.subject), {"subject": choice.subject})
    model_spec, data_spec = choice.specs()
    if choice.weights is not None:
        subject = make_subject(
            model=model_spec,
            data=data_spec,
            seed=choice.init_seed,
            weights=choice.weights,
            data_root=choice.data_root,
        )
        source = {"weights": str(choice.weights), "sha256": file_digest(choice.weights)}
        return ResolvedSubject(subject, source)
    recipe = TrainSpec()
    trained = train_run(
        store,
        model=model_spec,
        data=data_spec,
        train=recipe,
        seed=choice.init_seed,
        data_root=choice.data_root,
        progress=progress,
    )
    return ResolvedSubject(
        trained.subject,
        {"train_run": trained.record.id},
        trained.record.metrics.get("history"),
        recipe,
    )
