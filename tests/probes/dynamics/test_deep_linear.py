"""The deep-linear closed forms against fine-step numerical integration (float64)."""

import math

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from occamlab.probes.dynamics import deep_linear as dl


def _integrate(s, u0, depth, times):
    sol = solve_ivp(
        lambda t, u: dl.mode_rate(u, s, depth),
        (0.0, float(times[-1])),
        [u0],
        t_eval=times,
        method="DOP853",
        rtol=1e-12,
        atol=1e-15,
    )
    return sol.y[0]


@pytest.mark.parametrize("s,u0", [(2.0, 1e-6), (0.5, 1e-3), (4.0, 1e-9)])
def test_depth2_sigmoid_matches_numerical_integration(s, u0):
    times = np.linspace(0.0, 3 * dl.half_time(s, u0, 2), 200)
    numeric = _integrate(s, u0, 2, times)
    assert np.abs(dl.mode_strength_depth2(times, s, u0) - numeric).max() < 1e-7 * s


@pytest.mark.parametrize("depth", [3, 4])
def test_deep_trajectory_matches_numerical_integration(depth):
    s, u0 = 1.5, 1e-3
    times = np.linspace(0.0, 2 * dl.half_time(s, u0, depth), 200)
    numeric = _integrate(s, u0, depth, times)
    assert np.abs(dl.mode_strength(times, s, u0, depth) - numeric).max() < 1e-4 * s


def test_half_time_closed_form_and_quadrature_agree():
    s, u0 = 2.0, 1e-6
    assert dl.half_time(s, u0, 2) == pytest.approx(math.log(s / u0 - 1) / (2 * s), rel=1e-14)
    # the general-depth quadrature, applied at D = 2, gives the logistic closed form
    from scipy import integrate

    value, _ = integrate.quad(lambda v: 1 / dl.mode_rate(v, s, 2), u0, s / 2, epsabs=0, limit=200)
    assert value == pytest.approx(dl.half_time(s, u0, 2), rel=1e-8)
    # small u0, depth 3: t½ ≈ u0^{-1/3}/s to leading order
    assert dl.half_time(1.0, 1e-9, 3) == pytest.approx(1e3, rel=0.01)


def _frames(n, seed):
    rng = np.random.default_rng(seed)
    return (
        np.linalg.qr(rng.standard_normal((n, n)))[0],
        np.linalg.qr(rng.standard_normal((n, n)))[0],
        rng,
    )


def test_gradients_match_finite_differences():
    u, v, rng = _frames(3, 0)
    target = u @ np.diag([3.0, 1.0, 0.5]) @ v.T
    layers = [rng.standard_normal(sh) for sh in [(4, 3), (4, 4), (3, 4)]]
    grads = dl.gradients(layers, target)

    def loss(ws):
        return 0.5 * ((target - dl.product(ws)) ** 2).sum()

    h = 1e-6
    for j, w in enumerate(layers):
        e = np.zeros_like(w)
        e[1, 2] = h
        plus = [x + e if k == j else x for k, x in enumerate(layers)]
        minus = [x - e if k == j else x for k, x in enumerate(layers)]
        assert (loss(plus) - loss(minus)) / (2 * h) == pytest.approx(grads[j][1, 2], rel=1e-6)


def test_aligned_balanced_init_is_balanced_with_strength_u0():
    u, v, rng = _frames(3, 1)
    layers = dl.aligned_balanced_init(u, v, depth=3, hidden=5, u0=1e-3, rng=rng)
    assert np.allclose(u.T @ dl.product(layers) @ v, 1e-3 * np.eye(3), atol=1e-15)
    assert all(np.abs(d).max() < 1e-15 for d in dl.imbalance(layers))


def test_gradient_descent_follows_the_sigmoid_and_drift_is_first_order():
    u, v, rng = _frames(3, 2)
    s = np.array([3.0, 1.5, 0.75])
    target = u @ np.diag(s) @ v.T
    layers = dl.aligned_balanced_init(u, v, depth=2, hidden=4, u0=1e-4, rng=rng)
    _, times, strengths = dl.gradient_descent(layers, target, lr=1e-3, steps=12000, u=u, v=v)
    for i, x in enumerate(s):
        assert np.abs(strengths[:, i] - dl.mode_strength_depth2(times, x, 1e-4)).max() < 0.02 * x
    # a random, unbalanced start: the imbalance moves by O(η)
    start = [0.5 * rng.standard_normal(sh) for sh in [(4, 3), (3, 4)]]
    d0 = dl.imbalance(start)[0]
    drifts = []
    for lr in (2e-3, 1e-3):
        end, _, _ = dl.gradient_descent(start, target, lr=lr, steps=round(4 / lr))
        drifts.append(np.linalg.norm(dl.imbalance(end)[0] - d0))
    assert drifts[0] / drifts[1] == pytest.approx(2.0, rel=0.02)


def test_crossing_time_interpolates():
    t = np.array([0.0, 1.0, 2.0])
    assert dl.crossing_time(t, np.array([0.0, 1.0, 3.0]), 2.0) == 1.5
    assert math.isnan(dl.crossing_time(t, np.zeros(3), 1.0))
