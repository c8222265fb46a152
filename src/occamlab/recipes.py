"""Making subjects: from registry specs (plus optional weights) or from a user's own function."""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path
from typing import Any

from occamlab.data import DATASETS, load_data
from occamlab.models import MODELS, build_model
from occamlab.specs import spec_to_dict
from occamlab.subject import LossName, Subject
from occamlab.weights import load_into


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
    )


def registry_spec(subject: Subject) -> Any:
    """The model spec a registry subject records in ``subject.meta`` (None for a user's own
    module)."""
    recorded = subject.meta.get("model_spec")
    if not isinstance(recorded, dict) or recorded.get("name") not in MODELS:
        return None
    return MODELS.spec(recorded["name"], **{k: v for k, v in recorded.items() if k != "name"})


def initial_params(subject: Subject) -> dict[str, Any] | None:
    """The initialization of a subject made by :func:`make_subject` (from its specs and seed).

    The initial weights are a function of the model spec and the seed only (whatever weights
    were loaded or trained since), so bounds may centre a prior there, measures may take
    distances from there and lottery tickets may rewind there. None for subjects made otherwise
    (e.g. a user's own function), or if the rebuilt names and shapes do not match.
    """
    spec, seed = registry_spec(subject), subject.meta.get("seed")
    if spec is None or not isinstance(seed, int):
        return None
    module = build_model(
        spec, input_shape=subject.data.input_shape, num_outputs=subject.data.num_outputs, seed=seed
    )
    init = {k: p.detach() for k, p in module.named_parameters() if p.requires_grad}
    own = subject.params()
    if set(init) != set(own) or any(init[k].shape != own[k].shape for k in own):
        return None
    return init


def import_subject(target: str) -> Subject:
    """Call ``package.module:function`` (no arguments) and check that it returns a Subject.

    The current folder is importable, so ``my_subject.py`` next to you works as
    ``my_subject:make``.
    """
    module_name, sep, attr = target.partition(":")
    if not sep or not module_name or not attr or not attr.isidentifier():
        raise ValueError(
            f"--subject expects 'package.module:function', got {target!r} "
            "(e.g. --subject my_experiments.subjects:make_subject)"
        )
    cwd = str(Path.cwd())
    if cwd not in sys.path:
        sys.path.insert(0, cwd)
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ValueError(f"cannot import module {module_name!r} for --subject: {exc}") from None
    factory = getattr(module, attr, None)
    if factory is None or not callable(factory):
        raise ValueError(f"module {module_name!r} has no function {attr!r} for --subject")
    subject = factory()
    if not isinstance(subject, Subject):
        raise ValueError(
            f"{target} returned {type(subject).__name__}, not an occamlab.Subject; "
            "return Subject(model=..., data=...)"
        )
    return subject
