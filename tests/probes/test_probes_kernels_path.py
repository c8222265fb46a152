import math

import pytest
import torch

from occamlab.data.base import Data, Split
from occamlab.probes.kernels import empirical_ntk
from occamlab.probes.kernels.path import PathKernelMonitor, PathKernelResult, path_kernel
from occamlab.probes.kernels.wide import wide_mlp
from occamlab.subject import Subject
from occamlab.train import TrainSpec, fit

D = torch.float64


def gd(lr: float, steps: int, **kw) -> TrainSpec:
    return TrainSpec(
        optimizer="sgd",
        lr=lr,
        momentum=0.0,
        batch_size=0,
        epochs=steps,
        schedule="constant",
        eval_every=steps,
        **kw,
    )


def regression(n=8, m=5, d=3, k=1, seed=0) -> Data:
    g = torch.Generator().manual_seed(seed)
    x, xt = torch.randn(n, d, generator=g, dtype=D), torch.randn(m, d, generator=g, dtype=D)
    w = torch.randn(d, k, generator=g, dtype=D)
    return Data("toy", Split(x, torch.tanh(x @ w)), Split(xt, torch.tanh(xt @ w)), "regression", k)


def tanh_net(d=3, width=6, seed=0) -> torch.nn.Module:
    g = torch.Generator().manual_seed(seed)
    return wide_mlp(d, width, 2, 1, activation="tanh", generator=g, dtype=D)


def test_linear_model_path_kernel_is_steps_times_eta_times_the_linear_kernel():
    data = regression()
    net = torch.nn.Linear(3, 1, bias=False).to(D)
    r = path_kernel(Subject(net, data, loss="mse"), gd(0.05, 7))
    x, xt = data.train.x, data.test.x
    assert r.kernel.shape == (5, 8, 1, 1) and r.steps == 7
    assert r.time == pytest.approx(7 * 0.05, rel=1e-15)
    torch.testing.assert_close(r.kernel[..., 0, 0], 7 * 0.05 * xt @ x.T, rtol=1e-13, atol=0)
    torch.testing.assert_close(r.initial_ntk[..., 0, 0], xt @ x.T, rtol=1e-13, atol=0)
    # the gradient of a linear model does not depend on w: the kernel machine is exact, and
    # the kernel never leaves its initial value
    assert r.residual < 1e-12 and r.initial_residual < 1e-12
    torch.testing.assert_close(r.initial_prediction, r.prediction, rtol=1e-13, atol=1e-15)
    assert r.distance_to_initial_ntk < 1e-14


@pytest.mark.parametrize("loss", ["mse", "cross_entropy"])
def test_linear_model_with_bias_and_several_outputs(loss):
    g = torch.Generator().manual_seed(1)
    x, xt = torch.randn(10, 4, generator=g, dtype=D), torch.randn(6, 4, generator=g, dtype=D)
    y, yt = (x[:, 0] > 0).long() + (x[:, 1] > 0).long(), (xt[:, 0] > 0).long()
    data = Data("toy3", Split(x, y), Split(xt, yt), "classification", 3)
    net = torch.nn.Linear(4, 3).to(D)
    r = path_kernel(Subject(net, data, loss=loss), gd(0.2, 9))
    # Θ[x, x', a, b] = δ_ab (x·x' + 1): the bias adds 1, outputs are independent
    expected = torch.einsum("ij,ab->ijab", xt @ x.T + 1, torch.eye(3, dtype=D)) * (9 * 0.2)
    torch.testing.assert_close(r.kernel, expected, rtol=1e-12, atol=1e-12)
    assert r.change.shape == (6, 3) and r.residual < 1e-12


def test_one_step_matches_the_closed_form_loss_derivative():
    data = regression(n=6, m=4)
    net = tanh_net()
    subject = Subject(net, data, loss="mse")
    eta = 1e-4
    theta0 = empirical_ntk(net, data.test.x, data.train.x).double()
    with torch.no_grad():
        residual = net(data.train.x) - data.train.y  # (n, 1)
    # L = (1/n) Σ (f − y)²  ⇒  −∂L/∂f_i = −(2/n)(f_i − y_i)
    expected = eta * torch.einsum("mnab,nb->ma", theta0, -2 / 6 * residual)
    r = path_kernel(subject, gd(eta, 1))
    torch.testing.assert_close(r.kernel, eta * theta0, rtol=1e-12, atol=0)
    torch.testing.assert_close(r.prediction, expected, rtol=1e-12, atol=1e-18)
    # one small step: the first-order prediction misses by O(η²), relative O(η)
    assert r.residual < 1e-3


def test_residual_halves_with_the_step_at_fixed_time():
    data = regression(n=8, m=6, seed=2)
    subject = Subject(tanh_net(width=5, seed=3), data, loss="mse")
    residuals = [path_kernel(subject, gd(0.2 / 2**j, 40 * 2**j)).residual for j in range(3)]
    ratios = [a / b for a, b in zip(residuals, residuals[1:], strict=False)]
    assert residuals[0] > 1e-6  # a nonlinear net: the identity is not exact at finite η
    for ratio in ratios:
        assert ratio == pytest.approx(2.0, rel=0.05)
    slope = math.log(residuals[0] / residuals[-1]) / math.log(4)
    assert slope == pytest.approx(1.0, abs=0.05)


def test_path_kernel_leaves_the_subject_untouched():
    data = regression()
    net = tanh_net()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    path_kernel(Subject(net, data, loss="mse"), gd(0.1, 3))
    for k, v in net.state_dict().items():
        assert torch.equal(v, before[k])


@pytest.mark.parametrize(
    "change",
    [{"momentum": 0.9}, {"batch_size": 4}, {"weight_decay": 1e-3}, {"optimizer": "adam"}],
)
def test_anything_but_plain_full_batch_gd_is_refused(change):
    data = regression()
    spec = {**dict(gd(0.1, 2).__dict__), **change}
    with pytest.raises(ValueError, match="plain full-batch gradient descent"):
        path_kernel(Subject(tanh_net(), data, loss="mse"), TrainSpec(**spec))


@pytest.mark.parametrize("layer", [torch.nn.Dropout(0.1), torch.nn.BatchNorm1d(6)])
def test_models_whose_training_mode_differs_are_refused(layer):
    net = torch.nn.Sequential(torch.nn.Linear(3, 6), layer, torch.nn.Tanh(), torch.nn.Linear(6, 1))
    with pytest.raises(ValueError, match="without dropout or batch norm"):
        path_kernel(Subject(net.double(), regression(), loss="mse"), gd(0.1, 2))


def test_a_monitor_reused_for_a_second_run_starts_afresh():
    data = regression()
    monitor = PathKernelMonitor(data.test.x)
    for _ in range(2):
        fit(Subject(tanh_net(), data, loss="mse"), gd(0.05, 3), callbacks=[monitor])
    assert monitor.steps == 3 and monitor.time == pytest.approx(0.15, rel=1e-15)


def test_a_result_needs_a_training_run():
    monitor = PathKernelMonitor(torch.zeros(2, 3, dtype=D))
    with pytest.raises(ValueError, match="pass it to fit"):
        PathKernelResult.of(monitor)


def test_monitor_inside_fit_and_to_dict():
    data = regression()
    subject = Subject(tanh_net(), data, loss="mse")
    monitor = PathKernelMonitor(data.train.x)
    fit(subject, gd(0.05, 4), callbacks=[monitor])
    r = PathKernelResult.of(monitor)
    out = r.to_dict()
    assert out["steps"] == 4 and len(out["change"]) == 8
    assert set(out) == {
        "time",
        "steps",
        "residual",
        "distance_to_initial_ntk",
        "change",
        "prediction",
        "initial_residual",
        "initial_prediction",
    }
    # on the training inputs the kernel is the path kernel of the train Gram matrix: symmetric
    torch.testing.assert_close(r.kernel[..., 0, 0], r.kernel[..., 0, 0].T, rtol=1e-12, atol=1e-14)
