"""Entropy-SGD's inner Langevin loop and outer step against closed forms (float64)."""

import numpy as np
import pytest
import torch

from occamlab.probes.dynamics import entropy_sgd as es


def _quadratic(seed: int, d: int = 4):
    rng = np.random.default_rng(seed)
    q = rng.standard_normal((d, d))
    a = q @ q.T / d + 0.2 * np.eye(d)
    c = rng.standard_normal(d)
    at, ct = torch.tensor(a), torch.tensor(c)
    return a, c, (lambda xs: [at @ (xs[0] - ct)])


def test_noise_free_inner_loop_finds_the_gaussian_mean():
    a, c, grad = _quadratic(0)
    x = np.random.default_rng(1).standard_normal(4)
    gamma = 0.7
    mu = es.langevin_mean(
        [torch.tensor(x)], grad, gamma=gamma, steps=400, lr=0.3, noise=0.0, alpha=1.0
    )[0].numpy()
    expected = es.quadratic_local_entropy_mean(a, c, x, gamma)
    assert np.allclose(mu, expected, atol=1e-10)
    # the local-entropy gradient γ(x − μ) against its closed form γ(A + γI)⁻¹A(x − c)
    closed = gamma * np.linalg.solve(a + gamma * np.eye(4), a @ (x - c))
    assert np.allclose(gamma * (x - mu), closed, atol=1e-10)


def test_langevin_average_matches_the_gaussian_mean_at_any_temperature():
    a, c, grad = _quadratic(2)
    x = np.zeros(4)
    gamma, lr, noise = 1.5, 0.05, 0.5
    mu = es.langevin_mean(
        [torch.tensor(x)],
        grad,
        gamma=gamma,
        steps=40_000,
        lr=lr,
        noise=noise,
        alpha=1e-3,
        generator=torch.Generator().manual_seed(3),
    )[0].numpy()
    expected = es.quadratic_local_entropy_mean(a, c, x, gamma)
    # stationary covariance (ε²/2)(A + γI)⁻¹ ≤ 0.125/1.5 per coordinate; the exponential average
    # over ~1/α = 1000 steps with correlation time ≤ 1/(lr·1.5) ≈ 13 steps: sd ≲ 0.29·√(13/1000/2)
    assert np.abs(mu - expected).max() < 0.1
    assert np.abs(mu - x).max() > 0.3  # it did move away from the anchor


def test_large_scope_without_noise_is_a_plain_gradient_step():
    rng = np.random.default_rng(4)
    w = torch.tensor(rng.standard_normal(5))
    feats, labels = torch.tensor(rng.standard_normal((20, 5))), torch.tensor(rng.random(20) < 0.5)

    def grad(xs):
        (p,) = xs
        p = p.detach().requires_grad_(True)
        loss = torch.nn.functional.binary_cross_entropy_with_logits(feats @ p, labels.double())
        return torch.autograd.grad(loss, [p])

    gamma = 1e6
    x = [w.clone()]
    g = es.entropy_sgd_step(
        x,
        grad,
        gamma=gamma,
        outer_lr=0.5,
        inner_steps=60,
        inner_lr=0.5 / gamma,
        noise=0.0,
        alpha=1.0,
    )
    plain = w - 0.5 * grad([w])[0]
    assert torch.allclose(g[0], grad([w])[0], atol=1e-5)
    assert torch.allclose(x[0], plain, atol=1e-5)
    # a small scope is not a gradient step
    y = [w.clone()]
    es.entropy_sgd_step(
        y, grad, gamma=0.1, outer_lr=0.5, inner_steps=60, inner_lr=0.5, noise=0.0, alpha=1.0
    )
    assert not torch.allclose(y[0], plain, atol=1e-3)


def test_scoping_and_bad_arguments():
    assert es.scoped_gamma(0.03, 1e-3, 0) == 0.03
    assert es.scoped_gamma(0.03, 1e-3, 1000) == pytest.approx(0.03 * 1.001**1000)
    _, _, grad = _quadratic(5)
    with pytest.raises(ValueError):
        es.langevin_mean([torch.zeros(4)], grad, gamma=1, steps=0, lr=0.1, noise=0, alpha=1)
