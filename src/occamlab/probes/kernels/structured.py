"""Per-layer structure of the NTK (Novak et al. 2022, arXiv 2206.08720, "structured derivatives").

For a layer ``y_t = W u_t + b`` applied at positions ``t`` (one position for a dense layer, the
output positions of a convolution with ``u_t`` its unfolded input patch), the Jacobian of output
``a`` of example ``i`` with respect to ``W`` is ``Σ_t g_{iat} u_{it}ᵀ`` with
``g_{iat} = ∂f_a(x_i)/∂y_t``. Its contribution to the NTK is therefore

    Θ_W[(i,a),(j,b)] = Σ_{t,s} (g_{iat}·g_{jbs}) (u_{it}·u_{js}),
    Θ_b[(i,a),(j,b)] = (Σ_t g_{iat})·(Σ_s g_{jbs}),

which for a dense layer (one position) is a product of two small Gram matrices and costs
``k²·out + in`` per pair of examples instead of ``k²·out·in`` for the explicit Jacobian. For a
convolution with many positions the double sum over ``(t, s)`` can cost more than the explicit
Jacobian, so each layer is contracted whichever way its cost says is cheaper
(:func:`layer_choice`). Parameters of other modules (normalization layers, embeddings, modules
called twice) are contracted through their explicit per-example Jacobian.

The ``g`` are found by ``k`` batched backward passes from the outputs to every layer output;
this assumes each example's outputs depend only on its own input (true in eval mode for every
model built here).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn
from torch.func import jacrev, vmap

from occamlab.probes.kernels.functional import FunctionalModel

Mode = Literal["full", "trace", "diagonal"]


@dataclass(frozen=True)
class LayerShape:
    """A dense or convolutional layer whose Jacobian has the ``Σ_t g uᵀ`` structure.

    Attributes:
        module: the module's name.
        weight: the weight's parameter name if it is differentiated, else None.
        bias: the bias's parameter name if it is differentiated, else None.
        positions: ``T``, the positions the layer is applied at.
        fan_in: length of ``u_t`` (input features, or channels × kernel size).
        fan_out: length of ``y_t``.
    """

    module: str
    weight: str | None
    bias: str | None
    positions: int
    fan_in: int
    fan_out: int

    @property
    def num_parameters(self) -> int:
        return (self.fan_in * self.fan_out if self.weight else 0) + (
            self.fan_out if self.bias else 0
        )


def layer_choice(layer: LayerShape, *, k: int, mode: Mode) -> tuple[str, float, float]:
    """``(way, structured cost, explicit cost)`` in multiply-adds per pair of examples.

    ``k`` outputs; ``mode="trace"`` needs ``k`` instead of ``k²`` output pairs.
    """
    pairs = k if mode == "trace" else k * k
    t = layer.positions
    structured = t * t * (pairs * (layer.fan_out + 1) + (layer.fan_in if layer.weight else 0))
    explicit = pairs * layer.num_parameters + k * t * layer.fan_out * layer.fan_in / 64
    return ("structured" if structured < explicit else "explicit"), structured, explicit


def _supported(module: nn.Module) -> bool:
    if isinstance(module, nn.Linear):
        return True
    if isinstance(module, (nn.Conv1d, nn.Conv2d)):
        return (
            module.groups == 1
            and module.padding_mode == "zeros"
            and not isinstance(module.padding, str)
        )
    return False


def find_layers(fm: FunctionalModel, example: torch.Tensor) -> list[LayerShape]:
    """The structured layers of ``fm.module`` seen in one forward pass of ``example`` (one input
    with a batch dimension of 1): supported modules called exactly once whose parameters are
    differentiated."""
    calls: dict[str, list[tuple[torch.Tensor, torch.Tensor]]] = {}
    handles = []
    for name, module in fm.module.named_modules():
        if _supported(module):

            def hook(mod, inputs, output, name=name):
                calls.setdefault(name, []).append((inputs[0], output))

            handles.append(module.register_forward_hook(hook))
    try:
        with torch.no_grad():
            fm(fm.params, example)
    finally:
        for handle in handles:
            handle.remove()
    layers = []
    modules = dict(fm.module.named_modules())
    for name, seen in calls.items():
        if len(seen) != 1:
            continue
        module = modules[name]
        prefix = f"{name}." if name else ""
        weight = prefix + "weight" if prefix + "weight" in fm.params else None
        bias = prefix + "bias" if module.bias is not None and prefix + "bias" in fm.params else None
        if weight is None and bias is None:
            continue
        u, y = seen[0]
        if isinstance(module, nn.Linear):
            positions = y.numel() // module.out_features
            fan_in, fan_out = module.in_features, module.out_features
        else:
            positions = math.prod(y.shape[2:])
            fan_in = module.in_channels * math.prod(module.kernel_size)
            fan_out = module.out_channels
        layers.append(LayerShape(name, weight, bias, positions, fan_in, fan_out))
    return layers


def _patches(module: nn.Module, u: torch.Tensor) -> torch.Tensor:
    """Layer inputs as ``(n, T, fan_in)``."""
    n = u.shape[0]
    if isinstance(module, nn.Linear):
        return u.reshape(n, -1, module.in_features)
    if isinstance(module, nn.Conv1d):
        cols = F.unfold(
            u.unsqueeze(2),
            kernel_size=(1, module.kernel_size[0]),
            dilation=(1, module.dilation[0]),
            padding=(0, module.padding[0]),
            stride=(1, module.stride[0]),
        )
    else:
        cols = F.unfold(
            u,
            kernel_size=module.kernel_size,
            dilation=module.dilation,
            padding=module.padding,
            stride=module.stride,
        )
    return cols.transpose(1, 2)


def _positions_last(module: nn.Module, g: torch.Tensor) -> torch.Tensor:
    """Output cotangents ``(k, n, *y)`` as ``(n, k, T, fan_out)``."""
    k, n = g.shape[:2]
    if isinstance(module, nn.Linear):
        return g.reshape(k, n, -1, module.out_features).transpose(0, 1)
    return g.reshape(k, n, module.out_channels, -1).permute(1, 0, 3, 2)


@dataclass
class Features:
    """What one chunk of inputs contributes to kernel blocks.

    Attributes:
        structured: per structured layer, ``(layer, g (n,k,T,out), u (n,T,in) or None,
            bias_gain)`` with ``u`` scaled by the layer's weight gain.
        jacobian: explicit Jacobian rows ``(n, k, P_explicit)`` of every other parameter (None if
            there are none).
    """

    structured: list[tuple[LayerShape, torch.Tensor, torch.Tensor | None, float]]
    jacobian: torch.Tensor | None


def jacobian_rows(fm: FunctionalModel, x: torch.Tensor, names: Sequence[str]) -> torch.Tensor:
    """Per-example Jacobian of the outputs with respect to parameters ``names``: ``(n, k, P)``."""
    fixed = {k: v for k, v in fm.params.items() if k not in names}
    chosen = {k: fm.params[k] for k in names}

    def single(p, xi):
        return fm.single({**fixed, **p}, xi)

    jac = vmap(jacrev(single), (None, 0))(chosen, x)
    n, k = x.shape[0], next(iter(jac.values())).shape[1]
    return torch.cat([jac[name].reshape(n, k, -1) for name in names], dim=2)


def features(
    fm: FunctionalModel,
    x: torch.Tensor,
    layers: Sequence[LayerShape],
    ways: Sequence[str],
    rest: Sequence[str],
) -> Features:
    """Output cotangents and layer inputs of ``layers`` (contracted ``ways``), plus the explicit
    Jacobian of the ``rest`` of the parameters, for the inputs ``x``."""
    modules = dict(fm.module.named_modules())
    captured: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}
    handles = [
        modules[layer.module].register_forward_hook(
            lambda mod, inputs, output, name=layer.module: captured.__setitem__(
                name, (inputs[0], output)
            )
        )
        for layer in layers
    ]
    params = {k: v.detach().requires_grad_() for k, v in fm.params.items()}
    try:
        with torch.enable_grad():
            out = fm(params, x)
    finally:
        for handle in handles:
            handle.remove()
    n, k = out.shape
    structured: list[tuple[LayerShape, torch.Tensor, torch.Tensor | None, float]] = []
    explicit: list[torch.Tensor] = []
    if layers:
        outputs = [captured[layer.module][1] for layer in layers]
        basis = torch.eye(k, dtype=out.dtype).unsqueeze(1).expand(k, n, k)
        grads = torch.autograd.grad(out, outputs, grad_outputs=basis, is_grads_batched=True)
        for layer, way, g in zip(layers, ways, grads, strict=True):
            module = modules[layer.module]
            g = _positions_last(module, g.detach())
            # Layers computing gain · W u + gain_b · b (the NTK parameterization) scale their
            # Jacobians by the gains.
            w_gain = float(getattr(module, "weight_gain", 1.0))
            b_gain = float(getattr(module, "bias_gain", 1.0))
            u = None
            if layer.weight:
                u = _patches(module, captured[layer.module][0].detach()) * w_gain

            if way == "structured":
                structured.append((layer, g, u, b_gain))
                continue
            parts = []
            if layer.weight:
                parts.append(torch.einsum("nato,ntp->naop", g, u).reshape(n, k, -1))
            if layer.bias:
                parts.append(b_gain * g.sum(2))
            explicit.append(torch.cat(parts, dim=2) if len(parts) > 1 else parts[0])
    if rest:
        explicit.append(jacobian_rows(fm, x, rest))
    jacobian = torch.cat(explicit, dim=2) if explicit else None
    return Features(structured, jacobian)


def _gram_full(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``(n1, k, P) × (n2, k, P) → (n1, n2, k, k)``."""
    n1, k, _ = a.shape
    n2 = b.shape[0]
    return (a.reshape(n1 * k, -1) @ b.reshape(n2 * k, -1).T).view(n1, k, n2, k).transpose(1, 2)


def _gram_trace(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``Σ_a`` of :func:`_gram_full` over the output diagonal: ``(n1, n2)``."""
    return torch.bmm(a.transpose(0, 1), b.transpose(0, 1).transpose(1, 2)).sum(0)


def contract(f1: Features, f2: Features, mode: Mode) -> torch.Tensor:
    """The kernel block between two chunks: ``(n1, n2, k, k)`` (full) or ``(n1, n2)`` (trace)."""
    total = None
    if f1.jacobian is not None:
        assert f2.jacobian is not None
        gram = _gram_trace if mode == "trace" else _gram_full
        total = gram(f1.jacobian, f2.jacobian)
    for (layer, g1, u1, bias_gain), (_, g2, u2, _) in zip(
        f1.structured, f2.structured, strict=True
    ):
        n1, k, t, _ = g1.shape
        n2 = g2.shape[0]
        gram = _gram_trace if mode == "trace" else _gram_full
        if t == 1:
            gg = gram(g1[:, :, 0], g2[:, :, 0])
            uu = torch.zeros((n1, n2), dtype=g1.dtype)
            if layer.weight:
                uu = u1[:, 0] @ u2[:, 0].T
            if layer.bias:
                uu = uu + bias_gain**2
            part = gg * (uu if mode == "trace" else uu[:, :, None, None])
        else:
            part = 0
            if layer.weight:
                # Σ_{t,s} (g_iat·g_jbs)(u_it·u_js): one Gram of the cotangents over all
                # (example, output, position) triples, weighted by the patches' Gram.
                gg = (g1.reshape(n1 * k * t, -1) @ g2.reshape(n2 * k * t, -1).T).view(
                    n1, k, t, n2, k, t
                )
                uu = (u1.reshape(n1 * t, -1) @ u2.reshape(n2 * t, -1).T).view(n1, 1, t, n2, 1, t)
                full = (gg * uu).sum(dim=(2, 5)).transpose(1, 2)  # (n1, n2, k, k)
                part = full.diagonal(dim1=2, dim2=3).sum(-1) if mode == "trace" else full
            if layer.bias:
                part = part + bias_gain**2 * gram(g1.sum(2), g2.sum(2))
        total = part if total is None else total + part
    assert total is not None
    return total


def contract_diagonal(f: Features) -> torch.Tensor:
    """``Θ(x_i, x_i)`` for every example of one chunk: ``(n, k, k)``."""
    total = None
    if f.jacobian is not None:
        total = torch.einsum("nap,nbp->nab", f.jacobian, f.jacobian)
    for layer, g, u, bias_gain in f.structured:
        part = 0
        if layer.weight:
            uu = torch.einsum("ntp,nsp->nts", u, u)
            gg = torch.einsum("nato,nbso->nabts", g, g)
            part = (gg * uu[:, None, None]).sum(dim=(3, 4))
        if layer.bias:
            s = g.sum(2)
            part = part + bias_gain**2 * torch.einsum("nao,nbo->nab", s, s)
        total = part if total is None else total + part
    assert total is not None
    return total
