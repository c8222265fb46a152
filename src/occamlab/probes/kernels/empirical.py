"""The empirical neural tangent kernel of any model, by the cheapest correct method.

``Θ(x, x')[a, b] = Σ_p ∂f_a(x)/∂θ_p · ∂f_b(x')/∂θ_p`` (Jacot et al. 2018, arXiv 1806.07572)
for ``n1 × n2`` inputs and all ``k`` outputs. :func:`empirical_ntk` picks one of three methods
with the cost model of :mod:`occamlab.probes.kernels.cost` (Jacobian contraction, NTK-vector
products, per-layer structured contraction; Novak et al. 2022, arXiv 2206.08720), and computes
the kernel in blocks of inputs that fit a memory budget. When ``x2`` is omitted the kernel of
``x1`` with itself is symmetric and only the blocks on and above the diagonal are computed.

Example:
    >>> import torch
    >>> net = torch.nn.Sequential(torch.nn.Linear(3, 16), torch.nn.ReLU(), torch.nn.Linear(16, 2))
    >>> x = torch.randn(5, 3, generator=torch.Generator().manual_seed(0))
    >>> empirical_ntk(net, x).shape
    torch.Size([5, 5, 2, 2])
    >>> empirical_ntk(net, x, mode="trace").shape, empirical_ntk(net, x, mode="diagonal").shape
    (torch.Size([5, 5]), torch.Size([5, 2, 2]))
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

import torch
from torch import nn
from torch.func import jacrev, jvp, vmap

from occamlab.linalg.hessian import prepare_forward_ad
from occamlab.probes.kernels.cost import (
    Method,
    NTKPlan,
    bytes_per_example,
    make_plan,
    model_input_check,
)
from occamlab.probes.kernels.functional import FunctionalModel, eval_mode
from occamlab.probes.kernels.structured import (
    Features,
    Mode,
    contract,
    contract_diagonal,
    features,
    jacobian_rows,
)

MODES: tuple[str, ...] = ("full", "trace", "diagonal")


def _check_inputs(x1: torch.Tensor, x2: torch.Tensor | None, mode: str) -> None:
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}; valid modes: {', '.join(MODES)}")
    if not isinstance(x1, torch.Tensor) or x1.ndim < 1 or x1.shape[0] == 0:
        raise ValueError("x1 must be a non-empty tensor of inputs (n, *input_shape)")
    if x2 is not None:
        if mode == "diagonal":
            raise ValueError("mode='diagonal' gives Θ(x_i, x_i) of x1 alone; do not pass x2")
        if x2.shape[1:] != x1.shape[1:] or x2.shape[0] == 0:
            raise ValueError(
                f"x2 must hold inputs shaped like x1's {tuple(x1.shape[1:])}, got {tuple(x2.shape)}"
            )
    for name, x in (("x1", x1), ("x2", x2)):
        if x is not None and x.is_floating_point() and not torch.isfinite(x).all():
            raise ValueError(f"{name} contains NaN or infinite values")


def plan_ntk(
    model: nn.Module,
    x1: torch.Tensor,
    x2: torch.Tensor | None = None,
    *,
    params: Mapping[str, torch.Tensor] | None = None,
    method: Method | Literal["auto"] = "auto",
    mode: Mode = "full",
    memory_mb: float = 1024.0,
    dtype: torch.dtype | None = None,
) -> NTKPlan:
    """The plan :func:`empirical_ntk` would follow (method, chunk size, estimated costs)."""
    model_input_check(model)
    _check_inputs(x1, x2, mode)
    fm = FunctionalModel.of(model, params, dtype=dtype)
    with eval_mode(model):
        return make_plan(fm, x1, x2, method=method, mode=mode, memory_mb=memory_mb)


def empirical_ntk(
    model: nn.Module,
    x1: torch.Tensor,
    x2: torch.Tensor | None = None,
    *,
    params: Mapping[str, torch.Tensor] | None = None,
    method: Method | Literal["auto"] = "auto",
    mode: Mode = "full",
    memory_mb: float = 1024.0,
    dtype: torch.dtype | None = None,
) -> torch.Tensor:
    """The empirical NTK of ``model`` between inputs ``x1`` and ``x2`` (default: ``x1``).

    Args:
        model: any module mapping ``(n, *input_shape)`` to ``(n, k)``; evaluated in eval mode
            (its own modes are restored), never modified.
        x1: inputs ``(n1, *input_shape)``.
        x2: inputs ``(n2, *input_shape)``; omitted, the symmetric kernel of ``x1``.
        params: the parameters to differentiate (default: all trainable parameters, at their
            current values); other parameters are held fixed.
        method: ``"auto"`` (the cost model's choice), ``"jacobian"``, ``"vector_products"`` or
            ``"structured"``. All give the same kernel up to rounding.
        mode: ``"full"`` ``(n1, n2, k, k)``; ``"trace"`` ``Σ_a Θ[a, a]`` ``(n1, n2)``;
            ``"diagonal"`` ``Θ(x_i, x_i)`` ``(n1, k, k)``.
        memory_mb: budget for the features and temporaries of one block of inputs (the result
            itself is extra: ``n1 n2 k²`` numbers).
        dtype: arithmetic precision (default: the parameters'); ``torch.float64`` gives a
            reference.

    Returns:
        The kernel as a tensor of ``dtype``.
    """
    model_input_check(model)
    _check_inputs(x1, x2, mode)
    fm = FunctionalModel.of(model, params, dtype=dtype)
    prepare_forward_ad()
    with eval_mode(model):
        plan = make_plan(fm, x1, x2, method=method, mode=mode, memory_mb=memory_mb)
        return compute(fm, plan, fm.inputs(x1), None if x2 is None else fm.inputs(x2))


def _chunks(n: int, size: int) -> list[slice]:
    return [slice(s, min(s + size, n)) for s in range(0, n, size)]


def compute(
    fm: FunctionalModel, plan: NTKPlan, x1: torch.Tensor, x2: torch.Tensor | None
) -> torch.Tensor:
    """Follow ``plan``: features per chunk of inputs, then kernel blocks."""
    assert plan.profile is not None
    p = plan.profile
    mode: Mode = plan.mode  # type: ignore[assignment]
    names = list(fm.params)
    if plan.method == "structured":
        ways = [plan.layer_ways[layer.module] for layer in p.layers]

        def feats(x: torch.Tensor) -> Features:
            return features(fm, x, p.layers, ways, p.rest)

    else:

        def feats(x: torch.Tensor) -> Features:
            return Features([], jacobian_rows(fm, x, names))

    n1, k = x1.shape[0], p.num_outputs
    rows = _chunks(n1, plan.chunk)
    if mode == "diagonal":
        parts = []
        for r in rows:
            f = feats(x1[r])
            parts.append(contract_diagonal(f))
        return torch.cat(parts)
    symmetric = x2 is None
    other = x1 if x2 is None else x2
    n2 = other.shape[0]
    cols = _chunks(n2, plan.chunk)
    shape = (n1, n2) if mode == "trace" else (n1, n2, k, k)
    out = torch.empty(shape, dtype=fm.dtype)
    # Column features are kept when all of them fit the budget, recomputed otherwise.
    keep = len(cols) == 1 or (
        (len(cols) + 1) * plan.chunk * _per_example_bytes(plan, fm) <= plan.memory_mb * 2**20
    )
    cache: dict[int, Features] = {}
    for i, r in enumerate(rows):
        if plan.method == "vector_products":
            rows_jac = jacobian_rows_dict(fm, x1[r])
        else:
            f1 = feats(x1[r])
        for j, c in enumerate(cols):
            if symmetric and j < i:
                continue
            if plan.method == "vector_products":
                block = _vp_block(fm, rows_jac, other[c], plan, mode)
            else:
                if symmetric and j == i:
                    f2 = f1
                elif j in cache:
                    f2 = cache[j]
                else:
                    f2 = feats(other[c])
                    if keep:
                        cache[j] = f2
                block = contract(f1, f2, mode)
            out[r, c] = block
            if symmetric and j != i:
                out[c, r] = block.T if mode == "trace" else block.permute(1, 0, 3, 2)
    return out


def _per_example_bytes(plan: NTKPlan, fm: FunctionalModel) -> float:
    assert plan.profile is not None
    return bytes_per_example(
        plan.profile,
        plan.method,
        plan.mode,
        torch.finfo(fm.dtype).bits // 8,  # type: ignore[arg-type]
    )


def jacobian_rows_dict(fm: FunctionalModel, x: torch.Tensor) -> dict[str, torch.Tensor]:
    """Jacobian rows of a chunk as tangents: name -> ``(n·k, *param_shape)``."""
    jac = vmap(jacrev(fm.single), (None, 0))(fm.params, x)
    return {name: t.reshape(-1, *t.shape[2:]) for name, t in jac.items()}


def _vp_block(
    fm: FunctionalModel,
    tangents: dict[str, torch.Tensor],
    x2: torch.Tensor,
    plan: NTKPlan,
    mode: Mode,
) -> torch.Tensor:
    """``J(x2) J(x1)ᵀ`` by pushing the rows of ``J(x1)`` forward through the net on ``x2``."""
    assert plan.profile is not None
    k = plan.profile.num_outputs
    rows = next(iter(tangents.values())).shape[0]
    n1, n2 = rows // k, x2.shape[0]
    itemsize = torch.finfo(fm.dtype).bits // 8
    per_tangent = 3.0 * n2 * plan.profile.activations * itemsize
    batch = max(1, min(rows, int(plan.memory_mb * 2**20 / 2 / per_tangent)))

    def push(t: dict[str, torch.Tensor]) -> torch.Tensor:
        return jvp(lambda p: fm(p, x2), (fm.params,), (t,))[1]

    parts = [vmap(push)({name: t[s] for name, t in tangents.items()}) for s in _chunks(rows, batch)]
    out = torch.cat(parts).view(n1, k, n2, k).transpose(1, 2)  # [i, j, a, b]
    return out.diagonal(dim1=2, dim2=3).sum(-1) if mode == "trace" else out
