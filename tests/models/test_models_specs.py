"""Spec registry, option validation and shape-mismatch errors."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from occamlab.models import (
    MODELS,
    CNN1DSpec,
    CNN2DSpec,
    LeNet300Spec,
    MLPSpec,
    ResNetSpec,
    build_model,
    model_spec,
)
from occamlab.specs import spec_hash, spec_to_dict


def test_registry_names() -> None:
    assert MODELS.kind == "model"
    assert MODELS.names() == ["cnn1d", "cnn2d", "deq", "embed_mlp", "lenet300", "mlp", "resnet"]
    assert MODELS.get("mlp") is MLPSpec
    assert MODELS.get("lenet300") is LeNet300Spec
    assert MODELS.get("resnet") is ResNetSpec


def test_unknown_name_lists_valid_names() -> None:
    with pytest.raises(ValueError, match="unknown model 'vit'") as info:
        model_spec("vit")
    for name in MODELS.names():
        assert name in str(info.value)


def test_defaults() -> None:
    assert model_spec("mlp") == MLPSpec(width=256, depth=2, activation="relu", bias=True)
    assert model_spec("cnn1d") == CNN1DSpec(channels=32, layers=3, kernel_size=5, stride=2)
    assert model_spec("cnn2d") == CNN2DSpec(channels=32, layers=2, kernel_size=3, batchnorm=False)
    assert model_spec("resnet") == ResNetSpec(width=16, stages=3, blocks=1, skip=True)
    assert model_spec("mlp").init == "default" and model_spec("mlp").init_scale == 1.0


def test_overrides_from_cli_strings() -> None:
    spec = model_spec("mlp", width="128", depth="0", activation="tanh", bias="false")
    assert spec == MLPSpec(width=128, depth=0, activation="tanh", bias=False)
    assert model_spec("resnet", skip="no", dims="1d").skip is False
    assert model_spec("mlp", init_scale="0.5").init_scale == 0.5


def test_specs_are_frozen_hashable_and_serializable() -> None:
    spec = model_spec("resnet", width=8)
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.width = 4  # type: ignore[misc]
    assert hash(spec) == hash(model_spec("resnet", width=8))
    assert spec_to_dict(spec)["name"] == "resnet"
    assert spec_hash(spec) != spec_hash(model_spec("resnet", width=8, skip=False))


@pytest.mark.parametrize(
    ("name", "options", "message"),
    [
        ("mlp", {"width": 0}, r"width must be an integer >= 1 \(e.g. width=100\), got 0"),
        ("mlp", {"depth": -1}, "depth must be an integer >= 0"),
        ("mlp", {"activation": "swish"}, "must be one of"),
        ("mlp", {"init_scale": 0}, "init_scale must be a positive finite number"),
        ("mlp", {"init_scale": "inf"}, "init_scale must be a positive finite number"),
        ("mlp", {"init": "orthogonal"}, "kaiming_normal"),
        ("mlp", {"widht": 3}, "valid options: .*width"),
        ("cnn1d", {"stride": 0}, "stride must be an integer >= 1"),
        ("cnn2d", {"layers": 0}, "layers must be an integer >= 1"),
        ("resnet", {"dims": "3d"}, "must be one of"),
        ("resnet", {"blocks": 0}, "blocks must be an integer >= 1"),
        ("lenet300", {"init": "ntk"}, "must be one of"),
    ],
)
def test_invalid_options(name: str, options: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        model_spec(name, **options)


def test_direct_construction_is_validated() -> None:
    with pytest.raises(ValueError, match="width"):
        MLPSpec(width=2.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="bias must be True or False"):
        MLPSpec(bias="yes")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="channels"):
        CNN2DSpec(channels=True)


@pytest.mark.parametrize(
    ("spec", "shape", "needles"),
    [
        (CNN2DSpec(), (40,), ["(H, W) or (C, H, W)", "(40,)", "cnn1d", "(1, 8, 8)"]),
        (CNN2DSpec(), (1, 2, 8, 8), ["(H, W) or (C, H, W)", "(1, 2, 8, 8)"]),
        (CNN1DSpec(), (3, 32, 32), ["(L,) or (C, L)", "(3, 32, 32)", "cnn2d"]),
        (ResNetSpec(), (1, 2, 3, 4), ["(L,), (H, W) or (C, H, W)", "(1, 2, 3, 4)", "mlp"]),
        (ResNetSpec(dims="1d"), (3, 32, 32), ["(L,) or (C, L)", "(3, 32, 32)", "dims='auto'"]),
        (ResNetSpec(dims="2d"), (40,), ["(H, W) or (C, H, W)", "(40,)"]),
        (CNN2DSpec(layers=4), (1, 8, 8), ["layers<=3", "8x8"]),
    ],
)
def test_shape_mismatch_errors(spec, shape: tuple[int, ...], needles: list[str]) -> None:
    with pytest.raises(ValueError) as info:
        build_model(spec, input_shape=shape, num_outputs=10, seed=0)
    for needle in needles:
        assert needle in str(info.value)
    with pytest.raises(ValueError):
        spec.num_parameters(shape, 10)


@pytest.mark.parametrize("shape", [(0,), (3, -1), ("a",), 40, (2.0,), (True,)])
def test_bad_input_shapes(shape) -> None:
    with pytest.raises(ValueError, match="input_shape must be a tuple of positive ints"):
        build_model(model_spec("mlp"), input_shape=shape, num_outputs=2, seed=0)


def test_input_shape_accepts_sequences() -> None:
    for shape in ([1, 8, 8], torch.Size([1, 8, 8])):
        net = build_model(model_spec("cnn2d"), input_shape=shape, num_outputs=2, seed=0)
        assert net.input_shape == (1, 8, 8)


@pytest.mark.parametrize("num_outputs", [0, -3, 2.0, True])
def test_bad_num_outputs(num_outputs) -> None:
    with pytest.raises(ValueError, match="num_outputs must be a positive int"):
        build_model(model_spec("mlp"), input_shape=(4,), num_outputs=num_outputs, seed=0)


def test_bad_spec_and_seed() -> None:
    with pytest.raises(TypeError, match=r"use model_spec\('mlp'\)"):
        build_model("mlp", input_shape=(4,), num_outputs=2, seed=0)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="seed must be an integer"):
        build_model(model_spec("mlp"), input_shape=(4,), num_outputs=2, seed=1.5)  # type: ignore[arg-type]


def test_build_with_explicit_generator() -> None:
    spec = model_spec("mlp", width=8)
    a = spec.build(input_shape=(4,), num_outputs=2, generator=torch.Generator().manual_seed(9))
    b = build_model(spec, input_shape=(4,), num_outputs=2, seed=9)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters(), strict=True))
