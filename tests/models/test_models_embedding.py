"""The token-embedding MLP: float64 oracle, lookup semantics, gradients, parameter count,
shape checks, and fitting modular arithmetic."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from occamlab.data import data_spec, load_data
from occamlab.models import EmbedMLPSpec, build_model, count_parameters, model_spec


def _oracle(net: nn.Module, x: torch.Tensor, *, tokens: int, activation) -> np.ndarray:
    """The forward pass written out in float64 numpy from the network's own parameters."""
    linears = [m for m in net.modules() if isinstance(m, nn.Linear)]
    table = linears[0].weight.detach().double().numpy().T  # (vocab, dim)
    vocab = table.shape[0]
    x64 = x.double().numpy()
    h = np.concatenate([x64[:, t * vocab : (t + 1) * vocab] @ table for t in range(tokens)], 1)
    for k, layer in enumerate(linears[1:]):
        h = h @ layer.weight.detach().double().numpy().T + layer.bias.detach().double().numpy()
        if k < len(linears) - 2:
            h = activation(h)
    return h


@pytest.mark.parametrize(
    ("tokens", "depth", "activation", "fn"),
    [
        (2, 1, "relu", lambda h: np.maximum(h, 0)),
        (3, 2, "tanh", np.tanh),
        (1, 0, "relu", lambda h: h),
    ],
)
def test_forward_matches_a_float64_oracle(tokens, depth, activation, fn):
    vocab, k = 9, 5
    spec = EmbedMLPSpec(tokens=tokens, embed_dim=6, width=7, depth=depth, activation=activation)
    net = build_model(spec, input_shape=(tokens * vocab,), num_outputs=k, seed=3)
    gen = torch.Generator().manual_seed(0)
    soft = torch.rand(4, tokens * vocab, generator=gen)  # soft inputs: mixtures of embeddings
    hard = torch.nn.functional.one_hot(torch.randint(vocab, (6, tokens), generator=gen), vocab)
    for x in (soft, hard.reshape(6, tokens * vocab).float()):
        expected = _oracle(net, x, tokens=tokens, activation=fn)
        np.testing.assert_allclose(net(x).detach().double().numpy(), expected, rtol=1e-5, atol=1e-6)


def test_only_the_looked_up_rows_of_the_table_get_gradient():
    vocab = 7
    net = build_model(
        model_spec("embed_mlp", embed_dim=4, width=8), input_shape=(14,), num_outputs=7, seed=0
    )
    a, b = torch.tensor([0, 3]), torch.tensor([3, 5])
    one_hot = torch.nn.functional.one_hot
    x = torch.cat([one_hot(a, vocab), one_hot(b, vocab)], 1).float()
    net(x).square().sum().backward()
    grad = net.features[0].table.weight.grad.T  # (vocab, dim)
    used = {0, 3, 5}
    for row in range(vocab):
        assert bool(grad[row].abs().sum() > 0) == (row in used), row


def test_one_hot_blocks_are_table_lookups_into_one_shared_table():
    net = build_model(
        model_spec("embed_mlp", embed_dim=4, width=8), input_shape=(14,), num_outputs=7, seed=0
    )
    embed = net.features[0]
    table = embed.table.weight.T  # (vocab, dim)
    a, b = torch.tensor([0, 3, 6]), torch.tensor([5, 3, 1])
    x = torch.cat([torch.nn.functional.one_hot(a, 7), torch.nn.functional.one_hot(b, 7)], 1).float()
    expected = torch.cat([table[a], table[b]], dim=1)
    torch.testing.assert_close(embed(x), expected, rtol=0, atol=0)


@pytest.mark.parametrize(("tokens", "depth"), [(1, 0), (2, 1), (3, 2)])
def test_parameter_count(tokens, depth):
    spec = EmbedMLPSpec(tokens=tokens, embed_dim=5, width=6, depth=depth)
    shape, k = (tokens * 11,), 4
    hidden = [6] * depth
    widths = [tokens * 5, *hidden, k]
    mlp = sum(a * b + b for a, b in zip(widths[:-1], widths[1:], strict=True))
    expected = 11 * 5 + mlp
    net = build_model(spec, input_shape=shape, num_outputs=k, seed=0)
    assert spec.num_parameters(shape, k) == expected == count_parameters(net)


def test_input_size_must_split_into_the_blocks():
    with pytest.raises(ValueError, match="multiple of 3"):
        build_model(EmbedMLPSpec(tokens=3), input_shape=(40,), num_outputs=2, seed=0)
    with pytest.raises(ValueError, match="embed_dim"):
        EmbedMLPSpec(embed_dim=0)


def test_fits_the_modular_dataset():
    from occamlab.subject import Subject
    from occamlab.train import TrainSpec, fit

    data = load_data(data_spec("modular", p=7, train_fraction=0.5))
    spec = model_spec("embed_mlp", embed_dim=16, width=32)
    net = build_model(spec, input_shape=data.input_shape, num_outputs=7, seed=0)
    assert net(data.train.x).shape == (len(data.train), 7)
    recipe = TrainSpec(optimizer="adamw", lr=1e-2, batch_size=0, epochs=300, schedule="constant")
    result = fit(Subject(model=net, data=data), recipe)
    assert result.history[-1]["train_accuracy"] == 1.0
