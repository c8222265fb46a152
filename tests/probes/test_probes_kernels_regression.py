import pytest
import torch

from occamlab import TrainSpec, fit
from occamlab.data.base import Data, Split
from occamlab.probes.kernels import empirical_ntk
from occamlab.probes.kernels.distance import (
    KernelDistanceMonitor,
    kernel_alignment,
    kernel_distance,
)
from occamlab.probes.kernels.regression import kernel_regression, one_hot
from occamlab.probes.kernels.wide import wide_mlp
from occamlab.subject import Subject


def test_ridgeless_regression_interpolates_and_ridge_shrinks():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(20, 3, generator=g, dtype=torch.float64)
    y = torch.randn(20, 2, generator=g, dtype=torch.float64)
    k = torch.exp(-(torch.cdist(x, x) ** 2))
    fit0 = kernel_regression(k, y)
    torch.testing.assert_close(fit0.predict(k), y, rtol=1e-6, atol=1e-6)
    ridge = kernel_regression(k, y, ridge=1.0)
    torch.testing.assert_close(ridge.alpha, torch.linalg.solve(k + torch.eye(20).double(), y))
    # Gradient flow: nothing moves at τ = 0, everything is fitted as τ -> ∞.
    torch.testing.assert_close(fit0.at_time(0.0, k), torch.zeros_like(y))
    torch.testing.assert_close(fit0.at_time(1e9, k), y, rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="square"):
        kernel_regression(k[:3], y)


def test_linearized_gradient_descent_matches_a_lazy_network():
    """A wide NTK-parameterized net trained by small-step GD follows kernel gradient flow."""
    g = torch.Generator().manual_seed(0)
    x = torch.randn(24, 4, generator=g)
    y = torch.sin(x[:, :1] * 2)
    xt = torch.randn(10, 4, generator=g)
    net = wide_mlp(4, 2048, 1, 1, activation="erf", generator=torch.Generator().manual_seed(1))
    data = Data("toy", Split(x, y), Split(xt, torch.zeros(10, 1)), "regression", 1)
    subject = Subject(net, data)
    with torch.no_grad():
        f0, f0t = net(x).double(), net(xt).double()
    k = empirical_ntk(net, x, dtype=torch.float64)[:, :, 0, 0]
    kt = empirical_ntk(net, xt, x, dtype=torch.float64)[:, :, 0, 0]
    lr, steps = 0.5, 200
    fit(
        subject,
        TrainSpec(
            optimizer="sgd", lr=lr, momentum=0.0, batch_size=0, epochs=steps, schedule="constant"
        ),
    )
    with torch.no_grad():
        trained = net(xt).double()
    predicted = kernel_regression(k, y, f0_train=f0).at_time(2 * lr * steps / 24, kt, f0t)
    assert float((trained - predicted).norm() / (predicted - f0t).norm()) < 0.05


def test_kernel_distance_and_alignment():
    k = torch.tensor([[2.0, 1.0], [1.0, 2.0]])
    assert kernel_distance(k, 3 * k) == pytest.approx(0.0, abs=1e-12)
    assert kernel_distance(k, torch.tensor([[0.0, 1.0], [1.0, 0.0]])) > 0.1
    y = torch.tensor([0, 0, 1, 1])
    ideal = one_hot(y, 2) @ one_hot(y, 2).T
    assert kernel_alignment(ideal, one_hot(y, 2)) == pytest.approx(1.0)
    assert kernel_alignment(torch.eye(4), one_hot(y, 2)) < 0.9
    with pytest.raises(ValueError, match="shape"):
        kernel_distance(k, torch.eye(3))


def test_distance_monitor_records_kernel_movement():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(30, 3, generator=g)
    data = Data("toy", Split(x, (x[:, :1] > 0).float()), Split(x[:5], x[:5, :1]), "regression", 1)
    subject = Subject(wide_mlp(3, 32, 2, 1, generator=g), data)
    monitor = KernelDistanceMonitor(x[:10], every=5)
    fit(subject, TrainSpec(lr=0.5, momentum=0.0, batch_size=0, epochs=20), callbacks=[monitor])
    steps = [r["step"] for r in monitor.records]
    assert steps == [0, 5, 10, 15, 20]
    assert monitor.records[0]["kernel_distance"] == pytest.approx(0.0, abs=1e-12)
    assert monitor.records[-1]["kernel_distance"] > 0
    assert monitor.records[-1]["parameter_distance"] > 0
