"""Typed specs: frozen dataclasses with flat scalar fields, registries of them, and their hashes.

Every configurable thing (dataset, model, training recipe, experiment) is a frozen dataclass whose
fields are ``int``, ``float``, ``str``, ``bool``, a ``Literal`` of those, or ``X | None``. That
keeps specs hashable into run ids, printable as JSON, and turnable into CLI flags without listing
flags by hand.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar, Generic, Literal, TypeVar, get_args, get_origin

S = TypeVar("S")


def field_types(cls: type) -> dict[str, Any]:
    """Resolved type annotations of a spec dataclass's init fields."""
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls) if f.init}


def _strip_optional(tp: Any) -> tuple[Any, bool]:
    origin = get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in get_args(tp) if a is not type(None)]
        if len(args) == 1 and len(get_args(tp)) == 2:
            return args[0], True
    return tp, False


def coerce(tp: Any, value: Any, *, where: str) -> Any:
    """Convert ``value`` (often a CLI string) to the field type ``tp`` or raise a clear error."""
    inner, optional = _strip_optional(tp)
    if optional and (value is None or (isinstance(value, str) and value.lower() == "none")):
        return None
    if get_origin(inner) is Literal:
        choices = get_args(inner)
        for choice in choices:
            if value == choice or (isinstance(value, str) and str(choice) == value):
                return choice
        raise ValueError(f"{where} must be one of {list(choices)}, got {value!r}")
    try:
        if inner is bool:
            if isinstance(value, str):
                low = value.lower()
                if low in ("1", "true", "yes", "on"):
                    return True
                if low in ("0", "false", "no", "off"):
                    return False
                raise ValueError
            return bool(value)
        if inner is int:
            if isinstance(value, float) and not value.is_integer():
                raise ValueError
            if isinstance(value, str):
                return int(value)
            return int(value)
        if inner is float:
            return float(value)
        if inner is str:
            return str(value)
    except (TypeError, ValueError):
        raise ValueError(
            f"{where} expects {getattr(inner, '__name__', inner)}, got {value!r}"
        ) from None
    raise TypeError(f"{where}: unsupported spec field type {tp!r}")


def make_spec(cls: type[S], overrides: Mapping[str, Any] | None = None) -> S:
    """Build ``cls`` from defaults plus ``overrides``, coercing and validating each value."""
    types_ = field_types(cls)
    kwargs = {}
    for key, value in (overrides or {}).items():
        if key not in types_:
            raise ValueError(
                f"{getattr(cls, 'name', cls.__name__)} has no option {key!r}; "
                f"valid options: {', '.join(sorted(types_))}"
            )
        kwargs[key] = coerce(types_[key], value, where=f"option {key!r}")
    return cls(**kwargs)


def parse_assignments(items: Sequence[str]) -> dict[str, str]:
    """Parse ``["width=128", "depth=3"]`` into a dict; each item must contain ``=``."""
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ValueError(f"expected KEY=VALUE, got {item!r}")
        out[key.strip().replace("-", "_")] = value.strip()
    return out


def spec_to_dict(spec: Any) -> dict[str, Any]:
    """JSON-safe dict of a spec, with its registry name under ``"name"`` when it has one."""
    out = {f.name: getattr(spec, f.name) for f in dataclasses.fields(spec) if f.init}
    for key, value in out.items():
        if dataclasses.is_dataclass(value):
            out[key] = spec_to_dict(value)
    name = getattr(type(spec), "name", None)
    if isinstance(name, str):
        out = {"name": name, **out}
    return out


def spec_hash(payload: Any, *, length: int = 12) -> str:
    """Stable hex digest of a JSON-able payload (sorted keys, no whitespace)."""
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=spec_to_dict)
    return hashlib.sha256(text.encode()).hexdigest()[:length]


class Registry(Generic[S]):
    """Names to spec classes. Each spec class carries ``name: ClassVar[str]``."""

    kind: str

    def __init__(self, kind: str, *, check: Callable[[type], None] | None = None) -> None:
        self.kind = kind
        self._check = check
        self._specs: dict[str, type[S]] = {}

    def register(self, cls: type[S]) -> type[S]:
        """Add ``cls`` under its ``name`` (after the registry's own ``check``, if any)."""
        name = getattr(cls, "name", None)
        if not isinstance(name, str):
            raise TypeError(f"{cls.__name__} needs a `name: ClassVar[str]` to be registered")
        if self._check is not None:
            self._check(cls)
        if name in self._specs:
            raise ValueError(f"{self.kind} {name!r} is registered twice")
        self._specs[name] = cls
        return cls

    def names(self) -> list[str]:
        return sorted(self._specs)

    def get(self, name: str) -> type[S]:
        try:
            return self._specs[name]
        except KeyError:
            raise ValueError(
                f"unknown {self.kind} {name!r}; valid {self.kind}s: {', '.join(self.names())}"
            ) from None

    def spec(self, name: str, **overrides: Any) -> S:
        """The spec registered as ``name`` with ``overrides`` applied (validated)."""
        return make_spec(self.get(name), overrides)

    def __contains__(self, name: object) -> bool:
        return name in self._specs

    def __iter__(self):
        return iter(self.names())


__all__ = [
    "ClassVar",
    "Registry",
    "coerce",
    "field_types",
    "make_spec",
    "parse_assignments",
    "spec_hash",
    "spec_to_dict",
]
