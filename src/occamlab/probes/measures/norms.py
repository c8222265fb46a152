"""Norm-based measures of Jiang et al. (2019, §C.3–C.4): products, sums, distances, path-norm.

Notation: the network has d weight layers (Linear/Conv, in execution order, biases excluded)
with weights W_i, their initial values W_i⁰, and the linear maps A_i they apply to their inputs
(:mod:`occamlab.probes.measures.layers`; for a convolution A_i is the whole operator on the
layer's input, not the reshaped kernel). w is the vector of all trainable parameters (biases
included), ω its length, γ the margin of :func:`output_measures`. Every measure is oriented as a
complexity (larger should mean a larger generalization gap); logs are natural.

Spectral (‖·‖_σ: exact operator norm):
    log_prod_spectral           Σ_i ln ‖A_i‖²_σ
    log_sum_spectral            ln d + (1/d) Σ_i ln ‖A_i‖²_σ   (ln Σ of the rebalanced norms)
    *_over_margin               the same with Π‖A_i‖²_σ divided by γ²
    distance_spectral           Σ_i ‖A_i − A_i⁰‖²_σ
    frobenius_over_spectral     Σ_i ‖A_i‖²_F / ‖A_i‖²_σ         (sum of stable ranks)
Frobenius (‖W_i‖_F of the parameter tensor, as Jiang et al.):
    log_prod_frobenius, log_sum_frobenius and *_over_margin   as above with ‖W_i‖²_F
    distance_frobenius          Σ_i ‖W_i − W_i⁰‖²_F
Parameters:
    parameter_norm              ‖w‖²₂;    distance_l2   ‖w − w⁰‖²₂
Path-norm (Neyshabur et al. 2015), for ReLU networks:
    path_norm                   Σ_j f_{w²}(𝟙)_j: the network with every parameter squared
                                (biases included) applied to an all-ones input, summed over
                                outputs; equal to Σ over input→output paths of Π w² (+ bias paths)
    path_norm_over_margin       path_norm / γ²

Measures that need the initialization (distances) are None without one; "over margin" measures
are None when γ ≤ 0; the path-norm is None for networks with layers other than Linear, Conv,
ReLU, flattening, identity and dropout (it is defined for positively homogeneous networks).
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.func import functional_call

from occamlab.models.layers import AddChannel, FlattenInput, Network
from occamlab.probes.measures.layers import frobenius_norm, spectral_norm, weight_layers
from occamlab.subject import Params, Subject

_PATH_NORM_MODULES = (
    nn.Linear,
    nn.Conv1d,
    nn.Conv2d,
    nn.ReLU,
    nn.Flatten,
    nn.Identity,
    nn.Dropout,
    nn.Sequential,
    AddChannel,
    FlattenInput,
    Network,
)


def path_norm(subject: Subject, params: Params | None = None) -> float | None:
    """Σ_j f_{w²}(𝟙)_j for a ReLU network (None if it has other kinds of layers)."""
    if any(not isinstance(m, _PATH_NORM_MODULES) for m in subject.model.modules()):
        return None
    params = subject.params() if params is None else params
    squared = {k: v.detach().double().pow(2) for k, v in params.items()}
    buffers = {k: b.double() if b.is_floating_point() else b for k, b in subject.buffers().items()}
    ones = torch.ones((1, *subject.data.input_shape), dtype=torch.float64)
    model = subject.clone().model.double()
    with torch.no_grad():
        model.eval()
        return float(functional_call(model, (squared, buffers), (ones,)).sum())


def _log_square(norm: float) -> float:
    """ln(norm²); −inf for an all-zero layer (the network is then constant)."""
    return 2.0 * math.log(norm) if norm > 0 else -math.inf


def _log_sum(logs: list[float]) -> float:
    return math.log(len(logs)) + sum(logs) / len(logs)


def norm_measures(
    subject: Subject, *, init: Params | None = None, margin: float | None = None
) -> dict[str, float | None]:
    """Every norm-based measure of the module docstring, by name."""
    params = subject.params()
    layers = weight_layers(subject)
    spectral = [spectral_norm(layer, params[layer.weight]) for layer in layers]
    operator_fro = [frobenius_norm(layer, params[layer.weight]) for layer in layers]
    fro = [float(params[layer.weight].double().norm()) for layer in layers]
    log_spec = [_log_square(s) for s in spectral]
    log_fro = [_log_square(f) for f in fro]
    flat = torch.cat([v.detach().double().reshape(-1) for v in params.values()])
    out: dict[str, float | None] = {
        "log_prod_spectral": sum(log_spec),
        "log_sum_spectral": _log_sum(log_spec),
        "log_prod_frobenius": sum(log_fro),
        "log_sum_frobenius": _log_sum(log_fro),
        "frobenius_over_spectral": sum(
            (f / s) ** 2 for f, s in zip(operator_fro, spectral, strict=True) if s > 0
        ),
        "parameter_norm": float(flat.pow(2).sum()),
        "path_norm": path_norm(subject, params),
    }
    over = margin is not None and margin > 0
    log_margin = 2.0 * math.log(margin) if over else math.nan
    d = len(layers)
    for name in ("spectral", "frobenius"):
        prod = out[f"log_prod_{name}"]
        out[f"log_prod_{name}_over_margin"] = prod - log_margin if over else None
        out[f"log_sum_{name}_over_margin"] = math.log(d) + (prod - log_margin) / d if over else None
    out["path_norm_over_margin"] = (
        out["path_norm"] / margin**2 if over and out["path_norm"] is not None else None
    )
    if init is None:
        out.update(distance_frobenius=None, distance_spectral=None, distance_l2=None)
    else:
        diffs = {k: params[k].detach() - init[k].detach() for k in params}
        out["distance_frobenius"] = sum(
            float(diffs[layer.weight].double().pow(2).sum()) for layer in layers
        )
        out["distance_spectral"] = sum(
            spectral_norm(layer, diffs[layer.weight]) ** 2 for layer in layers
        )
        out["distance_l2"] = sum(float(v.double().pow(2).sum()) for v in diffs.values())
    return out


__all__ = ["norm_measures", "path_norm"]
