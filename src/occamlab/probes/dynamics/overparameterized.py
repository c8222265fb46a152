"""Over-parameterized two-layer ReLU networks: GD converges linearly at a rate set by λ₀
(Du, Zhai, Poczós & Singh 2019, arXiv 1810.02054).

The network ``f(x) = (1/√m) Σ_r a_r relu(w_rᵀx)`` has fixed output weights a_r ∈ {±1} and
first-layer weights w_r(0) ~ N(0, I); gradient descent runs on W only, with the loss
``L = ½ Σ_i (f(x_i) − y_i)²`` over n unit-norm inputs in general position. The Gram matrix of the
dynamics, ``H_ij = x_iᵀx_j · (1/m) Σ_r 1{w_rᵀx_i ≥ 0, w_rᵀx_j ≥ 0}``, concentrates as m grows
around the expectation over w ~ N(0, I),

    H^∞_ij = x_iᵀx_j (π − arccos(x_iᵀx_j)) / (2π)

(half the order-0 arc-cosine kernel times x_iᵀx_j: :func:`occamlab.probes.kernels.analytic.
arccos_kernel`), and λ₀ = λ_min(H^∞) > 0 when no two inputs are parallel. Theorem 4.1: with
m = Ω(n⁶/(λ₀⁴δ³)) and η = O(λ₀/n²), with probability 1 − δ,

    ‖u(k) − y‖² ≤ (1 − ηλ₀/2)^k ‖u(0) − y‖²,

every w_r moves by at most R' = 4√n ‖y − u(0)‖/(√m λ₀) (∝ 1/√m), so only the neurons with
|w_r(0)ᵀx_i| < R' can flip their activation on x_i: a fraction ∝ 1/√m. As m → ∞ the residual
follows the kernel prediction u(k) − y = (I − ηH^∞)^k (u(0) − y).

Gradient descent is written out here (float64, full batch, the analytic gradient) because the
output layer is fixed and the 1/√m scaling is the paper's, not a registry model's.

The deep version (Du, Lee, Li, Wang & Zhai 2019, arXiv 1811.03804, Sect. 6; Allen-Zhu, Li & Song
2018, arXiv 1811.03962) is the residual network of :func:`residual_forward`,

    x⁽⁰⁾ = √(2/m) relu(W₀x),   x⁽ˡ⁾ = x⁽ˡ⁻¹⁾ + (c/(L√m)) relu(W_l x⁽ˡ⁻¹⁾),   u = aᵀx⁽ᴸ⁾,

with every W_l ~ N(0, 1) entrywise and a_r ∈ {±1} fixed; GD runs on all the W_l. Its Gram matrix
G = JJᵀ (J = ∂u/∂θ) has λ_min(G(0)) > 0 at large width, and then (their Thm. 6.1) the loss falls
at least as fast as (1 − ηλ_min/2)^k while every W_l stays close to its initialization.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from occamlab.probes.kernels.analytic import arccos_kernel


def sphere_points(n: int, d: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` points uniform on the unit sphere of R^d (in general position with probability 1)."""
    x = rng.standard_normal((n, d))
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def gram_infinite(x: np.ndarray) -> np.ndarray:
    """H^∞_ij = x_iᵀx_j (π − arccos(x_iᵀx_j))/(2π) for unit-norm rows of ``x`` (float64)."""
    xt = torch.as_tensor(np.asarray(x, dtype=np.float64))
    return (xt @ xt.T * arccos_kernel(xt, xt, order=0) / 2.0).numpy()


def gram_empirical(w: np.ndarray, x: np.ndarray) -> np.ndarray:
    """H_ij = x_iᵀx_j (1/m) Σ_r 1{w_rᵀx_i ≥ 0, w_rᵀx_j ≥ 0} for the rows w_r of ``w`` (m, d)."""
    xt, wt = torch.as_tensor(x, dtype=torch.float64), torch.as_tensor(w, dtype=torch.float64)
    active = (xt @ wt.T >= 0).double()  # (n, m)
    return ((xt @ xt.T) * (active @ active.T) / wt.shape[0]).numpy()


def lambda_min(h: np.ndarray) -> float:
    """The smallest eigenvalue of a symmetric matrix."""
    return float(np.linalg.eigvalsh(h)[0])


def rate_bound(lr: float, lam0: float, steps: np.ndarray | int) -> np.ndarray:
    """Du et al.'s bound on ‖u(k) − y‖²/‖u(0) − y‖²: (1 − ηλ₀/2)^k."""
    return (1.0 - 0.5 * lr * lam0) ** np.asarray(steps, dtype=np.float64)


def kernel_prediction(h: np.ndarray, residual0: np.ndarray, lr: float, steps: np.ndarray):
    """‖(I − ηH)^k r₀‖² for each k in ``steps``: the loss ratio of the infinite-width limit times
    ‖r₀‖² (the residual of kernel gradient descent with Gram H)."""
    evals, evecs = np.linalg.eigh(h)
    coef = evecs.T @ residual0
    k = np.asarray(steps, dtype=np.float64)[:, None]
    return ((1.0 - lr * evals[None, :]) ** (2 * k) * coef[None, :] ** 2).sum(axis=1)


def movement_bound(n: int, residual_norm: float, m: int, lam0: float) -> float:
    """R' = 4√n ‖y − u(0)‖/(√m λ₀): Du et al.'s bound on every ‖w_r(k) − w_r(0)‖ (Thm. 4.1)."""
    return 4.0 * math.sqrt(n) * residual_norm / (math.sqrt(m) * lam0)


@dataclass(frozen=True)
class TwoLayerRun:
    """Full-batch GD on a two-layer ReLU network with fixed output weights.

    Attributes:
        steps: the recorded step numbers (0 first).
        residual_sq: ‖u(k) − y‖² at those steps.
        max_movement: max_r ‖w_r(k) − w_r(0)‖ at those steps.
        flip_fraction: fraction of pairs (r, i) whose activation 1{w_rᵀx_i ≥ 0} differs from
            its value at initialization, at those steps.
        residual0: u(0) − y, the residual at initialization.
        gram_initial: H(0), the Gram matrix of the network at initialization.
        lambda_min_initial: λ_min(H(0)).
        lambda_min_final: λ_min(H(K)) at the last step.
    """

    steps: list[int]
    residual_sq: list[float]
    max_movement: list[float]
    flip_fraction: list[float]
    residual0: np.ndarray
    gram_initial: np.ndarray
    lambda_min_initial: float
    lambda_min_final: float


def train_two_layer(
    x: np.ndarray,
    y: np.ndarray,
    *,
    width: int,
    lr: float,
    steps: int,
    rng: np.random.Generator,
    record_every: int = 1,
) -> TwoLayerRun:
    """Initialize w_r ~ N(0, I), a_r uniform in {±1}, and run ``steps`` steps of GD on
    L = ½‖u − y‖² with ∂L/∂w_r = (1/√m) a_r Σ_i (u_i − y_i) 1{w_rᵀx_i ≥ 0} x_i."""
    n, d = x.shape
    w0_np = rng.standard_normal((width, d))
    a_np = rng.choice([-1.0, 1.0], size=width)
    # torch: its matrix products run on the threads the caller set (numpy's BLAS would not)
    xt, yt = torch.as_tensor(x, dtype=torch.float64), torch.as_tensor(y, dtype=torch.float64)
    w0 = torch.as_tensor(w0_np)
    a = torch.as_tensor(a_np)
    scale = 1.0 / math.sqrt(width)
    w = w0.clone()
    active0 = xt @ w0.T >= 0
    rec: dict[str, list] = {"steps": [], "residual_sq": [], "max_movement": [], "flips": []}
    residual0 = np.zeros(n)

    for k in range(steps + 1):
        pre = xt @ w.T  # (n, m)
        active = pre >= 0
        residual = scale * (pre.clamp_min(0.0) @ a) - yt
        if k == 0:
            residual0 = residual.numpy().copy()
        if k % record_every == 0 or k == steps:
            rec["steps"].append(k)
            rec["residual_sq"].append(float(residual @ residual))
            rec["max_movement"].append(float((w - w0).norm(dim=1).max()))
            rec["flips"].append(float((active != active0).double().mean()))
        if k == steps:
            break
        # ∂L/∂W = (1/√m) (a ⊙ 1{pre ≥ 0} ⊙ residual)ᵀ x
        w -= lr * scale * ((active * residual[:, None]) * a[None, :]).T @ xt
    w0, w = w0_np, w.numpy()
    gram0 = gram_empirical(w0, x)
    return TwoLayerRun(
        steps=rec["steps"],
        residual_sq=rec["residual_sq"],
        max_movement=rec["max_movement"],
        flip_fraction=rec["flips"],
        residual0=residual0,
        gram_initial=gram0,
        lambda_min_initial=lambda_min(gram0),
        lambda_min_final=lambda_min(gram_empirical(w, x)),
    )


def residual_forward(
    weights: list[torch.Tensor], a: torch.Tensor, x: torch.Tensor, residual_scale: float
) -> tuple[torch.Tensor, list[torch.Tensor], list[torch.Tensor]]:
    """The residual network's outputs u (n,), and for each weight W_l its input (n, fan-in) and
    pre-activation W_l·input (n, m): x⁽⁰⁾ = √(2/m) relu(W₀x), x⁽ˡ⁾ = x⁽ˡ⁻¹⁾ + (c/(L√m))
    relu(W_l x⁽ˡ⁻¹⁾) for l = 1..L, u = aᵀx⁽ᴸ⁾ (c = ``residual_scale``, L = len(weights) − 1)."""
    m, depth = weights[0].shape[0], len(weights) - 1
    inputs, pre = [x], [x @ weights[0].T]
    h = math.sqrt(2.0 / m) * torch.relu(pre[0])
    for w in weights[1:]:
        inputs.append(h)
        pre.append(h @ w.T)
        h = h + residual_scale / (depth * math.sqrt(m)) * torch.relu(pre[-1])
    return h @ a, inputs, pre


def residual_gram(
    weights: list[torch.Tensor], a: torch.Tensor, x: torch.Tensor, residual_scale: float
) -> np.ndarray:
    """G = JJᵀ, J = ∂u/∂(W₀, …, W_L) (n × n): since ∂u_i/∂W_l = δ_{l,i} h_{l,i}ᵀ (δ the gradient
    at the pre-activation, h the layer's input), G = Σ_l (Δ_lΔ_lᵀ) ⊙ (H_lH_lᵀ)."""
    ws = [w.detach().requires_grad_(True) for w in weights]
    u, inputs, pre = residual_forward(ws, a, x, residual_scale)
    deltas = torch.autograd.grad(u.sum(), pre)  # row i: ∂u_i/∂(pre-activation of example i)
    gram = torch.zeros(x.shape[0], x.shape[0], dtype=x.dtype)
    for d, hin in zip(deltas, inputs, strict=True):
        hin = hin.detach()
        gram += (d @ d.T) * (hin @ hin.T)
    return gram.numpy()


@dataclass(frozen=True)
class ResidualRun:
    """Full-batch GD on the residual network of :func:`residual_forward`.

    Attributes:
        lambda_min: λ_min(G(0)), the smallest eigenvalue of the network's Gram at initialization.
        lambda_max: λ_max(G(0)).
        lr: the step η = ``lr_scale``/λ_max(G(0)).
        steps: the number of GD steps K.
        residual_sq: ‖u(k) − y‖² for k = 0 … K.
        relative_movement: ‖W_l(K) − W_l(0)‖_F/‖W_l(0)‖_F for each layer l = 0 … L.
    """

    lambda_min: float
    lambda_max: float
    lr: float
    steps: int
    residual_sq: list[float]
    relative_movement: list[float]


def residual_steps(lr: float, lam_min: float, decades: float) -> int:
    """Steps after which the bound (1 − ηλ_min/2)^k has fallen by ``decades`` decades."""
    return math.ceil(decades * math.log(10) / -math.log1p(-0.5 * lr * lam_min))


def train_residual(
    x: np.ndarray,
    y: np.ndarray,
    *,
    width: int,
    depth: int,
    residual_scale: float,
    lr_scale: float,
    decades: float,
    rng: np.random.Generator,
) -> ResidualRun:
    """Initialize W₀ (m × d), W₁ … W_L (m × m) ~ N(0, 1) and a ∈ {±1}^m, set η =
    ``lr_scale``/λ_max(G(0)) and run full-batch GD on L = ½‖u − y‖² over all the W_l until the
    bound (1 − ηλ_min(G(0))/2)^k has fallen by ``decades`` decades."""
    d = x.shape[1]
    shapes = [(width, d)] + [(width, width)] * depth
    w0 = [torch.as_tensor(rng.standard_normal(s)) for s in shapes]
    a = torch.as_tensor(rng.choice([-1.0, 1.0], size=width))
    xt, yt = torch.as_tensor(x, dtype=torch.float64), torch.as_tensor(y, dtype=torch.float64)
    evals = np.linalg.eigvalsh(residual_gram(w0, a, xt, residual_scale))
    lam_min, lam_max = float(evals[0]), float(evals[-1])
    lr = lr_scale / lam_max
    steps = residual_steps(lr, lam_min, decades)
    weights = [w.clone().requires_grad_(True) for w in w0]
    losses: list[float] = []
    for k in range(steps + 1):
        r = residual_forward(weights, a, xt, residual_scale)[0] - yt
        loss = 0.5 * (r @ r)
        losses.append(2.0 * float(loss.detach()))
        if k == steps:
            break
        grads = torch.autograd.grad(loss, weights)
        with torch.no_grad():
            for w, g in zip(weights, grads, strict=True):
                w -= lr * g
    movement = [
        float((w.detach() - w_init).norm() / w_init.norm())
        for w, w_init in zip(weights, w0, strict=True)
    ]
    return ResidualRun(lam_min, lam_max, lr, steps, losses, movement)
