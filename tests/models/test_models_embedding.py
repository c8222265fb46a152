"""The token-embedding MLP: lookup semantics, parameter count, shape checks, modular data."""

from __future__ import annotations

import pytest
import torch

from occamlab.data import data_spec, load_data
from occamlab.models import EmbedMLPSpec, build_model, count_parameters, model_spec


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
    data = load_data(data_spec("modular", p=7, train_fraction=0.5))
    net = build_model(model_spec("embed_mlp"), input_shape=data.input_shape, num_outputs=7, seed=0)
    assert net(data.train.x).shape == (len(data.train), 7)
