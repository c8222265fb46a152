import pytest
import torch

from occamlab.probes.landscape.directions import (
    difference_direction,
    gaussian_direction,
    hessian_directions,
    normalize_direction,
    random_directions,
)
from occamlab.testing import dense_hessian, least_squares_subject, tiny_subject


def _filter_norms(t: torch.Tensor) -> torch.Tensor:
    return t.reshape(t.shape[0], -1).norm(dim=1)


@pytest.mark.parametrize("kind", ["relu_mlp", "bn_cnn"])
def test_filter_normalized_directions_have_the_weights_filter_norms(kind):
    subject = tiny_subject(kind)
    params = subject.params()
    (d,) = random_directions(subject, count=1, seed=3)
    for name, w in params.items():
        if w.ndim >= 2:
            torch.testing.assert_close(_filter_norms(d[name]), _filter_norms(w), rtol=1e-6, atol=0)
        else:  # biases and BatchNorm scales/shifts are held fixed by default
            assert torch.count_nonzero(d[name]) == 0
    # "normalize": every one-axis tensor moves, scaled to its own norm.
    (d,) = random_directions(subject, count=1, seed=3, vectors="normalize")
    for name, w in params.items():
        if w.ndim < 2:
            assert float(d[name].norm()) == pytest.approx(float(w.norm()), rel=1e-6)
    if kind == "bn_cnn":
        assert any(w.ndim == 4 for w in params.values())  # convolution filters were covered


def test_layer_and_model_normalization_and_dead_filters():
    subject = tiny_subject("relu_mlp")
    params = {k: v.clone() for k, v in subject.params().items()}
    first = next(k for k, v in params.items() if v.ndim == 2)
    params[first][0] = 0.0  # a dead unit
    raw = gaussian_direction(params, generator=torch.Generator().manual_seed(0))
    layer = normalize_direction(raw, params, normalization="layer", vectors="normalize")
    for name, w in params.items():
        assert float(layer[name].norm()) == pytest.approx(float(w.norm()), rel=1e-6)
    model = normalize_direction(raw, params, normalization="model", vectors="ignore")
    moved = [k for k, w in params.items() if w.ndim >= 2]
    total_d = sum(float(model[k].pow(2).sum()) for k in moved) ** 0.5
    total_w = sum(float(params[k].pow(2).sum()) for k in moved) ** 0.5
    assert total_d == pytest.approx(total_w, rel=1e-6)
    filt = normalize_direction(raw, params)
    assert torch.count_nonzero(filt[first][0]) == 0  # a zero filter gets a zero direction
    assert torch.equal(normalize_direction(raw, params, normalization="none")[first], raw[first])
    with pytest.raises(ValueError, match="normalization must be one of"):
        normalize_direction(raw, params, normalization="per-filter")
    with pytest.raises(ValueError, match="vectors must be one of"):
        normalize_direction(raw, params, vectors="keep")


def test_directions_are_seeded_and_differ():
    subject = tiny_subject("relu_mlp")
    a1, b1 = random_directions(subject, seed=5)
    a2, _ = random_directions(subject, seed=5)
    assert all(torch.equal(a1[k], a2[k]) for k in a1)
    assert not all(torch.equal(a1[k], b1[k]) for k in a1)


def test_hessian_directions_are_the_top_eigenvectors():
    subject = least_squares_subject(n=40, d=6)
    dirs, values = hessian_directions(subject, count=2, tol=1e-8)
    evals, evecs = torch.linalg.eigh(dense_hessian(subject))
    assert values == pytest.approx(evals.flip(0)[:2].tolist(), rel=1e-6)
    for j, d in enumerate(dirs):
        v = d["weight"].reshape(-1).double()
        assert float(v.norm()) == pytest.approx(1.0, rel=1e-6)
        assert abs(float(v @ evecs[:, -1 - j])) == pytest.approx(1.0, rel=1e-5)


def test_difference_direction():
    subject = tiny_subject("relu_mlp")
    a = subject.params()
    b = {k: v + 2.0 for k, v in a.items()}
    d = difference_direction(a, b)
    assert all(torch.allclose(d[k], torch.full_like(a[k], 2.0)) for k in a)
    with pytest.raises(ValueError, match="same parameters"):
        difference_direction(a, {})
