"""The closed-form Gram matrix H^∞ and the two-layer GD against independent computations."""

import math

import numpy as np
import pytest
import torch

from occamlab.probes.dynamics import overparameterized as op


def test_closed_form_gram_matches_monte_carlo_over_w():
    rng = np.random.default_rng(0)
    x = op.sphere_points(6, 4, rng)
    h = op.gram_infinite(x)
    mc = op.gram_empirical(rng.standard_normal((400_000, 4)), x)
    # each entry is a mean of 400k bounded terms: standard error ≤ 0.5/√400k ≈ 8e-4
    assert np.abs(h - mc).max() < 4e-3
    cos = np.clip(x @ x.T, -1, 1)
    assert np.allclose(h, cos * (math.pi - np.arccos(cos)) / (2 * math.pi), atol=1e-12)
    assert np.allclose(np.diag(h), 0.5)


def test_lambda0_is_positive_in_general_position_and_zero_for_parallel_points():
    rng = np.random.default_rng(1)
    x = op.sphere_points(10, 3, rng)
    assert op.lambda_min(op.gram_infinite(x)) > 1e-3
    x[1] = x[0]
    assert abs(op.lambda_min(op.gram_infinite(x))) < 1e-12


def test_kernel_prediction_matches_iterating_the_linear_map():
    rng = np.random.default_rng(2)
    h = op.gram_infinite(op.sphere_points(5, 3, rng))
    r = rng.standard_normal(5)
    lr = 0.7
    expected, v = [], r.copy()
    for _ in range(6):
        expected.append(v @ v)
        v = v - lr * h @ v
    assert np.allclose(op.kernel_prediction(h, r, lr, np.arange(6)), expected, rtol=1e-12)
    assert op.rate_bound(0.5, 0.2, 3) == pytest.approx(0.95**3)


def test_one_gd_step_matches_autograd():
    rng = np.random.default_rng(3)
    x, y = op.sphere_points(7, 5, rng), rng.standard_normal(7)
    m, lr = 50, 0.3
    run = op.train_two_layer(x, y, width=m, lr=lr, steps=1, rng=np.random.default_rng(9))
    replay = np.random.default_rng(9)
    w = torch.tensor(replay.standard_normal((m, 5)), requires_grad=True)
    a = torch.tensor(replay.choice([-1.0, 1.0], size=m))
    xt, yt = torch.tensor(x), torch.tensor(y)

    def residual(w):
        return torch.relu(xt @ w.T) @ a / math.sqrt(m) - yt

    loss = 0.5 * (residual(w) ** 2).sum()
    (grad,) = torch.autograd.grad(loss, w)
    with torch.no_grad():
        after = residual(w - lr * grad)
        moved = (lr * grad).norm(dim=1).max()
    assert run.residual_sq[0] == pytest.approx(float(2 * loss.detach()), rel=1e-12)
    assert run.residual_sq[1] == pytest.approx(float(after @ after), rel=1e-10)
    assert run.max_movement[1] == pytest.approx(float(moved), rel=1e-10)


def test_wide_network_converges_at_the_rate_and_follows_the_kernel():
    rng = np.random.default_rng(4)
    x, y = op.sphere_points(8, 6, rng), rng.choice([-1.0, 1.0], size=8)
    h = op.gram_infinite(x)
    lam0, lam_max = op.lambda_min(h), float(np.linalg.eigvalsh(h)[-1])
    lr = 1.0 / lam_max
    run = op.train_two_layer(x, y, width=20_000, lr=lr, steps=40, rng=rng)
    k = np.asarray(run.steps)
    ratio = np.asarray(run.residual_sq) / run.residual_sq[0]
    assert (ratio <= op.rate_bound(lr, lam0, k) + 1e-12).all()
    kernel = op.kernel_prediction(h, run.residual0, lr, k) / run.residual_sq[0]
    assert np.abs(ratio - kernel).max() < 0.02
    assert run.max_movement[-1] < op.movement_bound(8, math.sqrt(run.residual_sq[0]), 20_000, lam0)
    assert 0 < run.flip_fraction[-1] < 0.05


def _residual_net(seed, m=12, depth=3, d=4):
    rng = np.random.default_rng(seed)
    ws = [torch.tensor(rng.standard_normal((m, d)))]
    ws += [torch.tensor(rng.standard_normal((m, m))) for _ in range(depth)]
    return ws, torch.tensor(rng.choice([-1.0, 1.0], size=m))


def test_residual_gram_matches_the_full_jacobian():
    rng = np.random.default_rng(4)
    x = torch.tensor(op.sphere_points(5, 4, rng))
    ws, a = _residual_net(5)
    ws = [w.requires_grad_(True) for w in ws]
    u = op.residual_forward(ws, a, x, 1.5)[0]
    rows = []
    for i in range(5):
        grads = torch.autograd.grad(u[i], ws, retain_graph=True)
        rows.append(torch.cat([g.reshape(-1) for g in grads]))
    jac = torch.stack(rows)
    gram = op.residual_gram(ws, a, x, 1.5)
    assert np.allclose(gram, (jac @ jac.T).detach().numpy(), rtol=1e-11, atol=1e-13)


def test_residual_forward_matches_the_written_out_network():
    rng = np.random.default_rng(6)
    x = torch.tensor(op.sphere_points(3, 4, rng))
    ws, a = _residual_net(7, m=8, depth=2)
    h = math.sqrt(2 / 8) * torch.relu(x @ ws[0].T)
    for w in ws[1:]:
        h = h + 0.5 / (2 * math.sqrt(8)) * torch.relu(h @ w.T)
    assert torch.allclose(op.residual_forward(ws, a, x, 0.5)[0], h @ a, rtol=1e-13)


def test_residual_gd_follows_the_rate_bound_and_stays_near_init():
    rng = np.random.default_rng(8)
    x, y = op.sphere_points(6, 4, rng), rng.choice([-1.0, 1.0], size=6)
    run = op.train_residual(
        x,
        y,
        width=256,
        depth=4,
        residual_scale=1.0,
        lr_scale=1.0,
        decades=2.0,
        rng=np.random.default_rng(9),
    )
    assert run.steps == op.residual_steps(run.lr, run.lambda_min, 2.0)
    ratio = np.asarray(run.residual_sq) / run.residual_sq[0]
    assert ratio[-1] < 1e-2 and run.lambda_min > 0
    assert np.all(ratio <= op.rate_bound(run.lr, run.lambda_min, np.arange(run.steps + 1)))
    assert len(run.relative_movement) == 5 and max(run.relative_movement) < 0.5
