from occamlab.experiments import run_experiment, spec_at_scale
from occamlab.experiments.memorization import (
    CONDITIONS,
    Memorization,
    claims,
    first_epoch,
    summarize,
)
from occamlab.store import Store


def ramp(epochs, start, end, at):
    """Accuracy rising linearly from `start` to `end` between epoch 1 and epoch `at`."""
    return [min(end, start + (end - start) * e / at) for e in range(1, epochs + 1)]


def fake_runs(*, fit_at, order, control, test, csr, shift=(0, 0, 0)):
    """`order`/`control`: epochs at which the kept-label and the relabelled examples are fit in
    the noisy-label run / the random-label run; seed s fits random labels and the relabelled
    examples `shift[s]` epochs later. `test`: one test-accuracy curve, or one per seed."""
    epochs = 100
    runs = {}
    for condition in CONDITIONS:
        clean_at, relabelled_at = control if condition == "random labels" else order
        for seed in range(3):
            late = shift[seed] if condition in ("random labels", "noisy labels") else 0
            runs[(condition, seed)] = {
                "epochs": list(range(1, epochs + 1)),
                "train_accuracy": ramp(epochs, 0.1, 1.0, fit_at[condition] + late),
                "clean_accuracy": ramp(epochs, 0.1, 1.0, clean_at),
                "relabelled_accuracy": ramp(epochs, 0.0, 1.0, relabelled_at + late),
                "test_accuracy": test[seed] if isinstance(test[0], list) else test,
                "csr_epochs": [0.0, 50.0, 100.0],
                "csr": [1.0, csr[condition], csr[condition] + 0.01 * seed],
            }
    return runs


def run_claims(runs):
    return claims(summarize(runs, seeds=3, fit_accuracy=0.95), fit_accuracy=0.95, epochs=100)


def verdicts(runs):
    return [c.decision for c in run_claims(runs)]


FIT = {"real": 20, "noisy labels": 60, "random labels": 70, "random inputs": 50}
CSR = {"real": 0.2, "noisy labels": 0.5, "random labels": 0.7, "random inputs": 0.6}
PEAKED = [0.3 + 0.01 * e for e in range(20)] + [0.5 - 0.002 * e for e in range(80)]


def test_claims_pass_on_the_papers_pattern():
    runs = fake_runs(
        fit_at=FIT, order=(15, 60), control=(60, 60), test=PEAKED, csr=CSR, shift=(0, 2, 5)
    )
    claimed = run_claims(runs)
    assert [c.decision for c in claimed] == ["passed"] * 5
    assert {c.test.method for c in claimed} == {"paired t-test"}
    assert claimed[0].test.points["random labels"] == [67, 68, 71]


def test_claims_fail_where_the_pattern_breaks():
    # Real data fit after random labels; the clean examples' head start is no larger than
    # with random labels (where it means nothing); test accuracy rises to its end (each seed
    # with a blip of its own, so that the other seeds' peak lies before the end); real data
    # has the highest CSR.
    fit = {"real": 80, "noisy labels": 60, "random labels": 70, "random inputs": 50}
    csr = {"real": 0.9, "noisy labels": 0.5, "random labels": 0.7, "random inputs": 0.6}
    rising = [[0.3 + 0.004 * e + 0.3 * (e == 80 + 5 * s) for e in range(100)] for s in range(3)]
    runs = fake_runs(
        fit_at=fit, order=(30, 40), control=(20, 40), test=rising, csr=csr, shift=(0, 2, 5)
    )
    assert verdicts(runs) == ["failed"] * 5
    # never fitting the real data, or never fitting the relabelled examples, fails untested
    never = fake_runs(
        fit_at={**fit, "real": 200}, order=(30, 200), control=(20, 40), test=rising, csr=csr
    )
    claimed = run_claims(never)
    assert [c.test is None and not c.passed for c in claimed] == [True, True, True, False, False]
    assert "never" in claimed[1].evidence and "> 100" in claimed[0].evidence


def test_claims_within_the_seed_noise_are_inconclusive():
    # random labels fit 1 epoch after the real data on average, with ±5 epochs from seed to seed
    fit = {**FIT, "random labels": 21}
    runs = fake_runs(
        fit_at=fit, order=(15, 60), control=(60, 60), test=PEAKED, csr=CSR, shift=(-5, 0, 8)
    )
    first = run_claims(runs)[0]
    assert first.decision == "inconclusive" and first.test.seeds_needed > 3


def test_first_epoch():
    assert first_epoch([0.1, 0.5, 0.95], 0.9) == 3
    assert first_epoch([0.1], 0.9) is None and first_epoch(None, 0.9) is None


def test_tiny_run_end_to_end(tmp_path):
    spec = Memorization(
        seeds=1, num_train=100, width=8, epochs=2, batch_size=50, csr_examples=10, csr_every=1
    )
    run = run_experiment(spec, Store(tmp_path / "runs.sqlite"))
    d = run.to_dict()
    assert len(d["tables"]["by condition"]) == 4 and len(d["claims"]) == 5
    assert all(isinstance(c["passed"], bool) and c["evidence"] for c in d["claims"])
    # one seed tests nothing: no claim passes, the tested ones are inconclusive
    assert all(c["decision"] == "inconclusive" for c in d["claims"] if c["test"] is not None)
    assert not any(c["passed"] for c in d["claims"])
    curves = d["tables"]["curves (seed 0)"]
    assert {r["condition"] for r in curves} == set(CONDITIONS)
    assert "learning real data vs noise" in d["figures"] and run.report.is_file()


def test_digits_setting_runs_end_to_end(tmp_path):
    spec = spec_at_scale(
        Memorization,
        "quick",
        {"seeds": 2, "width": 8, "epochs": 2, "csr_examples": 10, "csr_every": 1},
        setting="digits",
    )
    assert spec.dataset == "digits"
    d = run_experiment(spec, Store(tmp_path / "runs.sqlite")).to_dict()
    assert d["spec"]["dataset"] == "digits" and len(d["claims"]) == 5
    rows = d["tables"]["curves (seed 0)"]
    assert {r["condition"] for r in rows} == set(CONDITIONS)
    tested = [c for c in d["claims"] if c["test"] is not None]
    assert tested and all(c["test"]["seeds"] == 2 for c in tested)
