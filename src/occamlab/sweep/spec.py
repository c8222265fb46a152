"""Sweep files: a base, a grid and/or a list of members, read from TOML.

A training sweep (registry model × dataset × recipe × seed)::

    [sweep]
    name = "width"
    kind = "train"

    [base]                       # fixed fields of every member
    model = "mlp"                # registry names
    data = "mnist1d"
    "model.depth" = 2            # model.FIELD, data.FIELD, train.FIELD, seed, loss
    "train.epochs" = 20

    [grid]                       # the cartesian product of these lists
    "model.width" = [16, 32, 64]
    seed = [0, 1, 2, 3]

An experiment sweep runs a registered experiment at several settings::

    [sweep]
    kind = "experiment"
    experiment = "random-labels"
    scale = "quick"              # the preset under the members' fields

    [grid]
    width = [64, 128]

``[[members]]`` tables list members explicitly (each merged over ``[base]``); with both, the grid
is applied to every listed member.
"""

from __future__ import annotations

import itertools
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from occamlab.runs import TrainJob
from occamlab.specs import make_spec

Kind = Literal["train", "experiment"]
_TRAIN_KEYS = ("model", "data", "seed", "loss")


@dataclass(frozen=True)
class SweepSpec:
    """A parsed sweep: its name, kind and members (TrainJobs or experiment specs)."""

    name: str
    kind: Kind
    members: tuple[Any, ...]


def _expand(doc: Mapping[str, Any]) -> list[dict[str, Any]]:
    base = dict(doc.get("base", {}))
    listed = [dict(m) for m in doc.get("members", [{}])]
    grid = dict(doc.get("grid", {}))
    for key, values in grid.items():
        if not isinstance(values, list) or not values:
            raise ValueError(f"grid entry {key!r} must be a non-empty list, got {values!r}")
    combos = [dict(zip(grid, vals, strict=True)) for vals in itertools.product(*grid.values())]
    return [{**base, **m, **c} for m in listed for c in combos]


def _train_job(fields: Mapping[str, Any]) -> TrainJob:
    from occamlab.data import data_spec
    from occamlab.models import model_spec
    from occamlab.train import TrainSpec

    parts: dict[str, dict[str, Any]] = {"model": {}, "data": {}, "train": {}}
    top: dict[str, Any] = {}
    for key, value in fields.items():
        head, dot, rest = key.partition(".")
        if dot and head in parts:
            parts[head][rest] = value
        elif not dot and key in _TRAIN_KEYS:
            top[key] = value
        else:
            raise ValueError(
                f"unknown sweep field {key!r}; use model, data, seed, loss or "
                "model.FIELD, data.FIELD, train.FIELD"
            )
    for key in ("model", "data"):
        if key not in top:
            raise ValueError(f"a training sweep needs {key!r} (a registry name) in [base] or grid")
    return TrainJob(
        model=model_spec(top["model"], **parts["model"]),
        data=data_spec(top["data"], **parts["data"]),
        train=make_spec(TrainSpec, parts["train"]),
        seed=int(top.get("seed", 0)),
        loss=top.get("loss"),
    )


def parse_sweep(doc: Mapping[str, Any], *, default_name: str = "sweep") -> SweepSpec:
    """Build a :class:`SweepSpec` from a parsed TOML document (validates every member)."""
    head = dict(doc.get("sweep", {}))
    kind = head.get("kind", "train")
    fields = _expand(doc)
    if kind == "train":
        members: list[Any] = [_train_job(f) for f in fields]
    elif kind == "experiment":
        from occamlab.experiments import EXPERIMENTS, spec_at_scale

        if "experiment" not in head:
            raise ValueError("an experiment sweep needs [sweep] experiment = NAME")
        cls = EXPERIMENTS.get(head["experiment"])
        members = [spec_at_scale(cls, head.get("scale", "quick"), f) for f in fields]
    else:
        raise ValueError(f"[sweep] kind must be 'train' or 'experiment', got {kind!r}")
    if len(set(map(repr, members))) != len(members):
        raise ValueError("the sweep lists the same member twice")
    return SweepSpec(name=str(head.get("name", default_name)), kind=kind, members=tuple(members))


def load_sweep(path: str | os.PathLike) -> SweepSpec:
    """Read a sweep file (TOML)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"sweep file {str(path)!r} does not exist")
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{path}: not valid TOML: {exc}") from None
    return parse_sweep(doc, default_name=path.stem)
