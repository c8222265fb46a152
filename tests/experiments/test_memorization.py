from occamlab.experiments import run_experiment
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


def fake_runs(*, fit_at, order, control, test, csr):
    """`order`/`control`: epochs at which the kept-label and the relabelled examples are fit in
    the noisy-label run / the random-label run."""
    epochs = 100
    runs = {}
    for condition in CONDITIONS:
        clean_at, relabelled_at = control if condition == "random labels" else order
        for seed in range(3):
            runs[(condition, seed)] = {
                "epochs": list(range(1, epochs + 1)),
                "train_accuracy": ramp(epochs, 0.1, 1.0, fit_at[condition]),
                "clean_accuracy": ramp(epochs, 0.1, 1.0, clean_at),
                "relabelled_accuracy": ramp(epochs, 0.0, 1.0, relabelled_at),
                "test_accuracy": test,
                "csr_epochs": [0.0, 50.0, 100.0],
                "csr": [1.0, csr[condition], csr[condition] + 0.01 * seed],
            }
    return runs


def verdicts(runs):
    return [
        c.passed
        for c in claims(summarize(runs, seeds=3, fit_accuracy=0.95), fit_accuracy=0.95, epochs=100)
    ]


FIT = {"real": 20, "noisy labels": 60, "random labels": 70, "random inputs": 50}
CSR = {"real": 0.2, "noisy labels": 0.5, "random labels": 0.7, "random inputs": 0.6}
PEAKED = [0.3 + 0.01 * e for e in range(20)] + [0.5 - 0.002 * e for e in range(80)]


def test_claims_pass_on_the_papers_pattern():
    runs = fake_runs(fit_at=FIT, order=(15, 60), control=(60, 60), test=PEAKED, csr=CSR)
    assert verdicts(runs) == [True, True, True, True]


def test_claims_fail_where_the_pattern_breaks():
    # Real data fit after random labels; the clean examples' head start is no larger than
    # with random labels (where it means nothing); test accuracy only rises; real data has
    # the highest CSR.
    fit = {"real": 80, "noisy labels": 60, "random labels": 70, "random inputs": 50}
    csr = {"real": 0.9, "noisy labels": 0.5, "random labels": 0.7, "random inputs": 0.6}
    rising = [0.3 + 0.002 * e for e in range(100)]
    runs = fake_runs(fit_at=fit, order=(30, 40), control=(20, 40), test=rising, csr=csr)
    assert verdicts(runs) == [False, False, False, False]


def test_first_epoch():
    assert first_epoch([0.1, 0.5, 0.95], 0.9) == 3
    assert first_epoch([0.1], 0.9) is None and first_epoch(None, 0.9) is None


def test_tiny_run_end_to_end(tmp_path):
    spec = Memorization(
        seeds=1, num_train=100, width=8, epochs=2, batch_size=50, csr_examples=10, csr_every=1
    )
    run = run_experiment(spec, Store(tmp_path / "runs.sqlite"))
    d = run.to_dict()
    assert len(d["tables"]["by condition"]) == 4 and len(d["claims"]) == 4
    assert all(isinstance(c["passed"], bool) and c["evidence"] for c in d["claims"])
    curves = d["tables"]["curves (seed 0)"]
    assert {r["condition"] for r in curves} == set(CONDITIONS)
    assert "learning real data vs noise" in d["figures"] and run.report.is_file()
