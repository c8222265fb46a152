import numpy as np

from occamlab.experiments import run_experiment
from occamlab.experiments.mean_field import MeanField, claims, measure, summarize
from occamlab.store import Store


def test_mean_field_end_to_end(tmp_path):
    spec = MeanField(
        dim=5,
        min_neurons=4,
        neuron_doublings=3,
        seeds=3,
        steps=40,
        every=10,
        batch=32,
        test_size=256,
        particles=16,
        nodes=16,
    )
    run = run_experiment(spec, Store(tmp_path / "runs.sqlite"))
    assert len(run.claims) == 3
    for c in run.claims:
        assert c["decision"] in ("passed", "failed", "inconclusive")
        assert c["test"]["method"] == "slope t-test" and c["test"]["seeds"] == 3 * 3
        assert c["evidence"] and "arXiv 1804.06561" in c["source"]
    assert run.record.metrics["figures"]
    tables = run.record.metrics["tables"]
    assert len(tables["risk trajectories"]) == 3 * 5 and len(tables["spread and distance"]) == 9
    limit = [row["limit_exact"] for row in tables["risk trajectories"][:5]]
    assert all(b < a for a, b in zip(limit, limit[1:], strict=False))  # the limit's risk falls


def _points(spread_exponent, distance_exponent, seeds=40):
    rng = np.random.default_rng(0)
    runs, limit = {}, np.linspace(1.0, 0.2, 11)
    for n in (16, 32, 64, 128, 256):
        noise = rng.standard_normal((seeds, 1)) * n**spread_exponent
        runs[n] = (limit + 3.0 * n**distance_exponent + noise).tolist()
    return measure(runs, limit)


def test_claims_follow_the_numbers():
    good = _points(-0.5, -1.0)
    assert [c.decision for c in claims(good, {**summarize(good), "limit_final_risk": 0.2})] == [
        "passed"
    ] * 3
    # no concentration and no convergence: the spread and the distance stay put; only the
    # lower side of the spread's slope (above −0.7) holds
    flat = _points(0.0, 0.0)
    decisions = [c.decision for c in claims(flat, {**summarize(flat), "limit_final_risk": 0.2})]
    assert decisions == ["passed", "failed", "failed"]
