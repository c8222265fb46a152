import pytest
import torch

from occamlab.experiments import run_experiment
from occamlab.experiments.framework import corrected
from occamlab.experiments.information_plane import (
    InformationPlane,
    claims,
    compression,
    dead,
    network,
    parse_widths,
)
from occamlab.experiments.registry import settings_of, spec_at_scale
from occamlab.store import Store


def test_network_shape_and_compression_measure():
    net = network("tanh", seed=0)
    assert [m.out_features for m in net if hasattr(m, "out_features")] == [10, 7, 5, 4, 3, 2]
    records = [
        {"layer": "1", "bins": 30, "epoch": e, "i_xt": v, "i_ty": 0.5}
        for e, v in [(0, 8.0), (10, 10.0), (20, 9.0)]
    ]
    c = compression(records, "1", 30)
    assert c["peak_i_xt"] == 10.0 and c["peak_epoch"] == 10 and c["compression"] == 1.0
    assert c["relative_compression"] == 0.1


def test_network_widths_are_a_field():
    net = network("relu", seed=0, hidden="6-4")
    assert [m.out_features for m in net if hasattr(m, "out_features")] == [6, 4, 2]
    with pytest.raises(ValueError):
        parse_widths("10-x")
    with pytest.raises(ValueError):
        InformationPlane(hidden="5")


def tables(tanh, relu, fits=(0.99, 0.98), dead_relu=()):
    """Compression rows and accuracies of one seed per value in ``tanh`` / ``relu`` (the ReLU
    networks of the seeds ``dead_relu`` dead)."""
    hidden = ["1", "3", "5", "7", "9"]
    table = [
        {"activation": a, "seed": s, "bins": 30, "layer": layer, "relative_compression": v}
        for a, values in (("tanh", tanh), ("relu", relu))
        for s, v in enumerate(values)
        for layer in hidden
    ]
    acc = [
        {"activation": a, "seed": s, "train_accuracy": fit, "dead": a == "relu" and s in dead_relu}
        for a, fit in zip(("tanh", "relu"), fits, strict=True)
        for s in range(len(tanh))
    ]
    return table, acc, hidden


def decisions(tanh, relu, fits=(0.99, 0.98), dead_relu=()):
    table, acc, hidden = tables(tanh, relu, fits, dead_relu)
    return [c.decision for c in corrected(claims(table, acc, bins=30, hidden=hidden))]


def test_claims_are_tests_over_seeds():
    compressing = decisions([0.5, 0.4, 0.45, 0.5], [0.0, 0.01, 0.02, 0.0])
    assert compressing == ["passed"] * 4
    reversed_ = decisions([0.1, 0.05, 0.12, 0.08], [0.3, 0.25, 0.35, 0.28])
    assert reversed_ == ["passed", "failed", "failed", "failed"]
    # one seed per network: nothing to test with
    assert set(decisions([0.5], [0.0])) == {"inconclusive"}
    table, acc, hidden = tables([0.5, 0.4, 0.45], [0.0, 0.01, 0.02])
    first = claims(table, acc, bins=30, hidden=hidden)[1]
    assert first.test.seeds == 3 and first.evidence.endswith("0.500, 0.400, 0.450")


def test_an_unlearned_task_fails_the_first_claim():
    assert decisions([0.5, 0.4, 0.45], [0.0, 0.01, 0.02], fits=(0.6, 0.55))[0] == "failed"


def test_dead_layers_are_detected():
    net = network("relu", seed=0, hidden="6-4")
    x = torch.rand(32, 12)
    assert not dead(net, x)
    with torch.no_grad():
        net[2].weight.fill_(-1.0)  # the second hidden layer: negative on every input
    assert dead(net, x)
    assert not dead(network("tanh", seed=0), x)


def test_dead_networks_are_left_out_and_named():
    tanh, relu = [0.5, 0.4, 0.45, 0.5], [0.0, 0.01, 0.9, 0.0]
    assert decisions(tanh, relu)[2] != "passed"  # a compressing ReLU seed counts
    table, acc, hidden = tables(tanh, relu, dead_relu=(2,))
    for row in acc:  # the dead network sits at chance
        if (row["activation"], row["seed"]) == ("relu", 2):
            row["train_accuracy"] = 0.5
    out = corrected(claims(table, acc, bins=30, hidden=hidden))
    assert [c.decision for c in out] == ["passed"] * 4
    assert all(c.test.seeds == 3 for c in out)
    assert out[0].evidence.endswith("left out: seed 2 relu")
    # every seed dead: nothing left out, and the task is seen not to be learned
    table, acc, hidden = tables(tanh, relu, fits=(0.99, 0.5), dead_relu=(0, 1, 2, 3))
    first = corrected(claims(table, acc, bins=30, hidden=hidden))[0]
    assert first.test.seeds == 4 and first.decision == "failed" and "kept" in first.evidence


def test_tiny_run_end_to_end(tmp_path):
    spec = spec_at_scale(
        InformationPlane, "quick", {"epochs": 2, "every": 1, "bins": 6, "seeds": 2}
    )
    payload = run_experiment(spec, Store(tmp_path / "s.sqlite")).to_dict()
    assert len(payload["claims"]) == 4
    assert all(c["test"]["seeds"] == 2 for c in payload["claims"])
    bins = {r["bins"] for r in payload["metrics"]["compression"]}
    assert bins == {2, 6, 18}
    assert {r["seed"] for r in payload["metrics"]["accuracy"]} == {0, 1}
    assert all(isinstance(r["dead"], bool) for r in payload["metrics"]["accuracy"])
    with pytest.raises(ValueError):
        spec_at_scale(InformationPlane, "quick", {"every": 0})


def test_the_alternative_setting_runs(tmp_path):
    assert "split-70" in settings_of(InformationPlane)
    spec = spec_at_scale(
        InformationPlane,
        "quick",
        {"epochs": 2, "every": 1, "bins": 6, "seeds": 2, "hidden": "6-4-3"},
        setting="split-70",
    )
    assert spec.train_fraction == 0.7
    payload = run_experiment(spec, Store(tmp_path / "s.sqlite")).to_dict()
    assert payload["spec"]["hidden"] == "6-4-3" and payload["spec"]["seeds"] == 2
    assert len(payload["claims"]) == 4 and all(c["test"] for c in payload["claims"])
