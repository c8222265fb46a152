"""Seeded, global-RNG-free initialization that reproduces PyTorch's defaults."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from occamlab.models import MODELS, build_model, initialize_, model_spec

SHAPE_FOR = {
    "mlp": (40,),
    "lenet300": (1, 8, 8),
    "cnn1d": (40,),
    "cnn2d": (1, 8, 8),
    "resnet": (1, 8, 8),
    "embed_mlp": (2 * 13,),
    "deq": (40,),
}
ALL_OPTIONS = {"cnn2d": {"batchnorm": True}}


def build(name: str, seed: int, **options) -> nn.Module:
    spec = model_spec(name, **{**ALL_OPTIONS.get(name, {}), **options})
    return build_model(spec, input_shape=SHAPE_FOR[name], num_outputs=10, seed=seed)


def same_state(a: nn.Module, b: nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


@pytest.mark.parametrize("name", sorted(SHAPE_FOR))
@pytest.mark.parametrize("init", ["default", "kaiming_normal", "xavier_normal"])
def test_pure_function_of_seed(name: str, init: str) -> None:
    rng_before = torch.random.get_rng_state()
    a, b, c = build(name, 3, init=init), build(name, 3, init=init), build(name, 4, init=init)
    assert torch.equal(torch.random.get_rng_state(), rng_before)
    assert same_state(a, b)
    for (key, ta), tc in zip(a.state_dict().items(), c.state_dict().values(), strict=True):
        if key.endswith("weight") and ta.dim() > 1:
            assert not torch.equal(ta, tc), key


def test_global_rng_untouched_and_unused() -> None:
    torch.manual_seed(0)
    first = build("resnet", 0)
    torch.manual_seed(123)
    torch.rand(10)
    second = build("resnet", 0)
    assert same_state(first, second)


@pytest.mark.parametrize("name", sorted(set(SHAPE_FOR) - {"deq"}))  # deq: rescales A after
def test_default_init_equals_pytorch_construction(name: str) -> None:
    """Seed s through a generator gives exactly what PyTorch's constructors draw after
    torch.manual_seed(s): the same distributions, in the same order."""
    spec = model_spec(name, **ALL_OPTIONS.get(name, {}))
    state = torch.random.get_rng_state()
    try:
        torch.manual_seed(11)
        reference = spec.architecture(input_shape=SHAPE_FOR[name], num_outputs=10)
    finally:
        torch.random.set_rng_state(state)
    assert same_state(build(name, 11), reference)


def test_mlp_matches_plain_sequential() -> None:
    state = torch.random.get_rng_state()
    try:
        torch.manual_seed(5)
        seq = nn.Sequential(
            nn.Linear(40, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10)
        )
    finally:
        torch.random.set_rng_state(state)
    net = build_model(model_spec("mlp", width=64), input_shape=(40,), num_outputs=10, seed=5)
    for p, q in zip(net.parameters(), seq.parameters(), strict=True):
        assert torch.equal(p, q)
    x = torch.randn(8, 40)
    assert torch.equal(net(x), seq(x))


def test_default_linear_statistics() -> None:
    fan_in, fan_out = 1000, 400
    net = build_model(
        model_spec("mlp", depth=1, width=fan_out), input_shape=(fan_in,), num_outputs=2, seed=0
    )
    layer = net.features[1]
    assert isinstance(layer, nn.Linear)
    w, b = layer.weight, layer.bias
    bound = 1 / math.sqrt(fan_in)
    assert w.abs().max() <= bound and b.abs().max() <= bound
    assert w.std().item() == pytest.approx(1 / math.sqrt(3 * fan_in), rel=0.02)
    sigma_of_mean = 1 / math.sqrt(3 * fan_in) / math.sqrt(w.numel())
    assert w.mean().item() == pytest.approx(0.0, abs=5 * sigma_of_mean)
    assert b.std().item() == pytest.approx(1 / math.sqrt(3 * fan_in), rel=0.15)


def test_default_conv_statistics() -> None:
    spec = model_spec("cnn2d", channels=64)
    net = build_model(spec, input_shape=(3, 8, 8), num_outputs=2, seed=0)
    convs = [m for m in net.modules() if isinstance(m, nn.Conv2d)]
    assert len(convs) == 2
    fan_in = 64 * 9
    w, b = convs[1].weight, convs[1].bias
    assert w.shape == (64, 64, 3, 3)
    assert b.abs().max() <= 1 / math.sqrt(fan_in)
    assert w.abs().max() <= 1 / math.sqrt(fan_in)
    assert w.std().item() == pytest.approx(1 / math.sqrt(3 * fan_in), rel=0.03)


def test_batchnorm_state() -> None:
    net = build("resnet", 0)
    norms = [m for m in net.modules() if isinstance(m, nn.BatchNorm2d)]
    assert norms
    for bn in norms:
        assert torch.equal(bn.weight, torch.ones_like(bn.weight))
        assert torch.equal(bn.bias, torch.zeros_like(bn.bias))
        assert torch.equal(bn.running_mean, torch.zeros_like(bn.running_mean))
        assert torch.equal(bn.running_var, torch.ones_like(bn.running_var))
        assert bn.num_batches_tracked.item() == 0


@pytest.mark.parametrize(
    ("init", "activation", "std"),
    [
        ("kaiming_normal", "relu", lambda fi, fo: math.sqrt(2 / fi)),
        ("kaiming_normal", "tanh", lambda fi, fo: 5 / 3 / math.sqrt(fi)),
        ("kaiming_normal", "identity", lambda fi, fo: 1 / math.sqrt(fi)),
        ("xavier_normal", "relu", lambda fi, fo: math.sqrt(2 / (fi + fo))),
    ],
)
def test_alternative_schemes(init: str, activation: str, std) -> None:
    fan_in, fan_out = 800, 500
    spec = model_spec("mlp", depth=1, width=fan_out, init=init, activation=activation)
    net = build_model(spec, input_shape=(fan_in,), num_outputs=2, seed=0)
    layer = net.features[1]
    assert layer.weight.std().item() == pytest.approx(std(fan_in, fan_out), rel=0.02)
    assert torch.equal(layer.bias, torch.zeros_like(layer.bias))


@pytest.mark.parametrize("scale", [0.1, 3.0])
def test_init_scale_scales_weights_only(scale: float) -> None:
    base = build("mlp", 7, activation="tanh")
    scaled = build("mlp", 7, activation="tanh", init_scale=scale)
    for (key, p), q in zip(base.state_dict().items(), scaled.state_dict().values(), strict=True):
        if key.endswith("weight"):
            torch.testing.assert_close(q, p * scale, rtol=1e-6, atol=0)
        else:
            assert torch.equal(p, q), key


def test_init_scale_multiplies_output_of_homogeneous_net() -> None:
    kwargs = {"activation": "relu", "bias": False, "depth": 2}
    base = build("mlp", 7, **kwargs)
    scaled = build("mlp", 7, init_scale=2.0, **kwargs)
    x = torch.randn(4, 40)
    torch.testing.assert_close(scaled(x), 8.0 * base(x))


def test_unknown_layer_types_are_refused() -> None:
    class Odd(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.p = nn.Parameter(torch.empty(3))

    with pytest.raises(TypeError, match="do not know how to initialize p"):
        initialize_(Odd(), generator=torch.Generator().manual_seed(0))


def test_every_family_supports_every_scheme() -> None:
    for name in MODELS:
        for init in ["default", "kaiming_normal", "xavier_normal"]:
            net = build(name, 0, init=init)
            assert all(torch.isfinite(p).all() for p in net.parameters())
