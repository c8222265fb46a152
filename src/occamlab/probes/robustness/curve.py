"""Accuracy against the attack radius ε: a classification subject's robust accuracy under PGD
(:mod:`~occamlab.probes.robustness.pgd`) on a grid of radii, streamed in batches."""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from typing import Any, Literal

import torch

from occamlab.jsonable import jsonable
from occamlab.probes.robustness.pgd import Norm, PGDSpec, pgd
from occamlab.specs import make_spec
from occamlab.subject import Subject


@dataclass(frozen=True)
class RobustnessSpec:
    """Options of :func:`robustness_curve` (and the flags of ``occam probe robustness``).

    Attributes:
        norm: ``linf`` or ``l2``.
        eps_max: the largest radius; the grid is ``points`` radii evenly spaced on [0, eps_max].
        points: radii on the grid (ε = 0 is the clean accuracy).
        steps: PGD steps per attack.
        step_size: PGD's α; 0 means ``2.5 ε / steps`` at each radius.
        random_start: start each attack at a uniform point of the ball.
        split: the split attacked.
        limit: attack the first ``limit`` examples of the split (0: all).
        batch_size: examples per attack batch.
        seed: seeds the random starts.
    """

    norm: Norm = "linf"
    eps_max: float = 0.3
    points: int = 7
    steps: int = 10
    step_size: float = 0.0
    random_start: bool = True
    split: Literal["train", "test"] = "test"
    limit: int = 1000
    batch_size: int = 500
    seed: int = 0

    def __post_init__(self) -> None:
        PGDSpec(eps=self.eps_max, norm=self.norm, steps=self.steps, step_size=self.step_size)
        if self.eps_max <= 0:
            raise ValueError(f"eps_max must be > 0, got {self.eps_max}")
        if self.points < 2:
            raise ValueError(f"points must be >= 2 (0 and eps_max), got {self.points}")
        if self.limit < 0 or self.batch_size < 1:
            raise ValueError("limit must be >= 0 (0: all) and batch_size >= 1")
        if self.split not in ("train", "test"):
            raise ValueError(f"split must be train or test, got {self.split!r}")

    def radii(self) -> list[float]:
        """The grid of radii, 0 first."""
        return [self.eps_max * i / (self.points - 1) for i in range(self.points)]


@dataclass(frozen=True)
class RobustnessCurve:
    """Accuracy under PGD at each radius.

    Attributes:
        eps: the radii.
        accuracy: accuracy on the attacked inputs at each radius (``accuracy[0]`` is clean when
            ``eps[0] == 0``).
        norm: the attack's norm.
        steps: PGD steps.
        random_start: whether attacks started at a random point of the ball.
        split: the split attacked.
        n: examples attacked.
        seconds: wall time.
    """

    eps: list[float]
    accuracy: list[float]
    norm: str
    steps: int
    random_start: bool
    split: str
    n: int
    seconds: float

    def accuracy_at(self, eps: float) -> float:
        """The accuracy at the grid radius ``eps``."""
        for e, a in zip(self.eps, self.accuracy, strict=True):
            if abs(e - eps) <= 1e-12 * max(1.0, abs(eps)):
                return a
        raise KeyError(f"eps {eps} is not on the grid {self.eps}")

    def to_dict(self) -> dict[str, Any]:
        return jsonable(dataclasses.asdict(self))

    def plot(self, ax=None, *, label: str | None = None):
        """Accuracy against ε."""
        if ax is None:
            import matplotlib

            matplotlib.use("Agg")
            from matplotlib.figure import Figure

            ax = Figure(figsize=(5.5, 3.8)).subplots()
        ax.plot(self.eps, self.accuracy, "o-", label=label)
        norm = "ℓ∞" if self.norm == "linf" else "ℓ2"
        ax.set(
            xlabel=f"{norm} radius ε",
            ylabel="accuracy under PGD",
            ylim=(0, 1.02),
            title=f"accuracy vs ε ({self.steps}-step PGD, {self.split}, n={self.n})",
        )
        if label:
            ax.legend(fontsize=8)
        ax.figure.tight_layout()
        return ax


def attacked_accuracy(
    subject: Subject,
    attack: PGDSpec,
    *,
    split: Literal["train", "test"] = "test",
    limit: int | None = None,
    batch_size: int = 500,
    generator: torch.Generator | None = None,
) -> float:
    """Accuracy of ``subject`` (eval mode) on the PGD adversarial examples of a split."""
    if subject.data.task != "classification":
        raise ValueError(
            f"robust accuracy needs a classification subject; {subject.data.name!r} is "
            "a regression task"
        )
    correct = n = 0
    with subject.eval_mode():
        for x, y in subject.batches(split, batch_size=batch_size, limit=limit):
            adv = pgd(subject.model, x, y, attack, loss=subject.loss, generator=generator)
            with torch.no_grad():
                correct += int((subject.model(adv).argmax(dim=-1) == y).sum())
            n += len(y)
    if n == 0:
        raise ValueError(f"the {split} split of {subject.data.name!r} is empty")
    return correct / n


def robustness_curve(
    subject: Subject, *, spec: RobustnessSpec | None = None, **options: Any
) -> RobustnessCurve:
    """Accuracy of ``subject`` under PGD at every radius of the grid (options:
    :class:`RobustnessSpec`); one generator seeded with ``seed`` draws every random start."""
    spec = make_spec(RobustnessSpec, {**(spec.__dict__ if spec else {}), **options})
    started = time.perf_counter()
    generator = torch.Generator().manual_seed(spec.seed)
    limit = spec.limit or None
    accuracy = [
        attacked_accuracy(
            subject,
            PGDSpec(
                eps=eps,
                norm=spec.norm,
                steps=spec.steps,
                step_size=spec.step_size,
                random_start=spec.random_start,
            ),
            split=spec.split,
            limit=limit,
            batch_size=spec.batch_size,
            generator=generator,
        )
        for eps in spec.radii()
    ]
    return RobustnessCurve(
        eps=spec.radii(),
        accuracy=accuracy,
        norm=spec.norm,
        steps=spec.steps,
        random_start=spec.random_start,
        split=spec.split,
        n=subject.num_examples(spec.split, limit),
        seconds=time.perf_counter() - started,
    )


__all__ = ["RobustnessCurve", "RobustnessSpec", "attacked_accuracy", "robustness_curve"]
