"""Mean-field dynamics of two-layer networks (Mei, Montanari & Nguyen 2018, arXiv 1804.06561).

The network f(x) = (1/N) Σ_i σ(⟨w_i, x⟩) trained by online SGD with per-neuron steps

    w_i ← w_i + 2ε·(y − f(x))·σ′(⟨w_i, x⟩)·x      (time t = k·ε)

follows, as N → ∞ and ε → 0, the distributional dynamics ∂_tρ = 2∇·(ρ∇Ψ(w; ρ)) with
Ψ(w; ρ) = −E[yσ(⟨w,x⟩)] + ∫E[σ(⟨w,x⟩)σ(⟨w′,x⟩)]ρ(dw′): the risk trajectory of a finite network
concentrates around the limit's at rate N^{-1/2}.

The paper's isotropic-Gaussian example: y = ±1 with probability ½, x ~ N(0, τ_y²I_d) with
τ_± = 1 ± Δ, and σ piecewise linear (s₁ below t₁, s₂ above t₂, linear between). Started from
the uniform distribution on the sphere of radius r₀, the limit stays uniform on a sphere whose
radius r(t) solves the one-dimensional ODE

    dr/dt = −R′(r),

with R(r) the risk of the infinite network with neurons uniform on the sphere of radius r (all
particles move radially at speed 2∂_rΨ, and moving all of them by dr changes R by 2∂_rΨ·dr).
R(r) = ½ Σ_y E_ρ[(y − F(rτ_yρ))²] with ρ = ‖x‖/τ_y ~ χ_d and F(a) = E_u[σ(a·u)] the average over
u = ⟨e, x/‖x‖⟩, whose density on [−1, 1] is ∝ (1 − u²)^{(d−3)/2}: F and F′ have closed forms
(incomplete beta functions) and the χ_d expectation is a generalized Gauss–Laguerre quadrature.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from scipy.integrate import solve_ivp
from scipy.special import betainc, betaln, roots_genlaguerre


@dataclass(frozen=True)
class IsotropicProblem:
    """The isotropic-Gaussian classification task and the piecewise-linear activation.

    Attributes:
        dim: input dimension d.
        delta: Δ: the classes have standard deviations 1 + Δ (y = +1) and 1 − Δ (y = −1).
        t1, t2: the activation's kinks.
        s1, s2: its values below t₁ and above t₂.
    """

    dim: int
    delta: float
    t1: float = 0.5
    t2: float = 1.5
    s1: float = -2.5
    s2: float = 7.5

    @property
    def slope(self) -> float:
        """σ′ between the kinks: (s₂ − s₁)/(t₂ − t₁)."""
        return (self.s2 - self.s1) / (self.t2 - self.t1)

    def activation(self, z: torch.Tensor) -> torch.Tensor:
        """σ(z)."""
        return self.s1 + (self.s2 - self.s1) * ((z - self.t1) / (self.t2 - self.t1)).clamp(0, 1)

    def derivative(self, z: torch.Tensor) -> torch.Tensor:
        """σ′(z) (0 at the kinks)."""
        return self.slope * ((z > self.t1) & (z < self.t2)).to(z.dtype)

    def sample(self, shape: tuple[int, ...], generator: torch.Generator, dtype=torch.float32):
        """Inputs x of shape (*shape, d) and labels y of shape ``shape``."""
        y = 2.0 * torch.randint(0, 2, shape, generator=generator).to(dtype) - 1.0
        x = torch.randn(*shape, self.dim, generator=generator, dtype=dtype)
        return x * (1.0 + self.delta * y)[..., None], y

    # -- the limit -------------------------------------------------------------------------
    def _tail(self, c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """P(u > c) and E[u·1{u > c}] for u with density ∝ (1 − u²)^{(d−3)/2} on [−1, 1]."""
        c = np.clip(c, -1.0, 1.0)
        m = (self.dim - 1) / 2
        prob = 1.0 - betainc(m, m, (c + 1.0) / 2.0)
        with np.errstate(divide="ignore"):  # c = ±1: (1 − c²)^m = 0
            first = np.exp(m * np.log1p(-(c**2)) - betaln(0.5, m)) / (2.0 * m)
        return prob, first

    def mean_activation(self, a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """F(a) = E_u[σ(a·u)] and F′(a) for a > 0 (closed forms)."""
        a = np.asarray(a, dtype=np.float64)
        p1, g1 = self._tail(self.t1 / a)
        p2, g2 = self._tail(self.t2 / a)
        ramp = (a * (g1 - g2) - self.t1 * (p1 - p2)) / (self.t2 - self.t1) + p2
        return self.s1 + (self.s2 - self.s1) * ramp, self.slope * (g1 - g2)

    def limit_risk(self, r: float, *, nodes: int = 200) -> tuple[float, float]:
        """R(r) and R′(r): the risk of infinitely many neurons uniform on the sphere of radius
        r, E_y E_ρ[(y − F(rτ_yρ))²] with ρ ~ χ_d by Gauss–Laguerre quadrature in ρ²/2."""
        g, weights = roots_genlaguerre(nodes, self.dim / 2 - 1)
        weights = weights / math.gamma(self.dim / 2)
        rho = np.sqrt(2.0 * g)
        risk = slope = 0.0
        for y in (1.0, -1.0):
            tau = 1.0 + self.delta * y
            f, df = self.mean_activation(r * tau * rho)
            risk += 0.5 * float(weights @ (y - f) ** 2)
            slope += 0.5 * float(weights @ (-2.0 * (y - f) * df * tau * rho))
        return risk, slope

    def limit_trajectory(self, r0: float, times: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The radius r(t) of dr/dt = −R′(r), r(0) = r₀, and the risk R(r(t)), at ``times``."""
        sol = solve_ivp(
            lambda _, r: [-self.limit_risk(float(r[0]))[1]],
            (0.0, float(times[-1])),
            [r0],
            t_eval=times,
            method="DOP853",
            rtol=1e-10,
            atol=1e-12,
        )
        if not sol.success:  # pragma: no cover - a smooth scalar ODE
            raise RuntimeError(sol.message)
        radius = sol.y[0]
        return radius, np.array([self.limit_risk(float(r))[0] for r in radius])

    def _quadrature(self, nodes: int) -> tuple[np.ndarray, np.ndarray]:
        """Nodes ρ and weights of E over ρ ~ χ_d (generalized Gauss–Laguerre in ρ²/2)."""
        g, weights = roots_genlaguerre(nodes, self.dim / 2 - 1)
        return np.sqrt(2.0 * g), weights / math.gamma(self.dim / 2)

    def radial_risk(self, radii: np.ndarray, *, nodes: int = 200) -> tuple[float, np.ndarray]:
        """For the spherically symmetric distribution with radii ``radii`` (equal weights): the
        risk R = ½Σ_y E_ρ[(y − f_∞(τ_yρ))²], f_∞(s) = mean_j F(r_j·s), and ∂_rΨ(r_j) =
        ½Σ_y E_ρ[(f_∞(τ_yρ) − y)·F′(r_jτ_yρ)·τ_yρ] at each radius."""
        rho, weights = self._quadrature(nodes)
        radii = np.asarray(radii, dtype=np.float64)
        risk, grad = 0.0, np.zeros_like(radii)
        for y in (1.0, -1.0):
            s = (1.0 + self.delta * y) * rho  # ‖x‖ at the nodes
            f, df = self.mean_activation(radii[:, None] * s[None, :])
            residual = f.mean(0) - y
            risk += 0.5 * float(weights @ residual**2)
            grad += 0.5 * (df * (residual * s)[None, :]) @ weights
        return risk, grad

    def radial_trajectory(
        self, radii0: np.ndarray, times: np.ndarray, *, nodes: int = 200
    ) -> tuple[np.ndarray, np.ndarray]:
        """The distributional dynamics from a spherically symmetric start, reduced to the radii:
        each radius moves at dr_j/dt = −2∂_rΨ(r_j; ρ_t) (the ordered radii stay quantiles of the
        radial distribution). Returns the radii (shape (len(times), M)) and the risk at
        ``times``."""
        sol = solve_ivp(
            lambda _, r: -2.0 * self.radial_risk(r, nodes=nodes)[1],
            (0.0, float(times[-1])),
            np.asarray(radii0, dtype=np.float64),
            t_eval=times,
            method="DOP853",
            rtol=1e-9,
            atol=1e-11,
        )
        if not sol.success:  # pragma: no cover - a smooth ODE
            raise RuntimeError(sol.message)
        radii = sol.y.T
        return radii, np.array([self.radial_risk(r, nodes=nodes)[0] for r in radii])

    def limit_outputs(self, x: torch.Tensor, r: float) -> np.ndarray:
        """f_∞(x) = F(r‖x‖) of the infinite network on the sphere of radius r."""
        norms = torch.linalg.vector_norm(x.double(), dim=-1).numpy()
        return self.mean_activation(r * norms)[0]


def sphere(
    seeds: int, neurons: int, dim: int, radius: float, generator: torch.Generator
) -> torch.Tensor:
    """Neurons uniform on the sphere of ``radius``: shape (seeds, neurons, dim)."""
    w = torch.randn(seeds, neurons, dim, generator=generator)
    return radius * w / torch.linalg.vector_norm(w, dim=-1, keepdim=True)


def online_sgd(
    problem: IsotropicProblem,
    w: torch.Tensor,
    *,
    lr: float,
    steps: int,
    batch: int,
    every: int,
    test_x: torch.Tensor,
    test_y: torch.Tensor,
    generator: torch.Generator,
) -> np.ndarray:
    """Online SGD of the networks ``w`` (shape (seeds, N, d); one network per seed, each with its
    own fresh samples) in the mean-field scaling: each step draws ``batch`` new examples per
    network and moves each neuron by 2ε·mean_b[(y − f(x))σ′(⟨w_i, x⟩)x]. Returns the test risk
    mean (y − f(x))² of every network every ``every`` steps (shape (seeds, steps//every + 1))."""
    w = w.clone()

    def risk() -> torch.Tensor:
        f = problem.activation(torch.einsum("snd,md->snm", w, test_x)).mean(1)
        return ((test_y - f) ** 2).mean(-1)

    risks = [risk()]
    for step in range(1, steps + 1):
        x, y = problem.sample((w.shape[0], batch), generator, dtype=w.dtype)
        z = torch.einsum("snd,sbd->snb", w, x)
        residual = y - problem.activation(z).mean(1)  # (seeds, batch)
        w += (2.0 * lr / batch) * torch.einsum(
            "snb,sbd->snd", problem.derivative(z) * residual[:, None, :], x
        )
        if step % every == 0:
            risks.append(risk())
    return torch.stack(risks, dim=1).double().numpy()


def chi_quantile_radii(r0: float, dim: int, particles: int) -> np.ndarray:
    """``particles`` midpoint quantiles of ‖w‖ for w ~ N(0, (r₀²/d)I_d): r₀·χ_d/√d."""
    from scipy.stats import chi

    return r0 / math.sqrt(dim) * chi.ppf((np.arange(particles) + 0.5) / particles, dim)
