"""The registry of experiments, their scales and settings: what a spec class must declare to be
registered, and its spec at a named scale and setting. Both the run
(:mod:`~occamlab.experiments.framework`) and the page (:mod:`~occamlab.experiments.page`) of an
experiment look experiments up here."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from occamlab.specs import Registry, make_spec

T = TypeVar("T")
REQUIRED_SCALES = ("quick", "paper")
DEFAULT_SETTING = "default"


def check_experiment(cls: type) -> None:
    """Raise unless ``cls`` has a summary, a paper, a ``run`` method, valid ``scales`` and valid
    ``settings`` (optional: named field overrides applied on top of a scale)."""
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
    settings = getattr(cls, "settings", {})
    if not isinstance(settings, Mapping) or DEFAULT_SETTING in settings:
        raise TypeError(
            f"{cls.__name__}.settings must map names other than {DEFAULT_SETTING!r} to overrides"
        )
    for overrides in settings.values():
        for scale in REQUIRED_SCALES:
            make_spec(cls, {**scales[scale], **overrides})


EXPERIMENTS: Registry[Any] = Registry("experiment", check=check_experiment)


def settings_of(cls: type) -> list[str]:
    """The names of the settings of ``cls``: ``"default"`` first, then its alternatives."""
    return [DEFAULT_SETTING, *getattr(cls, "settings", {})]


def spec_at_scale(
    cls: type[T],
    scale: str = "quick",
    overrides: Mapping[str, Any] | None = None,
    setting: str = DEFAULT_SETTING,
):
    """The spec of ``cls`` at ``scale`` and ``setting``, with explicit ``overrides`` on top.

    A setting is a named set of field overrides (another data set, width, step size or problem
    size where the paper's claim should still hold), applied over the scale's preset; its claims
    are decided by the same logic as the default's.
    """
    label = getattr(cls, "name", cls.__name__)
    scales: Mapping[str, Mapping[str, Any]] = getattr(cls, "scales", {})
    if scale not in scales:
        raise ValueError(f"unknown scale {scale!r} for {label}; valid scales: {', '.join(scales)}")
    settings: Mapping[str, Mapping[str, Any]] = getattr(cls, "settings", {})
    if setting != DEFAULT_SETTING and setting not in settings:
        raise ValueError(
            f"unknown setting {setting!r} for {label}; "
            f"valid settings: {', '.join(settings_of(cls))}"
        )
    chosen = settings.get(setting, {})
    return make_spec(cls, {**scales[scale], **chosen, **dict(overrides or {})})
