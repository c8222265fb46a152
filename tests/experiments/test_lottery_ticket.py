from occamlab.experiments import run_experiment
from occamlab.experiments.lottery_ticket import LotteryTicket, claims
from occamlab.specs import make_spec
from occamlab.store import Store


def table(ticket, reinit, random, dense=0.36, kept=0.14):
    return [
        {"round": 1, "kept": 0.8, "ticket": 0.35, "reinit": None, "random": None, "dense": dense},
        {
            "round": 9,
            "kept": kept,
            "ticket": ticket,
            "reinit": reinit,
            "random": random,
            "dense": dense,
        },
    ]


def test_claims_follow_the_numbers():
    ok = claims(table(0.357, 0.432, 0.45), target_kept=0.15, seeds=3)
    assert [c.passed for c in ok] == [True, True, True]
    bad = claims(table(0.40, 0.42, 0.39), target_kept=0.15, seeds=3)
    assert [c.passed for c in bad] == [False, False, False]
    missing = claims(table(0.357, 0.432, 0.45, kept=0.5), target_kept=0.15, seeds=3)
    assert [c.passed for c in missing] == [False, False]


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
    assert "test error vs weights kept" in d["figures"] and run.report.is_file()
    again = run_experiment(make_spec(LotteryTicket, {**spec.__dict__, "target_kept": 0.4}), store)
    assert again.to_dict()["parts"] == {"computed": 0, "reused": 1}
