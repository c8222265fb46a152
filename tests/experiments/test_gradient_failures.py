import numpy as np
import pytest

from occamlab.experiments import run_experiment, spec_at_scale
from occamlab.experiments.gradient_failures import (
    GradientFailures,
    all_inputs,
    claims,
    parity_gradient_variance,
    summarize,
    walsh_hadamard,
)
from occamlab.store import Store


def test_walsh_hadamard_matches_the_parity_matrix():
    d = 3
    x = all_inputs(d).numpy()
    parity = np.array(
        [
            [np.prod(x[i, [b for b in range(d) if (r >> b) & 1]]) for i in range(2**d)]
            for r in range(2**d)
        ]
    )
    a = np.random.default_rng(0).standard_normal((2**d, 4))
    assert np.allclose(walsh_hadamard(a), parity @ a)
    with pytest.raises(ValueError, match="power of two"):
        walsh_hadamard(np.zeros(6))


def test_gradient_variance_is_below_the_bound_and_matches_parseval():
    v = parity_gradient_variance(6, width=8, seed=0)
    # Var = (G² − ‖E_v ĝ‖²·2^d)/2^d <= G²/2^d, with equality up to the mean term.
    assert 0 < v["variance"] <= v["bound"]
    assert v["variance"] > 0.5 * v["bound"]


def _rows(accs, spread=(-0.01, 0.0, 0.01)):
    return [
        {"d": d, "seed": s, "train_accuracy": 1.0, "test_accuracy": min(acc + e, 1.0)}
        for d, acc in zip((10, 20, 30), accs, strict=True)
        for s, e in enumerate(spread)
    ]


def _variance(slope):
    return [
        {"d": d, "variance": 2.0 ** (slope * d), "bound": 2.0 ** (slope * d) * 1.01}
        for d in range(2, 15, 2)
    ]


def _decisions(rows, variance):
    return [c.decision for c in claims(rows, summarize(rows, variance))]


def test_claims_pass_on_the_papers_pattern():
    rows = _rows((0.99, 0.76, 0.51))
    claimed = claims(rows, summarize(rows, _variance(-1.0)))
    assert [c.decision for c in claimed] == ["passed"] * 4
    assert [c.test.method for c in claimed[:3]] == ["one-sample t-test"] * 2 + ["slope t-test"]
    assert claimed[2].test.seeds == 9 and claimed[3].test is None


def test_claims_fail_where_the_pattern_breaks():
    # Nothing is learned at d = 10, d = 30 is learned, and the variance does not shrink.
    assert _decisions(_rows((0.6, 0.7, 0.9)), _variance(-0.2)) == ["failed"] * 4


def test_claims_within_the_seed_noise_are_inconclusive():
    # 0.95 ± 0.03 at d = 10 and 0.55 ± 0.03 at d = 30: on the thresholds, within the seed noise
    rows = _rows((0.95, 0.75, 0.55), spread=(-0.03, 0.0, 0.03))
    claimed = claims(rows, summarize(rows, _variance(-1.0)))
    assert [c.decision for c in claimed] == ["inconclusive", "inconclusive", "passed", "passed"]
    assert claimed[0].test.seeds_needed is None or claimed[0].test.seeds_needed > 3


def test_tiny_run_end_to_end(tmp_path):
    spec = GradientFailures(
        seeds=1, dims=2, num_train=64, width=8, epochs=1, variance_dims=4, variance_width=4
    )
    d = run_experiment(spec, Store(tmp_path / "runs.sqlite")).to_dict()
    assert [r["d"] for r in d["tables"]["parity runs"]] == [10, 20]
    assert [r["d"] for r in d["tables"]["gradient variance"]] == [2, 4]
    assert len(d["claims"]) == 4
    assert all(isinstance(c["passed"], bool) and c["evidence"] for c in d["claims"])
    # one seed: the accuracy claims are inconclusive; two runs are too few for a slope
    assert [c["decision"] for c in d["claims"][:2]] == ["inconclusive", "inconclusive"]
    assert d["claims"][2]["test"] is None and not d["claims"][2]["passed"]
    assert "accuracy vs d" in d["figures"]


def test_small_parities_setting_runs_end_to_end(tmp_path):
    spec = spec_at_scale(
        GradientFailures,
        "quick",
        {"seeds": 2, "num_train": 64, "num_test": 32, "epochs": 1, "variance_dims": 4},
        setting="small-parities",
    )
    assert spec.parity_dims() == [8, 16, 24] and spec.width == 64
    d = run_experiment(spec, Store(tmp_path / "runs.sqlite")).to_dict()
    assert sorted({r["d"] for r in d["tables"]["parity runs"]}) == [8, 16, 24]
    assert "d = 8 bits" in d["claims"][0]["statement"]
    assert "d = 24" in d["claims"][1]["statement"]
    assert [c["test"]["seeds"] for c in d["claims"][:3]] == [2, 2, 6]
