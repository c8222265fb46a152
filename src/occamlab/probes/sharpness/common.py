"""Shared machinery of the sharpness probes: a counted full-data objective, checks, results.

Every sharpness probe asks about the *full-data mean loss* of one split (optionally its first
``limit`` examples) as a function of a flat parameter vector. :class:`FlatObjective` evaluates
that function (and its exact autograd gradient) by streaming the split in batches and adding
per-batch loss *sums*, like :meth:`Subject.evaluate`, and counts how often it was called. It never
writes to the module: perturbed parameters live in new tensors passed through
:func:`torch.func.functional_call`.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

from occamlab.jsonable import jsonable
from occamlab.linalg.params import flatten, unflatten
from occamlab.notebook import HtmlRepr
from occamlab.subject import Evaluation, Subject

MAX_EXPANSIONS = 6  # times each end of a scale search's bracket may move by a factor of 10


def measure_value(evaluation: Evaluation, measure: str) -> float:
    """The quantity a flatness search watches: the loss, or the error (1 − accuracy)."""
    return evaluation.loss if measure == "loss" else 1.0 - float(evaluation.accuracy)


def largest_satisfying(
    satisfies: Callable[[float], bool], low: float, high: float, *, depth: int
) -> tuple[float, float, bool]:
    """The largest scale that ``satisfies`` (true for small scales, false for large ones).

    The bracket's upper end is multiplied by 10 while it still satisfies, its lower end divided
    by 10 while it fails (at most :data:`MAX_EXPANSIONS` times each), then ``depth`` geometric
    bisection steps shrink it.

    Returns:
        ``(scale, upper, bracketed)``: the largest satisfying scale found (the lower end when no
        bracket was found), the smallest failing one (inf if none), and whether the search
        bracketed the answer.
    """
    for _ in range(MAX_EXPANSIONS):
        if not satisfies(high):
            break
        low, high = high, high * 10.0
    for _ in range(MAX_EXPANSIONS):
        if satisfies(low):
            break
        low, high = low / 10.0, low
    ok_low, ok_high = satisfies(low), not satisfies(high)
    if ok_low and ok_high:
        for _ in range(depth):
            middle = math.sqrt(low * high)
            if satisfies(middle):
                low = middle
            else:
                high = middle
    scale = high if ok_low and not ok_high else low
    return scale, (math.inf if not ok_high else high), ok_low and ok_high


class FlatObjective:
    """The mean loss of a split as a function of the flattened trainable parameters.

    Call only inside ``subject.eval_mode()``: the probes evaluate one fixed (eval-mode) function.
    """

    def __init__(self, subject: Subject, split: str, limit: int | None) -> None:
        subject.split(split)  # raises a clear error for an unknown split
        self.subject = subject
        self.split = split
        self.limit = limit
        self.like = subject.params()
        dtypes = {p.dtype for p in self.like.values()}
        if len(dtypes) != 1:
            names = ", ".join(sorted(str(d) for d in dtypes))
            raise ValueError(f"sharpness probes need parameters of one dtype, got {names}")
        self.w = flatten(self.like).clone()  # a copy: nothing below can reach the module
        self.loss_evaluations = 0
        self.gradient_evaluations = 0
        self.num_examples = 0

    @property
    def dtype(self) -> torch.dtype:
        return self.w.dtype

    def params_at(self, theta: torch.Tensor) -> dict[str, torch.Tensor]:
        return unflatten(theta, self.like)

    def loss(self, theta: torch.Tensor) -> float:
        """Mean loss at ``theta`` (no gradient)."""
        total, n = 0.0, 0
        params = self.params_at(theta.detach())
        with torch.no_grad():
            for x, y in self.subject.batches(self.split, limit=self.limit):
                total += float(self.subject.loss_of(params, x, y, reduction="sum"))
                n += len(y)
        self.loss_evaluations += 1
        sums = self.subject.all_sum(torch.tensor([total, n], dtype=torch.float64))
        return self._mean(float(sums[0]), int(sums[1]))

    def loss_and_grad(self, theta: torch.Tensor) -> tuple[float, torch.Tensor]:
        """Mean loss at ``theta`` and its exact gradient (one streamed forward/backward pass)."""
        leaf = theta.detach().clone().requires_grad_(True)
        params = self.params_at(leaf)
        total, n = 0.0, 0
        grad = torch.zeros_like(leaf)
        with torch.enable_grad():
            for x, y in self.subject.batches(self.split, limit=self.limit):
                batch_loss = self.subject.loss_of(params, x, y, reduction="sum")
                (g,) = torch.autograd.grad(batch_loss, leaf)
                grad += g
                total += float(batch_loss.detach())
                n += len(y)
        self.gradient_evaluations += 1
        sums = self.subject.all_sum(torch.tensor([total, n], dtype=torch.float64))
        total, n = float(sums[0]), int(sums[1])
        mean = self._mean(total, n)
        return mean, self.subject.all_sum(grad) / n

    def evaluate(self, theta: torch.Tensor) -> Evaluation:
        """Loss and accuracy at ``theta`` via :meth:`Subject.evaluate` (counted as a loss call)."""
        self.loss_evaluations += 1
        result = self.subject.evaluate(
            self.params_at(theta.detach()), split=self.split, limit=self.limit
        )
        self.num_examples = result.n
        return result

    def _mean(self, total: float, n: int) -> float:
        if n == 0:
            raise ValueError(f"the {self.split} split of {self.subject.data.name!r} is empty")
        self.num_examples = n
        return total / n


# -- option checks ---------------------------------------------------------------------------
def check_real(name: str, value: Any, *, minimum: float = 0.0, strict: bool = False) -> float:
    """A finite real number ``>= minimum`` (``> minimum`` if ``strict``), as a float."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    value = float(value)
    bad = value <= minimum if strict else value < minimum
    if not math.isfinite(value) or bad:
        relation = ">" if strict else ">="
        raise ValueError(f"{name} must be finite and {relation} {minimum:g}, got {value!r}")
    return value


def check_int(name: str, value: Any, *, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return value


def check_choice(name: str, value: Any, choices: tuple[Any, ...]) -> Any:
    # bools compare equal to 0/1, so compare types too (True must not pass as p=1)
    for choice in choices:
        if type(value) is type(choice) and value == choice:
            return value
    valid = ", ".join(repr(c) for c in choices)
    raise ValueError(f"{name} must be one of {valid}, got {value!r}")


def check_search(
    subject: Any,
    measure: Any,
    target_deviation: Any,
    magnitude_aware: Any,
    magnitude_epsilon: Any,
    search_depth: Any,
    *,
    bracket: tuple[str, Any],
) -> tuple[str, float, float, int, float, float]:
    """Check the options every bisection for the largest flat perturbation shares;
    ``bracket`` is ``(its option's name, (low, high))``.

    Returns ``(measure, target_deviation, magnitude_epsilon, search_depth, low, high)``.
    """
    bracket_name, bracket = bracket
    measure = check_choice("measure", measure, ("error", "loss"))
    target_deviation = check_real("target_deviation", target_deviation, strict=True)
    if measure == "error" and subject.data.task != "classification":
        raise ValueError(
            f"measure='error' needs a classification task but {subject.data.name!r} is a "
            "regression task; use measure='loss'"
        )
    if not isinstance(magnitude_aware, bool):
        raise TypeError(f"magnitude_aware must be a bool, got {type(magnitude_aware).__name__}")
    magnitude_epsilon = check_real("magnitude_epsilon", magnitude_epsilon)
    search_depth = check_int("search_depth", search_depth, minimum=0)
    if not isinstance(bracket, (tuple, list)) or len(bracket) != 2:
        raise ValueError(f"{bracket_name} must be a pair (low, high), got {bracket!r}")
    low = check_real(f"{bracket_name}[0]", bracket[0], strict=True)
    high = check_real(f"{bracket_name}[1]", bracket[1], strict=True)
    if low >= high:
        raise ValueError(f"{bracket_name} must have low < high, got {bracket!r}")
    return measure, target_deviation, magnitude_epsilon, search_depth, low, high


def check_common(seed: Any, limit: Any) -> None:
    check_int("seed", seed, minimum=0)
    if limit is not None:
        check_int("limit", limit, minimum=1)


# -- results ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class SharpnessResult(HtmlRepr):
    """Fields every sharpness result carries (how and where the loss was evaluated).

    Attributes:
        split, limit: the data the full-data mean loss was taken over; ``num_examples`` of them.
        num_parameters: dimension of the perturbed parameter vector (trainable parameters).
        eval_mode: always True: the network was evaluated in eval mode.
        stochastic_layers: submodules whose behaviour differs between train and eval mode.
        seed: the seed of every random draw of the probe.
        loss_evaluations: full-data loss evaluations without gradient.
        gradient_evaluations: full-data loss-and-gradient evaluations.
    """

    split: str
    limit: int | None
    num_examples: int
    num_parameters: int
    eval_mode: bool
    stochastic_layers: tuple[str, ...]
    seed: int
    loss_evaluations: int
    gradient_evaluations: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict (non-finite floats become None)."""
        return jsonable({f.name: getattr(self, f.name) for f in dataclasses.fields(self)})


def common_fields(objective: FlatObjective, seed: int) -> dict[str, Any]:
    return {
        "split": objective.split,
        "limit": objective.limit,
        "num_examples": objective.num_examples,
        "num_parameters": int(objective.w.numel()),
        "eval_mode": True,
        "stochastic_layers": tuple(objective.subject.stochastic_layers),
        "seed": seed,
        "loss_evaluations": objective.loss_evaluations,
        "gradient_evaluations": objective.gradient_evaluations,
    }
