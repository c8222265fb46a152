"""The stationary distribution of constant-rate SGD and SGLD near a quadratic optimum, in
closed form, and the Gaussian posterior it is compared with (float64 throughout).

Near a minimum θ* of a loss ``L(θ) = (1/N) Σ_i ℓ_i(θ)`` with Hessian ``A``, the minibatch
gradient of S examples drawn with replacement is ``A(θ − θ*) + ξ`` with ``Cov ξ = B/S``, where
``B = (1/N) Σ_i g_i g_iᵀ`` is the covariance of the per-example gradients ``g_i = ∇ℓ_i(θ*)``.
SGD with rate η (and a symmetric preconditioner H) is then, in the continuous-time limit of
Mandt, Hoffman & Blei (2017, arXiv 1704.04289, eq. 8–11), an Ornstein–Uhlenbeck process whose
stationary distribution is ``N(θ*, Σ)`` with

    (HA) Σ + Σ (HA)ᵀ = (η/S) H B H                       (Lyapunov equation)

so Σ depends on η and S only through the temperature η/S. Against the Bayesian posterior
``p(θ | data) ∝ exp(−N L(θ))`` (Gaussian with covariance ``(NA)⁻¹`` when ``L`` is quadratic), the
KL-optimal constant rate is ``η* = 2dS / (N tr B)`` (their Theorem 1) and the optimal
preconditioner at rate η is ``H* = (2S / (ηN)) B⁻¹`` (Theorem 2), which samples the posterior
exactly when ``B = A`` (a well-specified model: the Fisher identity).

Stochastic gradient Langevin dynamics (Welling & Teh 2011),
``θ ← θ − (ε/2) N ĝ + N(0, εI)``, is the same process with drift ``(εN/2) A`` and diffusion
``εI + (εN/2)² B/S``: ``AΣ + ΣA = (2/N) I + (εN / (2S)) B``, the posterior as ε → 0.

For Bayesian linear regression with known noise variance σ² and a flat prior,
``ℓ_i(w) = (x_iᵀw − y_i)² / (2σ²)``: ``A = XᵀX / (Nσ²)``, ``B = Xᵀ diag(r²) X / (Nσ⁴)`` with the
residuals r of least squares ŵ, and the posterior is exactly ``N(ŵ, σ² (XᵀX)⁻¹)``. For
logistic regression, ``ℓ_i(w) = −log p(y_i | x_i, w)`` with ``p_i = σ(x_iᵀw)``, the loss is
quadratic only near its optimum (the maximum-likelihood ŵ): ``A = Xᵀ diag(p(1 − p)) X / N``,
``B = Xᵀ diag((p − y)²) X / N``. :func:`simulate_linear_sgd` runs many independent SGD or SGLD
chains on either at once, on the exact loss.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import linalg
from scipy.special import expit


@dataclass(frozen=True)
class QuadraticProblem:
    """Linear regression with known noise variance (or logistic regression), seen as a quadratic
    loss around its optimum.

    Attributes:
        x: inputs, shape (N, d).
        y: targets, shape (N,) (0/1 labels for logistic regression).
        noise_var: the noise variance σ² of the likelihood ``y ~ N(xᵀw, σ²)`` (1 for logistic).
        optimum: the least-squares (and posterior-mean) weights ŵ, or the logistic
            maximum-likelihood weights, shape (d,).
        hessian: A, the Hessian of the per-example average loss at ŵ (XᵀX / (Nσ²) for linear
            regression).
        gradient_cov: B, the per-example gradient covariance at ŵ.
        link: ``"identity"`` (linear regression) or ``"logistic"``: the per-example gradient is
            ``(link(xᵀw) − y) x / σ²``.
    """

    x: np.ndarray
    y: np.ndarray
    noise_var: float
    optimum: np.ndarray
    hessian: np.ndarray
    gradient_cov: np.ndarray
    link: Literal["identity", "logistic"] = "identity"

    def residuals(self, logits: np.ndarray, y: np.ndarray) -> np.ndarray:
        """``link(xᵀw) − y``, the per-example gradient's coefficient on x (times σ²)."""
        return (expit(logits) if self.link == "logistic" else logits) - y

    @property
    def n(self) -> int:
        return int(self.x.shape[0])

    @property
    def dim(self) -> int:
        return int(self.x.shape[1])


def linear_regression_problem(x: np.ndarray, y: np.ndarray, noise_var: float) -> QuadraticProblem:
    """The optimum, Hessian A and per-example gradient covariance B of
    ``L(w) = (1/N) Σ (x_iᵀw − y_i)² / (2σ²)``."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    n = x.shape[0]
    optimum = np.linalg.lstsq(x, y, rcond=None)[0]
    r = x @ optimum - y
    g = x * (r / noise_var)[:, None]  # per-example gradients at ŵ (their mean is 0)
    return QuadraticProblem(
        x=x,
        y=y,
        noise_var=float(noise_var),
        optimum=optimum,
        hessian=x.T @ x / (n * noise_var),
        gradient_cov=g.T @ g / n,
    )


def logistic_regression_problem(
    x: np.ndarray, y: np.ndarray, *, tol: float = 1e-12, max_iter: int = 100
) -> QuadraticProblem:
    """The maximum-likelihood ŵ (Newton's method), Hessian A and per-example gradient covariance
    B of ``L(w) = (1/N) Σ −log p(y_i | x_i, w)``, ``p(1 | x, w) = σ(xᵀw)``.

    Raises:
        ValueError: labels other than 0/1, or separable data (no finite optimum).
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if not np.isin(y, (0.0, 1.0)).all():
        raise ValueError("logistic regression needs 0/1 labels")
    n = x.shape[0]
    w = np.zeros(x.shape[1])
    for _ in range(max_iter):
        p = expit(x @ w)
        try:
            step = np.linalg.solve(x.T @ (x * (p * (1 - p))[:, None]) / n, x.T @ (p - y) / n)
        except np.linalg.LinAlgError:  # saturated probabilities: the data are separable
            break
        w = w - step
        if not np.linalg.norm(w) < 1e6:  # diverging (separable data) or NaN
            break
        if np.linalg.norm(step) <= tol * max(1.0, float(np.linalg.norm(w))):
            p = expit(x @ w)
            g = x * (p - y)[:, None]  # per-example gradients at ŵ (their mean is 0)
            hessian = x.T @ (x * (p * (1 - p))[:, None]) / n
            return QuadraticProblem(x, y, 1.0, w, hessian, g.T @ g / n, link="logistic")
    raise ValueError(
        "logistic regression has no finite optimum on these data (separable, or Newton's "
        "method did not converge): add label noise or examples"
    )


def ou_stationary_covariance(drift: np.ndarray, diffusion: np.ndarray) -> np.ndarray:
    """Stationary covariance Σ of ``dθ = −M θ dt + dW``, ``Cov dW = Q dt``: the solution of
    ``MΣ + ΣMᵀ = Q`` (M must have eigenvalues with positive real part)."""
    sigma = linalg.solve_continuous_lyapunov(np.asarray(drift, float), np.asarray(diffusion, float))
    return (sigma + sigma.T) / 2


def sgd_stationary_covariance(
    hessian: np.ndarray,
    gradient_cov: np.ndarray,
    lr: float,
    batch: int,
    preconditioner: np.ndarray | None = None,
) -> np.ndarray:
    """Mandt et al.'s Σ for SGD at rate ``lr``, batch ``batch``:
    ``(HA)Σ + Σ(HA)ᵀ = (lr/batch) H B H`` (H = I without a preconditioner)."""
    a = np.asarray(hessian, float)
    h = np.eye(a.shape[0]) if preconditioner is None else np.asarray(preconditioner, float)
    return ou_stationary_covariance(h @ a, (lr / batch) * h @ gradient_cov @ h)


def discrete_sgd_covariance(
    hessian: np.ndarray, gradient_cov: np.ndarray, lr: float, batch: int
) -> np.ndarray:
    """The discrete-time counterpart with additive noise:
    ``Σ = (I − ηA) Σ (I − ηA) + η² B/S`` (differs from the OU Σ at first order in ηλ)."""
    m = np.eye(len(hessian)) - lr * np.asarray(hessian, float)
    sigma = linalg.solve_discrete_lyapunov(m, lr**2 / batch * np.asarray(gradient_cov, float))
    return (sigma + sigma.T) / 2


def sgld_stationary_covariance(
    hessian: np.ndarray, gradient_cov: np.ndarray, n: int, lr: float, batch: int
) -> np.ndarray:
    """SGLD's Σ with minibatch gradients: ``AΣ + ΣA = (2/N) I + (εN / (2S)) B``."""
    a = np.asarray(hessian, float)
    q = 2.0 / n * np.eye(len(a)) + lr * n / (2 * batch) * np.asarray(gradient_cov, float)
    return ou_stationary_covariance(a, q)


def optimal_constant_lr(gradient_cov: np.ndarray, n: int, batch: int) -> float:
    """The rate minimizing KL(SGD ‖ posterior): ``η* = 2dS / (N tr B)`` (Mandt et al., Thm. 1)."""
    b = np.asarray(gradient_cov, float)
    return 2.0 * b.shape[0] * batch / (n * float(np.trace(b)))


def optimal_preconditioner(gradient_cov: np.ndarray, n: int, batch: int, lr: float) -> np.ndarray:
    """The preconditioner minimizing KL at rate ``lr``: ``H* = (2S / (ηN)) B⁻¹`` (Thm. 2)."""
    return 2.0 * batch / (lr * n) * np.linalg.inv(np.asarray(gradient_cov, float))


def posterior(problem: QuadraticProblem) -> tuple[np.ndarray, np.ndarray]:
    """Mean and covariance of the exact posterior ``∝ exp(−N L(w))`` (flat prior):
    ``N(ŵ, σ²(XᵀX)⁻¹)``; linear regression only (logistic regression's posterior is not
    Gaussian)."""
    if problem.link != "identity":
        raise ValueError("the exact Gaussian posterior exists for linear regression only")
    return problem.optimum.copy(), problem.noise_var * np.linalg.inv(problem.x.T @ problem.x)


def gaussian_kl(mean0: np.ndarray, cov0: np.ndarray, mean1: np.ndarray, cov1: np.ndarray) -> float:
    """KL(N(m₀, S₀) ‖ N(m₁, S₁)) = ½[tr(S₁⁻¹S₀) + (m₁−m₀)ᵀS₁⁻¹(m₁−m₀) − d + ln det S₁/det S₀]."""
    c1 = linalg.cho_factor(np.asarray(cov1, float))
    diff = np.asarray(mean1, float) - np.asarray(mean0, float)
    trace = float(np.trace(linalg.cho_solve(c1, np.asarray(cov0, float))))
    maha = float(diff @ linalg.cho_solve(c1, diff))
    logdet1 = 2.0 * float(np.log(np.diag(c1[0])).sum())
    logdet0 = float(np.linalg.slogdet(np.asarray(cov0, float))[1])
    return 0.5 * (trace + maha - len(diff) + logdet1 - logdet0)


@dataclass(frozen=True)
class ChainMoments:
    """Per-chain sample moments of the iterates after burn-in.

    Attributes:
        mean: per-chain mean of θ, shape (K, d).
        second: per-chain mean of (θ − θ*)(θ − θ*)ᵀ about the optimum, shape (K, d, d).
        steps: iterations averaged per chain.
    """

    mean: np.ndarray
    second: np.ndarray
    steps: int

    def covariance(self, chains: slice | np.ndarray | None = None) -> np.ndarray:
        """Σ estimated about the optimum (unbiased: the stationary mean is θ*) from ``chains``."""
        s = self.second if chains is None else self.second[chains]
        return s.mean(axis=0)

    def gaussian(
        self, optimum: np.ndarray, chains: slice | np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """The fitted Gaussian (sample mean, covariance about it) of the pooled iterates."""
        m = self.mean if chains is None else self.mean[chains]
        mu = m.mean(axis=0)
        shift = mu - optimum
        return mu, self.covariance(chains) - np.outer(shift, shift)


def simulate_linear_sgd(
    problem: QuadraticProblem,
    *,
    lr: float,
    batch: int,
    steps: int,
    burn_in: int,
    chains: int,
    seed: int,
    preconditioner: np.ndarray | None = None,
    langevin: bool = False,
) -> ChainMoments:
    """Run ``chains`` independent chains of SGD (or SGLD with ``langevin``) from θ* and return
    their moments over ``steps`` iterations after ``burn_in``.

    SGD: ``θ ← θ − η H ĝ`` with ĝ the mean gradient of ``batch`` examples drawn with
    replacement; SGLD: ``θ ← θ − (η/2) N ĝ + N(0, ηI)``.
    """
    rng = np.random.default_rng(seed)
    x, y, n, d = problem.x, problem.y, problem.n, problem.dim
    w = np.tile(problem.optimum, (chains, 1))
    total_mean = np.zeros((chains, d))
    total_second = np.zeros((chains, d, d))
    h = None if preconditioner is None else np.asarray(preconditioner, float)
    for t in range(burn_in + steps):
        idx = rng.integers(0, n, size=(chains, batch))
        xb = x[idx]  # (K, S, d)
        r = problem.residuals(np.einsum("ksd,kd->ks", xb, w), y[idx])
        g = np.einsum("ks,ksd->kd", r, xb) / (batch * problem.noise_var)
        if langevin:
            w = w - 0.5 * lr * n * g + math.sqrt(lr) * rng.standard_normal((chains, d))
        else:
            w = w - lr * (g if h is None else g @ h)
        if t >= burn_in:
            dev = w - problem.optimum
            total_mean += w
            total_second += dev[:, :, None] * dev[:, None, :]
    return ChainMoments(mean=total_mean / steps, second=total_second / steps, steps=steps)
