import json

import pytest
import torch

from occamlab.probes.representations import layer_similarity, linear_cka, stream_activations
from occamlab.testing import tiny_subject


def test_within_model_heatmap_is_symmetric_with_unit_diagonal():
    s = tiny_subject("relu_mlp", n=64, n_test=64)
    report = layer_similarity(s, limit=0, batch_size=10)
    k = len(report.layers_a)
    for i in range(k):
        assert report.cka[i][i] == pytest.approx(1.0, abs=1e-9)
        assert report.procrustes[i][i] == pytest.approx(0.0, abs=1e-9)
        for j in range(k):
            assert report.cka[i][j] == pytest.approx(report.cka[j][i], abs=1e-12)
            assert report.procrustes[i][j] == report.procrustes[j][i]  # each pair computed once
    json.dumps(report.to_dict(), allow_nan=False)


def test_streamed_heatmap_equals_cka_of_collected_activations():
    a, b = tiny_subject("relu_mlp", seed=0, n_test=80), tiny_subject("relu_mlp", seed=1, n_test=80)
    report = layer_similarity(a, b, limit=0, batch_size=7)
    x = a.data.test.x
    acts_a = next(stream_activations(a.model, [x], report.layers_a))
    acts_b = next(stream_activations(b.model, [x], report.layers_b))
    for i, u in enumerate(acts_a):
        for j, v in enumerate(acts_b):
            assert report.cka[i][j] == pytest.approx(linear_cka(u, v, dtype="float64"), abs=1e-6)
    assert report.cross_model and len(report.ranks_b) == len(report.layers_b)


def test_the_models_are_untouched_and_modes_restored():
    s = tiny_subject("bn_cnn")
    before = {k: v.clone() for k, v in s.model.state_dict().items()}
    s.model.train()
    layer_similarity(s, limit=0)
    layer_similarity(s, tiny_subject("bn_cnn", seed=1), limit=0)
    assert s.model.training and torch.is_grad_enabled()
    assert all(torch.equal(before[k], v) for k, v in s.model.state_dict().items())


def test_an_abandoned_stream_leaks_no_grad_mode_or_eval_mode():
    s = tiny_subject("bn_cnn")
    s.model.train()
    stream = stream_activations(s.model, [s.data.test.x[:4]] * 3, ["head"])
    next(stream)
    assert torch.is_grad_enabled() and s.model.training
    del stream
    assert not s.model.head._forward_hooks


def test_unknown_layers_are_refused_with_the_valid_names():
    s = tiny_subject("relu_mlp")
    with pytest.raises(ValueError, match="valid module names"):
        layer_similarity(s, layers=["nope"])
