"""Closed-form parameter counts against the built modules."""

from __future__ import annotations

import pytest

from occamlab.models import (
    CNN1DSpec,
    CNN2DSpec,
    LeNet300Spec,
    MLPSpec,
    ResNetSpec,
    build_model,
    count_parameters,
)


def built(spec, shape: tuple[int, ...], k: int) -> int:
    return count_parameters(build_model(spec, input_shape=shape, num_outputs=k, seed=0))


@pytest.mark.parametrize("depth", [0, 1, 2, 4])
@pytest.mark.parametrize("width", [1, 7, 100])
@pytest.mark.parametrize("bias", [True, False])
def test_mlp_count(depth: int, width: int, bias: bool) -> None:
    spec = MLPSpec(width=width, depth=depth, bias=bias)
    for shape, k in [((40,), 10), ((1, 8, 8), 3)]:
        d = 1
        for s in shape:
            d *= s
        if depth == 0:
            expected = d * k + (k if bias else 0)
        else:
            expected = d * width + (depth - 1) * width * width + width * k
            expected += (depth * width + k) if bias else 0
        assert spec.num_parameters(shape, k) == expected == built(spec, shape, k)


def test_lenet300_count_is_the_classic_one() -> None:
    spec = LeNet300Spec()
    assert spec.num_parameters((1, 28, 28), 10) == 266_610 == built(spec, (1, 28, 28), 10)
    for shape, k in [((40,), 10), ((3, 32, 32), 100), ((64,), 1)]:
        d = 1
        for s in shape:
            d *= s
        expected = d * 300 + 300 + 300 * 100 + 100 + 100 * k + k
        assert spec.num_parameters(shape, k) == expected == built(spec, shape, k)


@pytest.mark.parametrize(
    "spec",
    [
        CNN1DSpec(),
        CNN1DSpec(channels=8, layers=1, kernel_size=3, stride=1),
        CNN1DSpec(channels=5, layers=4, kernel_size=6, stride=3),
    ],
)
@pytest.mark.parametrize("shape", [(40,), (64,), (2, 17)])
def test_cnn1d_count(spec: CNN1DSpec, shape: tuple[int, ...]) -> None:
    assert spec.num_parameters(shape, 10) == built(spec, shape, 10)


def test_cnn1d_default_size_on_mnist1d() -> None:
    n = CNN1DSpec().num_parameters((40,), 10)
    assert 3_000 <= n <= 20_000


@pytest.mark.parametrize(
    "spec",
    [
        CNN2DSpec(),
        CNN2DSpec(batchnorm=True, layers=3),
        CNN2DSpec(channels=4, layers=1, kernel_size=4),
    ],
)
@pytest.mark.parametrize("shape", [(1, 8, 8), (3, 32, 32), (1, 28, 28), (9, 11)])
def test_cnn2d_count(spec: CNN2DSpec, shape: tuple[int, ...]) -> None:
    assert spec.num_parameters(shape, 10) == built(spec, shape, 10)


RESNETS = [
    ResNetSpec(),
    ResNetSpec(skip=False),
    ResNetSpec(batchnorm=False),
    ResNetSpec(width=4, stages=2, blocks=3, batchnorm=False, skip=True),
]


@pytest.mark.parametrize(
    ("spec", "shape"),
    [(spec, shape) for spec in RESNETS for shape in [(40,), (3, 32, 32), (8, 8)]]
    + [(ResNetSpec(width=4, stages=4, blocks=2, dims="1d"), shape) for shape in [(40,), (2, 30)]],
)
def test_resnet_count(spec: ResNetSpec, shape: tuple[int, ...]) -> None:
    assert spec.num_parameters(shape, 10) == built(spec, shape, 10)


def test_count_parameters_trainable_only() -> None:
    net = build_model(MLPSpec(width=3, depth=1), input_shape=(2,), num_outputs=1, seed=0)
    net.head.weight.requires_grad_(False)
    assert count_parameters(net) == 2 * 3 + 3 + 3 + 1
    assert count_parameters(net, trainable_only=True) == 2 * 3 + 3 + 1
