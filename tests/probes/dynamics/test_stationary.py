"""The closed forms of SGD's and SGLD's stationary distributions against independent
computations (float64): a Kronecker solve of the Lyapunov equation, the discrete recursion
iterated, long simulations, Monte-Carlo KL, finite differences and numerical minimization."""

import numpy as np
import pytest
from scipy import optimize, stats

from occamlab.probes.dynamics.stationary import (
    discrete_sgd_covariance,
    gaussian_kl,
    linear_regression_problem,
    logistic_regression_problem,
    optimal_constant_lr,
    optimal_preconditioner,
    ou_stationary_covariance,
    posterior,
    sgd_stationary_covariance,
    sgld_stationary_covariance,
    simulate_linear_sgd,
)


def spd(d, seed, scale=1.0):
    m = np.random.default_rng(seed).standard_normal((d, d))
    return scale * (m @ m.T / d + 0.3 * np.eye(d))


def problem(d=3, n=300, seed=0, noise=0.5):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, d)) * np.sqrt(np.geomspace(1, 0.3, d))
    y = x @ rng.standard_normal(d) + noise * rng.standard_normal(n)
    return linear_regression_problem(x, y, noise**2)


def logistic(d=3, n=400, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, d)) * np.sqrt(np.geomspace(1, 0.3, d))
    y = (rng.random(n) < 1 / (1 + np.exp(-x @ rng.standard_normal(d)))).astype(float)
    return logistic_regression_problem(x, y)


def fd_hessian(loss, w, h=1e-4):
    """Central finite differences of ``loss`` at ``w``."""
    eye = np.eye(len(w))
    return np.array(
        [
            [
                (
                    loss(w + h * (ei + ej))
                    - loss(w + h * (ei - ej))
                    - loss(w - h * (ei - ej))
                    + loss(w - h * (ei + ej))
                )
                / (4 * h * h)
                for ej in eye
            ]
            for ei in eye
        ]
    )


def kron_solve(m, q):
    """MΣ + ΣMᵀ = Q as (I ⊗ M + M ⊗ I) vec Σ = vec Q (column-major vec)."""
    d = len(m)
    big = np.kron(np.eye(d), m) + np.kron(m, np.eye(d))
    return np.linalg.solve(big, q.reshape(-1, order="F")).reshape(d, d, order="F")


def test_lyapunov_solution_matches_a_kronecker_solve():
    a, b, h = spd(4, 0), spd(4, 1), spd(4, 2)
    sigma = sgd_stationary_covariance(a, b, 0.03, 7, preconditioner=h)
    assert np.allclose(sigma, kron_solve(h @ a, 0.03 / 7 * h @ b @ h), rtol=1e-10, atol=1e-14)
    assert np.allclose(sigma, sigma.T) and np.linalg.eigvalsh(sigma).min() > 0
    q = spd(4, 3)
    assert np.allclose(ou_stationary_covariance(a, q), kron_solve(a, q), rtol=1e-10)


def test_temperature_is_lr_over_batch():
    a, b = spd(5, 4), spd(5, 5)
    base = sgd_stationary_covariance(a, b, 0.01, 8)
    assert np.allclose(sgd_stationary_covariance(a, b, 0.02, 16), base, rtol=1e-12)
    assert np.allclose(sgd_stationary_covariance(a, b, 0.02, 8), 2 * base, rtol=1e-12)
    assert not np.allclose(sgd_stationary_covariance(a, b, 0.02, 10), base, rtol=1e-3)


def test_discrete_covariance_is_the_recursion_fixed_point_and_tends_to_the_ou_limit():
    a, b = spd(3, 6), spd(3, 7)
    lr, s = 0.05, 4
    sigma = np.zeros((3, 3))
    m = np.eye(3) - lr * a
    for _ in range(20_000):  # iterate Σ ← (I − ηA)Σ(I − ηA) + η²B/S
        sigma = m @ sigma @ m + lr**2 / s * b
    assert np.allclose(discrete_sgd_covariance(a, b, lr, s), sigma, rtol=1e-10)
    gaps = []
    for eta in (1e-2, 1e-3):
        ou = sgd_stationary_covariance(a, b, eta, s)
        gaps.append(np.linalg.norm(discrete_sgd_covariance(a, b, eta, s) - ou) / np.linalg.norm(ou))
    assert gaps[1] < 0.2 * gaps[0] and gaps[1] < 1e-3  # first order in η


def test_problem_moments_match_per_example_gradients_and_finite_differences():
    p = problem()
    noise_var = p.noise_var
    grads = [xi * (xi @ p.optimum - yi) / noise_var for xi, yi in zip(p.x, p.y, strict=True)]
    assert np.allclose(np.mean(grads, axis=0), 0, atol=1e-12)
    assert np.allclose(sum(np.outer(g, g) for g in grads) / p.n, p.gradient_cov, rtol=1e-10)

    def loss(w):
        return np.mean((p.x @ w - p.y) ** 2) / (2 * noise_var)

    fd = fd_hessian(loss, p.optimum)
    assert np.allclose(fd, p.hessian, rtol=1e-5)
    mean, cov = posterior(p)  # the posterior ∝ exp(−N L): precision N·A
    assert np.allclose(np.linalg.inv(cov), p.n * fd, rtol=1e-5)
    assert np.allclose(mean, np.linalg.solve(p.x.T @ p.x, p.x.T @ p.y))


def test_gaussian_kl_matches_monte_carlo():
    rng = np.random.default_rng(0)
    m0, m1 = rng.standard_normal(3), rng.standard_normal(3)
    s0, s1 = spd(3, 8), spd(3, 9)
    z = stats.multivariate_normal(m0, s0).rvs(400_000, random_state=rng)
    mc = np.mean(
        stats.multivariate_normal(m0, s0).logpdf(z) - stats.multivariate_normal(m1, s1).logpdf(z)
    )
    assert abs(gaussian_kl(m0, s0, m1, s1) - mc) < 0.01
    assert abs(gaussian_kl(m0, s0, m0, s0)) < 1e-12


def test_optimal_rate_minimizes_the_closed_form_kl_and_the_preconditioner_makes_it_zero():
    p = problem(d=4, seed=1)
    a, b, n, s = p.hessian, p.gradient_cov, p.n, 10
    mean, cov = posterior(p)

    def kl(log_lr):
        return gaussian_kl(mean, sgd_stationary_covariance(a, b, np.exp(log_lr), s), mean, cov)

    best = optimize.minimize_scalar(kl, bounds=(-12, 2), method="bounded", options={"xatol": 1e-9})
    assert np.exp(best.x) == pytest.approx(optimal_constant_lr(b, n, s), rel=1e-4)
    assert kl(best.x) > 0.01  # A is not isotropic: a scalar rate cannot match the posterior
    for lr in (1e-3, 0.05):
        h = optimal_preconditioner(b, n, s, lr)
        sigma = sgd_stationary_covariance(a, b, lr, s, preconditioner=h)
        assert np.allclose(sigma, cov, rtol=1e-9)


def test_sgld_covariance_tends_to_the_posterior():
    p = problem(seed=2)
    _, cov = posterior(p)
    kls = [
        gaussian_kl(
            p.optimum,
            sgld_stationary_covariance(p.hessian, p.gradient_cov, p.n, e, 10),
            p.optimum,
            cov,
        )
        for e in (1e-4, 1e-6)
    ]
    assert kls[1] < 1e-3 * kls[0] + 1e-12 and kls[0] > 1e-6


@pytest.mark.parametrize("langevin", [False, True])
def test_long_simulation_matches_the_closed_form(langevin):
    p = problem(d=3, n=200, seed=3)
    a, b = p.hessian, p.gradient_cov
    lam = np.linalg.eigvalsh(a)
    if langevin:
        lr, batch = 0.02 / (p.n * lam[-1]), 20
        rate, predicted = lr * p.n * lam[0] / 2, sgld_stationary_covariance(a, b, p.n, lr, batch)
    else:
        lr, batch = 0.01 / lam[-1], 5
        rate, predicted = lr * lam[0], sgd_stationary_covariance(a, b, lr, batch)
    m = simulate_linear_sgd(
        p,
        lr=lr,
        batch=batch,
        steps=int(40 / rate),
        burn_in=int(5 / rate),
        chains=64,
        seed=4,
        langevin=langevin,
    )
    halves = m.covariance(slice(0, 32)), m.covariance(slice(32, 64))
    scale = np.linalg.norm(predicted)
    error = np.linalg.norm(m.covariance() - predicted) / scale
    sampling = np.linalg.norm(halves[0] - halves[1]) / (2 * scale)
    assert sampling < 0.05
    assert error < 3 * sampling + 0.02  # the OU limit is first order in ηλ_max = 0.01–0.02
    mu, _ = m.gaussian(p.optimum)
    assert np.all(np.abs(mu - p.optimum) < 4 * np.sqrt(np.diag(predicted) / 64 / 10))
    # a wrong temperature is detected
    wrong = 1.3 * predicted
    assert np.linalg.norm(m.covariance() - wrong) / np.linalg.norm(wrong) > 3 * sampling + 0.02


def test_logistic_problem_matches_numerical_minimization_and_finite_differences():
    p = logistic(seed=5)

    def loss(w):
        z = p.x @ w
        return np.mean(np.logaddexp(0, z) - p.y * z)

    best = optimize.minimize(loss, np.zeros(p.dim), method="BFGS", options={"gtol": 1e-12})
    assert np.allclose(p.optimum, best.x, atol=1e-5)
    fd = fd_hessian(loss, p.optimum)
    assert np.allclose(fd, p.hessian, rtol=1e-5)
    grads = [
        optimize.approx_fprime(p.optimum, lambda w, i=i: loss_i(p, w, i), 1e-7) for i in range(p.n)
    ]
    assert np.allclose(np.mean(grads, axis=0), 0, atol=1e-6)
    assert np.allclose(sum(np.outer(g, g) for g in grads) / p.n, p.gradient_cov, rtol=1e-4)
    with pytest.raises(ValueError, match="linear regression only"):
        posterior(p)


def loss_i(p, w, i):
    z = p.x[i] @ w
    return np.logaddexp(0, z) - p.y[i] * z


def test_logistic_problem_refuses_separable_data_and_non_binary_labels():
    x = np.random.default_rng(0).standard_normal((50, 2))
    with pytest.raises(ValueError, match="no finite optimum"):
        logistic_regression_problem(x, (x[:, 0] > 0).astype(float))
    with pytest.raises(ValueError, match="0/1 labels"):
        logistic_regression_problem(x, np.arange(50.0))


def test_sgd_on_logistic_regression_near_its_optimum_matches_the_ou_covariance():
    p = logistic(d=3, n=400, seed=6)
    lam = np.linalg.eigvalsh(p.hessian)
    lr, batch = 0.05 / lam[-1], 5
    rate = lr * lam[0]
    predicted = sgd_stationary_covariance(p.hessian, p.gradient_cov, lr, batch)
    m = simulate_linear_sgd(
        p, lr=lr, batch=batch, steps=int(80 / rate), burn_in=int(5 / rate), chains=64, seed=7
    )
    halves = m.covariance(slice(0, 32)), m.covariance(slice(32, 64))
    scale = np.linalg.norm(predicted)
    error = np.linalg.norm(m.covariance() - predicted) / scale
    sampling = np.linalg.norm(halves[0] - halves[1]) / (2 * scale)
    assert sampling < 0.05
    assert error < 3 * sampling + 0.02
    # the linear-regression gradient on the same 0/1 labels would give another covariance
    wrong = 1.3 * predicted
    assert np.linalg.norm(m.covariance() - wrong) / np.linalg.norm(wrong) > 3 * sampling + 0.02
