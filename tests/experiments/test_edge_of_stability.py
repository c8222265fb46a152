from occamlab.experiments import run_experiment
from occamlab.experiments.edge_of_stability import EdgeOfStability, claims, summarize
from occamlab.store import Store


def _run(lr=1.0, lambdas=(0.8, 1.2, 1.6, 1.95, 2.1, 1.9, 2.05, 2.0, 2.1, 1.95), losses=None):
    records = [{"step": 10 * i, "lambda_max": v} for i, v in enumerate(lambdas)]
    if losses is None:  # decreasing overall, with small spikes at the edge of stability
        losses = [0.1 - 0.0004 * t + (0.002 if t % 7 == 0 and t > 40 else 0.0) for t in range(100)]
    return {"lr": lr, "records": records, "losses": losses}


def test_claims_pass_on_the_papers_pattern():
    base = (0.8, 1.2, 1.6, 1.95, 2.1, 1.9, 2.05, 2.0, 2.1, 1.95)
    s = summarize([_run(), _run(lr=2 / 3, lambdas=[1.5 * x for x in base])])
    assert [c.passed for c in claims(s)] == [True, True, True]


def test_claims_fail_where_the_pattern_breaks():
    # Sharpness never rises to 2/η: nothing holds.
    flat = _run(lambdas=(0.8,) * 10)
    never = claims(summarize([flat]))
    assert [c.passed for c in never] == [False, False, False]
    # and the evidence says so instead of printing numbers that were never measured
    assert "never reached 2/η" in never[1].evidence and "never reached" in never[2].evidence
    assert "0.0000" not in never[2].evidence and "0%" not in never[1].evidence
    # It rises, but shoots past 2/η and stays there while the loss goes up monotonically.
    overshoot = _run(
        lambdas=(0.8, 1.5, 2.0, 3.0, 3.2, 3.1, 3.0, 3.3, 3.1, 3.2),
        losses=[0.01 + 0.001 * t for t in range(100)],
    )
    assert [c.passed for c in claims(summarize([overshoot]))] == [True, False, False]


def test_tiny_run_end_to_end(tmp_path):
    spec = EdgeOfStability(num_lrs=1, steps=20, every=5, width=8, num_train=50)
    d = run_experiment(spec, Store(tmp_path / "runs.sqlite")).to_dict()
    rows = d["tables"]["λ_max over training"]
    assert [r["step"] for r in rows] == [0, 5, 10, 15, 20]
    assert all(r["lambda_max"] > 0 and r["loss"] > 0 for r in rows[:-1])
    assert len(d["claims"]) == 3
    assert all(isinstance(c["passed"], bool) and c["evidence"] for c in d["claims"])
    assert "λ_max against 2/η over steps" in d["figures"]
