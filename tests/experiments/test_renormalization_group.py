import numpy as np
import pytest

from occamlab.data import ising
from occamlab.experiments import run_experiment, spec_at_scale
from occamlab.experiments.renormalization_group import (
    RenormalizationGroup,
    block_correlation,
    claims,
    locality,
    reconstruct,
    summarize,
)
from occamlab.store import Store


def test_locality_of_constructed_fields():
    size = 8
    point = np.zeros((1, size * size))
    point[0, 0] = 1.0  # at a corner: the centre wraps around the torus
    flat = np.ones((1, size * size))
    # a 3×3 patch straddling the periodic boundary: all its mass within √2 of its centre
    patch = np.zeros((size, size))
    patch[np.ix_([7, 0, 1], [7, 0, 1])] = 1.0
    scores = locality(np.vstack([point, flat, patch.reshape(1, -1)]), size, 1.5)
    # the flat field: the 9 sites within 1.5 of its (arbitrary) centre among 64
    np.testing.assert_allclose(scores, [1.0, 9 / 64, 1.0], atol=1e-12)
    with pytest.raises(ValueError, match="shape"):
        locality(np.ones((2, 10)), size, 1.0)
    with pytest.raises(ValueError, match="nonzero"):
        locality(np.zeros((1, 64)), size, 1.0)


def test_block_correlation_of_exact_block_configurations():
    rng = np.random.default_rng(0)
    coarse = np.where(rng.random((5, 4, 4)) < 0.5, -1, 1).astype(np.int8)
    fine = np.repeat(np.repeat(coarse, 2, axis=-1), 2, axis=-2)
    # a configuration made of 2×2 blocks is its own block-spin configuration
    np.testing.assert_array_equal(ising.block_spins(fine, 2), coarse)
    assert block_correlation(fine.astype(float), coarse) == pytest.approx(1.0, abs=1e-12)
    assert block_correlation(-fine.astype(float), coarse) == pytest.approx(-1.0, abs=1e-12)
    assert block_correlation(np.zeros((5, 8, 8)), coarse) == 0.0
    # a uniform grey of each configuration's sign: perfect pooled agreement with uniform
    # configurations, no spatial pattern once each configuration's mean is removed
    signs = np.where(rng.random(5) < 0.5, -1, 1)
    ordered = np.broadcast_to(signs[:, None, None], (5, 4, 4)).astype(np.int8)
    grey = 0.5 * np.broadcast_to(signs[:, None, None], (5, 8, 8)) + 0.01 * rng.random((5, 8, 8))
    assert block_correlation(grey, ordered) > 0.99
    assert block_correlation(grey, ordered, centered=True) == 0.0
    # centered against a reference: Σx̃ỹ/√(Σx̃²Σỹ²) computed by hand
    x = rng.standard_normal((5, 8, 8))
    up = fine.astype(float)
    xc, yc = x - x.mean(axis=(1, 2), keepdims=True), up - up.mean(axis=(1, 2), keepdims=True)
    want = (xc * yc).sum() / np.sqrt((xc**2).sum() * (yc**2).sum())
    assert block_correlation(x, coarse, centered=True) == pytest.approx(want, rel=1e-12)
    assert block_correlation(x, coarse) == pytest.approx(np.corrcoef(x.ravel(), up.ravel())[0, 1])


def test_reconstruction_is_the_mean_field_pass():
    class Rbm:  # the attributes of a fitted scikit-learn BernoulliRBM
        def __init__(self, w, bv, bh):
            self.components_, self.intercept_visible_, self.intercept_hidden_ = w, bv, bh

        def transform(self, v):
            return 1 / (1 + np.exp(-(v @ self.components_.T + self.intercept_hidden_)))

    rng = np.random.default_rng(1)
    rbm = Rbm(rng.standard_normal((3, 4)), rng.standard_normal(4), rng.standard_normal(3))
    spins = np.array([[[1, -1], [-1, 1]]], dtype=np.int8)
    v = np.array([[1.0, 0.0, 0.0, 1.0]])
    h = 1 / (1 + np.exp(-(v @ rbm.components_.T + rbm.intercept_hidden_)))
    p = 1 / (1 + np.exp(-(h @ rbm.components_ + rbm.intercept_visible_)))
    np.testing.assert_allclose(reconstruct([rbm], spins, 1), (2 * p - 1).reshape(1, 2, 2))


def _per_seed(gap_deep=0.2, ratio=3.0, spatial=0.6, seeds=3):
    # correlations of 3 layers at scales 1, 2, 4, 8
    out = []
    for k in range(seeds):
        e = 0.01 * k
        corr = [
            [0.80 + e, 0.85 + e, 0.80, 0.70],
            [0.70, 0.78, 0.85 + e, 0.80],
            [0.70 + e, 0.75, 0.85, 0.70 + gap_deep + e / 2],
        ]
        out.append(
            {
                "correlation": corr,
                "control": [[0.1 + e] * 4] * 3,
                "spatial": [[0.5 + e] * 4, [0.5] * 4, [0.5, 0.5, 0.5, spatial + e]],
                "scales": [1, 2, 4, 8],
                "locality": 0.06 * ratio + e,
                "locality_shuffled": 0.06,
                "energy": -1.45,
                "abs_magnetization": 0.7,
                "onsager_energy": -1.414,
                "onsager_magnetization": 0.0,
            }
        )
    return out


def test_claims_pass_and_fail_as_constructed():
    s = summarize(_per_seed())
    assert s["matched_scale"][0] == [2, 4, 8]
    assert [c.decision for c in claims(s, 2.0)] == ["passed"] * 5
    # receptive fields as spread as shuffled ones; the deepest layer copies the configuration;
    # its resemblance to the block spins is the magnetization
    bad = claims(summarize(_per_seed(gap_deep=-0.1, ratio=1.0, spatial=0.05)), 2.0)
    assert [c.decision for c in bad] == ["failed", "passed", "failed", "failed", "failed"]


def test_paper_scale_has_the_paper_layers():
    spec = spec_at_scale(RenormalizationGroup, "paper")
    assert spec.size**2 == 1600 and spec.hidden_sizes() == [400, 100, 25]
    hot = spec_at_scale(RenormalizationGroup, "quick", setting="above-critical")
    assert hot.temperature == 2.5 > ising.CRITICAL_TEMPERATURE


def test_spec_rejects_bad_sizes():
    with pytest.raises(ValueError, match="divisible"):
        RenormalizationGroup(size=12, layers=3)
    with pytest.raises(ValueError, match="algorithm"):
        RenormalizationGroup(algorithm="heatbath")
    with pytest.raises(ValueError, match="temperature > 0"):
        RenormalizationGroup(temperature=float("nan"))


def test_tiny_run_end_to_end(tmp_path):
    spec = RenormalizationGroup(
        size=8, layers=2, samples=800, test_samples=60, chains=40, burn_in=20, epochs=8, seeds=3
    )
    assert spec.hidden_sizes() == [16, 4]
    d = run_experiment(spec, Store(tmp_path / "runs.sqlite")).to_dict()
    assert len(d["claims"]) == 5
    assert all(c["test"]["seeds"] == 3 for c in d["claims"])
    m = d["metrics"]
    assert m["scales"] == [1, 2, 4]
    assert len(d["tables"]["correlation vs block scale"]) == 3 * 2 * 3
    # the claims' numbers are the tables' numbers
    rows = [r for r in d["tables"]["correlation vs block scale"] if r["layer"] == 2]
    own = [r["trained"] for r in rows if r["scale"] == 4]
    assert d["claims"][1]["test"]["points"]["trained stack"] == pytest.approx(own)
    ratio = [r["locality"] / r["locality_shuffled"] for r in d["tables"]["per seed"]]
    assert d["claims"][0]["test"]["points"]["locality / shuffled locality"] == pytest.approx(ratio)
    # the samples are Ising samples at T_c: energy per spin near Onsager's −√2 (finite L = 8)
    assert np.mean(m["energy"]) == pytest.approx(m["onsager_energy"], abs=0.15)
    assert "samples, receptive fields, reconstructions" in d["figures"]
