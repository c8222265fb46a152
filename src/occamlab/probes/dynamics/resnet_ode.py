"""Residual networks as forward-Euler discretizations of an ODE (Haber & Ruthotto 2017, arXiv
1705.03341; Chen et al. 2018, arXiv 1806.07366).

The residual network with L layers of step h = T/L,

    x_{l+1} = x_l + h·σ(W(t_l) x_l + b(t_l)),   t_l = l·h,

is forward Euler on the flow dx/dt = σ(W(t)x + b(t)) when its weights are sampled from a weight
function that is smooth in time. Its error against the flow at time T is O(h) (first order), and
its forward propagation is stable when the eigenvalues of the layer Jacobian I + h·diag(σ′)W lie
in the unit disc. Around the fixed point x = 0 with b = 0 and σ′(0) = 1 (tanh) the layer Jacobian
is I + hW, so a small input grows or decays per unit depth-time at the rate

    r(h) = max_k ln|1 + hλ_k(W)| / h   →   max_k Re λ_k(W)   (h → 0).

The antisymmetric weights of Haber & Ruthotto, W = K − Kᵀ − γI, have eigenvalues −γ + iμ_k: the
continuous flow is stable, and forward Euler is stable while h ≤ min_k 2γ/(γ² + μ_k²)
(:func:`euler_step_limit`); W = K − Kᵀ + γI has max Re λ = γ > 0 and blows up.

Everything here is float64 numpy; inputs are batches of row vectors (shape (m, n)).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.integrate import solve_ivp

Activation = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class WeightFunction:
    """A weight function smooth in time: W(t) = W₀ + sin(ωt)·W₁ + cos(ωt)·W₂ and
    b(t) = b₀ + sin(ωt)·b₁ (ω = 2π/T: one period over the horizon).

    Attributes:
        w: the matrices W₀, W₁, W₂, shape (3, n, n).
        b: the vectors b₀, b₁, shape (2, n).
        omega: the angular frequency ω.
    """

    w: np.ndarray
    b: np.ndarray
    omega: float

    def weight(self, t: float) -> np.ndarray:
        """W(t), shape (n, n)."""
        return (
            self.w[0] + math.sin(self.omega * t) * self.w[1] + math.cos(self.omega * t) * self.w[2]
        )

    def bias(self, t: float) -> np.ndarray:
        """b(t), shape (n,)."""
        return self.b[0] + math.sin(self.omega * t) * self.b[1]


def random_weight_function(
    dim: int, *, horizon: float, scale: float, rng: np.random.Generator
) -> WeightFunction:
    """A random :class:`WeightFunction`: Gaussian matrices with entries of variance
    scale²/dim (so W x has the size of scale·x), biases of variance 1/4, one period over the
    horizon."""
    w = rng.standard_normal((3, dim, dim)) * scale / math.sqrt(dim)
    b = 0.5 * rng.standard_normal((2, dim))
    return WeightFunction(w, b, 2.0 * math.pi / horizon)


def residual_forward(
    x0: np.ndarray,
    weights: WeightFunction,
    *,
    horizon: float,
    depth: int,
    activation: Activation = np.tanh,
) -> np.ndarray:
    """The residual network of ``depth`` layers, h = horizon/depth, layer l using W(t_l), b(t_l):
    returns x_L for each row of ``x0``."""
    h = horizon / depth
    x = np.array(x0, dtype=np.float64)
    for layer in range(depth):
        t = layer * h
        x = x + h * activation(x @ weights.weight(t).T + weights.bias(t))
    return x


def ode_flow(
    x0: np.ndarray,
    weights: WeightFunction,
    *,
    horizon: float,
    activation: Activation = np.tanh,
    tol: float = 1e-12,
) -> np.ndarray:
    """x(T) of dx/dt = σ(W(t)x + b(t)) for each row of ``x0``: scipy's DOP853 (8th order) at
    relative and absolute tolerance ``tol``, the reference the network is compared with."""
    x0 = np.array(x0, dtype=np.float64)
    shape = x0.shape

    def rhs(t: float, y: np.ndarray) -> np.ndarray:
        x = y.reshape(shape)
        return activation(x @ weights.weight(t).T + weights.bias(t)).reshape(-1)

    sol = solve_ivp(rhs, (0.0, horizon), x0.reshape(-1), method="DOP853", rtol=tol, atol=tol)
    if not sol.success:  # pragma: no cover - the flow is smooth and bounded
        raise RuntimeError(sol.message)
    return sol.y[:, -1].reshape(shape)


def euler_errors(
    x0: np.ndarray,
    weights: WeightFunction,
    *,
    horizon: float,
    depths: list[int],
    activation: Activation = np.tanh,
) -> list[float]:
    """For each depth L: the root-mean-square over the inputs of ‖x_L − x(T)‖."""
    reference = ode_flow(x0, weights, horizon=horizon, activation=activation)
    out = []
    for depth in depths:
        x = residual_forward(x0, weights, horizon=horizon, depth=depth, activation=activation)
        out.append(float(np.sqrt(((x - reference) ** 2).sum(axis=1).mean())))
    return out


def log_log_slope(h: list[float], errors: list[float]) -> float:
    """Least-squares slope of ln(error) against ln(h): the order of convergence."""
    return float(np.polyfit(np.log(h), np.log(errors), 1)[0])


def linear_euler_leading_error(a: np.ndarray, x0: np.ndarray, horizon: float) -> np.ndarray:
    """For the linear flow dx/dt = Ax: the leading term c of Euler's global error
    (I + hA)^L x₀ − e^{TA} x₀ ≈ h·c, with c = −(T/2)·A²e^{TA}x₀.

    (I + hA)^L = exp(L·log(I + hA)) = exp(TA − (Th/2)A² + O(h²)), and A commutes with e^{TA}."""
    from scipy.linalg import expm

    return -0.5 * horizon * (a @ a @ expm(horizon * a) @ x0)


# -- forward stability -------------------------------------------------------------------------
def antisymmetric_weights(k: np.ndarray, gamma: float) -> np.ndarray:
    """Haber & Ruthotto's W = K − Kᵀ − γI (γ > 0: eigenvalues −γ + iμ, a stable flow; γ < 0:
    max Re λ = −γ > 0, an unstable one)."""
    return k - k.T - gamma * np.eye(k.shape[0])


def max_real_eigenvalue(w: np.ndarray) -> float:
    """max_k Re λ_k(W): the growth rate of the continuous linearized flow."""
    return float(np.linalg.eigvals(w).real.max())


def layer_growth_rate(w: np.ndarray, h: float) -> float:
    """max_k ln|1 + hλ_k(W)| / h: the growth per unit depth-time of the residual layer
    x ↦ x + h·W x (the eigenvalues of the layer Jacobian I + hW)."""
    return float(np.log(np.abs(1.0 + h * np.linalg.eigvals(w))).max() / h)


def euler_step_limit(w: np.ndarray) -> float:
    """The largest h with every |1 + hλ_k| ≤ 1: min_k −2 Re λ_k / |λ_k|² (0 if some Re λ_k ≥ 0,
    where no step is stable)."""
    lam = np.linalg.eigvals(w)
    if (lam.real >= 0).any():
        return 0.0
    return float((-2.0 * lam.real / np.abs(lam) ** 2).min())


def shared_forward_norms(
    x0: np.ndarray, w: np.ndarray, *, h: float, depth: int, activation: Activation = np.tanh
) -> np.ndarray:
    """‖x_l‖ for l = 0 … depth (rows: inputs) through the residual network with the shared weight
    W and no bias, x_{l+1} = x_l + h·σ(W x_l)."""
    x = np.array(x0, dtype=np.float64)
    norms = [np.linalg.norm(x, axis=1)]
    for _ in range(depth):
        x = x + h * activation(x @ w.T)
        norms.append(np.linalg.norm(x, axis=1))
    return np.stack(norms, axis=1)


def measured_growth_rate(norms: np.ndarray, h: float, *, linear_below: float) -> float:
    """The growth rate per unit depth-time of one input's ‖x_l‖ (a row of
    :func:`shared_forward_norms`): the least-squares slope of ln‖x_l‖ against t_l = l·h over the
    second half of the layers at which ‖x_l‖ is still below ``linear_below`` (the linear regime
    of the activation; the first half holds the transient of the non-dominant modes)."""
    outside = np.nonzero(norms >= linear_below)[0]
    last = int(outside[0]) - 1 if outside.size else norms.shape[0] - 1
    layers = np.arange(last // 2, last + 1)
    if layers.size < 3:
        raise ValueError("fewer than 3 layers in the linear regime: lower the input amplitude")
    return float(np.polyfit(layers * h, np.log(norms[layers]), 1)[0])
