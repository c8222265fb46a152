import numpy as np
import pytest
import torch

from occamlab import TrainSpec, fit
from occamlab.probes.connectivity import barrier, interpolate, linear_mode_connectivity
from occamlab.testing import least_squares_subject, tiny_subject


def test_barrier_definition_and_errors():
    assert barrier([1.0, 3.0, 1.0], [0.0, 0.5, 1.0]) == 2.0
    # Linear in α: no barrier; endpoints differ: measured against the chord, not the mean.
    assert barrier([0.0, 1.0, 2.0], [0.0, 0.5, 1.0]) == 0.0
    assert barrier([0.0, 1.5, 2.0], [0.0, 0.5, 1.0]) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="endpoints"):
        barrier([1.0, 2.0], [0.1, 1.0])
    with pytest.raises(ValueError, match="same length"):
        barrier([1.0], [0.0])


def test_path_between_identical_solutions_is_flat_and_endpoints_are_exact():
    subject = tiny_subject("relu_mlp")
    p = subject.params()
    before = {k: v.clone() for k, v in p.items()}
    path = interpolate(subject, p, p, num_points=5)
    assert path.loss_barrier == 0.0 and path.error_barrier == 0.0 and path.instability == 0.0
    assert len(set(path.train_loss)) == 1
    assert path.train_loss[0] == subject.evaluate(split="train").loss
    assert path.test_accuracy[0] == subject.evaluate(split="test").accuracy
    assert all(torch.equal(v, before[k]) for k, v in subject.params().items())


def test_convex_loss_has_no_barrier_and_matches_the_closed_form():
    subject = least_squares_subject(n=40, d=4)
    a = subject.params()
    b = {k: v + 1.0 for k, v in a.items()}
    path = interpolate(subject, a, b, num_points=9)
    assert path.loss_barrier == pytest.approx(0.0, abs=1e-6)
    x, y = subject.data.train.x.double(), subject.data.train.y.double()
    wa, wb = a["weight"].double().T, b["weight"].double().T
    for alpha, loss in zip(path.alphas, path.train_loss, strict=True):
        w = (1 - alpha) * wa + alpha * wb
        assert loss == pytest.approx(float(((x @ w - y) ** 2).mean()), rel=1e-5)
    assert path.test_accuracy is None and path.error_barrier is None


def test_linear_mode_connectivity_trains_copies_and_leaves_the_subject_alone():
    subject = tiny_subject("relu_mlp", n=48)
    before = {k: v.clone() for k, v in subject.params().items()}
    spec = TrainSpec(epochs=3, batch_size=8, lr=0.05)
    result = linear_mode_connectivity(subject, spec, seeds=(3, 4), num_points=3)
    assert all(torch.equal(v, before[k]) for k, v in subject.params().items())
    # The endpoints are what the single loop gives from the same start with those seeds.
    twin = subject.clone()
    fit(twin, TrainSpec(epochs=3, batch_size=8, lr=0.05, seed=3))
    assert result.path.train_loss[0] == twin.evaluate(split="train").loss
    assert np.isfinite(result.path.loss_barrier)
    with pytest.raises(ValueError, match="different"):
        linear_mode_connectivity(subject, spec, seeds=(1, 1))
