"""Exact operator norms of Linear and convolution layers against their dense float64 matrices."""

import pytest
import torch
from torch import nn

from occamlab.data.base import Data, Split
from occamlab.probes.measures.layers import (
    frobenius_norm,
    norm_21_transposed,
    spectral_norm,
    weight_layers,
)
from occamlab.subject import Subject


def conv_subject(conv2d: bool = False) -> Subject:
    g = torch.Generator().manual_seed(0)
    if conv2d:
        shape = (2, 6, 5)
        model = nn.Sequential(
            nn.Conv2d(2, 3, 3, stride=2, padding=1),
            nn.ReLU(),
            nn.Flatten(),
            nn.Linear(3 * 3 * 3, 4),
        )
    else:
        shape = (1, 12)
        model = nn.Sequential(
            nn.Conv1d(1, 4, 5, stride=2, padding=2),
            nn.ReLU(),
            nn.Conv1d(4, 3, 3, padding=1, dilation=1, groups=1),
            nn.Flatten(),
            nn.Linear(3 * 6, 4),
        )
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=g))
    x = torch.randn(8, *shape, generator=g)
    y = torch.randint(0, 4, (8,), generator=g)
    data = Data("toy", Split(x, y), Split(x, y), "classification", 4)
    return Subject(model=model, data=data)


def dense(layer, weight):
    n = layer.input_size
    eye = torch.eye(n, dtype=torch.float64).reshape(n, *layer.input_shape)
    return layer.apply(weight.double(), eye).reshape(n, -1).T


@pytest.mark.parametrize("conv2d", [False, True])
def test_norms_match_the_dense_operator(conv2d):
    subject = conv_subject(conv2d)
    layers = weight_layers(subject)
    assert [layer.kind for layer in layers] == (
        ["conv2d", "linear"] if conv2d else ["conv1d", "conv1d", "linear"]
    )
    params = subject.params()
    for layer in layers:
        w = params[layer.weight]
        a = dense(layer, w)
        assert a.shape == (torch.Size(layer.output_shape).numel(), layer.input_size)
        assert spectral_norm(layer, w) == pytest.approx(
            float(torch.linalg.matrix_norm(a, ord=2)), rel=1e-8
        )
        assert frobenius_norm(layer, w) == pytest.approx(float(a.norm()), rel=1e-12)
        assert norm_21_transposed(layer, w) == pytest.approx(float(a.norm(dim=1).sum()), rel=1e-12)


def test_conv_operator_norm_is_not_the_reshaped_kernel_norm():
    layer = weight_layers(conv_subject())[0]
    w = conv_subject().params()[layer.weight]
    reshaped = float(torch.linalg.matrix_norm(w.double().reshape(w.shape[0], -1), ord=2))
    assert abs(spectral_norm(layer, w) - reshaped) > 1e-3


def test_unsupported_padding_is_refused():
    subject = conv_subject()
    subject.model[0].padding_mode = "circular"
    with pytest.raises(ValueError, match="zero padding"):
        weight_layers(subject)
