from occamlab.experiments import run_experiment, spec_at_scale
from occamlab.experiments.lottery_ticket import LotteryTicket, claims
from occamlab.specs import make_spec
from occamlab.store import Store


def results(ticket, reinit, random, dense=(0.36, 0.35, 0.37), kept=0.14):
    """Per-seed results: one value of each condition per seed."""
    return [
        {
            "dense": {"test_error": d},
            "table": [
                {"round": 1, "kept": 0.8, "ticket": 0.35, "reinit": None, "random": None},
                {"round": 9, "kept": kept, "ticket": t, "reinit": r, "random": m},
            ],
        }
        for d, t, r, m in zip(dense, ticket, reinit, random, strict=True)
    ]


def test_claims_are_paired_tests_over_the_seeds():
    ok = claims(
        results((0.357, 0.350, 0.362), (0.432, 0.440, 0.428), (0.45, 0.46, 0.44)),
        target_kept=0.15,
    )
    assert [c.decision for c in ok] == ["passed", "passed", "passed"]
    assert ok[2].test.method == "paired t-test" and ok[2].test.seeds == 3
    assert ok[2].test.points["ticket"] == [0.357, 0.350, 0.362]
    bad = claims(
        results((0.42, 0.43, 0.425), (0.44, 0.45, 0.44), (0.39, 0.385, 0.38)), target_kept=0.15
    )
    assert [c.decision for c in bad] == ["failed", "failed", "failed"]
    # a 0.0014 gap with seed-to-seed noise of 0.01 decides nothing: inconclusive, not passed
    noisy = claims(
        results((0.357, 0.370, 0.350), (0.45, 0.46, 0.44), (0.370, 0.362, 0.3516)),
        target_kept=0.15,
    )
    assert noisy[2].decision == "inconclusive" and noisy[2].test.seeds_needed > 3
    missing = claims(results((0.3,) * 3, (0.4,) * 3, (0.4,) * 3, kept=0.5), target_kept=0.15)
    assert [c.passed for c in missing] == [False, False] and missing[0].test is None


def test_tiny_run_end_to_end(tmp_path):
    spec = make_spec(
        LotteryTicket,
        {
            "seeds": 1,
            "rounds": 2,
            "steps": 30,
            "rate": 0.7,
            "output_rate": 0.4,
            "control_every": 1,
            "target_kept": 0.5,
        },
    )
    store = Store(tmp_path / "runs.sqlite")
    run = run_experiment(spec, store)
    d = run.to_dict()
    rows = d["tables"]["error by sparsity (mean over seeds)"]
    assert [r["round"] for r in rows] == [1, 2] and rows[1]["kept"] < 0.5
    assert len(d["claims"]) == 3 and all(isinstance(c["passed"], bool) for c in d["claims"])
    # one seed tests nothing: every tested claim is inconclusive, none passes
    assert all(c["decision"] == "inconclusive" for c in d["claims"])
    assert all(c["test"]["p_adjusted"] is not None for c in d["claims"])
    assert "test error vs weights kept" in d["figures"] and run.report.is_file()
    again = run_experiment(make_spec(LotteryTicket, {**spec.__dict__, "target_kept": 0.4}), store)
    assert again.to_dict()["parts"] == {"computed": 0, "reused": 1}


def test_the_fast_pruning_setting_runs_on_another_data_set(tmp_path):
    tiny = {"seeds": 2, "steps": 20, "rounds": 2, "target_kept": 0.5, "data": "digits"}
    spec = spec_at_scale(LotteryTicket, "quick", tiny, "fast-pruning")
    assert (spec.rate, spec.rounds, spec.data) == (0.36, 2, "digits")
    d = run_experiment(spec, Store(tmp_path / "runs.sqlite")).to_dict()
    rows = d["tables"]["error by sparsity (mean over seeds)"]
    assert rows[-1]["kept"] < 0.5 and rows[-1]["reinit"] is not None
    assert len(d["claims"]) == 3 and all(c["test"]["seeds"] == 2 for c in d["claims"])
