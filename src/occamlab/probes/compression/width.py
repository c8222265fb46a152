"""Width (and depth) sweeps: retrain the subject's architecture at other sizes, same recipe.

If a network half as wide, trained from scratch with the same recipe, reaches the same test
accuracy, the subject's size is not needed to *represent* a good solution. Comparing with pruning
(which starts from the trained large network) separates "the small network exists" from "the
small network is found by training" (Frankle & Carbin 2019; Zhu & Gupta 2017, arXiv 1710.01878,
who find large-sparse beats small-dense at equal size).

Every member is trained by one function, :func:`train_member` (``trainer`` argument), so a
vectorized trainer of many small models can replace it without touching the sweep. Only registry
subjects can be resized (their spec is recorded in ``subject.meta``); for a user's own module a
width sweep needs a registry spec.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from occamlab.data.base import Data
from occamlab.models import ModelSpec, build_model
from occamlab.probes.compression.rebuild import registry_spec, resized, size_field
from occamlab.specs import spec_to_dict
from occamlab.subject import LossName, Subject
from occamlab.train import TrainSpec, fit

Trainer = Callable[..., dict[str, Any]]
"""``trainer(model, data, train, *, seed, loss) -> {"num_parameters", "test_accuracy", ...}``."""


def train_member(
    model: ModelSpec, data: Data, train: TrainSpec, *, seed: int, loss: LossName | None
) -> dict[str, Any]:
    """Build ``model`` from ``seed``, train it on ``data`` with ``train``, return final metrics."""
    module = build_model(
        model, input_shape=data.input_shape, num_outputs=data.num_outputs, seed=seed
    )
    subject = Subject(model=module, data=data, loss=loss, name=type(model).name)
    result = fit(subject, train)
    final = {k: v for k, v in result.final.items() if k not in ("epoch", "step", "lr")}
    return {
        "num_parameters": subject.num_parameters,
        **final,
        "steps": result.steps,
        "seconds": result.seconds,
    }


@dataclass(frozen=True)
class WidthSweepResult:
    """Members of a size sweep and the subject they are compared with.

    Attributes:
        model: the subject's model spec (as a dict).
        width_field, depth_field: the spec fields varied.
        reference: the subject's width, depth and parameter count.
        rows: one per (width, depth, seed): ``width``, ``depth``, ``seed``, ``num_parameters``
            and the final train/test metrics.
    """

    model: dict[str, Any]
    width_field: str | None
    depth_field: str | None
    reference: dict[str, Any]
    rows: list[dict[str, Any]]

    def mean_rows(self) -> list[dict[str, Any]]:
        """Rows averaged over seeds (test accuracy and loss), one per (width, depth)."""
        out = []
        key = lambda r: (r["width"], r["depth"])  # noqa: E731
        for (width, depth), group in itertools.groupby(sorted(self.rows, key=key), key=key):
            group = list(group)
            acc = [r["test_accuracy"] for r in group if r.get("test_accuracy") is not None]
            out.append(
                {
                    "width": width,
                    "depth": depth,
                    "num_parameters": group[0]["num_parameters"],
                    "seeds": len(group),
                    "test_accuracy": float(np.mean(acc)) if acc else None,
                    "test_loss": float(np.mean([r["test_loss"] for r in group])),
                }
            )
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "width_field": self.width_field,
            "depth_field": self.depth_field,
            "reference": self.reference,
            "rows": self.rows,
            "mean": self.mean_rows(),
        }

    def plot(self, ax: Any = None) -> Any:
        """Mean test accuracy (or loss) against parameters, one line per depth."""
        if ax is None:
            import matplotlib.pyplot as plt

            _, ax = plt.subplots()
        rows = self.mean_rows()
        key = "test_accuracy" if rows[0]["test_accuracy"] is not None else "test_loss"
        for depth in sorted({r["depth"] for r in rows}, key=str):
            line = sorted((r for r in rows if r["depth"] == depth), key=lambda r: r["width"])
            ax.plot(
                [r["num_parameters"] for r in line],
                [r[key] for r in line],
                "o-",
                label=f"{self.depth_field or 'depth'} {depth}",
            )
        ax.set(xscale="log", xlabel="parameters", ylabel=key.replace("_", " "))
        ax.legend()
        return ax


def width_sweep(
    subject: Subject,
    train: TrainSpec,
    *,
    widths: Sequence[int],
    depths: Sequence[int] | None = None,
    seeds: Sequence[int] = (0,),
    trainer: Trainer = train_member,
) -> WidthSweepResult:
    """Retrain the subject's registry architecture at each width (× depth) with ``train``.

    Args:
        subject: a registry subject (its ``meta`` holds the model spec); its data and loss are
            reused, its module is not touched.
        train: the recipe of every member.
        widths: widths (units or channels per layer) to train.
        depths: depths to train (default: the subject's own).
        seeds: initialization seeds per size.
        trainer: trains one member (default :func:`train_member`).

    Raises:
        ValueError: the subject has no registry spec, or the spec has no width/depth field.
    """
    spec = registry_spec(subject)
    if spec is None:
        raise ValueError(
            "a width sweep retrains the architecture at other widths, which needs a registry "
            "model spec: build the subject with occamlab.make_subject (or occam train) rather "
            "than from your own nn.Module"
        )
    width_field, depth_field = size_field(spec, "width"), size_field(spec, "depth")
    if width_field is None:
        raise ValueError(f"model {type(spec).name!r} has no width to vary")
    if not widths:
        raise ValueError("give at least one width")
    if any(int(w) < 1 for w in widths) or (depths and any(int(d) < 0 for d in depths)):
        raise ValueError("widths must be >= 1 and depths >= 0")
    if depths and depth_field is None:
        raise ValueError(f"model {type(spec).name!r} has no depth to vary")
    own_depth = getattr(spec, depth_field) if depth_field else None
    rows = []
    for width, depth, seed in itertools.product(widths, depths or [own_depth], seeds):
        member = resized(spec, width=int(width), depth=None if depth is None else int(depth))
        metrics = trainer(member, subject.data, train, seed=int(seed), loss=subject.loss)
        rows.append({"width": int(width), "depth": depth, "seed": int(seed), **metrics})
    reference = {
        "width": getattr(spec, width_field),
        "depth": own_depth,
        "num_parameters": subject.num_parameters,
    }
    return WidthSweepResult(
        model=spec_to_dict(spec),
        width_field=width_field,
        depth_field=depth_field,
        reference=reference,
        rows=rows,
    )
