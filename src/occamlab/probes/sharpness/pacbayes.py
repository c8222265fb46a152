"""PAC-Bayes flatness σ of Jiang et al. (2019, "Fantastic generalization measures", 1912.02178).

σ is the largest noise scale whose expected deviation stays within a target:

    E_{u ~ N(0, diag(σ_i²))}[L̂(w + u)] ≤ L̂(w) + target_deviation,

with L̂ the training *error* (Jiang et al., target 0.1) or the mean loss. Plain: σ_i = σ.
Magnitude-aware: σ_i² = σ²|w_i|² + ε² (ε = ``magnitude_epsilon``, default 1e-3), so the noise
is relative to each weight's size. All trainable parameters (weights and biases) are perturbed.

Search: the expectation is a Monte Carlo mean over ``num_samples`` draws u_j = σ_i z_j with
z_j ~ N(0, I) *fixed across σ* (common random numbers: each z_j is regenerated from its own seed,
derived from ``seed``), so the estimate is a deterministic, nearly monotone function of σ. σ is
bracketed in ``sigma_range`` (the upper end is multiplied by 10 while it still satisfies the
constraint, the lower end divided by 10 while it violates it, at most 6 times each), then
bisected ``search_depth`` times in log space (midpoint √(lo·hi)). The reported σ is the largest
σ found to satisfy the constraint (``bracketed`` is False if the search never saw both a
satisfying and a violating σ). Each σ tried costs ``num_samples`` full-data evaluations.

Reported: σ, 1/σ² (Jiang et al.'s sharpness measure; the bound forms with ‖w − w0‖² and log
terms are left to the bounds code), and the Monte Carlo estimate at σ with its standard error.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch

from occamlab.probes.sharpness.common import (
    FlatObjective,
    SharpnessResult,
    check_common,
    check_int,
    check_search,
    common_fields,
    largest_satisfying,
    measure_value,
)
from occamlab.subject import SplitName, Subject


@dataclass(frozen=True)
class PacBayesSigma(SharpnessResult):
    """Jiang et al.'s PAC-Bayes flatness σ and its ingredients.

    Attributes:
        sigma: the largest σ found with MC deviation ≤ target_deviation.
        inverse_sigma_squared: 1/σ² (the sharpness measure; larger is sharper).
        sigma_upper: the smallest σ found to violate the constraint (inf if none was).
        bracketed: whether both a satisfying and a violating σ were seen.
        measure: ``"error"`` or ``"loss"``.
        target_deviation: the allowed increase of the measure.
        base_loss, base_error: loss and error (None for regression) at w.
        base_value: the measure at w.
        perturbed_mean: Monte Carlo mean of the measure at w + u, u ~ N(0, σ_i²), at σ.
        perturbed_standard_error: its standard error (sample std / √num_samples).
        deviation: perturbed_mean − base_value.
        num_samples: Monte Carlo draws per σ.
        search_depth: log-space bisection steps.
        sigma_evaluations: σ values tried (each costing num_samples loss evaluations).
        magnitude_aware: σ_i² = σ²w_i² + ε² instead of σ_i = σ.
        magnitude_epsilon: ε of the magnitude-aware variant (unused otherwise).
        trace: every (σ, MC mean of the measure) tried, in order.
    """

    sigma: float
    inverse_sigma_squared: float
    sigma_upper: float
    bracketed: bool
    measure: str
    target_deviation: float
    base_loss: float
    base_error: float | None
    base_value: float
    perturbed_mean: float
    perturbed_standard_error: float
    deviation: float
    num_samples: int
    search_depth: int
    sigma_evaluations: int
    magnitude_aware: bool
    magnitude_epsilon: float
    trace: tuple[tuple[float, float], ...]


def pacbayes_sigma(
    subject: Subject,
    *,
    target_deviation: float = 0.1,
    measure: Literal["error", "loss"] = "error",
    num_samples: int = 16,
    search_depth: int = 15,
    sigma_range: tuple[float, float] = (1e-6, 1.0),
    magnitude_aware: bool = False,
    magnitude_epsilon: float = 1e-3,
    seed: int = 0,
    split: SplitName = "train",
    limit: int | None = None,
) -> PacBayesSigma:
    """The largest σ with E_u[L̂(w + u)] ≤ L̂(w) + target_deviation (Jiang et al. 2019).

    Args:
        target_deviation: allowed increase (> 0; at most 1 for the error).
        measure: ``"error"`` (classification; Jiang et al.) or ``"loss"``.
        num_samples: Monte Carlo draws per σ (≥ 2), shared by every σ.
        search_depth: log-space bisection steps after bracketing.
        sigma_range: initial bracket ``(low, high)``, 0 < low < high.
        magnitude_aware: use σ_i² = σ²w_i² + ε² (Jiang et al.'s magnitude-aware variant).
        magnitude_epsilon: ε ≥ 0 of that variant.
        seed: seeds the Gaussian draws.
        split: the data split whose error or mean loss is L̂.
        limit: use only its first ``limit`` examples (None: all).
    """
    options = (measure, target_deviation, magnitude_aware, magnitude_epsilon, search_depth)
    checked = check_search(subject, *options, bracket=("sigma_range", sigma_range))
    measure, target_deviation, magnitude_epsilon, search_depth, low, high = checked
    if measure == "error" and target_deviation > 1.0:
        raise ValueError(f"target_deviation of the error must be <= 1, got {target_deviation}")
    num_samples = check_int("num_samples", num_samples, minimum=2)
    check_common(seed, limit)

    with subject.eval_mode():
        objective = FlatObjective(subject, split, limit)
        w = objective.w
        base_eval = objective.evaluate(w)
        base_value = measure_value(base_eval, measure)
        seeds = torch.randint(
            0, 2**62, (num_samples,), generator=torch.Generator().manual_seed(seed)
        ).tolist()
        cache: dict[float, tuple[float, float]] = {}
        trace: list[tuple[float, float]] = []

        def noise_scale(sigma: float) -> torch.Tensor:
            if magnitude_aware:
                return (sigma**2 * w.double() ** 2 + magnitude_epsilon**2).sqrt().to(w.dtype)
            return torch.full_like(w, sigma)

        def estimate(sigma: float) -> tuple[float, float]:
            if sigma not in cache:
                std = noise_scale(sigma)
                values = []
                for sample_seed in seeds:
                    z = torch.randn(
                        w.shape, generator=torch.Generator().manual_seed(sample_seed), dtype=w.dtype
                    )
                    values.append(measure_value(objective.evaluate(w + std * z), measure))
                array = np.asarray(values, dtype=np.float64)
                cache[sigma] = (
                    float(array.mean()),
                    float(array.std(ddof=1) / math.sqrt(len(array))),
                )
                trace.append((sigma, cache[sigma][0]))
            return cache[sigma]

        def satisfies(sigma: float) -> bool:
            return estimate(sigma)[0] - base_value <= target_deviation

        sigma, upper, bracketed = largest_satisfying(satisfies, low, high, depth=search_depth)
        mean, standard_error = estimate(sigma)
        return PacBayesSigma(
            sigma=sigma,
            inverse_sigma_squared=1.0 / sigma**2,
            sigma_upper=upper,
            bracketed=bracketed,
            measure=measure,
            target_deviation=target_deviation,
            base_loss=base_eval.loss,
            base_error=base_eval.error,
            base_value=base_value,
            perturbed_mean=mean,
            perturbed_standard_error=standard_error,
            deviation=mean - base_value,
            num_samples=num_samples,
            search_depth=search_depth,
            sigma_evaluations=len(cache),
            magnitude_aware=magnitude_aware,
            magnitude_epsilon=magnitude_epsilon,
            trace=tuple(trace),
            **common_fields(objective, seed),
        )
