"""Registry subjects rebuilt from their specs: the initial weights, and resized variants.

A subject made by :func:`occamlab.make_subject` (or trained by ``occam train``) records its model
spec and initialization seed in ``subject.meta``. Its initial weights are then a pure function of
that seed (:func:`occamlab.models.build_model`), and narrower or shallower versions of the same
architecture are the same spec with another width or depth. A user's own ``nn.Module`` has no
such spec: width sweeps need a registry model, and lottery tickets need the initial weights
passed explicitly.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from occamlab.models import MODELS, ModelSpec, build_model
from occamlab.subject import Subject

WIDTH_FIELDS = ("width", "channels")
DEPTH_FIELDS = ("depth", "layers", "blocks")


def registry_spec(subject: Subject) -> ModelSpec | None:
    """The model spec recorded in ``subject.meta`` (None for a user's own module)."""
    recorded = subject.meta.get("model_spec")
    if not isinstance(recorded, dict) or recorded.get("name") not in MODELS:
        return None
    fields = {k: v for k, v in recorded.items() if k != "name"}
    return MODELS.spec(recorded["name"], **fields)


def initial_params(subject: Subject) -> dict[str, Any] | None:
    """The initial weights of a registry subject, rebuilt from its spec and seed (else None).

    The rebuilt parameters must match the subject's names and shapes, or None is returned.
    """
    spec, seed = registry_spec(subject), subject.meta.get("seed")
    if spec is None or not isinstance(seed, int):
        return None
    module = build_model(
        spec,
        input_shape=subject.data.input_shape,
        num_outputs=subject.data.num_outputs,
        seed=seed,
    )
    params = {k: p.detach() for k, p in module.named_parameters()}
    own = subject.params()
    if {k: tuple(v.shape) for k, v in params.items()} != {
        k: tuple(v.shape) for k, v in own.items()
    }:
        return None
    return params


def size_field(spec: ModelSpec, kind: str) -> str | None:
    """The spec's width (``kind="width"``) or depth (``"depth"``) field, if it has one."""
    candidates = WIDTH_FIELDS if kind == "width" else DEPTH_FIELDS
    names = {f.name for f in dataclasses.fields(spec)}  # type: ignore[arg-type]
    return next((c for c in candidates if c in names), None)


def resized(spec: ModelSpec, *, width: int | None = None, depth: int | None = None) -> ModelSpec:
    """``spec`` with another width and/or depth (a clear error if it has no such field)."""
    changes = {}
    for kind, value in (("width", width), ("depth", depth)):
        if value is None:
            continue
        name = size_field(spec, kind)
        if name is None:
            raise ValueError(
                f"model {type(spec).name!r} has no {kind} field (looked for "
                f"{', '.join(WIDTH_FIELDS if kind == 'width' else DEPTH_FIELDS)})"
            )
        changes[name] = value
    return dataclasses.replace(spec, **changes)  # type: ignore[type-var]
