import numpy as np
import pytest
import torch

from occamlab.experiments import run_experiment
from occamlab.experiments.forgetting import (
    Forgetting,
    claims,
    forgetting_events,
    forgetting_statistics,
    removal_order,
    summarize,
)
from occamlab.store import Store


def test_forgetting_events_and_statistics_by_hand():
    correct = torch.tensor(
        [
            [0, 1, 1, 0, 1],
            [1, 0, 1, 0, 1],
            [0, 1, 1, 0, 0],
            [1, 0, 1, 0, 1],
        ]
    ).bool()
    # Example 0: 1→0 once; 1: 1→0 twice; 2: never forgotten; 3: never learned; 4: once.
    assert forgetting_events(correct).tolist() == [1, 2, 0, 0, 1]
    stats = forgetting_statistics(correct)
    assert stats["learned"] == [True, True, True, False, True]
    assert stats["unforgettable_fraction"] == 0.2 and stats["never_learned_fraction"] == 0.2
    with pytest.raises(ValueError, match="boolean"):
        forgetting_events(correct.int())


def test_removal_order_puts_unforgettables_first_and_never_learned_last():
    events = np.array([3, 0, 1, 0, 0])
    learned = np.array([True, True, True, False, True])
    order = removal_order(events, learned, seed=0)
    assert set(order[:2]) == {1, 4} and order[2] == 2 and order[3] == 0 and order[4] == 3
    assert sorted(order) == list(range(5))


def fake(events_clean, events_noisy, flipped, accs):
    n = len(events_clean)
    stats, masks = {}, {}
    for s in range(3):
        for kind, ev in (("clean", events_clean), ("noisy", events_noisy)):
            stats[(kind, s)] = {
                "events": list(ev),
                "learned": [True] * n,
                "unforgettable_fraction": float(np.mean(np.asarray(ev) == 0)),
                "never_learned_fraction": 0.0,
            }
        masks[s] = np.asarray(flipped)
    removal = [
        {"removed": how, "seed": s, "test_accuracy": acc + 0.001 * s}
        for how, acc in accs.items()
        for s in range(3)
    ]
    return summarize(stats, masks, removal, seeds=3)


def verdicts(summary):
    return [c.passed for c in claims(summary, remove_fraction=0.2)]


FLIPPED = [True, True, False, False, False, False, False, False]


def test_claims_pass_on_the_papers_pattern():
    summary = fake(
        [1, 0, 0, 0, 0, 2, 0, 1],
        [5, 4, 0, 0, 1, 2, 0, 1],
        FLIPPED,
        {"full": 0.70, "least forgotten": 0.695, "random": 0.66},
    )
    assert verdicts(summary) == [True, True, True, True]
    assert summary["noise_ratio"] == pytest.approx(9.0)


def test_claims_fail_where_the_pattern_breaks():
    summary = fake(
        [2, 2, 1, 2, 3, 2, 2, 1],
        [2, 3, 1, 2, 3, 2, 2, 1],
        FLIPPED,
        {"full": 0.70, "least forgotten": 0.62, "random": 0.66},
    )
    assert verdicts(summary) == [False, False, False, False]


def test_tiny_run_end_to_end(tmp_path):
    spec = Forgetting(seeds=1, num_train=120, channels=4, epochs=3, batch_size=40)
    run = run_experiment(spec, Store(tmp_path / "runs.sqlite"))
    d = run.to_dict()
    assert len(d["tables"]["removal"]) == 3 and len(d["claims"]) == 4
    assert all(isinstance(c["passed"], bool) and c["evidence"] for c in d["claims"])
    assert {r["kept"] for r in d["tables"]["removal"]} == {120, 96}
    assert "forgetting events and removal" in d["figures"] and run.report.is_file()
