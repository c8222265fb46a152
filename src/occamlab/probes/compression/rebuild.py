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

from occamlab.models import ModelSpec
from occamlab.recipes import initial_params, registry_spec

__all__ = ["initial_params", "registry_spec", "resized", "size_field"]

WIDTH_FIELDS = ("width", "channels")
DEPTH_FIELDS = ("depth", "layers", "blocks")


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
