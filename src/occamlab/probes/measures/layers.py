"""A network's weight layers as linear operators, with exact norms (convolutions included).

Norm-based measures and bounds treat each Linear or convolution layer (without its bias) as the
linear map A_i it applies to its actual input. For a convolution that map is not the reshaped
kernel matrix: its spectral norm ‖A‖_σ depends on the input size, stride and padding. Here it is
computed exactly (to the solver's tolerance) as √λ_max(AᵀA), with Lanczos
(:func:`occamlab.linalg.lanczos.eigsh`) on the operator v ↦ Aᵀ(Av) applied through the convolution
and its adjoint (autograd of the convolution with respect to its input), in float64.

Row norms are exact too: row (c, p) of A is the kernel of output channel c placed at position p
and cut by the zero padding, so its squared norm is the convolution of an all-ones input with the
squared kernel. From them: ‖A‖_F² = Σ rows², and ‖Aᵀ‖_{2,1} = Σ_rows ‖row‖₂ (the norm in
Bartlett et al.'s spectral complexity). For a Linear layer A = W and all of this is the matrix's.

Layers are found by running one training example through the network with forward hooks and
recording, in execution order, every ``nn.Linear``, ``nn.Conv1d`` and ``nn.Conv2d`` with its
per-example input and output shapes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from occamlab.linalg.lanczos import eigsh
from occamlab.linalg.operator import Operator
from occamlab.subject import Subject

LayerKind = Literal["linear", "conv1d", "conv2d"]
_KINDS = {nn.Linear: "linear", nn.Conv1d: "conv1d", nn.Conv2d: "conv2d"}


@dataclass(frozen=True)
class WeightLayer:
    """One Linear/convolution layer and the shapes it acts on (per example, no batch axis).

    Attributes:
        name: module name.
        kind: ``"linear"``, ``"conv1d"`` or ``"conv2d"``.
        weight, bias: parameter names (``bias`` None without one).
        input_shape, output_shape: shapes of one example's input and output of the layer.
        stride, padding, dilation, groups: convolution settings (unused for Linear).
    """

    name: str
    kind: LayerKind
    weight: str
    bias: str | None
    input_shape: tuple[int, ...]
    output_shape: tuple[int, ...]
    stride: tuple[int, ...] = ()
    padding: tuple[int, ...] = ()
    dilation: tuple[int, ...] = ()
    groups: int = 1

    @property
    def input_size(self) -> int:
        return math.prod(self.input_shape)

    def apply(self, weight: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """A x for a batch ``x`` of shape ``(b, *input_shape)`` (no bias)."""
        if self.kind == "linear":
            return F.linear(x, weight)
        conv = F.conv1d if self.kind == "conv1d" else F.conv2d
        return conv(
            x,
            weight,
            stride=self.stride,
            padding=self.padding,
            dilation=self.dilation,
            groups=self.groups,
        )


def chain_refusal(model: nn.Module) -> str | None:
    """Why the layers of ``model`` are not a chain of explicit maps (None when they are): an
    implicit (fixed-point) layer's output is not its weight applied once to its input."""
    from occamlab.models.implicit import ImplicitLayer

    for name, module in model.named_modules():
        if isinstance(module, ImplicitLayer):
            return (
                f"layer {name!r} is an implicit (fixed-point) layer: norm-based bounds and "
                "measures assume a chain of explicit layers, so they do not apply"
            )
    return None


def weight_layers(subject: Subject) -> list[WeightLayer]:
    """The Linear/Conv1d/Conv2d layers of ``subject`` in execution order (one example, eval mode).

    Raises:
        ValueError: if a convolution pads with anything but zeros, a layer runs twice
            (weight sharing across calls is not a single linear layer), or the model has an
            implicit layer (:func:`chain_refusal`).
    """
    refusal = chain_refusal(subject.model)
    if refusal is not None:
        raise ValueError(refusal)
    found: list[WeightLayer] = []
    hooks = []
    names = {id(p): k for k, p in subject.model.named_parameters()}

    def hook(module, args, output, name):
        if any(layer.name == name for layer in found):
            raise ValueError(f"layer {name!r} runs twice in one forward pass; not supported")
        kind = _KINDS[type(module)]
        extra = {}
        if kind != "linear":
            if module.padding_mode != "zeros" or isinstance(module.padding, str):
                raise ValueError(
                    f"layer {name!r}: only explicit zero padding is supported for exact norms"
                )
            extra = {
                "stride": tuple(module.stride),
                "padding": tuple(module.padding),
                "dilation": tuple(module.dilation),
                "groups": module.groups,
            }
        found.append(
            WeightLayer(
                name=name,
                kind=kind,
                weight=names[id(module.weight)],
                bias=names[id(module.bias)] if module.bias is not None else None,
                input_shape=tuple(args[0].shape[1:]),
                output_shape=tuple(output.shape[1:]),
                **extra,
            )
        )

    for name, module in subject.model.named_modules():
        if type(module) in _KINDS:
            hooks.append(
                module.register_forward_hook(lambda m, a, o, name=name: hook(m, a, o, name))
            )
    try:
        with torch.no_grad(), subject.eval_mode():
            subject.model(subject.data.train.x[:1])
    finally:
        for handle in hooks:
            handle.remove()
    if not found:
        raise ValueError("the network has no Linear or Conv1d/Conv2d layers")
    return found


class _Gram(Operator):
    """v ↦ Aᵀ(A v) for one layer and weight, in float64."""

    def __init__(self, layer: WeightLayer, weight: torch.Tensor) -> None:
        super().__init__(layer.input_size, dtype=torch.float64)
        self.layer = layer
        self.weight = weight.detach().double()

    def _matvec(self, v: torch.Tensor) -> torch.Tensor:
        x = v.reshape(1, *self.layer.input_shape).detach().requires_grad_(True)
        with torch.enable_grad():
            y = self.layer.apply(self.weight, x)
            (g,) = torch.autograd.grad(y, x, grad_outputs=y.detach())
        return g.reshape(-1)


def spectral_norm(layer: WeightLayer, weight: torch.Tensor, *, tol: float = 1e-10) -> float:
    """‖A‖_σ: the largest singular value of the layer's linear map on its input.

    Exact SVD for Linear layers; Lanczos on AᵀA for convolutions (relative residual ``tol``).
    """
    if layer.kind == "linear":
        return float(torch.linalg.matrix_norm(weight.detach().double(), ord=2))
    if not bool(weight.detach().any()):
        return 0.0
    result = eigsh(_Gram(layer, weight), k=1, which="LA", tol=tol)
    return math.sqrt(max(float(result.eigenvalues[0]), 0.0))


def row_norms_squared(layer: WeightLayer, weight: torch.Tensor) -> torch.Tensor:
    """Squared ℓ2 norm of every row of A (one per output unit), in float64."""
    w = weight.detach().double()
    if layer.kind == "linear":
        return w.pow(2).sum(dim=1)
    ones = torch.ones((1, *layer.input_shape), dtype=torch.float64)
    return layer.apply(w.pow(2), ones).reshape(-1)


def frobenius_norm(layer: WeightLayer, weight: torch.Tensor) -> float:
    """‖A‖_F of the layer's map (of a convolution: the whole operator, not the kernel)."""
    return math.sqrt(float(row_norms_squared(layer, weight).sum()))


def norm_21_transposed(layer: WeightLayer, weight: torch.Tensor) -> float:
    """‖Aᵀ‖_{2,1} = Σ_rows ‖row of A‖₂ (Bartlett et al. 2017)."""
    return float(row_norms_squared(layer, weight).sqrt().sum())


__all__ = [
    "LayerKind",
    "WeightLayer",
    "chain_refusal",
    "frobenius_norm",
    "norm_21_transposed",
    "row_norms_squared",
    "spectral_norm",
    "weight_layers",
]
