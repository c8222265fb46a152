"""Norm- and margin-based bounds, reported as measures: they are usually vacuous for real networks.

Both bounds hold up to constants and logarithmic factors that the papers state only as O(·)/Õ(·);
here those constants are set to 1 and no union bound over the margin γ is paid, so the numbers
are the *shape* of the bounds (for comparing networks), not certificates. The margin is
γ = the 10th percentile of the training margins f(x)_y − max_{j≠y} f(x)_j, and
R̂_γ = the fraction of training examples with margin ≤ γ (≈ 0.1 by construction).

Every weight layer is the linear map A_i it applies to its input (exact operator norms for
convolutions, :mod:`occamlab.probes.measures.layers`); activations are taken 1-Lipschitz (ReLU).
M_i are the initial weights (zero without an initialization). The formulas are for a chain of
layers: skip connections and normalization layers are not accounted for.

* Bartlett, Foster & Telgarsky (2017, arXiv 1706.08498, Thm 1.1): spectral complexity

      R_A = (Π_i ‖A_i‖_σ) · (Σ_i ‖A_iᵀ − M_iᵀ‖_{2,1}^{2/3} / ‖A_i‖_σ^{2/3})^{3/2},

  bound  R̂_γ + ‖X‖_F R_A ln(W) / (γ n) + √(ln(1/δ)/(2n)), with ‖X‖_F² = Σ_i ‖x_i‖² over the
  n training inputs and W the largest layer width.
* Neyshabur, Bhojanapalli & Srebro (2018, arXiv 1707.09564, Thm 1): PAC-Bayes spectral bound

      R̂_γ + √[(B² d² h ln(d h) Π_i ‖A_i‖²_σ Σ_i ‖A_i‖²_F/‖A_i‖²_σ + ln(d n/δ)) / (γ² n)],

  with B = max_i ‖x_i‖₂, d the number of layers and h the largest layer width.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch

from occamlab.jsonable import jsonable
from occamlab.probes.measures.layers import (
    frobenius_norm,
    norm_21_transposed,
    spectral_norm,
    weight_layers,
)
from occamlab.probes.measures.output import margin_percentile, margins
from occamlab.subject import Params, Subject


@dataclass(frozen=True)
class NormBounds:
    """Spectrally-normalized margin bounds (shapes, not certificates; see the module docstring).

    Attributes:
        margin: γ, the 10th percentile of the training margins.
        margin_error: R̂_γ, training examples with margin ≤ γ (fraction).
        spectral_complexity: Bartlett et al.'s R_A.
        bartlett: R̂_γ + ‖X‖_F R_A ln(W)/(γn) + √(ln(1/δ)/(2n)).
        neyshabur: Neyshabur et al.'s PAC-Bayes spectral bound, O-constant 1.
        lipschitz: Π_i ‖A_i‖_σ, the network's Lipschitz bound.
        n, delta: training examples and failure probability.
        vacuous: whether each bound exceeds 1.
        search_bits: 0 (nothing is searched; γ is fixed by the percentile rule).
        note: the caveat.
    """

    margin: float
    margin_error: float
    spectral_complexity: float
    bartlett: float
    neyshabur: float
    lipschitz: float
    n: int
    delta: float
    vacuous: dict[str, bool]
    search_bits: float = 0.0
    note: str = "O(·) constants set to 1, no union bound over γ: a measure, not a certificate"

    def to_dict(self) -> dict[str, Any]:
        return jsonable(self.__dict__)


def norm_bounds(subject: Subject, *, init: Params | None = None, delta: float = 0.05) -> NormBounds:
    """Bartlett et al.'s and Neyshabur et al.'s bounds for ``subject`` on its training split."""
    if not 0.0 < delta < 1.0:
        raise ValueError(f"delta must lie in (0, 1), got {delta!r}")
    params = subject.params()
    layers = weight_layers(subject)
    values = margins(subject)
    n = values.numel()
    gamma = margin_percentile(values)
    margin_error = float((values <= gamma).double().mean())
    spectral = [spectral_norm(layer, params[layer.weight]) for layer in layers]
    frob = [frobenius_norm(layer, params[layer.weight]) for layer in layers]
    reference = {
        layer.weight: (
            init[layer.weight] if init is not None else torch.zeros_like(params[layer.weight])
        )
        for layer in layers
    }
    l21 = [
        norm_21_transposed(layer, params[layer.weight] - reference[layer.weight])
        for layer in layers
    ]
    lipschitz = math.prod(spectral)
    complexity = (
        lipschitz * sum((a / s) ** (2.0 / 3.0) for a, s in zip(l21, spectral, strict=True)) ** 1.5
    )
    x = subject.data.train.x.reshape(n, -1).double()
    x_frobenius = float(x.norm())
    x_max = float(x.norm(dim=1).max())
    width = max(
        max(math.prod(layer.input_shape), math.prod(layer.output_shape)) for layer in layers
    )
    d = len(layers)
    if gamma > 0:
        bartlett = (
            margin_error
            + x_frobenius * complexity * math.log(width) / (gamma * n)
            + math.sqrt(math.log(1.0 / delta) / (2 * n))
        )
        capacity = (
            x_max**2
            * d**2
            * width
            * math.log(d * width)
            * lipschitz**2
            * sum((f / s) ** 2 for f, s in zip(frob, spectral, strict=True))
        )
        neyshabur = margin_error + math.sqrt((capacity + math.log(d * n / delta)) / (gamma**2 * n))
    else:
        bartlett = neyshabur = math.inf
    return NormBounds(
        margin=gamma,
        margin_error=margin_error,
        spectral_complexity=complexity,
        bartlett=bartlett,
        neyshabur=neyshabur,
        lipschitz=lipschitz,
        n=n,
        delta=delta,
        vacuous={"bartlett": bartlett > 1, "neyshabur": neyshabur > 1},
    )


__all__ = ["NormBounds", "norm_bounds"]
