"""Choosing how to compute an empirical NTK: a cost model in floating-point work and memory.

Three ways give the same kernel ``Θ[(i,a),(j,b)] = ∂f_a(x_i)/∂θ · ∂f_b(x_j)/∂θ`` (``n1 × n2``
inputs, ``k`` outputs, ``P`` parameters, ``F`` forward flops per example):

* ``jacobian`` — per-example Jacobians (``vmap(jacrev)``, about ``(1 + 2k) F`` each) contracted by
  one matrix product, ``2 n1 n2 k² P`` flops (half of it when ``x2`` is ``x1``).
* ``vector_products`` — Jacobian rows of ``x1`` pushed forward through the network on ``x2``
  (``vmap(jvp)``): ``≈ 2 F n1 n2 k`` flops. Wins when ``F < k P`` (dense nets with few inputs).
* ``structured`` — per-layer contraction (:mod:`occamlab.probes.kernels.structured`): dense
  layers cost ``k²·out + in`` per pair of examples instead of ``k²·out·in``; convolutions use
  whichever of the two is cheaper.

The estimates are turned into seconds with throughputs measured on a laptop CPU (one thread,
float32): matrix products about 70 GFLOP/s, ``vmap(jvp)`` about 25, batched backward passes
about 40, and per-example ``vmap(jacrev)`` bound by writing its Jacobians (about 10⁸ numbers/s).
Only their ratios matter for the choice. The chunk size is the largest that keeps the
features of two chunks and one kernel block within the memory budget; a symmetric kernel is split
into at least four row blocks so that only the blocks on and above the diagonal are computed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from occamlab.probes.kernels.functional import FunctionalModel
from occamlab.probes.kernels.structured import LayerShape, Mode, find_layers, layer_choice

Method = Literal["jacobian", "vector_products", "structured"]
METHODS: tuple[str, ...] = ("jacobian", "vector_products", "structured")

# Relative throughputs (flop/s) of the kinds of work; see the module docstring.
_GEMM, _JVP, _JACREV, _BACKWARD, _WRITE = 70e9, 25e9, 20e9, 40e9, 1e8


@dataclass(frozen=True)
class Profile:
    """What the cost model needs to know about a model, from one forward pass of one input.

    Attributes:
        num_parameters: ``P``, the differentiated parameters.
        num_outputs: ``k``.
        forward_flops: ``F``, flops of the forward pass of one example.
        activations: numbers held per example in a forward pass (outputs of leaf modules).
        layers: the structured layers.
        rest: names of parameters outside structured layers.
    """

    num_parameters: int
    num_outputs: int
    forward_flops: float
    activations: int
    layers: list[LayerShape]
    rest: list[str]


def profile(fm: FunctionalModel, example: torch.Tensor) -> Profile:
    """Profile ``fm`` on one input (with a batch dimension of 1)."""
    sizes: list[int] = []
    leaves = [m for m in fm.module.modules() if not any(True for _ in m.children())]
    handles = [
        m.register_forward_hook(
            lambda mod, i, o: sizes.append(o.numel() if isinstance(o, torch.Tensor) else 0)
        )
        for m in leaves
    ]
    counter = FlopCounterMode(display=False)
    try:
        with torch.no_grad(), counter:
            out = fm(fm.params, example)
    finally:
        for handle in handles:
            handle.remove()
    if out.ndim != 2 or out.shape[0] != 1:
        raise ValueError(
            f"the model must map (n, ...) inputs to (n, k) outputs; one input gave shape "
            f"{tuple(out.shape)}"
        )
    layers = find_layers(fm, example)
    covered = {n for layer in layers for n in (layer.weight, layer.bias) if n}
    flops = max(float(counter.get_total_flops()), 2.0 * fm.num_parameters)
    return Profile(
        num_parameters=fm.num_parameters,
        num_outputs=int(out.shape[1]),
        forward_flops=flops,
        activations=max(sum(sizes), 1),
        layers=layers,
        rest=[n for n in fm.params if n not in covered],
    )


@dataclass(frozen=True)
class NTKPlan:
    """The method, chunking and estimated cost of one empirical-NTK computation.

    Attributes:
        method: the method used.
        mode: ``full``, ``trace`` or ``diagonal``.
        chunk: inputs per chunk (each side).
        memory_mb: the memory budget the chunk size respects.
        seconds: estimated seconds of each method (the cost model; a ranking, not a promise).
        layer_ways: for ``structured``, how each layer is contracted.
        profile: the model profile the estimates come from.
    """

    method: str
    mode: str
    chunk: int
    memory_mb: float
    seconds: dict[str, float]
    layer_ways: dict[str, str] = field(default_factory=dict)
    profile: Profile | None = field(default=None, repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "mode": self.mode,
            "chunk": self.chunk,
            "memory_mb": self.memory_mb,
            "estimated_seconds": dict(self.seconds),
            "layer_ways": dict(self.layer_ways),
        }


def _ways(p: Profile, mode: Mode) -> list[str]:
    return [layer_choice(layer, k=p.num_outputs, mode=mode)[0] for layer in p.layers]


def estimate_seconds(
    p: Profile, *, n1: int, n2: int, symmetric: bool, mode: Mode
) -> dict[str, float]:
    """Estimated seconds of each method (see the module docstring)."""
    k, F, P = p.num_outputs, p.forward_flops, p.num_parameters
    if mode == "diagonal":
        pairs, kk = float(n1), k * k
    else:
        # A symmetric kernel in four row blocks computes 10 of the 16 blocks.
        pairs = n1 * n1 * (10 / 16 if n1 >= 64 else 1.0) if symmetric else float(n1 * n2)
        kk = k if mode == "trace" else k * k
    unique = n1 if symmetric else n1 + n2
    # vmap(jacrev) is bound by writing the per-example Jacobians (about 1e8 numbers/s here).
    jac_rows = unique * ((1 + 2 * k) * F / _JACREV + k * P / _WRITE)
    jacobian = jac_rows + 2 * pairs * kk * P / _GEMM
    if mode == "diagonal":
        vector = jacobian
    else:
        vector = n1 * ((1 + 2 * k) * F / _JACREV + k * P / _WRITE) + 2 * F * pairs * k / _JVP
    layer_work = 0.0
    for layer in p.layers:
        _, structured, explicit = layer_choice(layer, k=k, mode=mode)
        layer_work += min(structured, explicit)
    rest_params = P - sum(layer.num_parameters for layer in p.layers)
    structured_s = (
        unique * (1 + 2 * k) * F / _BACKWARD
        + 2 * pairs * layer_work / _GEMM
        + (unique * ((1 + 2 * k) * F / _JACREV + k * rest_params / _WRITE) if rest_params else 0.0)
        + 2 * pairs * kk * rest_params / _GEMM
    )
    return {"jacobian": jacobian, "vector_products": vector, "structured": structured_s}


def bytes_per_example(p: Profile, method: str, mode: Mode, itemsize: int) -> float:
    """Memory held per input of a chunk while its features exist."""
    k = p.num_outputs
    if method in ("jacobian", "vector_products") or mode == "diagonal" and not p.layers:
        return (k * p.num_parameters + 4 * p.activations) * itemsize
    total = 4 * p.activations * k
    for layer, way in zip(p.layers, _ways(p, mode), strict=True):
        if way == "structured":
            total += k * layer.positions * layer.fan_out + layer.positions * layer.fan_in
        else:
            total += k * layer.num_parameters + k * layer.positions * layer.fan_out
    total += k * (p.num_parameters - sum(layer.num_parameters for layer in p.layers))
    return total * itemsize


def block_bytes(p: Profile, method: str, mode: Mode, itemsize: int) -> float:
    """Memory of the temporaries of one kernel block, per pair of examples."""
    k = p.num_outputs
    per_pair = k * k * 2.0
    if method == "structured":
        for layer, way in zip(p.layers, _ways(p, mode), strict=True):
            if way == "structured" and layer.positions > 1:
                per_pair = max(per_pair, 2.0 * k * k * layer.positions**2)
    if method == "vector_products":
        # vmap(jvp) pushes k tangents per x1 example through the x2 chunk.
        per_pair = max(per_pair, 3.0 * k * p.activations)
    return per_pair * itemsize


def make_plan(
    fm: FunctionalModel,
    x1: torch.Tensor,
    x2: torch.Tensor | None,
    *,
    method: Method | Literal["auto"],
    mode: Mode,
    memory_mb: float,
) -> NTKPlan:
    """Profile the model, estimate each method's cost, pick one and a chunk size."""
    if method != "auto" and method not in METHODS:
        raise ValueError(f"unknown method {method!r}; valid methods: auto, {', '.join(METHODS)}")
    if memory_mb <= 0:
        raise ValueError(f"memory_mb must be positive, got {memory_mb}")
    p = profile(fm, fm.inputs(x1[:1]))
    n1 = x1.shape[0]
    n2 = n1 if x2 is None else x2.shape[0]
    seconds = estimate_seconds(p, n1=n1, n2=n2, symmetric=x2 is None, mode=mode)
    chosen = min(seconds, key=seconds.__getitem__) if method == "auto" else method
    itemsize = torch.finfo(fm.dtype).bits // 8
    per_example = bytes_per_example(p, chosen, mode, itemsize)
    per_pair = block_bytes(p, chosen, mode, itemsize)
    budget = memory_mb * 2**20
    # Two chunks of features and one block of temporaries: 2 c e + c² b <= budget.
    chunk = int(
        (-2 * per_example + math.sqrt(4 * per_example**2 + 4 * per_pair * budget)) / (2 * per_pair)
    )
    if chunk < 1:
        raise ValueError(
            f"a memory budget of {memory_mb} MB cannot hold the features of one input "
            f"({per_example / 2**20:.1f} MB for method {chosen!r}); raise memory_mb"
        )
    chunk = min(chunk, max(n1, n2))
    if x2 is None and mode != "diagonal" and n1 >= 64:
        # A symmetric kernel needs only the blocks on and above the diagonal: with four row
        # blocks that is 10 of 16 (measured 1.5x faster on a conv net, 2x on an MLP).
        chunk = min(chunk, math.ceil(n1 / 4))
    ways = _ways(p, mode) if chosen == "structured" else []
    return NTKPlan(
        method=chosen,
        mode=mode,
        chunk=chunk,
        memory_mb=memory_mb,
        seconds=seconds,
        layer_ways={layer.module: w for layer, w in zip(p.layers, ways, strict=False)},
        profile=p,
    )


def model_input_check(model: nn.Module) -> None:
    """Raise a clear error for objects that are not modules."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"expected a torch.nn.Module, got {type(model).__name__}")
