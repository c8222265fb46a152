"""Pre-activations of every ReLU of a piecewise-linear network, with their directional derivative.

A network built from affine layers (``Linear``, ``Conv``, flatten/reshape, average pooling,
eval-mode BatchNorm) and ``nn.ReLU`` modules is piecewise linear: within one *activation region*
(one on/off pattern of all ReLUs) it is affine. Along an input path ``x(t) = x₀ + t d`` every
ReLU input ``z(t)`` is therefore exactly ``z(t₀) + (t − t₀) ż`` inside the region containing
``t₀``, with ``ż`` a forward-mode derivative. :func:`preactivations` returns ``(z, ż)`` for a
batch of points, captured by forward hooks on the ReLU modules (the module is not modified).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
import torch.autograd.forward_ad as fwAD
from torch import nn

from occamlab.probes.kernels.functional import eval_mode

# Modules that keep a network piecewise linear with ReLU boundaries (besides the ReLUs).
_AFFINE = (
    nn.Linear,
    nn.Conv1d,
    nn.Conv2d,
    nn.Flatten,
    nn.Unflatten,
    nn.Identity,
    nn.Sequential,
    nn.AvgPool1d,
    nn.AvgPool2d,
    nn.AdaptiveAvgPool1d,
    nn.AdaptiveAvgPool2d,
    nn.BatchNorm1d,
    nn.BatchNorm2d,
    nn.Dropout,
)
_NONLINEAR = (
    nn.Tanh,
    nn.Sigmoid,
    nn.GELU,
    nn.SiLU,
    nn.ELU,
    nn.Softplus,
    nn.LeakyReLU,
    nn.MaxPool1d,
    nn.MaxPool2d,
    nn.LayerNorm,
    nn.GroupNorm,
    nn.Softmax,
)


def relu_modules(model: nn.Module) -> list[tuple[str, nn.ReLU]]:
    """The ``nn.ReLU`` modules of ``model``, checking that nothing else is nonlinear.

    Raises:
        ValueError: if the model has other nonlinear modules (tanh, max-pooling, LayerNorm, ...)
            or no ReLU module at all: linear regions are then not defined by ReLU patterns.
    """
    bad = [
        f"{name} ({type(m).__name__})"
        for name, m in model.named_modules()
        if isinstance(m, _NONLINEAR)
    ]
    if bad:
        raise ValueError(
            f"linear regions need a piecewise-linear ReLU network, but the model has "
            f"{', '.join(bad[:4])}; use a ReLU model (e.g. --model-opt activation=relu)"
        )
    relus = [(n, m) for n, m in model.named_modules() if isinstance(m, nn.ReLU)]
    if not relus:
        raise ValueError(
            "the model has no nn.ReLU modules (activations called as functions cannot be "
            "seen); build it with nn.ReLU layers"
        )
    return relus


@contextmanager
def _capture(relus: list[tuple[str, nn.ReLU]]) -> Iterator[list[torch.Tensor]]:
    seen: list[torch.Tensor] = []
    handles = [m.register_forward_hook(lambda mod, i, o: seen.append(i[0])) for _, m in relus]
    try:
        yield seen
    finally:
        for h in handles:
            h.remove()


def preactivations(
    model: nn.Module, x: torch.Tensor, direction: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """ReLU inputs ``z`` ``(m, N)``, their derivatives ``ż`` along ``direction``, the outputs
    ``f`` and their derivatives ``ḟ``.

    Args:
        model: a piecewise-linear ReLU network (evaluated in eval mode, float64 copies of the
            inputs; parameters are used in their own dtype, so pass a float64 copy for exact work).
        x: points ``(m, *input_shape)``.
        direction: ``d``, one input-shaped tensor or one per point.
    """
    relus = relu_modules(model)
    direction = direction.to(x.dtype).expand_as(x)
    with eval_mode(model), torch.no_grad(), fwAD.dual_level(), _capture(relus) as seen:
        out = model(fwAD.make_dual(x, direction))
        unpacked = fwAD.unpack_dual(out)
        outputs = unpacked.primal
        out_tangent = (
            unpacked.tangent if unpacked.tangent is not None else torch.zeros_like(outputs)
        )
        pairs = [fwAD.unpack_dual(z) for z in seen]
    m = x.shape[0]
    z = torch.cat([p.primal.reshape(m, -1) for p in pairs], dim=1)
    dz = torch.cat(
        [
            (p.tangent if p.tangent is not None else torch.zeros_like(p.primal)).reshape(m, -1)
            for p in pairs
        ],
        dim=1,
    )
    return z, dz, outputs, out_tangent


def relu_inputs(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """ReLU inputs ``z`` ``(m, N)`` of points ``x`` (no derivatives; eval mode, no grad)."""
    relus = relu_modules(model)
    with eval_mode(model), torch.no_grad(), _capture(relus) as seen:
        model(x)
    m = x.shape[0]
    return torch.cat([z.reshape(m, -1) for z in seen], dim=1)


def hidden_widths(model: nn.Module, example: torch.Tensor) -> list[int]:
    """Number of ReLU units in each ReLU module, from one forward pass of ``example`` (batch 1)."""
    relus = relu_modules(model)
    with eval_mode(model), torch.no_grad(), _capture(relus) as seen:
        model(example)
    return [int(z[0].numel()) for z in seen]
