"""The ensemble decomposition and the bagging estimator, against hand computations."""

import numpy as np
import pytest
import torch
from sklearn.tree import DecisionTreeRegressor

from occamlab import make_subject
from occamlab.probes.ensembles import (
    bagged_predict,
    bootstrap_indices,
    decompose,
    ensemble_decomposition,
    member_outputs,
    prediction_variance,
)


def test_decomposition_of_a_tiny_ensemble_by_hand():
    # three members, two inputs, two outputs; targets one-hot (1, 0) and (0, 1)
    f = torch.tensor(
        [
            [[1.0, 0.0], [0.0, 1.0]],
            [[0.0, 1.0], [0.0, 1.0]],
            [[0.5, 0.5], [0.3, 0.7]],
        ],
        dtype=torch.float64,
    )
    y = torch.tensor([[1.0, 0.0], [0.0, 1.0]], dtype=torch.float64)
    d = decompose(f, y, labels=torch.tensor([0, 1]))
    # input 1: mean (0.5, 0.5); member losses 0, 2, 0.5; ensemble 0.5; spread 0.5, 0.5, 0
    # input 2: mean (0.1, 0.9); member losses 0, 0, 0.18; ensemble 0.02;
    #          spread 0.02, 0.02, 0.08
    assert d.members == 3
    assert d.ensemble_loss == pytest.approx((0.5 + 0.02) / 2, abs=1e-15)
    assert d.mean_member_loss == pytest.approx((2.5 / 3 + 0.18 / 3) / 2, abs=1e-15)
    assert d.diversity == pytest.approx((1.0 / 3 + 0.12 / 3) / 2, abs=1e-15)
    assert d.output_variance == pytest.approx(1.5 * d.diversity, abs=1e-15)
    # ensemble error = mean member error − diversity, exactly
    assert d.ensemble_loss == pytest.approx(d.mean_member_loss - d.diversity, abs=1e-15)
    # member 2 gets input 1 wrong, member 3 ties at input 1 (argmax takes class 0: right);
    # the averaged outputs tie at input 1 too (class 0) and are right at input 2
    assert d.member_errors == (0.0, 0.5, 0.0)
    assert d.ensemble_error == 0.0 and d.mean_member_error == pytest.approx(1 / 6)


def test_identity_holds_for_any_outputs_in_float64():
    g = torch.Generator().manual_seed(0)
    f = torch.randn(7, 50, 4, generator=g, dtype=torch.float64)
    y = torch.randn(50, 4, generator=g, dtype=torch.float64)
    d = decompose(f, y)
    assert abs(d.ensemble_loss - (d.mean_member_loss - d.diversity)) < 1e-13
    # the output variance is the unbiased variance over members, summed over outputs
    assert d.output_variance == pytest.approx(float(f.var(0).sum(-1).mean()), rel=1e-12)
    assert d.member_errors == () and d.ensemble_error is None
    one = decompose(f[:1], y)  # one member: no diversity, no variance estimate
    assert one.diversity == 0.0 and np.isnan(one.output_variance)
    with pytest.raises(ValueError, match="shape"):
        decompose(f, y[:, :3])


def test_decomposition_of_trained_subjects_uses_their_probabilities():
    subjects = [
        make_subject(model="mlp", data="gaussian_mixture", seed=s, model_options={"width": 8})
        for s in range(3)
    ]
    d = ensemble_decomposition(subjects)
    p = member_outputs(subjects)
    test = subjects[0].data.test
    assert p.shape == (3, len(test.y), subjects[0].data.num_outputs)
    assert torch.allclose(p.sum(-1), torch.ones(3, len(test.y), dtype=torch.float64))
    with torch.no_grad():
        first = torch.softmax(subjects[0].model(test.x).double(), -1)
    assert torch.allclose(p[0], first, atol=1e-6)
    onehot = torch.nn.functional.one_hot(test.y, p.shape[-1])
    assert d == decompose(p, onehot, labels=test.y)


def test_bagged_stump_by_hand():
    # x = 0, 1, 2, 3 with y = 0, 0, 1, 1; three resamples, prediction at x = 2.5:
    #   [0, 0, 3, 3]: split at 1.5, right leaf y = 1      -> 1
    #   [0, 1, 1, 2]: split at 1.5, right leaf y = 1      -> 1
    #   [0, 0, 0, 1]: all y = 0, a single leaf             -> 0
    x = np.arange(4.0).reshape(-1, 1)
    y = np.array([0.0, 0.0, 1.0, 1.0])

    def stump(xs, ys, t):
        return DecisionTreeRegressor(max_depth=1).fit(xs, ys).predict(t)

    idx = np.array([[0, 0, 3, 3], [0, 1, 1, 2], [0, 0, 0, 1]])
    bagged = bagged_predict(stump, x, y, np.array([[2.5], [0.5]]), indices=idx)
    assert bagged.tolist() == pytest.approx([2 / 3, 0.0])
    # without indices, the resamples are bootstrap_indices(n, B, seed)
    drawn = bootstrap_indices(4, 5, seed=3)
    assert drawn.shape == (5, 4) and drawn.min() >= 0 and drawn.max() <= 3
    assert np.array_equal(drawn, np.random.default_rng(3).integers(0, 4, size=(5, 4)))
    same = bagged_predict(stump, x, y, np.array([[2.5]]), bootstraps=5, seed=3)
    assert same == pytest.approx(bagged_predict(stump, x, y, np.array([[2.5]]), indices=drawn))
    with pytest.raises(ValueError, match="bootstraps"):
        bagged_predict(stump, x, y, x)


def test_prediction_variance_by_hand():
    # two test points; three fits: values (0, 3, 6) and (1, 1, 1): variances 9 and 0
    p = np.array([[0.0, 1.0], [3.0, 1.0], [6.0, 1.0]])
    assert prediction_variance(p) == 4.5
    # several outputs are summed
    assert prediction_variance(np.stack([p, p], -1)) == 9.0
    with pytest.raises(ValueError, match="at least 2 fits"):
        prediction_variance(p[:1])
