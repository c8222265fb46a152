"""Forward shapes, torch.func compatibility and the features/head split for every family."""

from __future__ import annotations

import pytest
import torch
from torch.func import functional_call, grad, stack_module_state, vmap

from occamlab.models import MODELS, Network, build_model, model_spec

SHAPES = {
    "mnist1d": (40,),
    "digits_flat": (64,),
    "digits_image": (1, 8, 8),
    "cifar": (3, 32, 32),
    "mnist": (1, 28, 28),
}

ACCEPTS = {
    "mlp": set(SHAPES),
    "lenet300": set(SHAPES),
    "resnet": set(SHAPES),
    "cnn1d": {"mnist1d", "digits_flat"},
    "cnn2d": {"digits_image", "cifar", "mnist"},
    "deq": set(SHAPES),
    "embed_mlp": set(SHAPES),  # every shape here has an even size: two one-hot blocks
}

CASES = [(model, data) for model in sorted(ACCEPTS) for data in sorted(ACCEPTS[model])]


def test_every_registered_family_is_covered() -> None:
    assert set(MODELS.names()) == set(ACCEPTS)


@pytest.mark.parametrize(("model", "data"), CASES)
def test_forward_shape(model: str, data: str) -> None:
    shape = SHAPES[data]
    net = build_model(model_spec(model), input_shape=shape, num_outputs=7, seed=0)
    x = torch.randn(3, *shape)
    out = net(x)
    assert out.shape == (3, 7)
    assert out.dtype == torch.float32
    assert torch.isfinite(out).all()
    assert isinstance(net, Network)
    assert net.input_shape == shape and net.num_outputs == 7
    assert torch.equal(net.head(net.features(x)), out)
    assert net.features(x).shape == (3, net.head.in_features)


@pytest.mark.parametrize(
    ("model", "shape", "options"),
    [
        ("mlp", (), {}),
        ("mlp", (5,), {"depth": 0}),
        ("cnn1d", (3, 40), {"kernel_size": 4, "stride": 1}),
        ("cnn2d", (28, 28), {"layers": 4, "batchnorm": True, "kernel_size": 5}),
        ("cnn2d", (3, 7, 9), {"activation": "tanh"}),
        ("resnet", (8, 8), {"stages": 2, "blocks": 2}),
        ("resnet", (2, 40), {"dims": "1d", "skip": False, "batchnorm": False}),
        ("resnet", (1, 1, 1), {}),
    ],
)
def test_forward_shape_variants(model: str, shape: tuple[int, ...], options: dict) -> None:
    net = build_model(model_spec(model, **options), input_shape=shape, num_outputs=3, seed=1)
    assert net(torch.randn(2, *shape)).shape == (2, 3)


@pytest.mark.parametrize(("model", "data"), CASES)
def test_functional_call_matches_module(model: str, data: str) -> None:
    shape = SHAPES[data]
    net = build_model(model_spec(model), input_shape=shape, num_outputs=4, seed=2).eval()
    x = torch.randn(5, *shape)
    state = {**dict(net.named_parameters()), **dict(net.named_buffers())}
    with torch.no_grad():
        expected = net(x)
        got = functional_call(net, state, (x,))
    torch.testing.assert_close(got, expected, rtol=0, atol=0)


@pytest.mark.parametrize(
    ("model", "shape"),
    [
        ("mlp", (40,)),
        ("cnn1d", (40,)),
        ("cnn2d", (1, 8, 8)),
        ("resnet", (1, 8, 8)),
        ("embed_mlp", (194,)),
    ],
)
def test_vmap_over_an_ensemble_of_seeds(model: str, shape: tuple[int, ...]) -> None:
    nets = [
        build_model(model_spec(model), input_shape=shape, num_outputs=3, seed=s).eval()
        for s in range(3)
    ]
    params, buffers = stack_module_state(nets)
    x = torch.randn(4, *shape)

    def run(p: dict, b: dict) -> torch.Tensor:
        return functional_call(nets[0], (p, b), (x,))

    with torch.no_grad():
        out = vmap(run)(params, buffers)
        expected = torch.stack([net(x) for net in nets])
    torch.testing.assert_close(out, expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(
    ("model", "shape"),
    [("mlp", (40,)), ("cnn1d", (40,)), ("cnn2d", (1, 8, 8)), ("resnet", (1, 8, 8))],
)
def test_per_example_gradients_with_vmap(model: str, shape: tuple[int, ...]) -> None:
    net = build_model(model_spec(model), input_shape=shape, num_outputs=3, seed=0).eval()
    params = {k: v.detach() for k, v in net.named_parameters()}
    buffers = dict(net.named_buffers())
    x, y = torch.randn(4, *shape), torch.tensor([0, 1, 2, 0])

    def loss(p: dict, xi: torch.Tensor, yi: torch.Tensor) -> torch.Tensor:
        logits = functional_call(net, (p, buffers), (xi.unsqueeze(0),))
        return torch.nn.functional.cross_entropy(logits, yi.unsqueeze(0))

    per_example = vmap(grad(loss), in_dims=(None, 0, 0))(params, x, y)
    name = "head.weight"
    assert per_example[name].shape == (4, *params[name].shape)
    net.zero_grad()
    torch.nn.functional.cross_entropy(net(x[:1]), y[:1]).backward()
    torch.testing.assert_close(per_example[name][0], net.head.weight.grad, rtol=1e-4, atol=1e-6)
