"""Worst-case sharpness α of Jiang et al. (2019, "Fantastic generalization measures", 1912.02178).

α is the largest box half-width whose worst perturbation still keeps the training error within
a target:

    max_{|u_i| ≤ s_i(α)} L̂(w + u) ≤ L̂(w) + target_deviation,

with L̂ the training *error* (Jiang et al., target 0.1) or the mean loss. Plain: s_i = α.
Magnitude-aware (α′): s_i = α′|w_i| + ε (ε = ``magnitude_epsilon``, default 1e-3). All trainable
parameters (weights and biases) are perturbed. The measures are 1/α² and 1/α′² (larger is
sharper; 1/α ranks models identically).

The inner maximum cannot be computed exactly. For each α it is estimated by projected gradient
ascent on the *loss* (the error has no gradient) in the box, from a uniform random point of it:
``steps`` steps of length ``step_size`` (in units of the box, default 1/4 of its half-width) along
the sign of the gradient (the steepest-ascent direction of the ℓ∞ box), each followed by
clipping to the box (:func:`occamlab.probes.sharpness.ascent.ascent_loop`). The error is then
evaluated at the point of largest loss found (an ascent on the loss raises the error too; this is
a lower estimate of the true worst error, so α is an upper estimate). The same seed is used for
every α (common random numbers). α is bracketed and bisected in log space exactly as
:func:`occamlab.probes.sharpness.pacbayes.pacbayes_sigma` brackets σ.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch

from occamlab.probes.sharpness.ascent import Ball, ascent_loop
from occamlab.probes.sharpness.common import (
    FlatObjective,
    SharpnessResult,
    check_common,
    check_int,
    check_real,
    check_search,
    common_fields,
    largest_satisfying,
    measure_value,
)
from occamlab.subject import SplitName, Subject


@dataclass(frozen=True)
class WorstCaseAlpha(SharpnessResult):
    """Jiang et al.'s worst-case sharpness α (or α′) and its ingredients.

    Attributes:
        alpha: the largest α found whose worst perturbation found stays within the target.
        inverse_alpha_squared: 1/α² (the sharpness measure; larger is sharper).
        alpha_upper: the smallest α found to violate the target (inf if none was).
        bracketed: whether both a satisfying and a violating α were seen.
        measure: ``"error"`` or ``"loss"``.
        target_deviation: the allowed increase of the measure.
        base_value: the measure at w.
        worst_value: the measure at the worst point found at α.
        magnitude_aware, magnitude_epsilon: box s_i = α|w_i| + ε instead of s_i = α.
        steps, step_size: ascent steps per α and their length (fraction of the box).
        search_depth: log-space bisection steps.
        trace: every (α, measure at the worst point) tried, in order.
    """

    alpha: float
    inverse_alpha_squared: float
    alpha_upper: float
    bracketed: bool
    measure: str
    target_deviation: float
    base_value: float
    worst_value: float
    magnitude_aware: bool
    magnitude_epsilon: float
    steps: int
    step_size: float
    search_depth: int
    trace: tuple[tuple[float, float], ...]


def worst_case_alpha(
    subject: Subject,
    *,
    target_deviation: float = 0.1,
    measure: Literal["error", "loss"] = "error",
    magnitude_aware: bool = False,
    magnitude_epsilon: float = 1e-3,
    steps: int = 10,
    step_size: float = 0.25,
    search_depth: int = 12,
    alpha_range: tuple[float, float] = (1e-4, 1.0),
    seed: int = 0,
    split: SplitName = "train",
    limit: int | None = None,
) -> WorstCaseAlpha:
    """The largest α with max_{|u_i| ≤ s_i(α)} L̂(w + u) ≤ L̂(w) + target_deviation.

    Args:
        target_deviation: allowed increase (> 0; at most 1 for the error).
        measure: ``"error"`` (classification; Jiang et al.) or ``"loss"``.
        magnitude_aware: box half-widths α|w_i| + ε (Jiang et al.'s α′).
        magnitude_epsilon: ε ≥ 0 of that variant.
        steps: projected-gradient-ascent steps per α.
        step_size: step length as a fraction of the box half-width (> 0).
        search_depth: log-space bisection steps after bracketing.
        alpha_range: initial bracket ``(low, high)``, 0 < low < high.
        seed: seeds the random start of every ascent.
        split: the data split whose error or mean loss is L̂.
        limit: use only its first ``limit`` examples (None: all).
    """
    options = (measure, target_deviation, magnitude_aware, magnitude_epsilon, search_depth)
    checked = check_search(subject, *options, bracket=("alpha_range", alpha_range))
    measure, target_deviation, magnitude_epsilon, search_depth, low, high = checked
    steps = check_int("steps", steps)
    step_size = check_real("step_size", step_size, strict=True)
    check_common(seed, limit)

    with subject.eval_mode():
        objective = FlatObjective(subject, split, limit)
        w = objective.w
        base_value = measure_value(objective.evaluate(w), measure)
        base_loss = objective.loss(w)
        everywhere = torch.arange(w.numel())  # one group per coordinate: an ℓ∞ box
        cache: dict[float, float] = {}
        trace: list[tuple[float, float]] = []

        def worst(alpha: float) -> float:
            if alpha not in cache:
                if magnitude_aware:
                    scale = (alpha * w.abs() + magnitude_epsilon).to(w.dtype)
                else:
                    scale = torch.full_like(w, alpha)
                ball = Ball(scale, everywhere, 1.0)
                _, v = ascent_loop(
                    objective, ball, base=base_loss, steps=steps, step_size=step_size, seed=seed
                )
                cache[alpha] = measure_value(objective.evaluate(w + scale * v), measure)
                trace.append((alpha, cache[alpha]))
            return cache[alpha]

        def satisfies(alpha: float) -> bool:
            return worst(alpha) - base_value <= target_deviation

        alpha, upper, bracketed = largest_satisfying(satisfies, low, high, depth=search_depth)
        return WorstCaseAlpha(
            alpha=alpha,
            inverse_alpha_squared=1.0 / alpha**2,
            alpha_upper=upper,
            bracketed=bracketed,
            measure=measure,
            target_deviation=target_deviation,
            base_value=base_value,
            worst_value=worst(alpha),
            magnitude_aware=magnitude_aware,
            magnitude_epsilon=magnitude_epsilon,
            steps=steps,
            step_size=step_size,
            search_depth=search_depth,
            trace=tuple(trace),
            **common_fields(objective, seed),
        )


__all__ = ["WorstCaseAlpha", "worst_case_alpha"]
