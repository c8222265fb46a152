"""The registry of experiments and their scales: what a spec class must declare to be registered,
and its spec at a named scale. Both the run (:mod:`~occamlab.experiments.framework`) and the page
(:mod:`~occamlab.experiments.page`) of an experiment look experiments up here."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from occamlab.specs import Registry, make_spec

T = TypeVar("T")
REQUIRED_SCALES = ("quick", "paper")


def check_experiment(cls: type) -> None:
    """Raise unless ``cls`` has a summary, a paper, a ``run`` method and valid ``scales``."""
    for attr in ("summary", "paper"):
        if not isinstance(getattr(cls, attr, None), str):
            raise TypeError(f"{cls.__name__} needs a `{attr}: ClassVar[str]`")
    if not callable(getattr(cls, "run", None)):
        raise TypeError(f"{cls.__name__} needs a `run(self, ctx)` method")
    scales = getattr(cls, "scales", None)
    if not isinstance(scales, Mapping) or any(s not in scales for s in REQUIRED_SCALES):
        raise TypeError(f"{cls.__name__}.scales must define {list(REQUIRED_SCALES)}")
    for overrides in scales.values():
        make_spec(cls, overrides)  # unknown fields or bad values fail here, at import


EXPERIMENTS: Registry[Any] = Registry("experiment", check=check_experiment)


def spec_at_scale(cls: type[T], scale: str = "quick", overrides: Mapping[str, Any] | None = None):
    """The spec of ``cls`` at ``scale``, with explicit ``overrides`` applied on top."""
    scales: Mapping[str, Mapping[str, Any]] = getattr(cls, "scales", {})
    if scale not in scales:
        raise ValueError(
            f"unknown scale {scale!r} for {getattr(cls, 'name', cls.__name__)}; "
            f"valid scales: {', '.join(scales)}"
        )
    return make_spec(cls, {**scales[scale], **dict(overrides or {})})
