"""Entropy-SGD (Chaudhari et al. 2017, arXiv 1611.01838): gradient descent on the local entropy.

The local entropy of a loss f at x, at coupling ("scope") γ,

    F(x; γ) = log ∫ exp(−f(x′) − (γ/2)‖x − x′‖²) dx′,

is f smoothed by a Gaussian of variance 1/γ; its negative gradient is −∇F = γ(x − ⟨x′⟩), the mean
⟨x′⟩ taken under the Gibbs measure ∝ exp(−f(x′) − (γ/2)‖x − x′‖²). Entropy-SGD (the paper's
Algorithm 1) estimates ⟨x′⟩ by ``inner_steps`` steps of stochastic-gradient Langevin dynamics
started at x,

    x′ ← x′ − η′(∇f_batch(x′) − γ(x − x′)) + √η′ ε ξ,    ξ ~ N(0, I),
    μ ← (1 − α) μ + α x′,

and then takes the outer step x ← x − η γ(x − μ). The scope grows during training,
γ_t = γ₀ (1 + γ₁)^t ("scoping", t the outer step), so that late in training x′ stays close to x.

For a quadratic f(x′) = ½(x′ − c)ᵀA(x′ − c) the Gibbs measure is Gaussian (at Langevin temperature
ε²/2 its density is ∝ exp(−(2/ε²)(f(x′) + (γ/2)‖x − x′‖²))) with mean
μ = (A + γI)⁻¹(Ac + γx) at every temperature (:func:`quadratic_local_entropy_mean`), and
γ(x − μ) = γ(A + γI)⁻¹A(x − c) → ∇f(x) as γ → ∞: with a large scope and no noise one Entropy-SGD
step is a plain gradient step.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
import torch

GradFn = Callable[[Sequence[torch.Tensor]], Sequence[torch.Tensor]]


def scoped_gamma(gamma0: float, gamma1: float, step: int) -> float:
    """The scope γ_t = γ₀ (1 + γ₁)^t at outer step t."""
    return gamma0 * (1.0 + gamma1) ** step


def quadratic_local_entropy_mean(
    hessian: np.ndarray, center: np.ndarray, x: np.ndarray, gamma: float
) -> np.ndarray:
    """μ = (A + γI)⁻¹(Ac + γx): the mean of the Gibbs measure ∝ exp(−β(f(x′) + (γ/2)‖x − x′‖²))
    for f(x′) = ½(x′ − c)ᵀA(x′ − c), at any inverse temperature β."""
    a = np.asarray(hessian, dtype=np.float64)
    return np.linalg.solve(a + gamma * np.eye(a.shape[0]), a @ center + gamma * np.asarray(x))


def langevin_mean(
    x: Sequence[torch.Tensor],
    grad_fn: GradFn,
    *,
    gamma: float,
    steps: int,
    lr: float,
    noise: float,
    alpha: float,
    generator: torch.Generator | None = None,
) -> list[torch.Tensor]:
    """The inner loop of Entropy-SGD: ``steps`` SGLD steps on f(x′) + (γ/2)‖x − x′‖² from x′ = x
    (step ``lr`` = η′, thermal noise ``noise`` = ε), returning the running average μ ← (1 − α)μ +
    αx′ (μ starts at x). ``grad_fn`` returns ∇f (a fresh minibatch each call) at given values."""
    if steps < 1 or lr <= 0 or noise < 0 or not 0 < alpha <= 1 or gamma < 0:
        raise ValueError("need steps >= 1, lr > 0, noise >= 0, 0 < alpha <= 1, gamma >= 0")
    anchor = [t.detach() for t in x]
    xp = [t.clone() for t in anchor]
    mu = [t.clone() for t in anchor]
    scale = math.sqrt(lr) * noise
    for _ in range(steps):
        grads = grad_fn(xp)
        for p, g, a, m in zip(xp, grads, anchor, mu, strict=True):
            p.sub_(lr * (g.detach() - gamma * (a - p)))
            if scale > 0:
                p.add_(
                    torch.randn(p.shape, generator=generator, dtype=p.dtype, device=p.device),
                    alpha=scale,
                )
            m.mul_(1.0 - alpha).add_(p, alpha=alpha)
    return mu


def entropy_sgd_step(
    params: Sequence[torch.Tensor],
    grad_fn: GradFn,
    *,
    gamma: float,
    outer_lr: float,
    inner_steps: int,
    inner_lr: float,
    noise: float,
    alpha: float,
    generator: torch.Generator | None = None,
) -> list[torch.Tensor]:
    """One Entropy-SGD step in place: μ from :func:`langevin_mean`, then x ← x − η γ(x − μ)
    (η = ``outer_lr``). Returns the local-entropy gradient estimate γ(x − μ)."""
    mu = langevin_mean(
        params,
        grad_fn,
        gamma=gamma,
        steps=inner_steps,
        lr=inner_lr,
        noise=noise,
        alpha=alpha,
        generator=generator,
    )
    out = []
    with torch.no_grad():
        for p, m in zip(params, mu, strict=True):
            g = gamma * (p.detach() - m)
            p.sub_(outer_lr * g)
            out.append(g)
    return out
