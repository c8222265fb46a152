import math

import numpy as np
import pytest
import torch

from occamlab.probes.kernels import empirical_ntk
from occamlab.probes.kernels.analytic import _EXPECTATIONS, _quadrature, analytic_ntk, arccos_kernel
from occamlab.probes.kernels.wide import wide_mlp

X = torch.randn(6, 5, generator=torch.Generator().manual_seed(0), dtype=torch.float64)


def relative_errors(activation, parameterization, widths, seeds, depth=2, bias_std=0.3):
    out = []
    for width in widths:
        analytic = analytic_ntk(
            X,
            depth=depth,
            activation=activation,
            bias_std=bias_std,
            parameterization=parameterization,
            width=width,
        ).ntk
        sq = []
        for seed in range(seeds):
            net = wide_mlp(
                5,
                width,
                depth,
                1,
                activation=activation,
                bias_std=bias_std,
                parameterization=parameterization,
                generator=torch.Generator().manual_seed(seed),
                dtype=torch.float64,
            )
            emp = empirical_ntk(net, X, mode="trace")
            sq.append(float(((emp - analytic).norm() / analytic.norm()) ** 2))
        out.append(math.sqrt(sum(sq) / seeds))
    return out


@pytest.mark.parametrize(
    ("activation", "parameterization"), [("relu", "ntk"), ("erf", "ntk"), ("tanh", "standard")]
)
def test_empirical_ntk_converges_to_the_analytic_ntk_like_one_over_sqrt_width(
    activation, parameterization
):
    widths = [64, 256, 1024]
    errors = relative_errors(activation, parameterization, widths, seeds=6)
    slope = np.polyfit(np.log(widths), np.log(errors), 1)[0]
    assert -0.75 < slope < -0.3, (errors, slope)
    assert errors[-1] < 0.12


def test_nngp_is_the_output_covariance_of_a_wide_net():
    x = X[:4]
    net = wide_mlp(
        5,
        2000,
        2,
        2000,
        activation="erf",
        bias_std=0.5,
        generator=torch.Generator().manual_seed(0),
        dtype=torch.float64,
    )
    with torch.no_grad():
        out = net(x)
    empirical = out @ out.T / out.shape[1]
    nngp = analytic_ntk(x, depth=2, activation="erf", bias_std=0.5).nngp
    assert float((empirical - nngp).norm() / nngp.norm()) < 0.05


@pytest.mark.parametrize("activation", ["relu", "erf", "identity"])
def test_closed_forms_match_gauss_hermite_quadrature(activation):
    phis = {
        "relu": (torch.relu, lambda u: (u > 0).double()),
        "erf": (torch.erf, lambda u: 2 / math.sqrt(math.pi) * torch.exp(-(u**2))),
        "identity": (lambda u: u, torch.ones_like),
    }
    quad = _quadrature(*phis[activation])
    s11 = torch.tensor([1.0, 2.0, 0.5], dtype=torch.float64)
    s22 = torch.tensor([1.5, 0.7, 0.5], dtype=torch.float64)
    s12 = torch.tensor([0.3, -0.9, 0.49], dtype=torch.float64)
    closed = _EXPECTATIONS[activation](s11, s12, s22)
    numeric = quad(s11, s12, s22)
    tol = 2e-3 if activation == "relu" else 1e-6  # the kink slows quadrature for relu
    torch.testing.assert_close(closed[0], numeric[0], rtol=tol, atol=tol)
    if activation != "relu":
        torch.testing.assert_close(closed[1], numeric[1], rtol=tol, atol=tol)


def test_arccos_kernel_is_twice_the_relu_feature_covariance():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(3, 4, generator=g, dtype=torch.float64)
    w = torch.randn(4, 400_000, generator=g, dtype=torch.float64)
    features = torch.relu(x @ w)
    mc = 2 * features @ features.T / w.shape[1]
    torch.testing.assert_close(arccos_kernel(x, x, order=1), mc, rtol=0.02, atol=0.02)
    steps = (x @ w > 0).double()
    torch.testing.assert_close(
        arccos_kernel(x, x, order=0), 2 * steps @ steps.T / w.shape[1], rtol=0.01, atol=0.01
    )


def test_linear_network_kernel_is_exact_and_inputs_are_checked():
    k = analytic_ntk(X, depth=3, activation="identity")
    gram = X @ X.T / 5
    torch.testing.assert_close(k.nngp, gram)
    torch.testing.assert_close(k.ntk, 4 * gram)
    with pytest.raises(ValueError, match="pass width"):
        analytic_ntk(X, depth=1, parameterization="standard")
    with pytest.raises(ValueError, match="unknown activation"):
        analytic_ntk(X, depth=1, activation="gelu")
