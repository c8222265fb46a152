from occamlab.experiments import run_experiment, spec_at_scale
from occamlab.experiments.grokking import Grokking, claims, first_step
from occamlab.store import Store


def rows(grok_steps, control_test, *, train_steps=(800, 760, 840), control_train=(1.0,) * 3):
    out = [
        {
            "weight_decay": 1.0,
            "seed": s,
            "train_step": train,
            "test_step": step,
            "steps": step or 20000,
            "final_train_accuracy": 1.0,
            "final_test_accuracy": 0.99 if step else 0.3,
        }
        for s, (step, train) in enumerate(zip(grok_steps, train_steps, strict=True))
    ]
    out += [
        {
            "weight_decay": 0.0,
            "seed": s,
            "train_step": 800,
            "test_step": None,
            "steps": 30000,
            "final_train_accuracy": train,
            "final_test_accuracy": acc,
        }
        for s, (acc, train) in enumerate(zip(control_test, control_train, strict=True))
    ]
    return out


def verdicts(r):
    return [
        c.decision for c in claims(r, grok_wd=1.0, control_wd=0.0, target=0.99, max_steps=20000)
    ]


def test_claims_pass_on_the_papers_pattern():
    r = rows([12000, 14000, 11000], [0.05, 0.2, 0.1])
    assert verdicts(r) == ["passed"] * 4
    c = claims(r, grok_wd=1.0, control_wd=0.0, target=0.99, max_steps=20000)
    assert c[0].test is None  # every run generalizes: checked run by run
    assert c[1].test.method == "one-sample t-test" and c[1].test.margin == 10.0
    assert c[1].test.points["steps ratio"] == [15.0, 14000 / 760, 11000 / 840]


def test_claims_fail_where_the_pattern_breaks():
    # One seed never generalizes (no ratio to test: untested, failed); the control neither fits
    # nor stays below 0.5 test accuracy.
    r = rows([12000, None, 11000], [0.9, 0.95, 0.97], control_train=(0.6, 0.7, 0.65))
    c = claims(r, grok_wd=1.0, control_wd=0.0, target=0.99, max_steps=20000)
    assert [x.decision for x in c] == ["failed"] * 4 and c[1].test is None
    assert c[1].evidence == "seed 1 never reached 0.99 test accuracy within 20000 steps"
    # Generalization right after fitting is not grokking.
    assert verdicts(rows([1600, 2000, 1800], [0.05, 0.1, 0.1])) == [
        "passed",
        "failed",
        "passed",
        "passed",
    ]


def test_a_delay_within_the_seed_noise_is_inconclusive():
    # ratios 8.8, 12.5, 9.6 around the 10× margin; control test accuracy straddles 0.5
    r = rows([7040, 9500, 8064], [0.3, 0.7, 0.45])
    assert verdicts(r) == ["passed", "inconclusive", "passed", "inconclusive"]


def test_first_step():
    history = [{"step": 10, "a": 0.5}, {"step": 20, "a": None}, {"step": 30, "a": 0.995}]
    assert first_step(history, "a", 0.99) == 30 and first_step(history, "a", 1.0) is None


def test_tiny_run_end_to_end(tmp_path):
    spec = Grokking(seeds=1, p=7, embed_dim=8, width=16, max_steps=30, eval_every=2)
    run = run_experiment(spec, Store(tmp_path / "runs.sqlite"))
    d = run.to_dict()
    runs = d["tables"]["runs"]
    assert len(runs) == 2 and len(d["claims"]) == 4
    # Nothing generalized in 30 steps, so the control gets the full budget as well.
    assert [r["budget"] for r in runs] == [30, 30]
    assert all(isinstance(c["passed"], bool) and c["evidence"] for c in d["claims"])
    # nothing generalized: the run-by-run check and the delay fail untested; one seed of the
    # control decides nothing
    assert [c["decision"] for c in d["claims"]] == ["failed", "failed"] + ["inconclusive"] * 2
    assert d["claims"][1]["test"] is None and d["claims"][2]["test"]["seeds"] == 1
    assert "train and test accuracy" in d["figures"] and run.report.is_file()
    assert {r["run"] for r in d["tables"]["curves (seed 0)"]} == {"weight decay", "control"}


def test_subtraction_setting_runs_end_to_end(tmp_path):
    tiny = {"seeds": 2, "p": 7, "embed_dim": 8, "width": 16, "max_steps": 30, "eval_every": 2}
    spec = spec_at_scale(Grokking, "quick", tiny, setting="subtraction")
    assert spec.op == "sub" and spec.p == 7
    d = run_experiment(spec, Store(tmp_path / "runs.sqlite")).to_dict()
    assert d["spec"]["op"] == "sub" and len(d["tables"]["runs"]) == 4
    # the control's claims are tested over both seeds
    assert [c["test"]["seeds"] for c in d["claims"][2:]] == [2, 2]
