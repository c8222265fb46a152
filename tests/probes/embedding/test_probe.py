"""The maps of a subject's layers: exact cases (PCA of a linear network's layer, the 5-NN vote,
Procrustes alignment), every method on a small subject, the trajectory along training, UMAP's
install message, and bad options."""

from __future__ import annotations

import sys

import numpy as np
import pytest
import torch

from occamlab import make_subject
from occamlab.data import data_spec
from occamlab.models import model_spec
from occamlab.probes.embedding import (
    METHODS,
    EmbeddingSpec,
    MapOptions,
    align,
    embed,
    embedding_probe,
    fix_signs,
)
from occamlab.probes.embedding.probe import _knn_accuracy
from occamlab.train import TrainSpec, fit


@pytest.fixture(scope="module")
def subject():
    s = make_subject(
        model=model_spec("mlp", width=16, depth=2),
        data=data_spec("gaussian_mixture", dim=6, separation=6.0, num_train=200, num_test=120),
        seed=0,
    )
    fit(s, TrainSpec(optimizer="adam", lr=0.01, batch_size=50, epochs=5, seed=0))
    return s


def test_pca_matches_the_eigendecomposition_of_the_covariance():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(50, 4)) @ np.diag([4.0, 2.0, 1.0, 0.5])
    m = embed(x, "pca", MapOptions(components=2))
    centred = x - x.mean(axis=0)
    values, vectors = np.linalg.eigh(centred.T @ centred / (len(x) - 1))
    np.testing.assert_allclose(m.eigenvalues, values[::-1][:2], rtol=1e-12)
    expected = fix_signs(centred @ vectors[:, ::-1][:, :2])
    np.testing.assert_allclose(m.coordinates, expected, atol=1e-10)


def test_knn_accuracy_on_separated_and_interleaved_points():
    line = np.c_[np.arange(20.0), np.zeros(20)]
    apart = line + np.c_[np.repeat([0.0, 10.0], 10), np.zeros(20)]
    assert _knn_accuracy(apart, np.repeat([0, 1], 10)) == 1.0
    # alternating labels on a line: each point's 5 nearest hold 3 or more of the other class
    # except near the ends (points 0 and 19 see 2 + 3 of the other class: wrong too)
    assert _knn_accuracy(line, np.tile([0, 1], 10)) == 0.0


def test_align_undoes_a_rotation_and_a_reflection():
    rng = np.random.default_rng(1)
    ref = rng.normal(size=(30, 2))
    angle = 0.7
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    moved = (ref @ rotation) * np.array([1.0, -1.0]) + 3.0
    back = align(moved, ref)
    np.testing.assert_allclose(back - back.mean(0), ref - ref.mean(0), atol=1e-12)


def test_pca_of_a_linear_layer_equals_pca_of_the_transformed_inputs(subject):
    # The first Linear layer's representation is XWᵀ + b, so its PCA map is exactly the PCA of
    # those numbers (and the probe reads the seeded rows of the split it says it read).
    report = embedding_probe(subject, method="pca", n=50, layers="features.1", seed=3)
    x = subject.data.test.x[report.indices].double()
    first = subject.model.features[1]
    rep = (x @ first.weight.double().T + first.bias.double()).detach().numpy()
    expected = embed(rep, "pca", MapOptions(components=2)).coordinates
    np.testing.assert_allclose(report.maps[1].coordinates, expected, atol=1e-5)
    assert report.layers == ["input", "features.1"] and report.maps[1].features == 16
    assert len(set(report.indices)) == 50 and report.indices == sorted(report.indices)
    assert report.labels == subject.data.test.y[report.indices].tolist()
    other = embedding_probe(subject, method="pca", n=50, layers="features.1", seed=4)
    assert other.indices != report.indices


@pytest.mark.parametrize("method", METHODS)
def test_every_method_maps_every_layer(subject, method):
    report = embedding_probe(subject, method=method, n=60, neighbors=20, perplexity=10.0)
    assert report.layers[0] == "input" and len(report.maps) == len(report.layers)
    for m in report.maps:
        assert m.coordinates.shape == (60, 2) and np.isfinite(m.coordinates).all()
        assert 0.0 <= m.knn_accuracy <= 1.0 and 0.0 <= m.trustworthiness <= 1.0
    # the trained network separates its classes on the map of its output layer
    assert report.maps[-1].knn_accuracy > 0.8
    d = report.to_dict()
    assert d["n"] == 60 and len(d["maps"][0]["coordinates"]) == 60
    again = embedding_probe(subject, method=method, n=60, neighbors=20, perplexity=10.0)
    np.testing.assert_allclose(again.maps[-1].coordinates, report.maps[-1].coordinates)


def test_trajectory_aligns_successive_maps_and_leaves_the_subject_alone(subject):
    before = {k: v.clone() for k, v in subject.model.state_dict().items()}
    report = embedding_probe(
        subject, n=60, epochs=4, every=2, neighbors=20, inputs=False, lr=0.01, batch_size=50
    )
    assert report.epochs() == [0, 2, 4]
    assert all(torch.equal(before[k], v) for k, v in subject.model.state_dict().items())
    layers = report.layers
    assert [m.epoch for m in report.trajectory] == [e for e in (0, 2, 4) for _ in layers]
    firsts = [m for m in report.trajectory if m.epoch == 0]
    assert all(m.procrustes_to_previous is None for m in firsts)
    later = [m for m in report.trajectory if m.epoch > 0]
    assert all(0.0 <= m.procrustes_to_previous <= 2.0 for m in later)
    assert all(m.procrustes_to_previous > 1e-6 for m in later)  # the layers do move
    # after 4 epochs from a fresh start the output layer's map separates the classes
    end = next(m for m in report.trajectory if m.layer == layers[-1] and m.epoch == 4)
    assert end.knn_accuracy > 0.8
    fig = report.plot_trajectory()
    assert len(fig.axes) >= 3 * len(layers)


def test_umap_missing_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "umap", None)
    with pytest.raises(ImportError, match=r"occamlab\[embedding\]"):
        embed(np.eye(5), "umap")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"method": "lle"}, "unknown method"),
        ({"n": 2}, "n must be"),
        ({"alpha": 1.5}, "alpha"),
        ({"split": "val"}, "split"),
        ({"every": 0}, "every"),
    ],
)
def test_bad_options_are_refused(options, message):
    with pytest.raises(ValueError, match=message):
        EmbeddingSpec(**options)


def test_bad_layers_and_data_are_refused(subject):
    with pytest.raises(ValueError, match="unknown layers"):
        embedding_probe(subject, layers="nope")
    with pytest.raises(ValueError, match="--inputs"):
        embedding_probe(subject, layers="input")
    with pytest.raises(ValueError, match="NaN"):
        embed(np.array([[0.0, np.nan], [1.0, 1.0], [2.0, 0.0]]), "pca")
    with pytest.raises(ValueError, match="perplexity"):
        embed(np.eye(5), "tsne", MapOptions(perplexity=30.0))


def test_regression_subject_is_coloured_by_its_target():
    s = make_subject(
        model=model_spec("mlp", width=8, depth=1),
        data=data_spec("teacher", num_train=50, num_test=40),
        seed=0,
    )
    report = embedding_probe(s, method="pca", n=30)
    assert not report.classification and len(report.labels) == 30
    assert all(m.knn_accuracy is None for m in report.maps)
    expected = s.data.test.y[report.indices].reshape(30, -1)[:, 0].tolist()
    np.testing.assert_allclose(report.labels, expected)
    assert len(report.plot().axes) >= len(report.layers)
