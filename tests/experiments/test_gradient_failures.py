import numpy as np
import pytest

from occamlab.experiments import run_experiment
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


def _rows(accs):
    return [
        {"d": d, "seed": s, "train_accuracy": 1.0, "test_accuracy": a}
        for d, acc in zip((10, 20, 30), accs, strict=True)
        for s, a in enumerate((acc - 0.01, acc, acc + 0.01))
    ]


def _variance(slope):
    return [
        {"d": d, "variance": 2.0 ** (slope * d), "bound": 2.0 ** (slope * d) * 1.01}
        for d in range(2, 15, 2)
    ]


def test_claims_pass_on_the_papers_pattern():
    s = summarize(_rows((1.0, 0.76, 0.51)), _variance(-1.0))
    assert [c.passed for c in claims(s)] == [True, True, True, True]


def test_claims_fail_where_the_pattern_breaks():
    # Nothing is learned at d = 10, d = 30 is learned, and the variance does not shrink.
    s = summarize(_rows((0.6, 0.7, 0.9)), _variance(-0.2))
    assert [c.passed for c in claims(s)] == [False, False, False, False]


def test_tiny_run_end_to_end(tmp_path):
    spec = GradientFailures(
        seeds=1, dims=2, num_train=64, width=8, epochs=1, variance_dims=4, variance_width=4
    )
    d = run_experiment(spec, Store(tmp_path / "runs.sqlite")).to_dict()
    assert [r["d"] for r in d["tables"]["parity runs"]] == [10, 20]
    assert [r["d"] for r in d["tables"]["gradient variance"]] == [2, 4]
    assert len(d["claims"]) == 4
    assert all(isinstance(c["passed"], bool) and c["evidence"] for c in d["claims"])
    assert "accuracy vs d" in d["figures"]
