"""The closed forms of :mod:`occamlab.probes.dynamics.mean_field` against independent float64
computations: adaptive quadrature, finite differences, and a wide network trained by SGD."""

import math

import numpy as np
import pytest
import torch
from scipy import integrate
from scipy.special import beta
from scipy.stats import chi

from occamlab.probes.dynamics import mean_field as mf

PROBLEM = mf.IsotropicProblem(dim=12, delta=0.5)


def sigma(z):
    p = PROBLEM
    return p.s1 + (p.s2 - p.s1) * np.clip((z - p.t1) / (p.t2 - p.t1), 0, 1)


def direct_mean_activation(a, dim=12):
    """E_u σ(a·u), u the first coordinate of a uniform unit vector, by adaptive quadrature."""
    k = (dim - 3) / 2
    norm = beta(0.5, (dim - 1) / 2)
    points = [c for c in (PROBLEM.t1 / a, PROBLEM.t2 / a) if -1 < c < 1]
    value, _ = integrate.quad(
        lambda u: sigma(a * u) * (1 - u * u) ** k / norm, -1, 1, points=points or None
    )
    return value


@pytest.mark.parametrize("a", [0.3, 1.0, 2.5, 6.0, 20.0])
def test_mean_activation_matches_quadrature_and_its_derivative(a):
    f, df = PROBLEM.mean_activation(np.array(a))
    assert float(f) == pytest.approx(direct_mean_activation(a), abs=1e-9)
    h = 1e-5
    fd = (direct_mean_activation(a + h) - direct_mean_activation(a - h)) / (2 * h)
    assert float(df) == pytest.approx(fd, abs=1e-5)


def test_mean_activation_is_the_average_over_random_directions():
    rng = np.random.default_rng(0)
    u = rng.standard_normal((400_000, 12))
    u1 = u[:, 0] / np.linalg.norm(u, axis=1)
    for a in (2.0, 8.0):
        mc = sigma(a * u1)
        assert float(PROBLEM.mean_activation(np.array(a))[0]) == pytest.approx(
            mc.mean(), abs=4 * mc.std() / math.sqrt(u1.size)
        )


@pytest.mark.parametrize("r", [0.3, 0.8, 1.5])
def test_limit_risk_matches_adaptive_quadrature_over_the_norm(r):
    risk, slope = PROBLEM.limit_risk(r)
    direct = 0.0
    for y in (1.0, -1.0):
        tau = 1 + PROBLEM.delta * y
        value, _ = integrate.quad(
            lambda rho, tau=tau, y=y: (
                (y - float(PROBLEM.mean_activation(np.array(r * tau * rho))[0])) ** 2
                * chi.pdf(rho, 12)
            ),
            0,
            12,
            limit=200,
        )
        direct += 0.5 * value
    assert risk == pytest.approx(direct, abs=1e-7)
    h = 1e-5
    fd = (PROBLEM.limit_risk(r + h)[0] - PROBLEM.limit_risk(r - h)[0]) / (2 * h)
    assert slope == pytest.approx(fd, rel=1e-5, abs=1e-7)


def test_radial_reduction_at_one_radius_is_the_single_radius_ode():
    risk, grad = PROBLEM.radial_risk(np.full(5, 0.7))
    one, slope = PROBLEM.limit_risk(0.7)
    assert risk == pytest.approx(one, abs=1e-12)
    assert np.allclose(2 * grad, slope)  # all particles moving by dr change R by 2∂_rΨ·dr
    times = np.linspace(0, 0.3, 7)
    r1, risk1 = PROBLEM.limit_trajectory(0.4, times)
    r5, risk5 = PROBLEM.radial_trajectory(np.full(3, 0.4), times)
    assert np.allclose(r5, r1[:, None], atol=1e-7) and np.allclose(risk5, risk1, atol=1e-7)
    assert (np.diff(risk1) < 0).all()  # gradient flow: the risk falls


def test_single_radius_ode_matches_a_wide_network_trained_by_large_batch_sgd():
    # Neurons uniform on a sphere: Ψ is constant on it, so the finite network's risk differs from
    # the limit's only at second order, O(1/N), and the ODE's speed is tested sharply.
    problem = mf.IsotropicProblem(dim=10, delta=0.5)
    lr, steps, every, n = 1e-3, 60, 20, 512
    generator = torch.Generator().manual_seed(0)
    x, y = problem.sample((8000,), generator, dtype=torch.float64)
    w = mf.sphere(2, n, 10, 0.6, generator).double()
    risks = mf.online_sgd(
        problem,
        w,
        lr=lr,
        steps=steps,
        batch=2048,
        every=every,
        test_x=x,
        test_y=y,
        generator=generator,
    )
    times = np.arange(0, steps + 1, every) * lr
    radius, exact = problem.limit_trajectory(0.6, times)
    labels = y.numpy()
    limit = np.array([((labels - problem.limit_outputs(x, r)) ** 2).mean() for r in radius])
    assert np.abs(limit - exact).max() < 0.05  # the test sample estimates the exact risk
    assert risks[0, 0] - risks[0, -1] > 1.0  # the network learns over this window
    assert np.abs(risks - limit).max() < 0.02
    # a limit running at the wrong speed (twice or half) is ruled out
    for factor in (0.5, 2.0):
        r_wrong, _ = problem.limit_trajectory(0.6, times * factor)
        wrong = np.array([((labels - problem.limit_outputs(x, r)) ** 2).mean() for r in r_wrong])
        assert np.abs(risks[:, 1:] - wrong[1:]).max() > 0.1


def test_helpers():
    radii = mf.chi_quantile_radii(0.5, 20, 101)
    assert np.all(np.diff(radii) > 0)
    assert radii[50] == pytest.approx(0.5 / math.sqrt(20) * chi.median(20))
    w = mf.sphere(2, 7, 4, 0.3, torch.Generator().manual_seed(0))
    assert torch.allclose(torch.linalg.vector_norm(w, dim=-1), torch.full((2, 7), 0.3))
    x, y = PROBLEM.sample((3000,), torch.Generator().manual_seed(1))
    sd = x.std(dim=1)
    assert float(sd[y > 0].mean()) == pytest.approx(1.5, rel=0.05)
    assert float(sd[y < 0].mean()) == pytest.approx(0.5, rel=0.05)
