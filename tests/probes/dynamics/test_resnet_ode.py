"""The closed forms of :mod:`occamlab.probes.dynamics.resnet_ode` against independent float64
computations: a fine-step RK4 integration, matrix powers and the matrix exponential."""

import math

import numpy as np
import pytest
from scipy.linalg import expm

from occamlab.probes.dynamics import resnet_ode as ode


def rk4(x0, weights, horizon, steps):
    """Classical RK4 with ``steps`` steps on dx/dt = tanh(W(t)x + b(t))."""

    def f(t, x):
        return np.tanh(x @ weights.weight(t).T + weights.bias(t))

    h, x = horizon / steps, np.array(x0, dtype=np.float64)
    for i in range(steps):
        t = i * h
        k1 = f(t, x)
        k2 = f(t + h / 2, x + h / 2 * k1)
        k3 = f(t + h / 2, x + h / 2 * k2)
        k4 = f(t + h, x + h * k3)
        x = x + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
    return x


def test_reference_flow_matches_fine_rk4():
    rng = np.random.default_rng(0)
    weights = ode.random_weight_function(5, horizon=2.0, scale=1.5, rng=rng)
    x0 = rng.standard_normal((3, 5))
    flow = ode.ode_flow(x0, weights, horizon=2.0)
    assert np.abs(flow - rk4(x0, weights, 2.0, 4000)).max() < 1e-11
    assert np.abs(flow - x0).max() > 0.1  # the flow moves


def test_weight_function_is_smooth_and_periodic_over_the_horizon():
    weights = ode.random_weight_function(4, horizon=3.0, scale=1.0, rng=np.random.default_rng(1))
    assert np.allclose(weights.weight(0.0), weights.weight(3.0))
    assert np.allclose(weights.weight(0.0), weights.w[0] + weights.w[2])


def test_euler_error_on_a_linear_flow_follows_the_leading_term():
    # Identity activation, constant A: the network is (I + hA)^L x0, the flow e^{TA} x0, and the
    # error divided by h tends to −(T/2) A² e^{TA} x0 with an O(h) correction.
    rng = np.random.default_rng(2)
    a = rng.standard_normal((4, 4)) / 2
    weights = ode.WeightFunction(np.stack([a, 0 * a, 0 * a]), np.zeros((2, 4)), 1.0)
    x0 = rng.standard_normal((1, 4))
    c = ode.linear_euler_leading_error(a, x0[0], 1.5)
    gaps = []
    for depth in (200, 400, 800):
        x = ode.residual_forward(x0, weights, horizon=1.5, depth=depth, activation=lambda z: z)
        assert np.allclose(x[0], np.linalg.matrix_power(np.eye(4) + 1.5 / depth * a, depth) @ x0[0])
        error = x[0] - expm(1.5 * a) @ x0[0]
        gaps.append(np.linalg.norm(error / (1.5 / depth) - c) / np.linalg.norm(c))
    assert gaps[0] < 0.05
    assert gaps[1] / gaps[0] == pytest.approx(0.5, abs=0.05)  # the correction is O(h)
    assert gaps[2] / gaps[1] == pytest.approx(0.5, abs=0.05)


def test_tanh_network_converges_at_first_order():
    rng = np.random.default_rng(3)
    weights = ode.random_weight_function(6, horizon=1.0, scale=1.0, rng=rng)
    depths = [16, 32, 64, 128]
    errors = ode.euler_errors(rng.standard_normal((8, 6)), weights, horizon=1.0, depths=depths)
    assert ode.log_log_slope([1 / d for d in depths], errors) == pytest.approx(1.0, abs=0.05)


def test_antisymmetric_weights_have_real_parts_minus_gamma():
    k = np.random.default_rng(4).standard_normal((6, 6))
    lam = np.linalg.eigvals(ode.antisymmetric_weights(k, 0.3))
    assert np.allclose(lam.real, -0.3)
    assert ode.max_real_eigenvalue(ode.antisymmetric_weights(k, -0.3)) == pytest.approx(0.3)


@pytest.mark.parametrize("gamma", [0.5, -0.5])
def test_layer_growth_rate_matches_a_long_matrix_power(gamma):
    rng = np.random.default_rng(5)
    w = ode.antisymmetric_weights(rng.standard_normal((5, 5)) / math.sqrt(5), gamma)
    h, depth = 0.1, 4000
    x = np.linalg.matrix_power(np.eye(5) + h * w, depth) @ rng.standard_normal(5)
    assert math.log(np.linalg.norm(x)) / (depth * h) == pytest.approx(
        ode.layer_growth_rate(w, h), abs=0.01
    )
    assert ode.layer_growth_rate(w, 1e-5) == pytest.approx(ode.max_real_eigenvalue(w), abs=1e-3)


def test_euler_step_limit_is_the_edge_of_the_unit_disc():
    w = ode.antisymmetric_weights(np.random.default_rng(6).standard_normal((5, 5)), 0.4)
    limit = ode.euler_step_limit(w)
    lam = np.linalg.eigvals(w)
    assert np.abs(1 + 0.999 * limit * lam).max() <= 1.0
    assert np.abs(1 + 1.001 * limit * lam).max() > 1.0
    assert ode.layer_growth_rate(w, 0.999 * limit) < 0 < ode.layer_growth_rate(w, 1.001 * limit)
    assert ode.euler_step_limit(ode.antisymmetric_weights(np.eye(5), -0.1)) == 0.0


def test_small_inputs_grow_at_the_layer_jacobian_rate():
    rng = np.random.default_rng(7)
    w = ode.antisymmetric_weights(rng.standard_normal((6, 6)) / math.sqrt(6), -0.5)
    norms = ode.shared_forward_norms(1e-14 * rng.standard_normal((2, 6)), w, h=0.05, depth=800)
    for row in norms:
        rate = ode.measured_growth_rate(row, 0.05, linear_below=1e-3)
        assert rate == pytest.approx(ode.layer_growth_rate(w, 0.05), rel=0.05)
    # saturated: tanh bounds each layer's step, so growth past the linear regime is not fitted
    big = ode.shared_forward_norms(rng.standard_normal((1, 6)), w, h=0.05, depth=400)[0]
    assert big[-1] < big[0] + 400 * 0.05 * math.sqrt(6)
    with pytest.raises(ValueError):
        ode.measured_growth_rate(big, 0.05, linear_below=1e-3)
