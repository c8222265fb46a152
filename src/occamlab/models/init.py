"""Seeded parameter initialization that never touches PyTorch's global RNG.

Models are constructed on the ``meta`` device (no memory, no random draws), moved to the CPU with
``Module.to_empty`` and then every parameter and buffer is filled explicitly here, drawing only
from the ``torch.Generator`` passed in. The ``"default"`` scheme reproduces PyTorch's own
``reset_parameters`` for ``nn.Linear``/``nn.ConvNd``/normalization layers draw for draw, so a model
initialized with ``torch.Generator().manual_seed(s)`` equals the same model constructed normally
after ``torch.manual_seed(s)``.
"""

from __future__ import annotations

import math
from itertools import chain
from typing import Literal, get_args

import torch
from torch import nn

InitScheme = Literal["default", "kaiming_normal", "xavier_normal"]
"""Weight initialization schemes.

* ``"default"``: PyTorch's defaults. Weights ``kaiming_uniform_(a=sqrt(5))``, i.e.
  ``U(-1/sqrt(fan_in), 1/sqrt(fan_in))``; biases ``U(-1/sqrt(fan_in), 1/sqrt(fan_in))``.
* ``"kaiming_normal"``: weights ``N(0, gain**2 / fan_in)`` with the gain of the model's
  activation (``sqrt(2)`` for ReLU); biases zero.
* ``"xavier_normal"``: weights ``N(0, 2 / (fan_in + fan_out))``; biases zero.

Normalization layers always start at weight 1, bias 0, running mean 0, running variance 1.
"""

INIT_SCHEMES: tuple[str, ...] = get_args(InitScheme)

Nonlinearity = Literal["linear", "relu", "tanh", "sigmoid"]

_WEIGHTED = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)
_NORMS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d, nn.LayerNorm, nn.GroupNorm)


def fan_in(weight: torch.Tensor) -> int:
    """Number of inputs feeding one output unit of a Linear/Conv weight."""
    if weight.dim() < 2:
        raise ValueError(f"fan_in needs a weight with at least 2 dimensions, got {weight.dim()}")
    return int(weight.shape[1] * math.prod(weight.shape[2:]))


def materialize(
    module: nn.Module,
    *,
    generator: torch.Generator,
    scheme: InitScheme = "default",
    nonlinearity: Nonlinearity = "relu",
    weight_scale: float = 1.0,
) -> nn.Module:
    """Move a module built on the ``meta`` device to the CPU and initialize it from ``generator``.

    Args:
        module: a module whose tensors live on the ``meta`` device (or anywhere; they are
            replaced by uninitialized CPU storage and then overwritten).
        generator: the only source of randomness used.
        scheme: weight initialization scheme, see :data:`InitScheme`.
        nonlinearity: activation whose gain ``"kaiming_normal"`` uses; ignored otherwise.
        weight_scale: factor applied to every Linear/Conv weight after initialization (biases
            and normalization layers are left alone).

    Returns:
        The same module, now on the CPU with every parameter and buffer set.
    """
    module.to_empty(device="cpu")
    initialize_(
        module,
        generator=generator,
        scheme=scheme,
        nonlinearity=nonlinearity,
        weight_scale=weight_scale,
    )
    return module


def initialize_(
    module: nn.Module,
    *,
    generator: torch.Generator,
    scheme: InitScheme = "default",
    nonlinearity: Nonlinearity = "relu",
    weight_scale: float = 1.0,
) -> None:
    """Initialize every parameter and buffer of ``module`` in place, in registration order.

    Args:
        module: module to (re)initialize.
        generator: the only source of randomness used.
        scheme: weight initialization scheme, see :data:`InitScheme`.
        nonlinearity: activation whose gain ``"kaiming_normal"`` uses; ignored otherwise.
        weight_scale: factor applied to every Linear/Conv weight after initialization.

    Raises:
        ValueError: for an unknown ``scheme``.
        TypeError: if some parameter or buffer belongs to a layer type this function does not
            know how to initialize (so nothing is ever left as uninitialized memory).
    """
    if scheme not in INIT_SCHEMES:
        raise ValueError(f"unknown init scheme {scheme!r}; use one of {list(INIT_SCHEMES)}")
    if generator.device.type != "cpu":
        raise ValueError(
            f"models are initialized on the CPU; pass a CPU generator, got {generator.device}"
        )
    done: set[int] = set()
    with torch.no_grad():
        for sub in module.modules():
            if isinstance(sub, _WEIGHTED):
                _init_weighted(sub, generator, scheme, nonlinearity, weight_scale)
            elif isinstance(sub, _NORMS):
                _init_norm(sub)
            else:
                continue
            done.update(id(t) for t in chain(sub.parameters(False), sub.buffers(False)))
    left = [
        name
        for name, t in chain(module.named_parameters(), module.named_buffers())
        if id(t) not in done
    ]
    if left:
        raise TypeError(
            f"do not know how to initialize {', '.join(left)}; only Linear, Conv1d/2d/3d and "
            "BatchNorm/LayerNorm/GroupNorm layers are supported, extend occamlab.models.init"
        )


def _init_weighted(
    layer: nn.Module,
    generator: torch.Generator,
    scheme: str,
    nonlinearity: str,
    weight_scale: float,
) -> None:
    weight: torch.Tensor = layer.weight
    bias: torch.Tensor | None = layer.bias
    fan = fan_in(weight)
    if scheme == "default":
        nn.init.kaiming_uniform_(weight, a=math.sqrt(5), generator=generator)
        if bias is not None:
            bound = 1 / math.sqrt(fan) if fan > 0 else 0.0
            nn.init.uniform_(bias, -bound, bound, generator=generator)
    else:
        if scheme == "kaiming_normal":
            nn.init.kaiming_normal_(
                weight, mode="fan_in", nonlinearity=nonlinearity, generator=generator
            )
        else:
            nn.init.xavier_normal_(weight, generator=generator)
        if bias is not None:
            nn.init.zeros_(bias)
    if weight_scale != 1.0:
        weight.mul_(weight_scale)


def _init_norm(layer: nn.Module) -> None:
    if getattr(layer, "weight", None) is not None:
        nn.init.ones_(layer.weight)
    if getattr(layer, "bias", None) is not None:
        nn.init.zeros_(layer.bias)
    if getattr(layer, "running_mean", None) is not None:
        layer.running_mean.zero_()
    if getattr(layer, "running_var", None) is not None:
        layer.running_var.fill_(1.0)
    if getattr(layer, "num_batches_tracked", None) is not None:
        layer.num_batches_tracked.zero_()


__all__ = ["INIT_SCHEMES", "InitScheme", "Nonlinearity", "fan_in", "initialize_", "materialize"]
