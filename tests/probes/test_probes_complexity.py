"""Functional complexity: ALE against closed forms in float64, and NF, IAS, MEC and H² on
functions whose decomposition is known by construction."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from occamlab import make_subject
from occamlab.data.base import Data, Split
from occamlab.probes.complexity import (
    ComplexitySpec,
    ale_curves,
    ale_surface,
    complexity_of,
    features_used,
    functional_complexity,
    h_statistic,
    interaction_strength,
    main_effects,
    quantile_edges,
    segment_effect,
)
from occamlab.subject import Subject


def uniform(n: int, d: int, seed: int = 0) -> torch.Tensor:
    return torch.rand(n, d, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def centred(uncentred: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """ALEPlot's centring, written out: minus the count-weighted mean of the bin midpoints."""
    total = sum(c * (uncentred[k] + uncentred[k + 1]) / 2 for k, c in enumerate(counts))
    return uncentred - total / counts.sum()


def test_quadratic_ale_is_the_function_at_the_edges():
    x = uniform(500, 3)
    fn = lambda b: b[:, :1] ** 2 + 3 * b[:, 1:2] - torch.sin(b[:, 2:3])  # noqa: E731
    curves = ale_curves(fn, x, bins=10)
    for curve, g in zip(curves, (np.square, lambda v: 3 * v, lambda v: -np.sin(v)), strict=True):
        z = curve.edges
        assert len(z) == 11 and z[0] == x[:, curve.feature].min()
        np.testing.assert_allclose(curve.uncentred[:, 0], g(z) - g(z[0]), rtol=0, atol=1e-14)
        np.testing.assert_allclose(
            curve.effect[:, 0], centred(g(z) - g(z[0]), curve.counts), rtol=0, atol=1e-14
        )
        assert curve.counts.sum() == 500 and (curve.counts > 0).all()


def test_piecewise_linear_ale_and_interaction_invisible_in_first_order():
    x = uniform(400, 2, seed=1)
    # f = |x0 − 0.3| + x0·x1: the first-order ALE of x0 in bin k is |z_k − .3| − |z_{k−1} − .3|
    # plus (z_k − z_{k−1}) times the mean of x1 over the bin's points.
    fn = lambda b: (b[:, 0] - 0.3).abs()[:, None] + b[:, :1] * b[:, 1:]  # noqa: E731
    curve = ale_curves(fn, x, features=[0], bins=8)[0]
    z, data = curve.edges, x.numpy()
    k = np.clip(np.searchsorted(z, data[:, 0], side="left"), 1, len(z) - 1)
    local = [
        abs(z[b] - 0.3) - abs(z[b - 1] - 0.3) + (z[b] - z[b - 1]) * data[k == b, 1].mean()
        for b in range(1, len(z))
    ]
    np.testing.assert_allclose(curve.uncentred[1:, 0], np.cumsum(local), rtol=0, atol=1e-14)


def test_grid_is_lower_quantiles_and_constant_features_have_no_effect():
    v = np.array([5.0, 1.0, 3.0, 2.0, 4.0])
    assert quantile_edges(v, 4).tolist() == [1.0, 2.0, 3.0, 4.0, 5.0]
    assert quantile_edges(np.ones(7), 5).tolist() == [1.0]
    x = uniform(50, 2)
    x[:, 1] = 2.0
    curves = ale_curves(lambda b: b.sum(1), x, bins=5)
    assert curves[1].effect.tolist() == [[0.0]] and curves[1].counts.size == 0


def test_additive_function_has_zero_interaction_strength():
    # With one bin per data value every point is an edge, so the main effects are exact.
    x = uniform(60, 3)
    fn = lambda b: torch.exp(b[:, :1]) + b[:, 1:2] ** 3 - 2 * torch.cos(4 * b[:, 2:3])  # noqa: E731
    curves = ale_curves(fn, x, bins=60)
    prediction = fn(x).numpy()
    ias, sse, sst = interaction_strength(prediction, main_effects(curves, x))
    assert sst[0] > 1 and ias < 1e-28
    r = complexity_of(fn, x, bins=60, h_features=3)
    assert r.interaction_strength < 1e-28 and r.features_used == 3
    assert max(v for row in r.h2 for v in row if v is not None) < 1e-25


def test_linear_function_mec_one_and_nf_counts_nonzero_coefficients():
    x = uniform(300, 6, seed=2)
    w = torch.tensor([[1.5], [0.0], [-2.0], [0.0], [0.01], [0.0]], dtype=torch.float64)
    r = complexity_of(lambda b: b @ w + 0.5, x, h_features=3)
    assert r.features_used == 3 and r.used == [0, 2, 4]
    assert r.main_effect_complexity == 1.0
    assert r.interaction_strength < 1e-25
    assert [c["feature"] for c in r.curves] == [2, 0, 4]  # largest main-effect variance first
    np.testing.assert_allclose(
        r.variance, (w[:, 0].numpy() ** 2) * x.numpy().var(axis=0), rtol=1e-12, atol=1e-30
    )
    assert r.complexity == [1.0, 0.0, 1.0, 0.0, 1.0, 0.0]


def test_one_pairwise_interaction_h_statistic_closed_form():
    x = uniform(80, 3, seed=3)
    fn = lambda b: b[:, :1] * b[:, 1:2] + b[:, 2:3]  # noqa: E731
    h2 = h_statistic(fn, x, [0, 1, 2])
    a, b = x[:, 0].numpy(), x[:, 1].numpy()
    prod = a * b - (a * b).mean()
    pure = (a - a.mean()) * (b - b.mean())
    expected = ((pure - pure.mean()) ** 2).sum() / (prod**2).sum()
    assert h2[0, 1] == pytest.approx(expected, rel=1e-12) and h2[1, 0] == h2[0, 1]
    assert h2[0, 2] < 1e-28 and h2[1, 2] < 1e-28 and np.isnan(h2[0, 0])
    # streamed in blocks of examples: the same numbers whatever the batch size
    np.testing.assert_allclose(h_statistic(fn, x, [0, 1, 2], batch_size=50), h2, rtol=1e-12)
    r = complexity_of(fn, x, bins=20, h_features=3, h_limit=80)
    assert r.interaction_strength > 0.02
    pair = {
        frozenset((r.h_features[i], r.h_features[j])): r.h2[i][j]
        for i in range(3)
        for j in range(3)
        if i != j
    }
    assert pair[frozenset((0, 1))] == pytest.approx(expected, rel=1e-12)
    # the surface shown is the second-order ALE of the strongest pair
    assert r.surface["features"] == [0, 1]
    np.testing.assert_array_equal(
        r.surface["effect"], ale_surface(fn, x, (0, 1), bins=10).effect[..., 0]
    )


def test_segmentation_of_known_piecewise_effects():
    v = np.linspace(0, 1, 101)
    edges = np.linspace(0, 1, 21)
    # a V with its kink at an edge: two sloped pieces, MEC_j = 2 + 2 − 1
    effect = np.abs(v - 0.4)
    s = segment_effect(v, effect - effect.mean(), edges)
    assert (s.segments, s.complexity, s.breaks) == (2, 3, [0.4]) and s.r2 == pytest.approx(1)
    # a step: two flat pieces, MEC_j = 2 + 0 − 1
    step = (v > edges[14]).astype(float)
    s = segment_effect(v, step - step.mean(), edges, epsilon=1e-9)
    assert (s.segments, s.complexity, s.slopes) == (2, 1, [0.0, 0.0])
    # three pieces, flat, rising, flat: K = 3 with one non-zero slope
    ramp = np.clip((v - edges[4]) / (edges[14] - edges[4]), 0, 1)
    s = segment_effect(v, ramp - ramp.mean(), edges, epsilon=1e-9)
    assert (s.segments, s.complexity, s.breaks) == (3, 3, [edges[4], edges[14]])
    # capped: a sine needs more than two pieces
    wave = np.sin(12 * v)
    s = segment_effect(v, wave - wave.mean(), edges, max_segments=2)
    assert s.capped and s.segments == 2 and s.r2 < 0.95
    assert segment_effect(v, np.zeros_like(v), edges).complexity == 0


def test_second_order_ale_removes_main_effects():
    # full factorial data: every cell holds points
    g = torch.linspace(0, 1, 21, dtype=torch.float64)
    x = torch.cartesian_prod(g, g, torch.tensor([0.0, 1.0], dtype=torch.float64))
    additive = lambda b: b[:, :1] ** 2 + torch.sin(3 * b[:, 1:2]) + b[:, 2:3]  # noqa: E731
    assert np.abs(ale_surface(additive, x, (0, 1), bins=10).effect).max() < 1e-13
    pure = ale_surface(lambda b: b[:, :1] * b[:, 1:2], x, (0, 1), bins=10)
    mixed = ale_surface(lambda b: b[:, :1] * b[:, 1:2] + additive(b), x, (0, 1), bins=10)
    np.testing.assert_allclose(mixed.effect, pure.effect, rtol=0, atol=1e-13)
    # x0·x1's pure interaction is exactly bilinear, (z − a)(w − a) + c, with a → 1/2 (the mean
    # of the data's grid) as the bins narrow.
    errors = []
    for points, bins in ((21, 10), (41, 20)):
        g = torch.linspace(0, 1, points, dtype=torch.float64)
        s = ale_surface(
            lambda b: b[:, :1] * b[:, 1:2], torch.cartesian_prod(g, g), (0, 1), bins=bins
        )
        z, w = np.meshgrid(*s.edges, indexing="ij")
        basis = np.stack([z * w, z, w, np.ones_like(z)], -1).reshape(-1, 4)
        coef = np.linalg.lstsq(basis, s.effect[..., 0].ravel(), rcond=None)[0]
        assert np.abs(basis @ coef - s.effect[..., 0].ravel()).max() < 1e-12
        assert coef[0] == pytest.approx(1, abs=1e-12) and coef[1] == pytest.approx(coef[2])
        errors.append(np.abs(s.effect[..., 0] - (z - 0.5) * (w - 0.5)).max())
    assert errors[0] < 0.025 and errors[1] < 0.55 * errors[0]
    with pytest.raises(ValueError, match="two different features"):
        ale_surface(additive, x, (1, 1))


def test_features_used_respects_tolerance():
    x = uniform(100, 3)
    fn = lambda b: b[:, :1] + 1e-6 * b[:, 1:2]  # noqa: E731
    assert features_used(fn, x).tolist() == [True, True, False]
    assert features_used(fn, x, tolerance=1e-3).tolist() == [True, False, False]


def test_bad_inputs_say_what_to_do():
    fn = lambda b: b.sum(1)  # noqa: E731
    with pytest.raises(ValueError, match=r"\(n, d\)"):
        ale_curves(fn, torch.zeros(4, 2, 2))
    with pytest.raises(ValueError, match="NaN"):
        ale_curves(fn, torch.tensor([[0.0, float("nan")], [1.0, 2.0]]))
    with pytest.raises(ValueError, match="at least 2"):
        complexity_of(fn, torch.zeros(1, 3))
    with pytest.raises(ValueError, match="out of range"):
        ale_curves(fn, torch.zeros(4, 2), features=[2])
    with pytest.raises(ValueError, match="NaN or infinite outputs"):
        ale_curves(lambda b: b.sum(1) / 0, torch.rand(5, 2))
    with pytest.raises(ValueError, match="epsilon"):
        ComplexitySpec(epsilon=0.0)
    with pytest.raises(ValueError, match="target"):
        ComplexitySpec(target=-1)


def linear_subject(weights: list[float], n: int = 200) -> Subject:
    x = torch.rand(n, len(weights), generator=torch.Generator().manual_seed(4))
    model = nn.Linear(len(weights), 1)
    with torch.no_grad():
        model.weight.copy_(torch.tensor([weights]))
        model.bias.fill_(0.3)
    data = Data(
        "linear",
        Split(x, x @ torch.tensor(weights)[:, None]),
        Split(x, x @ torch.tensor(weights)[:, None]),
        "regression",
        1,
    )
    return Subject(model, data)


def test_subject_probe_on_a_linear_regression_model():
    subject = linear_subject([2.0, 0.0, -1.0, 0.0])
    before = {k: v.clone() for k, v in subject.params().items()}
    r = functional_complexity(subject, limit=150, h_features=2, h_limit=30)
    assert r.features_used == 2 and r.used == [0, 2] and r.output == "regression"
    assert r.main_effect_complexity == 1.0 and r.interaction_strength < 1e-10
    assert r.n == 150 and r.h_n == 30 and r.h_features == [0, 2] and r.h2[0][1] < 1e-10
    assert all(torch.equal(before[k], v) for k, v in subject.params().items())
    d = r.to_dict()
    assert d["curves"][0]["feature"] == 0 and len(d["curves"][0]["effect"]) == 1


def test_subject_probe_classifier_outputs_and_pooling():
    subject = make_subject(model="mlp", data="gaussian_mixture", seed=0)
    r = functional_complexity(subject, limit=100, h_features=3, h_limit=20, bins=5)
    assert len(r.outputs) == 1 and r.output == "probability" and r.num_features > 1
    assert 0 <= r.interaction_strength <= 1 and r.main_effect_complexity >= 0
    pooled = functional_complexity(subject, limit=100, pool=True, h_features=0, output="logit")
    assert pooled.outputs == list(range(subject.data.num_outputs)) and pooled.h2 == []
    assert len(pooled.curves[0]["effect"]) == subject.data.num_outputs
    with pytest.raises(ValueError, match="out of range"):
        functional_complexity(subject, limit=50, target=99)
    ax = r.plot()
    assert ax.get_title().startswith("NF=")
    assert r.plot_h().get_title().startswith("Friedman")
    assert r.surface is not None and r.plot_surface().get_title().startswith("interaction of")
    with pytest.raises(ValueError, match="h_features"):
        pooled.plot_surface()
