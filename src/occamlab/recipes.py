"""Making subjects: from registry specs (plus optional weights) or from a user's own function."""

from __future__ import annotations

import importlib
import inspect
import os
import sys
from pathlib import Path
from typing import Any

from occamlab.data import DATASETS, load_data
from occamlab.models import MODELS, build_model
from occamlab.specs import spec_to_dict
from occamlab.subject import LossName, Subject
from occamlab.train.spec import TrainSpec
from occamlab.weights import load_into, load_weights


def make_subject(
    *,
    model: str | Any = "mlp",
    data: str | Any = "mnist1d",
    seed: int = 0,
    loss: LossName | None = None,
    weights: str | os.PathLike | None = None,
    data_root: str | os.PathLike | None = None,
    model_options: dict[str, Any] | None = None,
    data_options: dict[str, Any] | None = None,
    init_weights: str | os.PathLike | None = None,
    recipe: TrainSpec | None = None,
) -> Subject:
    """A subject built from registry specs (names or spec objects), initialized from ``seed``.

    Args:
        model: a model name from ``occamlab.models.MODELS`` or a model spec.
        data: a dataset name from ``occamlab.data.DATASETS`` or a dataset spec.
        seed: initialization seed of the model.
        loss: defaults to cross-entropy for classification, MSE for regression.
        weights: a ``.safetensors`` file (or a plain tensor file readable with
            ``torch.load(weights_only=True)``) to load into the model.
        data_root: folder for datasets read from files (MNIST IDX, CIFAR-10, npz).
        model_options: overrides of the named model spec's fields.
        data_options: overrides of the named data spec's fields.
        init_weights: the weights training started from (a weights file), when ``weights`` were
            trained elsewhere. Without it, a subject loaded from ``weights`` has unknown initial
            weights (the seed's initialization is not assumed to be where training started).
        recipe: the recipe the weights were trained with, if known (:attr:`Subject.recipe`).
    """
    model_spec = MODELS.spec(model, **(model_options or {})) if isinstance(model, str) else model
    data_spec = DATASETS.spec(data, **(data_options or {})) if isinstance(data, str) else data
    dataset = load_data(data_spec, root=data_root)
    module = build_model(
        model_spec, input_shape=dataset.input_shape, num_outputs=dataset.num_outputs, seed=seed
    )
    if weights is not None:
        load_into(module, weights)
    meta = {
        "model_spec": spec_to_dict(model_spec),
        "data_spec": spec_to_dict(data_spec),
        "seed": seed,
    }
    if weights is not None:
        meta["weights"] = str(weights)
    return Subject(
        model=module,
        data=dataset,
        loss=loss,
        name=f"{type(model_spec).name} on {type(data_spec).name}",
        meta=meta,
        recipe=recipe,
        init=None if init_weights is None else load_weights(init_weights),
    )


def registry_spec(subject: Subject) -> Any:
    """The model spec a registry subject records in ``subject.meta`` (None for a user's own
    module)."""
    recorded = subject.meta.get("model_spec")
    if not isinstance(recorded, dict) or recorded.get("name") not in MODELS:
        return None
    return MODELS.spec(recorded["name"], **{k: v for k, v in recorded.items() if k != "name"})


def initial_params(subject: Subject) -> dict[str, Any] | None:
    """The weights ``subject`` was trained from: :attr:`Subject.init` when given, else the
    initialization of a registry subject trained by occamlab (from its specs and seed).

    A registry subject's initial weights are a function of the model spec and the seed only, so
    bounds may centre a prior there, measures may take distances from there and lottery tickets
    may rewind there. None when unknown: a user's own module without ``init``, a registry model
    whose weights were loaded from a file (trained elsewhere, from an initialization occamlab
    cannot know), or if the rebuilt names and shapes do not match.
    """
    if subject.init is not None:
        return dict(subject.init)
    spec, seed = registry_spec(subject), subject.meta.get("seed")
    if spec is None or not isinstance(seed, int) or "weights" in subject.meta:
        return None
    module = build_model(
        spec, input_shape=subject.data.input_shape, num_outputs=subject.data.num_outputs, seed=seed
    )
    init = {k: p.detach() for k, p in module.named_parameters() if p.requires_grad}
    own = subject.params()
    if set(init) != set(own) or any(init[k].shape != own[k].shape for k in own):
        return None
    return init


def import_subject(target: str, *, with_factory: bool = False) -> Any:
    """Call ``package.module:function`` (no arguments) and check that it returns a Subject.

    The current folder is importable, so ``my_subject.py`` next to you works as
    ``my_subject:make``. The function must be a Python function (or class) that takes no
    arguments; whatever it raises, and a non-Subject return value, end in a ``ValueError`` that
    says what went wrong. ``with_factory=True`` returns ``(subject, function)``.
    """
    module_name, sep, attr = target.partition(":")
    parts = module_name.split(".")
    if not sep or not all(p.isidentifier() for p in parts) or not attr.isidentifier():
        raise ValueError(
            f"--subject expects 'package.module:function' (dotted Python names, no paths), got "
            f"{target!r}; e.g. --subject my_experiments.subjects:make_subject"
        )
    cwd = str(Path.cwd())
    if cwd not in sys.path:
        sys.path.insert(0, cwd)
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # noqa: BLE001 - any failure to import is the user's module
        raise ValueError(
            f"cannot import module {module_name!r} for --subject: {type(exc).__name__}: {exc}"
        ) from None
    factory = getattr(module, attr, None)
    if factory is None:
        raise ValueError(f"module {module_name!r} has no function {attr!r} for --subject")
    if not (inspect.isfunction(factory) or inspect.isclass(factory)):
        raise ValueError(
            f"{target} is a {type(factory).__name__}, not a Python function of yours; --subject "
            "calls a function you wrote that takes no arguments and returns an occamlab.Subject"
        )
    try:
        inspect.signature(factory).bind()
    except TypeError:
        raise ValueError(
            f"{target} needs arguments; --subject calls it with none (give its parameters "
            "defaults, or wrap it in a function that takes none)"
        ) from None
    try:
        subject = factory()
    except (Exception, SystemExit) as exc:  # noqa: BLE001 - reported in one line, with where
        where = ""
        tb = exc.__traceback__
        while tb is not None and tb.tb_next is not None:
            tb = tb.tb_next
        if tb is not None:
            where = f" at {Path(tb.tb_frame.f_code.co_filename).name}:{tb.tb_lineno}"
        raise ValueError(
            f"{target} raised {type(exc).__name__}{where}: {exc}".rstrip(": ")
        ) from None
    if not isinstance(subject, Subject):
        raise ValueError(
            f"{target} returned {type(subject).__name__}, not an occamlab.Subject; "
            "return Subject(model=..., data=...)"
        )
    return (subject, factory) if with_factory else subject
