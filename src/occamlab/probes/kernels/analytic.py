"""Infinite-width NNGP and NTK of MLPs by the layer recursion (float64).

For an MLP with ``L`` hidden layers of activation ``φ`` and a linear read-out, in the NTK
parameterization (:func:`occamlab.probes.kernels.wide.wide_mlp`, ``parameterization="ntk"``;
Jacot et al. 2018, arXiv 1806.07572; Lee et al. 2019, arXiv 1902.06720; Arora et al. 2019,
arXiv 1904.11955)::

    Σ¹(x, x')   = σ_w² x·x'/d + σ_b²                      Θ¹ = Σ¹
    Σˡ⁺¹        = σ_w² E[φ(u) φ(v)] + σ_b²                Σ̇ˡ⁺¹ = σ_w² E[φ'(u) φ'(v)]
    Θˡ⁺¹        = Σˡ⁺¹ + Σ̇ˡ⁺¹ Θˡ

with ``(u, v) ~ N(0, [[Σˡ(x,x), Σˡ(x,x')], [Σˡ(x',x), Σˡ(x',x')]])``; NNGP ``= Σᴸ⁺¹`` and
NTK ``= Θᴸ⁺¹`` (each output independent: the kernels are ``K ⊗ I_k``).

In the standard parameterization (``W ~ N(0, σ_w²/fan_in)`` used as is) the function at
initialization is the same, so the NNGP is the same, but a weight's gradient is not scaled by
``1/√fan_in``: its NTK is finite-width dependent (Sohl-Dickstein et al. 2020, arXiv 2001.07301),

    Θ¹ = x·x' + β,        Θˡ⁺¹ = n_l E[φ(u) φ(v)] + β + Σ̇ˡ⁺¹ Θˡ,

with ``n_l`` the width of layer ``l`` and ``β = 1`` when the layers have trained biases (else 0).
The empirical NTK of a network of width ``n`` converges to it in relative terms as ``n`` grows.

The Gaussian expectations are closed forms for ReLU (the arc-cosine kernels of Cho & Saul 2009:
``E[φφ] = √(Σ₁₁Σ₂₂)/(2π) (sin θ + (π − θ) cos θ)``, ``E[φ'φ'] = (π − θ)/(2π)``) and erf
(Williams 1997: ``E[φφ] = (2/π) arcsin(2Σ₁₂/√((1+2Σ₁₁)(1+2Σ₂₂)))``,
``E[φ'φ'] = (4/π)/√((1+2Σ₁₁)(1+2Σ₂₂) − 4Σ₁₂²)``), and Gauss–Hermite quadrature for tanh.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch

from occamlab.probes.kernels.wide import Parameterization, WideActivation

_QUADRATURE_NODES = 48


@dataclass(frozen=True)
class AnalyticKernels:
    """NNGP and NTK of an infinite-width MLP between ``x1`` and ``x2`` (``(n1, n2)``, float64).

    Attributes:
        nngp: the output covariance at initialization, ``Σᴸ⁺¹``.
        ntk: the neural tangent kernel ``Θᴸ⁺¹`` (per output).
        parameterization: ``"ntk"`` or ``"standard"``.
    """

    nngp: torch.Tensor
    ntk: torch.Tensor
    parameterization: str


def arccos_kernel(x1: torch.Tensor, x2: torch.Tensor, *, order: Literal[0, 1]) -> torch.Tensor:
    """Arc-cosine kernel of Cho & Saul (2009): ``k_n(x, y) = (1/π) ‖x‖ⁿ‖y‖ⁿ J_n(θ)`` with
    ``J_0 = π − θ`` and ``J_1 = sin θ + (π − θ) cos θ``, ``θ`` the angle between ``x`` and ``y``.

    ``k_1 = 2 E[relu(wᵀx) relu(wᵀy)]`` and ``k_0 = 2 E[step(wᵀx) step(wᵀy)]`` for ``w ~ N(0, I)``.
    """
    x1, x2 = x1.double().flatten(1), x2.double().flatten(1)
    n1, n2 = x1.norm(dim=1), x2.norm(dim=1)
    norms = n1[:, None] * n2[None, :]
    cos = (x1 @ x2.T / norms.clamp_min(1e-300)).clamp(-1.0, 1.0)
    theta = torch.arccos(cos)
    if order == 0:
        return (math.pi - theta) / math.pi
    if order == 1:
        return norms * (torch.sin(theta) + (math.pi - theta) * cos) / math.pi
    raise ValueError(f"order must be 0 or 1, got {order}")


def _relu(s11: torch.Tensor, s12: torch.Tensor, s22: torch.Tensor):
    norms = torch.sqrt(s11 * s22)
    cos = (s12 / norms.clamp_min(1e-300)).clamp(-1.0, 1.0)
    theta = torch.arccos(cos)
    e_phi = norms * (torch.sin(theta) + (math.pi - theta) * cos) / (2 * math.pi)
    e_dphi = (math.pi - theta) / (2 * math.pi)
    return e_phi, e_dphi


def _erf(s11: torch.Tensor, s12: torch.Tensor, s22: torch.Tensor):
    a, b = 1 + 2 * s11, 1 + 2 * s22
    e_phi = (2 / math.pi) * torch.arcsin((2 * s12 / torch.sqrt(a * b)).clamp(-1.0, 1.0))
    e_dphi = (4 / math.pi) / torch.sqrt((a * b - 4 * s12**2).clamp_min(1e-300))
    return e_phi, e_dphi


def _identity(s11: torch.Tensor, s12: torch.Tensor, s22: torch.Tensor):
    return s12, torch.ones_like(s12)


def _quadrature(phi, dphi):
    """Gauss–Hermite quadrature of ``E[φ(u)φ(v)]`` and ``E[φ'(u)φ'(v)]`` over the bivariate
    normal, with ``u = √Σ₁₁ z₁`` and ``v = √Σ₂₂ (c z₁ + √(1 − c²) z₂)``."""
    z, w = np.polynomial.hermite_e.hermegauss(_QUADRATURE_NODES)
    z = torch.tensor(z, dtype=torch.float64)
    w = torch.tensor(w / math.sqrt(2 * math.pi), dtype=torch.float64)
    z1, z2 = z[:, None], z[None, :]
    weights = w[:, None] * w[None, :]

    def expectations(s11: torch.Tensor, s12: torch.Tensor, s22: torch.Tensor):
        r1, r2 = torch.sqrt(s11), torch.sqrt(s22)
        c = (s12 / (r1 * r2).clamp_min(1e-300)).clamp(-1.0, 1.0)
        s = torch.sqrt(1 - c**2)
        u = (r1[..., None, None] * z1).expand(*s12.shape, len(z), len(z))
        v = r2[..., None, None] * (c[..., None, None] * z1 + s[..., None, None] * z2)
        e_phi = (phi(u) * phi(v) * weights).sum((-2, -1))
        e_dphi = (dphi(u) * dphi(v) * weights).sum((-2, -1))
        return e_phi, e_dphi

    return expectations


def _tanh_derivative(x: torch.Tensor) -> torch.Tensor:
    return 1 - torch.tanh(x) ** 2


_EXPECTATIONS = {
    "relu": _relu,
    "erf": _erf,
    "identity": _identity,
    "tanh": _quadrature(torch.tanh, _tanh_derivative),
}


def analytic_ntk(
    x1: torch.Tensor,
    x2: torch.Tensor | None = None,
    *,
    depth: int,
    activation: WideActivation = "relu",
    weight_std: float = 1.0,
    bias_std: float = 0.0,
    parameterization: Parameterization = "ntk",
    width: int | None = None,
) -> AnalyticKernels:
    """NNGP and NTK of the MLP :func:`~occamlab.probes.kernels.wide.wide_mlp` builds, at
    infinite width (``ntk``) or at ``width`` (``standard``; see the module docstring).

    Args:
        x1: inputs ``(n1, d)`` (flattened if they have more dimensions).
        x2: inputs ``(n2, d)``; default ``x1``.
        depth: number of hidden layers ``L``.
        activation: ``relu``, ``erf``, ``tanh`` or ``identity``.
        weight_std: ``σ_w``.
        bias_std: ``σ_b`` (0: no biases).
        parameterization: ``"ntk"`` or ``"standard"``.
        width: hidden width; required by (and only used in) the standard parameterization.

    Example:
        >>> x = torch.eye(2, dtype=torch.float64)
        >>> k = analytic_ntk(x, depth=1, activation="identity")
        >>> k.ntk.tolist()  # a deep linear net: Θ = 2 x·x'/d
        [[1.0, 0.0], [0.0, 1.0]]
    """
    if activation not in _EXPECTATIONS:
        raise ValueError(
            f"unknown activation {activation!r}; valid: {', '.join(sorted(_EXPECTATIONS))}"
        )
    if parameterization not in ("ntk", "standard"):
        raise ValueError(f"parameterization must be 'ntk' or 'standard', got {parameterization!r}")
    if parameterization == "standard" and (width is None or width < 1):
        raise ValueError("the standard parameterization's NTK depends on the width; pass width")
    if depth < 0:
        raise ValueError(f"depth must be >= 0, got {depth}")
    a = x1.double().flatten(1)
    b = a if x2 is None else x2.double().flatten(1)
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"x1 and x2 have {a.shape[1]} and {b.shape[1]} features")
    d = a.shape[1]
    expect = _EXPECTATIONS[activation]
    sw2, sb2 = weight_std**2, bias_std**2
    beta = 1.0 if bias_std > 0 else 0.0
    s12 = sw2 * (a @ b.T) / d + sb2
    s11 = sw2 * (a * a).sum(1) / d + sb2
    s22 = sw2 * (b * b).sum(1) / d + sb2
    if parameterization == "ntk":
        theta = s12.clone()
    else:
        theta = a @ b.T + beta
    for _ in range(depth):
        e12, de12 = expect(s11[:, None].expand_as(s12), s12, s22[None, :].expand_as(s12))
        e11, _ = expect(s11, s11, s11)
        e22, _ = expect(s22, s22, s22)
        dot = sw2 * de12
        if parameterization == "ntk":
            s12 = sw2 * e12 + sb2
            theta = s12 + dot * theta
        else:
            assert width is not None
            s12 = sw2 * e12 + sb2
            theta = width * e12 + beta + dot * theta
        s11, s22 = sw2 * e11 + sb2, sw2 * e22 + sb2
    return AnalyticKernels(nngp=s12, ntk=theta, parameterization=parameterization)
