"""Learning dynamics of deep linear networks (Saxe, McClelland & Ganguli 2014, arXiv 1312.6120).

A depth-D linear network ``W = W_D ⋯ W_1`` learns the map ``S = U diag(s) Vᵀ`` from whitened
inputs by gradient flow on ``L = ½‖S − W‖²_F`` (the population squared error when the inputs are
white; time in units of τ = 1/learning rate). From a *balanced* initialization *aligned* with the
modes of S — every layer carries mode i with the same scalar ``a_i``, so ``W_{j+1}ᵀW_{j+1} =
W_jW_jᵀ`` — the modes decouple and the strength ``u_i = u_iᵀ W v_i = a_i^D`` follows

    du/dt = D u^{2 − 2/D} (s − u).

For D = 2 this is the logistic equation, solved by the sigmoid

    u(t) = s e^{2st} / (e^{2st} − 1 + s/u₀),

which reaches s/2 at ``t½ = ln(s/u₀ − 1) / (2s)``: time ∝ 1/s up to a logarithm, so the modes are
learned one after the other, strongest first. For D > 2 the time to reach u is the integral
``t(u) = ∫_{u₀}^{u} dv / (D v^{2−2/D} (s − v))`` (≈ u₀^{−(1−2/D)} / ((D − 2) s) for small u₀: again
∝ 1/s, and a sharper, more step-like transition).

Under gradient flow the differences ``W_{j+1}ᵀW_{j+1} − W_jW_jᵀ`` are conserved for any
initialization (Arora et al. 2018, arXiv 1802.06509; Du, Hu & Lee 2018, arXiv 1806.00900);
gradient descent (step η, gradients G_j) changes them by η²(G_{j+1}ᵀG_{j+1} − G_jG_jᵀ) per step,
an O(η) drift over a fixed time.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import integrate


def mode_strength_depth2(t: np.ndarray | float, s: float, u0: float) -> np.ndarray:
    """The closed-form mode strength of a depth-2 network, u(t) = s e^{2st}/(e^{2st} − 1 + s/u₀).

    Written as s / (1 + (s/u₀ − 1) e^{−2st}) so that it does not overflow at large t.

    >>> float(mode_strength_depth2(0.0, 2.0, 1e-3))
    0.001
    """
    t = np.asarray(t, dtype=np.float64)
    return s / (1.0 + (s / u0 - 1.0) * np.exp(-2.0 * s * t))


def mode_rate(u: np.ndarray | float, s: float, depth: int) -> np.ndarray:
    """du/dt = D u^{2−2/D} (s − u) for a mode of a balanced, aligned depth-D network."""
    u = np.asarray(u, dtype=np.float64)
    return depth * u ** (2.0 - 2.0 / depth) * (s - u)


def mode_time(u: float, s: float, u0: float, depth: int) -> float:
    """Time for a mode to grow from u₀ to u (u₀ < u < s): ``ln(u(s − u₀)/(u₀(s − u)))/(2s)`` for
    D = 2, the integral ∫ dv/(D v^{2−2/D}(s − v)) by quadrature (on ln v) for D > 2."""
    if not 0.0 < u0 < u < s:
        raise ValueError(f"need 0 < u0 < u < s, got u0={u0}, u={u}, s={s}")
    if depth == 2:
        return math.log(u * (s - u0) / (u0 * (s - u))) / (2.0 * s)

    def integrand(z: float) -> float:  # v = e^z, dv = v dz
        v = math.exp(z)
        return v / float(mode_rate(v, s, depth))

    value, _ = integrate.quad(integrand, math.log(u0), math.log(u), limit=200, epsabs=0.0)
    return float(value)


def half_time(s: float, u0: float, depth: int) -> float:
    """Time for a mode to reach half its target, u = s/2 (``ln(s/u₀ − 1)/(2s)`` for D = 2)."""
    return mode_time(0.5 * s, s, u0, depth)


def mode_strength(t: np.ndarray, s: float, u0: float, depth: int, *, grid: int = 2000):
    """The mode strength u(t) of a balanced, aligned depth-D network: the closed form for D = 2;
    for D > 2, t(u) (:func:`mode_time`) on a fine grid of u between u₀ and s, inverted by
    monotone interpolation (u = s after the grid's last time)."""
    t = np.asarray(t, dtype=np.float64)
    if depth == 2:
        return mode_strength_depth2(t, s, u0)
    # grid in the logistic variable: dense where u is near u₀ and near s
    z = np.linspace(math.log(u0 / (s - u0)), math.log((s * (1 - 1e-9)) / (s * 1e-9)), grid)
    us = s / (1.0 + np.exp(-z))
    us[0] = u0
    times = np.zeros(grid)
    for k in range(1, grid):
        times[k] = times[k - 1] + _segment(us[k - 1], us[k], s, depth)
    return np.interp(t, times, us, right=s)


def _segment(a: float, b: float, s: float, depth: int) -> float:
    value, _ = integrate.quad(lambda v: 1.0 / float(mode_rate(v, s, depth)), a, b, epsabs=0.0)
    return float(value)


def aligned_balanced_init(
    u: np.ndarray, v: np.ndarray, *, depth: int, hidden: int, u0: float, rng: np.random.Generator
) -> list[np.ndarray]:
    """Layers ``[W_1, …, W_D]`` of a balanced initialization aligned with the modes (columns) of
    ``u`` (outputs) and ``v`` (inputs): every mode has strength u₀ = a₀^D, in random orthonormal
    frames of the hidden layers (width ``hidden`` ≥ the number of modes)."""
    n = u.shape[1]
    if hidden < n or depth < 2:
        raise ValueError("need hidden >= number of modes and depth >= 2")
    a0 = u0 ** (1.0 / depth)
    frames = [np.linalg.qr(rng.standard_normal((hidden, hidden)))[0][:, :n] for _ in range(depth)]
    layers = [a0 * frames[0] @ v.T]
    layers += [a0 * frames[j] @ frames[j - 1].T for j in range(1, depth - 1)]
    layers.append(a0 * u @ frames[depth - 2].T)
    return layers


def product(layers: list[np.ndarray]) -> np.ndarray:
    """W_D ⋯ W_1 (batched over leading axes)."""
    out = layers[0]
    for w in layers[1:]:
        out = w @ out
    return out


def gradients(layers: list[np.ndarray], target: np.ndarray) -> list[np.ndarray]:
    """∂L/∂W_j of L = ½‖target − W_D⋯W_1‖²_F: −(W_D⋯W_{j+1})ᵀ E (W_{j−1}⋯W_1)ᵀ, E = target − W
    (batched over leading axes)."""
    depth = len(layers)
    below = [None] * depth  # W_{j−1}⋯W_1
    above = [None] * depth  # W_D⋯W_{j+1}
    acc = None
    for j in range(depth):
        below[j] = acc
        acc = layers[j] if acc is None else layers[j] @ acc
    error = target - acc
    acc = None
    for j in reversed(range(depth)):
        above[j] = acc
        acc = layers[j] if acc is None else acc @ layers[j]
    out = []
    for j in range(depth):
        g = error if above[j] is None else np.swapaxes(above[j], -1, -2) @ error
        g = g if below[j] is None else g @ np.swapaxes(below[j], -1, -2)
        out.append(-g)
    return out


def imbalance(layers: list[np.ndarray]) -> list[np.ndarray]:
    """The conserved quantities W_{j+1}ᵀW_{j+1} − W_jW_jᵀ, j = 1…D−1 (batched)."""
    t = np.swapaxes
    return [
        t(layers[j + 1], -1, -2) @ layers[j + 1] - layers[j] @ t(layers[j], -1, -2)
        for j in range(len(layers) - 1)
    ]


def gradient_descent(
    layers: list[np.ndarray],
    target: np.ndarray,
    *,
    lr: float,
    steps: int,
    u: np.ndarray | None = None,
    v: np.ndarray | None = None,
    record_every: int = 1,
) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    """Full-batch GD W_j ← W_j − η ∂L/∂W_j for ``steps`` steps (float64, batched over leading
    axes). Returns the final layers, the recorded times (k·η) and, when ``u`` and ``v`` are
    given, the mode strengths diag(Uᵀ W V) at those times (shape (records, …, modes))."""
    layers = [w.astype(np.float64, copy=True) for w in layers]
    times, strengths = [], []

    def record(k: int) -> None:
        times.append(k * lr)
        if u is not None and v is not None:
            w = product(layers)
            strengths.append(np.einsum("...im,...ij,...jm->...m", u, w, v))

    record(0)
    for k in range(1, steps + 1):
        grads = gradients(layers, target)
        layers = [w - lr * g for w, g in zip(layers, grads, strict=True)]
        if k % record_every == 0 or k == steps:
            record(k)
    return layers, np.asarray(times), np.asarray(strengths)


def crossing_time(times: np.ndarray, values: np.ndarray, level: float) -> float:
    """First time ``values`` reaches ``level`` (linear interpolation; NaN if it never does)."""
    above = np.nonzero(values >= level)[0]
    if above.size == 0:
        return math.nan
    k = int(above[0])
    if k == 0:
        return float(times[0])
    t0, t1, y0, y1 = times[k - 1], times[k], values[k - 1], values[k]
    return float(t0 + (level - y0) * (t1 - t0) / (y1 - y0))
