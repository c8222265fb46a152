"""CLI flags generated from spec dataclasses, so no option is ever listed twice by hand."""

from __future__ import annotations

import dataclasses
import functools
import inspect
import re
import typing
from collections.abc import Callable
from typing import Any, Literal, get_args, get_origin

import typer

from occamlab.specs import _strip_optional, field_types, make_spec


def field_docs(cls: type) -> dict[str, str]:
    """Field descriptions from the ``Attributes:`` section of a Google-style docstring."""
    doc = inspect.getdoc(cls) or ""
    docs: dict[str, str] = {}
    if "Attributes:" not in doc:
        return docs
    current = None
    for line in doc.split("Attributes:", 1)[1].splitlines():
        match = re.match(r"^\s{4}(\w+)(?: \([^)]*\))?:\s*(.*)$", line)
        if match:
            current = match.group(1)
            docs[current] = match.group(2).strip()
        elif current and line.startswith("        "):
            docs[current] += " " + line.strip()
        elif line.strip() and not line.startswith(" "):
            break
    return docs


def _help(cls: type, f: dataclasses.Field, tp: Any, docs: dict[str, str]) -> str:
    inner, _ = _strip_optional(tp)
    text = docs.get(f.name, "")
    if get_origin(inner) is Literal:
        text += f" [one of: {', '.join(map(str, get_args(inner)))}]"
    default = f.default if f.default is not dataclasses.MISSING else None
    return f"{text} [default: {default}]".strip()


def option_group(
    param: str, options: list[inspect.Parameter], build: Callable[[dict[str, Any]], Any]
) -> Callable:
    """Decorate a Typer command: add ``options`` to its flags, pass ``build(values)`` as ``param``.

    This is how a group of flags shared by several commands (a spec's fields, the subject
    choice) is written once.
    """
    names = [p.name for p in options]

    def decorate(fn: Callable) -> Callable:
        sig = inspect.signature(fn)
        clash = set(names) & set(sig.parameters)
        if clash:
            raise TypeError(f"{fn.__name__}: options {sorted(clash)} are defined twice")
        # Resolve the command's own (string) annotations here: Typer evaluates the signature in
        # this module's namespace, not the command's.
        hints = typing.get_type_hints(fn, include_extras=True)
        kept = [
            p.replace(annotation=hints.get(p.name, p.annotation))
            for p in sig.parameters.values()
            if p.name != param
        ]

        @functools.wraps(fn)
        def wrapper(**kwargs: Any) -> Any:
            kwargs[param] = build({k: kwargs.pop(k) for k in names if k in kwargs})
            return fn(**kwargs)

        params = kept + [p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in options]
        wrapper.__signature__ = sig.replace(  # type: ignore[attr-defined]
            parameters=params, return_annotation=hints.get("return", None)
        )
        wrapper.__annotations__ = {p.name: p.annotation for p in params}
        wrapper.__annotations__["return"] = hints.get("return", None)
        del wrapper.__wrapped__
        return wrapper

    return decorate


def spec_options(
    spec_cls: type,
    *,
    param: str,
    exclude: tuple[str, ...] = (),
    build: Callable[[dict[str, Any]], Any] | None = None,
) -> Callable:
    """Decorate a Typer command so each field of ``spec_cls`` becomes a ``--flag``.

    The command receives the built, validated spec as its ``param`` argument. Values are parsed
    and checked by :func:`occamlab.specs.make_spec`, so the messages match the Python API's.
    With ``build``, the command receives ``build(flags given)`` instead (a dict of the flags the
    user set, as strings), e.g. to layer them over a preset.
    """
    types = {k: v for k, v in field_types(spec_cls).items() if k not in exclude}
    docs = field_docs(spec_cls)
    fields = {f.name: f for f in dataclasses.fields(spec_cls)}

    def flag(name: str) -> str:
        dashed = name.replace("_", "-")
        # Booleans get an on/off pair (--density/--no-density); the rest take a value.
        return (
            f"--{dashed}/--no-{dashed}"
            if _strip_optional(types[name])[0] is bool
            else f"--{dashed}"
        )

    options = [
        inspect.Parameter(
            name,
            inspect.Parameter.KEYWORD_ONLY,
            default=typer.Option(
                None,
                flag(name),
                help=_help(spec_cls, fields[name], tp, docs),
                show_default=False,
                rich_help_panel=spec_cls.__name__,
            ),
            annotation=(bool if _strip_optional(tp)[0] is bool else str) | None,
        )
        for name, tp in types.items()
    ]

    def given(values: dict[str, Any]) -> Any:
        values = {k: v for k, v in values.items() if v is not None}
        return make_spec(spec_cls, values) if build is None else build(values)

    return option_group(param, options, given)


@dataclasses.dataclass(frozen=True)
class CliKit:
    """What a command module takes from the ``occam`` app, so it can add commands to a group.

    Attributes:
        command: decorator factory ``command(name, on=group)`` that turns user errors into one
            line on stderr and exit code 2 (and ``{"error": ...}`` under ``--json``).
        emit: ``emit(as_json, payload, human)`` prints one JSON document or calls ``human()``.
        out: the Rich console for human output (stdout).
        err: the Rich console for logs and notes (stderr).
        store_opt: the annotated type of the ``--store`` option.
        json_opt: the annotated type of the ``--json`` option.
        default_store: the default store path.
    """

    command: Callable
    emit: Callable
    out: Any
    err: Any
    store_opt: Any
    json_opt: Any
    default_store: Any
