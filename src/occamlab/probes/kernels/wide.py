"""MLPs in the NTK or the standard parameterization, whose infinite-width limits
:mod:`occamlab.probes.kernels.analytic` computes.

``NTK`` (Jacot et al. 2018): ``h = (σ_w/√fan_in) W x + σ_b b`` with ``W, b ~ N(0, 1)``.
``standard``: ``h = W x + b`` with ``W ~ N(0, σ_w²/fan_in)``, ``b ~ N(0, σ_b²)``. Both give the
same function at initialization (same NNGP); their gradients, hence NTKs, differ.
"""

from __future__ import annotations

import math
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from occamlab.models.layers import make_activation

Parameterization = Literal["ntk", "standard"]
WideActivation = Literal["relu", "erf", "tanh", "identity"]


class Dense(nn.Linear):
    """A dense layer ``y = weight_gain · W x + bias_gain · b`` (gains 1: ``nn.Linear``).

    The gains are constants, not parameters: with ``weight_gain = σ_w/√fan_in`` and
    ``bias_gain = σ_b`` this is the NTK parameterization. The structured NTK contraction reads
    them (``Θ_W`` scales with ``weight_gain²``, ``Θ_b`` with ``bias_gain²``).
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        *,
        weight_gain: float = 1.0,
        bias_gain: float = 1.0,
        bias: bool = True,
    ) -> None:
        super().__init__(in_features, out_features, bias=bias)
        self.weight_gain = float(weight_gain)
        self.bias_gain = float(bias_gain)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        bias = None if self.bias is None else self.bias_gain * self.bias
        return F.linear(x, self.weight_gain * self.weight, bias)

    def extra_repr(self) -> str:
        gains = f"weight_gain={self.weight_gain:.4g}, bias_gain={self.bias_gain:.4g}"
        return f"{super().extra_repr()}, {gains}"


def wide_mlp(
    input_dim: int,
    width: int,
    depth: int,
    num_outputs: int = 1,
    *,
    activation: WideActivation = "relu",
    weight_std: float = 1.0,
    bias_std: float = 0.0,
    parameterization: Parameterization = "ntk",
    generator: torch.Generator,
    dtype: torch.dtype = torch.float32,
) -> nn.Sequential:
    """``depth`` hidden layers of ``width`` units and a linear read-out, drawn from ``generator``.

    With ``bias_std=0`` the network has no biases (they would contribute nothing in the NTK
    parameterization at initialization, and in the standard one their gradient would).
    """
    if parameterization not in ("ntk", "standard"):
        raise ValueError(f"parameterization must be 'ntk' or 'standard', got {parameterization!r}")
    if min(input_dim, width, num_outputs) < 1 or depth < 0:
        raise ValueError("input_dim, width and num_outputs must be >= 1 and depth >= 0")
    bias = bias_std > 0
    layers: list[nn.Module] = []
    dims = [input_dim] + [width] * depth + [num_outputs]
    for i, (fan_in, fan_out) in enumerate(zip(dims[:-1], dims[1:], strict=True)):
        if parameterization == "ntk":
            layer = Dense(
                fan_in,
                fan_out,
                weight_gain=weight_std / math.sqrt(fan_in),
                bias_gain=bias_std,
                bias=bias,
            )
            w_scale, b_scale = 1.0, 1.0
        else:
            layer = Dense(fan_in, fan_out, bias=bias)
            w_scale, b_scale = weight_std / math.sqrt(fan_in), bias_std
        layer = layer.to(dtype)
        with torch.no_grad():
            layer.weight.copy_(torch.randn(fan_out, fan_in, generator=generator) * w_scale)
            if bias:
                layer.bias.copy_(torch.randn(fan_out, generator=generator) * b_scale)
        layers.append(layer)
        if i < depth:
            layers.append(make_activation(activation))
    return nn.Sequential(*layers)
