"""Sharpness and flatness measures (Jiang et al. 2019, §C.5–C.6), built on the sharpness probes.

The choices Jiang et al. leave open are pinned down here. σ, σ′, α, α′ are searched on the
*training* split (all of it unless ``limit``), evaluated in eval mode, with the training *error*
as L̂ and a target deviation of 0.1 (ten points of training error), by log-space bisection:

* σ  — :func:`occamlab.probes.sharpness.pacbayes.pacbayes_sigma`: the largest σ with
  E_{u~N(0,σ²I)} L̂(w+u) ≤ L̂(w) + 0.1 (Monte Carlo, ``num_samples`` common random draws);
* σ′ — the same with u_i ~ N(0, σ′²w_i² + ε²), ε = 1e-3 (magnitude-aware);
* α  — :func:`occamlab.probes.sharpness.worstcase.worst_case_alpha`: the largest α whose worst
  perturbation in the box |u_i| ≤ α found by ``ascent_steps`` steps of projected gradient ascent
  on the loss keeps L̂ within 0.1;
* α′ — the same in the box |u_i| ≤ α′|w_i| + ε.

Tolerance: each search brackets its quantity within a factor 10 and bisects ``search_depth``
times in log space, so it is known to within a factor 10^(2^−depth) (1.002 at depth 10, 1.009 at
the study's depth 8); the Monte Carlo mean of σ's search uses ``num_samples`` draws shared by
every σ (common random numbers), so its noise does not break the bisection's monotonicity.

With m training examples, ω parameters, w⁰ the initialization (measures needing it are None
without one):

    pacbayes_flatness      1/σ²
    pacbayes_init          ‖w − w⁰‖²/(4σ²) + ln(m/σ) + 10
    pacbayes_orig          ‖w‖²/(4σ²) + ln(m/σ) + 10
    pacbayes_mag_flatness  1/σ′²
    pacbayes_mag_init      ¼ Σ_i ln[(ε² + (σ′² + 1)‖w − w⁰‖²/ω) / (ε² + σ′²(w_i − w⁰_i)²)]
                           + ln(m/σ′) + 10
    pacbayes_mag_orig      the same with ‖w‖² in the numerator (Jiang et al.'s eq., whose
                           denominator keeps w − w⁰)
    sharpness_flatness     1/α²
    sharpness_init         ‖w − w⁰‖² ln(2ω)/(4α²) + ln(m/α) + 10
    sharpness_orig         ‖w‖² ln(2ω)/(4α²) + ln(m/α) + 10
    sharpness_mag_flatness 1/α′²
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from occamlab.probes.sharpness.pacbayes import pacbayes_sigma
from occamlab.probes.sharpness.worstcase import worst_case_alpha
from occamlab.subject import Params, Subject

EPSILON = 1e-3


@dataclass(frozen=True)
class SharpnessBudget:
    """How much work the four searches may do.

    Attributes:
        num_samples: Monte Carlo draws per σ tried.
        search_depth: log-space bisection steps of every search.
        ascent_steps: gradient-ascent steps per α tried.
        target_deviation: allowed rise of the training error.
        limit: use the first this many training examples (None: all).
        seed: seeds every draw and random start.
    """

    num_samples: int = 16
    search_depth: int = 10
    ascent_steps: int = 10
    target_deviation: float = 0.1
    limit: int | None = None
    seed: int = 0


def _flat(params: Params) -> torch.Tensor:
    return torch.cat([v.detach().double().reshape(-1) for v in params.values()])


def _mag_term(numerator_norm2: float, diff: torch.Tensor, sigma: float, omega: int) -> float:
    top = EPSILON**2 + (sigma**2 + 1.0) * numerator_norm2 / omega
    bottom = EPSILON**2 + sigma**2 * diff.pow(2)
    return 0.25 * float(torch.log(top / bottom).sum())


def sharpness_measures(
    subject: Subject, *, init: Params | None = None, budget: SharpnessBudget | None = None
) -> dict[str, float | None]:
    """Every sharpness/flatness measure of the module docstring, plus σ, σ′, α, α′."""
    budget = budget or SharpnessBudget()
    common = {
        "target_deviation": budget.target_deviation,
        "measure": "error",
        "search_depth": budget.search_depth,
        "seed": budget.seed,
        "limit": budget.limit,
    }
    sigma = pacbayes_sigma(subject, num_samples=budget.num_samples, **common).sigma
    sigma_mag = pacbayes_sigma(
        subject,
        num_samples=budget.num_samples,
        magnitude_aware=True,
        magnitude_epsilon=EPSILON,
        **common,
    ).sigma
    alpha = worst_case_alpha(subject, steps=budget.ascent_steps, **common).alpha
    alpha_mag = worst_case_alpha(
        subject,
        steps=budget.ascent_steps,
        magnitude_aware=True,
        magnitude_epsilon=EPSILON,
        **common,
    ).alpha
    params = subject.params()
    w = _flat(params)
    omega = w.numel()
    m = min(len(subject.data.train), budget.limit or len(subject.data.train))
    norm2 = float(w.pow(2).sum())
    out: dict[str, float | None] = {
        "sigma": sigma,
        "sigma_magnitude": sigma_mag,
        "alpha": alpha,
        "alpha_magnitude": alpha_mag,
        "pacbayes_flatness": 1.0 / sigma**2,
        "pacbayes_orig": norm2 / (4 * sigma**2) + math.log(m / sigma) + 10.0,
        "pacbayes_mag_flatness": 1.0 / sigma_mag**2,
        "sharpness_flatness": 1.0 / alpha**2,
        "sharpness_orig": norm2 * math.log(2 * omega) / (4 * alpha**2) + math.log(m / alpha) + 10.0,
        "sharpness_mag_flatness": 1.0 / alpha_mag**2,
    }
    if init is None:
        out.update(
            pacbayes_init=None, pacbayes_mag_init=None, pacbayes_mag_orig=None, sharpness_init=None
        )
        return out
    diff = w - _flat({k: init[k] for k in params})
    dist2 = float(diff.pow(2).sum())
    mag_log = math.log(m / sigma_mag) + 10.0
    out["pacbayes_init"] = dist2 / (4 * sigma**2) + math.log(m / sigma) + 10.0
    out["pacbayes_mag_init"] = _mag_term(dist2, diff, sigma_mag, omega) + mag_log
    out["pacbayes_mag_orig"] = _mag_term(norm2, diff, sigma_mag, omega) + mag_log
    out["sharpness_init"] = (
        dist2 * math.log(2 * omega) / (4 * alpha**2) + math.log(m / alpha) + 10.0
    )
    return out


__all__ = ["EPSILON", "SharpnessBudget", "sharpness_measures"]
