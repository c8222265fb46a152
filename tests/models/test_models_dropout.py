"""MLP dropout: seeded masks (no global RNG), identity in eval mode, init unchanged."""

import torch

from occamlab.models import build_model, model_spec
from occamlab.models.layers import SeededDropout


def test_dropout_is_seeded_reproducible_and_off_in_eval_mode():
    spec = model_spec("mlp", width=32, depth=2, dropout=0.5)
    plain = build_model(
        model_spec("mlp", width=32, depth=2), input_shape=(5,), num_outputs=3, seed=1
    )
    a = build_model(spec, input_shape=(5,), num_outputs=3, seed=1)
    b = build_model(spec, input_shape=(5,), num_outputs=3, seed=1)
    # the initialization does not depend on dropout (parameter names shift, values do not)
    for va, vp in zip(a.parameters(), plain.parameters(), strict=True):
        assert torch.equal(va, vp)
    assert sum(isinstance(m, SeededDropout) for m in a.modules()) == 2
    x = torch.randn(64, 5, generator=torch.Generator().manual_seed(0))
    state = torch.random.get_rng_state()
    a.train(), b.train()
    out_a, out_b = a(x), b(x)
    assert torch.equal(out_a, out_b)  # same seed, same masks
    assert not torch.equal(out_a, a(x))  # fresh masks on the next call
    assert torch.equal(torch.random.get_rng_state(), state)  # the global RNG is untouched
    a.eval(), plain.eval()
    assert torch.allclose(a(x), plain(x))


def test_dropout_keeps_the_expected_scale():
    layer = SeededDropout(0.25, seed=3).train()
    out = layer(torch.ones(200_000))
    assert set(out.unique().tolist()) <= {0.0, float(torch.tensor(1 / 0.75))}
    assert abs(float((out == 0).double().mean()) - 0.25) < 0.005
