import pytest

from occamlab.experiments import run_experiment
from occamlab.experiments.deep_linear_dynamics import DeepLinearDynamics, claims, summarize
from occamlab.store import Store


def _modes(error=0.0, seeds=3):
    from occamlab.probes.dynamics import deep_linear as dl

    s = [4.0, 2.0, 1.0]
    half = [dl.half_time(x, 1e-9, 2) for x in s]
    rise = [0.5 / x for x in s]
    return {
        "s": s,
        "steps": 100,
        "t_half_predicted": half,
        "rise_predicted": rise,
        "t_half": [[h * (1 + error + 0.001 * k) for h in half] for k in range(seeds)],
        "rise": [[r * (1 + error - 0.001 * k) for r in rise] for k in range(seeds)],
        "max_deviation": [[0.01] * 3] * seeds,
    }


def _balance(ratio=2.0, seeds=3):
    drift_half = [1e-3 * (1 + 0.1 * k) for k in range(seeds)]
    return {
        "drift": [d * (ratio + 0.001 * k) for k, d in enumerate(drift_half)],
        "drift_half": drift_half,
        "drift_flow": [1e-6 * (1 + k) for k in range(seeds)],
    }


def test_claims_pass_on_the_closed_form_and_fail_off_it():
    ok = claims(summarize(_modes(), _balance()), _modes(), _balance())
    assert [c.decision for c in ok] == ["passed"] * 6
    # times 20% off the closed form, drift not first order in η
    bad = claims(summarize(_modes(0.2), _balance(4.0)), _modes(0.2), _balance(4.0))
    assert [c.decision for c in bad] == ["failed", "failed", "passed", "passed", "failed", "passed"]


def test_spec_rejects_bad_sizes():
    with pytest.raises(ValueError):
        DeepLinearDynamics(hidden=2, modes=4)


def test_tiny_run_end_to_end(tmp_path):
    spec = DeepLinearDynamics(
        modes=3, hidden=3, s_min=1.0, init_strength=1e-8, lr=0.005, balance_time=4.0, seeds=3
    )
    d = run_experiment(spec, Store(tmp_path / "runs.sqlite")).to_dict()
    assert [c["decision"] for c in d["claims"]] == ["passed"] * 6
    assert [c["test"] is None for c in d["claims"]] == [False, False, False, True, False, False]
    assert d["claims"][0]["test"]["seeds"] == 3
    assert len(d["tables"]["learning times"]) == 9
    assert "mode strengths vs closed form" in d["figures"]
