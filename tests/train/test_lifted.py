import pytest
import torch
import torch.nn.functional as F

from occamlab.data.base import Data, Split
from occamlab.models import build_model, model_spec
from occamlab.subject import Subject
from occamlab.train import TrainSpec, fit
from occamlab.train.lifted import fenchel_gap, lifted_loss, lifted_objective, solve_activations


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


def toy(n=40, d=4, seed=0):
    x = torch.randn(n, d, generator=gen(seed), dtype=torch.float64)
    y = (x[:, 0] + x[:, 1] > 0).long()
    return Data(
        name="toy", train=Split(x, y), test=Split(x, y), task="classification", num_outputs=2
    )


def mlp(depth=2, width=6, activation="relu", seed=0):
    spec = model_spec("mlp", width=width, depth=depth, activation=activation)
    return build_model(spec, input_shape=(4,), num_outputs=2, seed=seed).double()


def test_fenchel_gap_is_nonnegative_and_zero_exactly_at_the_relu():
    v = torch.randn(200, 3, generator=gen(1), dtype=torch.float64)
    u = torch.rand(200, 3, generator=gen(2), dtype=torch.float64) * 2
    assert (fenchel_gap(u, v) >= -1e-15).all()
    assert fenchel_gap(torch.relu(v), v).abs().max() < 1e-15
    # strongly convex in u with unit curvature: B(u, v) = ½‖u − relu(v)‖² when v >= 0
    w = v.abs()
    torch.testing.assert_close(fenchel_gap(u, w), 0.5 * (u - w).pow(2).sum(1))


def test_at_the_forward_pass_the_lifted_loss_is_the_network_loss():
    model = mlp()
    data = toy()
    x, y = data.train.x, data.train.y
    acts = solve_activations(model, x, y, penalty=1.0, steps=0, step_size=0.1)
    value = lifted_loss(model, x, y, acts, penalty=3.0)
    torch.testing.assert_close(value, F.cross_entropy(model(x), y), rtol=0, atol=1e-14)


def test_weight_gradient_is_the_local_closed_form():
    model = mlp(depth=2)
    data = toy()
    x, y = data.train.x, data.train.y
    acts = solve_activations(model, x, y, penalty=2.0, steps=2, step_size=0.1)
    model.zero_grad()
    lifted_loss(model, x, y, acts, penalty=2.0).backward()
    first, second = model.features[1], model.features[3]
    n = len(x)
    # ∂/∂W₁ of (λ/n) Σ B(x₂, W₁x₁ + b₁) = (λ/n) (relu(W₁x₁ + b₁) − x₂)ᵀ x₁
    residual = torch.relu(second(acts[0])) - acts[1]
    torch.testing.assert_close(second.weight.grad, 2.0 / n * residual.T @ acts[0])
    residual = torch.relu(first(x)) - acts[0]
    torch.testing.assert_close(first.weight.grad, 2.0 / n * residual.T @ x)


def test_activation_sweeps_lower_the_lifted_objective_and_keep_activations_nonnegative():
    model = mlp()
    data = toy()
    x, y = data.train.x, data.train.y
    values = []
    for steps in (0, 1, 3, 10):
        acts = solve_activations(model, x, y, penalty=1.0, steps=steps, step_size=0.05)
        assert all((a >= 0).all() for a in acts)
        values.append(float(lifted_loss(model, x, y, acts, penalty=1.0).detach()))
    assert values == sorted(values, reverse=True) and values[-1] < values[0] - 1e-3


def test_lifted_training_through_fit_learns_a_separable_task():
    data = toy(n=200)
    subject = Subject(mlp(), data)
    objective = lifted_objective(penalty=1.0, steps=3, step_size=0.1)
    recipe = TrainSpec(optimizer="adam", lr=0.01, batch_size=20, epochs=15, schedule="constant")
    result = fit(subject, recipe, objective=objective)
    assert result.final["train_accuracy"] > 0.9


def test_bad_input_is_refused():
    data = toy()
    x, y = data.train.x, data.train.y
    with pytest.raises(TypeError, match="ReLU MLP"):
        solve_activations(mlp(activation="tanh"), x, y, penalty=1.0, steps=1, step_size=0.1)
    with pytest.raises(TypeError, match="registry MLP"):
        solve_activations(torch.nn.Linear(4, 2), x, y, penalty=1.0, steps=1, step_size=0.1)
    with pytest.raises(ValueError, match="penalty"):
        lifted_objective(penalty=0.0, steps=1, step_size=0.1)
