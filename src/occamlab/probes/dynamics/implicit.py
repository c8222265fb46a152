"""Measurements of a deep-equilibrium network (:mod:`occamlab.models.implicit`) against their
references: the implicit-function-theorem derivatives against unrolling the solver, and the
solver against the contraction bound.

All in float64 on a copy of the network (the network passed in is never modified):

* :func:`unrolled_loss`: the loss with z* replaced by ``steps`` plain Picard steps from z = 0,
  a differentiable composition of ordinary operations (autograd unrolls it).
* :func:`derivative_agreement`: relative differences between the implicit gradient and the
  unrolled one, and between Hessian-vector products by double backward through the implicit
  backward and through the unrolled solver (both at convergence).
* :func:`unrolled_gradient_errors`: how far the gradient of a truncated unrolling is from the
  implicit one, for each number of steps (it vanishes geometrically with the contraction).
* :func:`contraction_profile`: Picard's distance to z* at every iteration, beside the bound
  ‖A‖_∞ᵏ ‖z₀ − z*‖_∞ that well-posedness guarantees, and the spread of the fixed points reached
  from random starts (uniqueness).
* :func:`solver_iterations`: Picard and Anderson iterations to a relative tolerance.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from occamlab.models.implicit import (
    ImplicitLayer,
    activation_fn,
    anderson,
    infinity_norm,
    picard,
    well_posed,
)


def implicit_layer(model: nn.Module) -> ImplicitLayer:
    """The model's one implicit layer, or a ``ValueError`` saying what model is needed."""
    layers = [m for m in model.modules() if isinstance(m, ImplicitLayer)]
    if len(layers) != 1:
        raise ValueError(
            f"expected a model with one implicit layer (model_spec('deq')), found {len(layers)}"
        )
    return layers[0]


def float64_copy(model: nn.Module, *, tol: float = 1e-12, max_iter: int = 20_000) -> nn.Module:
    """A float64 copy of ``model`` in eval mode whose implicit layer solves to ``tol``."""
    out = copy.deepcopy(model).double().eval()
    layer = implicit_layer(out)
    layer.tol, layer.max_iter = tol, max_iter
    return out


def _split(model: nn.Module) -> tuple[ImplicitLayer, nn.Linear]:
    layer = implicit_layer(model)
    head = getattr(model, "head", None)
    if getattr(model, "features", None) is not layer or not isinstance(head, nn.Linear):
        raise ValueError("expected a deq network (features = the implicit layer, head = Linear)")
    return layer, head


def unrolled_loss(
    model: nn.Module,
    params: dict[str, torch.Tensor],
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    steps: int,
) -> torch.Tensor:
    """Cross-entropy of the deq ``model`` at ``params`` with z* replaced by ``steps`` Picard
    steps from z = 0 (ordinary differentiable operations)."""
    layer, _ = _split(model)
    phi = activation_fn(layer.activation)
    a = well_posed(params["features.A.weight"], layer.kappa)
    flat = x.reshape(x.shape[0], -1)
    u = flat @ params["features.B.weight"].T + params["features.B.bias"]
    z = torch.zeros_like(u)
    for _ in range(steps):
        z = phi(z @ a.T + u)
    logits = torch.cat([z, flat], dim=1) @ params["head.weight"].T + params["head.bias"]
    return F.cross_entropy(logits, y)


def steps_to_converge(model: nn.Module, *, digits: float = 17.0) -> int:
    """Picard steps after which the bound ‖A‖_∞ᵏ falls below 10^-digits."""
    a = float(infinity_norm(implicit_layer(model).matrix().detach()))
    return max(1, math.ceil(-digits * math.log(10) / math.log(max(a, 1e-300)))) if a > 0 else 1


def _implicit_loss(model, params, x, y):
    return F.cross_entropy(torch.func.functional_call(model, params, (x,)), y)


def _flat(tensors: Sequence[torch.Tensor]) -> torch.Tensor:
    return torch.cat([t.reshape(-1) for t in tensors])


def _relative(a: torch.Tensor, b: torch.Tensor) -> float:
    scale = float(b.norm())
    return float((a - b).norm()) / scale if scale > 0 else float((a - b).norm())


def derivative_agreement(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    vectors: int = 2,
    seed: int = 0,
    tol: float = 1e-12,
) -> dict[str, Any]:
    """Implicit against unrolled derivatives of the cross-entropy on ``(x, y)``, float64.

    Returns ``gradient_error`` = ‖g_IFT − g_unrolled‖/‖g_unrolled‖, ``hvp_error`` = the largest
    such relative difference of the Hessian-vector products over ``vectors`` Gaussian vectors,
    ``loss_difference``, the unrolled ``steps`` (‖A‖_∞ᵏ < 1e-17) and the solves' iterations.
    """
    net = float64_copy(model, tol=tol)
    layer = implicit_layer(net)
    x, y = x.double(), y
    params = {k: v.detach().clone().requires_grad_() for k, v in net.named_parameters()}
    values = list(params.values())
    steps = steps_to_converge(net)
    loss = _implicit_loss(net, params, x, y)
    grad = torch.autograd.grad(loss, values, create_graph=True)
    forward_iterations = layer.last_forward.iterations
    adjoint_iterations = layer.last_backward.iterations
    reference = unrolled_loss(net, params, x, y, steps=steps)
    ref_grad = torch.autograd.grad(reference, values, create_graph=True)
    gen = torch.Generator().manual_seed(seed)
    hvp_errors = []
    for _ in range(vectors):
        v = [torch.randn(p.shape, generator=gen, dtype=p.dtype) for p in values]
        hv = torch.autograd.grad(grad, values, v, retain_graph=True)
        ref_hv = torch.autograd.grad(ref_grad, values, v, retain_graph=True)
        hvp_errors.append(_relative(_flat(hv), _flat(ref_hv)))
    return {
        "gradient_error": _relative(_flat(grad).detach(), _flat(ref_grad).detach()),
        "hvp_error": max(hvp_errors),
        "loss_difference": abs(float(loss.detach() - reference.detach())),
        "steps": steps,
        "forward_iterations": forward_iterations,
        "adjoint_iterations": adjoint_iterations,
    }


def unrolled_gradient_errors(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, steps: Sequence[int], *, tol: float = 1e-12
) -> list[float]:
    """‖g_K − g_IFT‖/‖g_IFT‖ for the gradient g_K of the loss unrolled for K steps, each K."""
    net = float64_copy(model, tol=tol)
    x = x.double()
    params = {k: v.detach().clone().requires_grad_() for k, v in net.named_parameters()}
    values = list(params.values())
    implicit = _flat(torch.autograd.grad(_implicit_loss(net, params, x, y), values))
    out = []
    for k in steps:
        g = torch.autograd.grad(unrolled_loss(net, params, x, y, steps=k), values)
        out.append(_relative(_flat(g), implicit))
    return out


def _cell(layer: ImplicitLayer, x: torch.Tensor):
    with torch.no_grad():
        a = layer.matrix()
        u = layer.B(x.reshape(x.shape[0], -1))
    phi = activation_fn(layer.activation)
    return a, u, lambda z: phi(z @ a.T + u)


def contraction_profile(
    model: nn.Module, x: torch.Tensor, *, iterations: int = 200, starts: int = 3, seed: int = 0
) -> dict[str, Any]:
    """Picard from z₀ = 0 against the contraction bound, in float64.

    Returns ``norm`` = ‖A‖_∞, ``errors`` = ‖z_k − z*‖_∞ for k = 0 … iterations (z* by Anderson
    to 1e-15; the maximum over the batch), ``bound`` = ‖A‖_∞ᵏ ‖z₀ − z*‖_∞, ``worst_rate`` =
    max over k ≥ 1 of (e_k/e_0)^(1/k) (the bound says ≤ ‖A‖_∞; computed while e_k > 1e-13 e_0),
    ``residuals`` (the relative residuals of each Picard step) and ``spread`` = the largest
    ‖z* − z*'‖_∞ between fixed points reached from ``starts`` random starts of scale 10.
    """
    net = float64_copy(model, tol=1e-15)
    layer = implicit_layer(net)
    a, _, cell = _cell(layer, x.double())
    norm = float(infinity_norm(a))
    with torch.no_grad():
        star, _ = anderson(
            cell, torch.zeros(x.shape[0], a.shape[0], dtype=a.dtype), tol=1e-15, max_iter=20_000
        )
        z = torch.zeros_like(star)
        errors, residuals = [float((z - star).abs().max())], []
        for _ in range(iterations):
            new = cell(z)
            scale = float(new.abs().max())
            residuals.append(float((new - z).abs().max()) / scale if scale > 0 else 0.0)
            z = new
            errors.append(float((z - star).abs().max()))
        gen = torch.Generator().manual_seed(seed)
        ends = [
            anderson(
                cell,
                10 * torch.randn(star.shape, generator=gen, dtype=star.dtype),
                tol=1e-15,
                max_iter=20_000,
            )[0]
            for _ in range(starts)
        ]
    spread = max((float((e - star).abs().max()) for e in ends), default=0.0)
    e0 = errors[0]
    rates = [
        (e / e0) ** (1.0 / k) for k, e in enumerate(errors) if k >= 1 and e0 > 0 and e > 1e-13 * e0
    ]
    return {
        "norm": norm,
        "errors": errors,
        "bound": [norm**k * e0 for k in range(len(errors))],
        "worst_rate": max(rates) if rates else 0.0,
        "residuals": residuals,
        "spread": spread,
    }


def solver_iterations(model: nn.Module, x: torch.Tensor, *, tol: float) -> dict[str, int | bool]:
    """Iterations Picard and Anderson take to the relative residual ``tol`` from z = 0, in the
    model's own precision and Anderson memory."""
    layer = implicit_layer(model)
    a, u, cell = _cell(layer, x.to(layer.A.weight.dtype))
    with torch.no_grad():
        _, slow = picard(cell, torch.zeros_like(u), tol=tol, max_iter=100_000)
        _, fast = anderson(
            cell, torch.zeros_like(u), tol=tol, max_iter=100_000, memory=layer.memory
        )
    return {
        "picard": slow.iterations,
        "anderson": fast.iterations,
        "converged": slow.converged and fast.converged,
        "picard_residuals": list(slow.residuals),
        "anderson_residuals": list(fast.residuals),
    }


__all__ = [
    "contraction_profile",
    "derivative_agreement",
    "float64_copy",
    "implicit_layer",
    "solver_iterations",
    "steps_to_converge",
    "unrolled_gradient_errors",
    "unrolled_loss",
]
