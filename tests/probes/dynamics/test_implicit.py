"""The deq measurements against constructed cases: a linear-regime layer whose Picard errors are
exactly κᵏ, and the unrolled reference against the implicit solve."""

from __future__ import annotations

import math

import pytest
import torch

from occamlab.models import build_model, model_spec
from occamlab.models.implicit import infinity_norm
from occamlab.probes.dynamics import implicit as probe


def net(activation="tanh", width=6, inputs=5, seed=0):
    spec = model_spec("deq", width=width, activation=activation, init_contraction=0.9)
    return build_model(spec, input_shape=(inputs,), num_outputs=3, seed=seed)


def data(n=9, d=5):
    g = torch.Generator().manual_seed(2)
    return torch.randn(n, d, generator=g), torch.arange(n) % 3


@pytest.mark.parametrize("activation", ["relu", "tanh"])
def test_derivatives_agree_and_the_model_is_untouched(activation):
    model = net(activation)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    x, y = data()
    out = probe.derivative_agreement(model, x, y)
    assert out["gradient_error"] < 1e-11 and out["hvp_error"] < 1e-10
    assert out["loss_difference"] < 1e-13
    assert out["steps"] == probe.steps_to_converge(model)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert model.features.A.weight.dtype == torch.float32 and model.features.tol == 1e-5


def test_steps_to_converge_follows_the_norm():
    model = net()
    a = float(infinity_norm(model.features.matrix().detach()))
    steps = probe.steps_to_converge(model, digits=6)
    assert a**steps < 1e-6 <= a ** (steps - 1)


def test_unrolled_gradient_errors_shrink_geometrically():
    model = net("tanh")
    x, y = data()
    errors = probe.unrolled_gradient_errors(model, x, y, [1, 4, 16, 64, 256])
    assert all(b < a for a, b in zip(errors, errors[1:-1], strict=False))
    assert errors[-1] < 1e-12 and errors[0] > 1e-3


def test_contraction_profile_is_exact_in_the_linear_regime():
    """A = (κ/4)·ones and bias 5: ReLU never clips, the map is z ↦ Az + 5·1 with z* =
    5/(1 − κ)·1, and from z₀ = 0 the error is exactly κᵏ e₀: the bound is attained."""
    model = net("relu", width=4, inputs=2)
    kappa = 0.6
    with torch.no_grad():
        model.features.kappa = kappa
        model.features.A.weight.copy_(torch.full((4, 4), kappa / 4))
        model.features.B.weight.zero_()
        model.features.B.bias.fill_(5.0)
    x = torch.zeros(3, 2)
    out = probe.contraction_profile(model, x, iterations=60)
    assert math.isclose(out["norm"], kappa, rel_tol=1e-6)
    # z* = 5/(1 − κ)·1 and z₀ = 0: e_k = κᵏ e₀ exactly
    e = torch.tensor(out["errors"], dtype=torch.float64)
    torch.testing.assert_close(e[1:30] / e[:29], torch.full((29,), kappa, dtype=torch.float64))
    assert math.isclose(out["worst_rate"], kappa, rel_tol=1e-6)
    assert out["spread"] < 1e-12
    bound = torch.tensor(out["bound"], dtype=torch.float64)
    assert bool((e <= bound * (1 + 1e-9) + 1e-13).all())


def test_solver_iterations_report_both_solvers():
    model = net("tanh")
    x, _ = data()
    out = probe.solver_iterations(model, x, tol=1e-6)
    assert out["converged"] and out["anderson"] <= out["picard"]
    assert len(out["picard_residuals"]) == out["picard"]


def test_a_model_without_an_implicit_layer_is_refused():
    mlp = build_model(model_spec("mlp", width=4), input_shape=(5,), num_outputs=3, seed=0)
    with pytest.raises(ValueError, match="one implicit layer"):
        probe.derivative_agreement(mlp, *data())
