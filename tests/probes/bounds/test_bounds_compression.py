"""Compression bound: prefix codes round-trip, bit counts are real, the decoded network is the
evaluated one, and the Occam bound is the binomial inversion at δ·2^(−bits)."""

import itertools
import math
import random

import pytest
import torch
from torch import nn

from occamlab.data.base import Data, Split
from occamlab.probes.bounds.coding import (
    arithmetic_decode,
    arithmetic_encode,
    elias_delta_decode,
    elias_delta_encode,
    elias_delta_length,
    kt_code_length,
)
from occamlab.probes.bounds.compression import (
    compress,
    compression_bound,
    description_bits,
    occam_bound,
)
from occamlab.probes.bounds.quantize import QuantizedNetwork, kmeans_levels
from occamlab.probes.bounds.testset import binomial_tail_inverse
from occamlab.subject import Subject
from occamlab.train import TrainSpec
from tests.conftest import toy_data, toy_model


def test_elias_delta_is_a_prefix_code_with_the_stated_lengths():
    codes = {n: elias_delta_encode(n) for n in range(1, 300)}
    for n, code in codes.items():
        assert len(code) == elias_delta_length(n)
        assert elias_delta_decode(code + [0, 1, 1]) == (n, len(code))
    for a, b in itertools.permutations(list(codes.values())[:80], 2):
        assert a != b[: len(a)]  # no codeword is a prefix of another
    assert sum(2.0 ** -len(c) for c in codes.values()) <= 1.0  # Kraft


def test_kt_length_is_the_sequential_probability():
    seq, k = [0, 2, 2, 1, 2, 2, 0, 2], 3
    counts, log2p = [0] * k, 0.0
    for t, s in enumerate(seq):
        log2p += math.log2((2 * counts[s] + 1) / (2 * t + k))
        counts[s] += 1
    assert kt_code_length(counts) == pytest.approx(-log2p, rel=1e-12)


@pytest.mark.parametrize(("n", "k"), [(1, 1), (1, 4), (37, 2), (3000, 5), (4000, 33)])
def test_arithmetic_coding_round_trips_within_two_bits_of_the_ideal(n, k):
    rng = random.Random(n * k)
    weights = [rng.random() ** 4 for _ in range(k)]
    symbols = rng.choices(range(k), weights=weights, k=n)
    bits = arithmetic_encode(symbols, k)
    assert arithmetic_decode(bits, n, k) == symbols
    ideal = kt_code_length([symbols.count(s) for s in range(k)])
    assert ideal <= len(bits) <= ideal + 2 + 1e-3 * n


def test_kmeans_finds_separated_clusters_and_never_gets_worse_with_more_levels():
    values = torch.cat([torch.full((50,), -1.0), torch.full((30,), 0.2), torch.full((20,), 3.0)])
    noisy = values + 0.01 * torch.randn(100, generator=torch.Generator().manual_seed(0))
    q = kmeans_levels(noisy, 3)
    assert torch.allclose(q.levels, torch.tensor([-1.0, 0.2, 3.0]), atol=0.01)
    assert torch.equal(q.values().round(decimals=1), values.round(decimals=1))
    errors = [kmeans_levels(noisy, k).squared_error for k in (1, 2, 3, 6, 12)]
    assert all(a >= b - 1e-9 for a, b in itertools.pairwise(errors))
    exact = kmeans_levels(torch.tensor([1.0, 2.0, 2.0]), 5)
    assert exact.squared_error == 0.0 and exact.levels.tolist() == [1.0, 2.0]


def test_quantized_network_uses_levels_and_masks_and_trains_levels():
    model = nn.Linear(3, 2)
    latent = {
        "weight": torch.tensor([[0.1, 1.1, -0.9], [0.95, 0.02, -1.2]]),
        "bias": torch.zeros(2),
    }
    masks = {"weight": torch.tensor([[False, True, True], [True, True, True]])}
    net = QuantizedNetwork(model, latent=latent, masks=masks, levels=torch.tensor([-1.0, 0.0, 1.0]))
    q = net.quantized()
    assert torch.equal(q["weight"].detach(), torch.tensor([[0.0, 1.0, -1.0], [1.0, 0.0, -1.0]]))
    assert net.symbols().tolist() == [0, 3, 1, 3, 2, 1, 2, 2]
    x = torch.randn(4, 3, generator=torch.Generator().manual_seed(0))
    out = net(x)
    assert torch.allclose(out, x @ q["weight"].detach().T)
    out.sum().backward()
    # the level −1 is used by weight entries (0,2) and (1,2): its gradient is their sum
    g = x.sum(0)
    assert float(net.levels.grad[0]) == pytest.approx(float(g[2] + g[2]), rel=1e-5)
    assert float(net.latent[0].grad[0, 0]) == 0.0  # pruned: no gradient


def _subject():
    data = toy_data(n_train=200, n_test=100)
    model = toy_model()
    opt = torch.optim.Adam(model.parameters(), lr=0.05)
    for _ in range(200):
        opt.zero_grad()
        nn.functional.cross_entropy(model(data.train.x), data.train.y).backward()
        opt.step()
    return Subject(model=model, data=data)


def test_the_message_decodes_to_the_evaluated_network():
    subject = _subject()
    c = compress(subject, sparsity=0.5, levels=4)
    flat = torch.cat([v.reshape(-1) for v in c.params.values()])
    bits = arithmetic_encode(c.symbols.tolist(), c.num_levels + 1)
    decoded = torch.tensor(arithmetic_decode(bits, c.symbols.numel(), c.num_levels + 1))
    rebuilt = torch.where(decoded > 0, c.levels[(decoded - 1).clamp(min=0)], torch.zeros(()))
    assert torch.equal(rebuilt, flat)
    weights = [k for k, v in c.params.items() if v.dim() >= 2]
    zeros = sum(int((c.params[k] == 0).sum()) for k in weights)
    assert zeros == round(0.5 * sum(c.params[k].numel() for k in weights))
    parts = description_bits(c, settings=6, exact=True)
    assert parts["payload"] == len(bits)
    assert parts["setting"] == 3 and parts["levels"] == 32 * c.num_levels
    assert parts["length"] == elias_delta_length(len(bits) + 1)
    assert parts["total"] == sum(v for k, v in parts.items() if k != "total")


def test_occam_bound_is_the_binomial_inversion_at_a_shrunken_delta():
    assert occam_bound(30, 1000, 0.0, 0.05) == binomial_tail_inverse(30, 1000, delta=0.05)
    assert occam_bound(30, 1000, 10.0, 0.05) == pytest.approx(
        binomial_tail_inverse(30, 1000, delta=0.05 / 1024), abs=1e-12
    )
    assert occam_bound(30, 1000, 100.0, 0.05) > occam_bound(30, 1000, 10.0, 0.05)


def test_compression_bound_of_a_small_network():
    subject = _subject()
    plain = compression_bound(subject, sparsities=(0.0, 0.5), levels=(2, 8))
    assert len(plain.settings) == 4 and plain.search_bits == 2
    assert plain.bound >= plain.train_error
    assert plain.bound == occam_bound(plain.errors, plain.n, plain.bits, 0.05)
    assert plain.n == len(subject.data.train) and plain.compressed_test_error is not None
    tuned = compression_bound(
        subject,
        sparsities=(0.5,),
        levels=(4,),
        finetune=TrainSpec(optimizer="adam", lr=0.01, epochs=20, batch_size=50),
    )
    untuned = [r for r in plain.settings if r["sparsity"] == 0.5 and r["levels"] == 8]
    assert tuned.train_error <= untuned[0]["train_error"] + 0.05
    before = {k: v.clone() for k, v in subject.params().items()}
    compression_bound(subject, sparsities=(0.9,), levels=(2,))
    assert all(torch.equal(before[k], v) for k, v in subject.params().items())


def test_bad_options_are_refused():
    subject = Subject(model=toy_model(), data=toy_data())
    with pytest.raises(ValueError, match="sparsities"):
        compression_bound(subject, sparsities=(1.0,))
    with pytest.raises(ValueError, match="levels"):
        compression_bound(subject, levels=(0,))
    data = Data(
        "x",
        Split(torch.zeros(4, 2), torch.zeros(4, 1)),
        Split(torch.zeros(2, 2), torch.zeros(2, 1)),
        "regression",
        1,
    )
    with pytest.raises(ValueError, match="classification"):
        compression_bound(Subject(model=nn.Linear(2, 1), data=data))
