import pytest
import torch

from occamlab.data.base import Data, Split
from occamlab.models import build_model, model_spec
from occamlab.probes.information.bottleneck import (
    format_objective,
    hidden_blocks,
    hsic_bottleneck_objective,
    hsic_terms,
)
from occamlab.probes.information.estimators import hsic, hsic_tensor
from occamlab.subject import Subject
from occamlab.train import TrainSpec, fit


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


def mlp(depth=2, **kw):
    spec = model_spec("mlp", width=5, depth=depth, **kw)
    return build_model(spec, input_shape=(4,), num_outputs=3, seed=0).double()


def toy(n=60):
    x = torch.randn(n, 4, generator=gen(1), dtype=torch.float64)
    y = (x[:, 0] > 0).long() + (x[:, 1] > 0).long()
    return Data(
        name="toy", train=Split(x, y), test=Split(x, y), task="classification", num_outputs=3
    )


def test_hsic_tensor_is_the_float_estimate_and_its_gradient_is_exact():
    a = torch.randn(12, 3, generator=gen(2), dtype=torch.float64)
    b = a[:, :1] ** 2 + 0.1 * torch.randn(12, 1, generator=gen(3), dtype=torch.float64)
    for normalized in (False, True):
        value = hsic_tensor(a, b, normalized=normalized)
        assert float(value) == hsic(a, b, normalized=normalized)
    # the Gram matrix of a by hand: HSIC = (1/n²) tr(K H L H)
    n = 12
    k = torch.exp(-(torch.cdist(a, a) ** 2) / 2)
    lk = torch.exp(-(torch.cdist(b, b) ** 2) / 2)
    h = torch.eye(n, dtype=torch.float64) - 1.0 / n
    expected = torch.trace(k @ h @ lk @ h) / n**2
    torch.testing.assert_close(hsic_tensor(a, b, sigma_a=1.0, sigma_b=1.0), expected)
    for normalized in (False, True):
        assert torch.autograd.gradcheck(
            lambda u, nz=normalized: hsic_tensor(u, b, sigma_a=1.3, sigma_b=0.7, normalized=nz),
            (a.clone().requires_grad_(True),),
        )
    with pytest.raises(ValueError, match="samples"):
        hsic_tensor(a, b[:5])


def test_layers_get_only_their_own_objective_and_the_head_none():
    model, data = mlp(), toy()
    x, y = data.train.x, data.train.y
    subject = Subject(model, data)
    beta = 4.0
    hsic_bottleneck_objective(beta=beta)(subject, x, y).backward()
    got = [b[0].weight.grad.clone() for b in hidden_blocks(model)]
    assert model.head.weight.grad is None
    terms = hsic_terms(model, x, y, num_classes=3)
    for i, block in enumerate(hidden_blocks(model)):
        own = terms[i][0] - beta * terms[i][1]
        (expected,) = torch.autograd.grad(own, [block[0].weight], retain_graph=True)
        torch.testing.assert_close(got[i], expected, rtol=1e-12, atol=1e-14)


def test_format_step_trains_the_head_alone_and_hsic_layers_beat_untrained_ones():
    data = toy(200)
    subject = Subject(mlp(), data)
    before = [p.clone() for p in subject.model.features.parameters()]
    recipe = TrainSpec(optimizer="adam", lr=0.05, batch_size=50, epochs=30, schedule="constant")
    fit(subject, recipe, objective=hsic_bottleneck_objective(beta=50.0))
    trained = [p.clone() for p in subject.model.features.parameters()]
    assert any((a - b).abs().max() > 1e-3 for a, b in zip(before, trained, strict=True))
    result = fit(subject, recipe, objective=format_objective)
    for a, b in zip(trained, subject.model.features.parameters(), strict=True):
        assert torch.equal(a, b)
    control = Subject(mlp(), data)  # the same format step on the untrained layers
    untrained = fit(control, recipe, objective=format_objective)
    assert result.final["train_accuracy"] > untrained.final["train_accuracy"] + 0.15


def test_refuses_models_it_cannot_split_into_layers():
    with pytest.raises(TypeError, match="registry MLP"):
        hidden_blocks(torch.nn.Linear(4, 3))
    with pytest.raises(TypeError, match="at least one hidden"):
        hidden_blocks(mlp(depth=0))
    with pytest.raises(TypeError, match="without dropout"):
        hidden_blocks(mlp(dropout=0.5))
    with pytest.raises(ValueError, match="beta"):
        hsic_bottleneck_objective(beta=0.0)


def test_median_heuristic_uses_the_off_diagonal_distances_only():
    # n > 25: a matrix-product distance leaves rounding on the diagonal, which must not count
    a = torch.randn(200, 5, generator=gen(5), dtype=torch.float64)
    b = a[:, :2] ** 2
    off = ~torch.eye(200, dtype=torch.bool)

    def sigma(u):
        d2 = ((u[:, None, :] - u[None, :, :]) ** 2).sum(-1)
        return float(d2[off].median() / 2) ** 0.5

    expected = hsic_tensor(a, b, sigma_a=sigma(a), sigma_b=sigma(b))
    torch.testing.assert_close(hsic_tensor(a, b), expected, rtol=1e-12, atol=0)
