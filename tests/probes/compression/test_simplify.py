import json

import matplotlib
import pytest

from occamlab import TrainSpec, fit, make_subject
from occamlab.probes.compression import (
    SimplifySpec,
    initial_params,
    pareto,
    simplify,
    smallest_within,
)
from occamlab.probes.compression.frontier import within
from occamlab.testing import tiny_subject

matplotlib.use("Agg")

RECIPE = TrainSpec(epochs=8, batch_size=32)


def test_smallest_within_tolerance_and_the_frontier():
    original = {"method": "original", "num_parameters": 100, "test_accuracy": 0.80, "fraction": 1}
    pts = [
        {"method": "a", "num_parameters": 50, "test_accuracy": 0.795},
        {"method": "b", "num_parameters": 20, "test_accuracy": 0.789},
        {"method": "c", "num_parameters": 30, "test_accuracy": 0.79},
        {"method": "d", "num_parameters": 10, "test_accuracy": 0.60},
    ]
    assert smallest_within(pts, original, 0.01)["method"] == "c"
    assert smallest_within(pts, original, 0.0)["method"] == "original"
    assert smallest_within(pts, original, 0.25)["method"] == "d"
    assert [p["method"] for p in pareto([*pts, original])] == ["d", "b", "c", "a", "original"]
    reg = {"test_accuracy": None, "test_loss": 1.0}
    assert within({"test_loss": 1.009}, reg, 0.01) and not within({"test_loss": 1.02}, reg, 0.01)


def test_simplify_names_the_smallest_model_on_a_registry_subject():
    subject = make_subject(
        model="mlp",
        data="gaussian_mixture",
        model_options={"width": 32},
        data_options={"num_train": 256, "num_test": 128},
    )
    fit(subject, RECIPE)
    result = simplify(subject, spec=SimplifySpec(budget="quick", tolerance=0.02), train=RECIPE)
    methods = {p["method"] for p in result.points}
    assert methods == {"magnitude", "neurons", "lowrank", "narrower"}
    assert result.original["test_accuracy"] == subject.evaluate(split="test").accuracy
    best = result.smallest
    assert best == smallest_within(result.points, result.original, 0.02)
    assert best["num_parameters"] <= subject.num_parameters
    assert f"{best['fraction']:.1%}" in result.answer or best["method"] == "original"
    assert all(0 < p["fraction"] <= 1 for p in result.points)
    json.dumps(result.to_dict())
    ax = result.plot()
    assert ax.get_xscale() == "log"


def test_user_modules_skip_the_width_sweep_with_a_note():
    subject = tiny_subject("relu_mlp", n=48)
    subject.meta.clear()
    spec = SimplifySpec(budget="quick", structured=False, lowrank=False, pruning=False)
    result = simplify(subject, spec=spec, train=TrainSpec(epochs=1))
    assert result.points == [] and "registry model spec" in result.notes[0]
    assert result.smallest["method"] == "original"
    assert "Not measured" in result.essential


def test_bad_options_are_refused():
    with pytest.raises(ValueError, match="budget"):
        SimplifySpec(budget="huge")
    with pytest.raises(ValueError, match="tolerance"):
        SimplifySpec(tolerance=1.5)


def test_deep_budget_adds_lottery_tickets_when_the_initialization_is_known():
    subject = make_subject(
        model="mlp",
        data="gaussian_mixture",
        model_options={"width": 16},
        data_options={"num_train": 128, "num_test": 64},
    )
    recipe = TrainSpec(epochs=2, batch_size=32)
    fit(subject, recipe)
    only = dict(pruning=False, structured=False, lowrank=False, narrower=False)
    spec = SimplifySpec(budget="deep", **only)
    result = simplify(subject, spec=spec, train=recipe, init=initial_params(subject))
    assert [p["method"] for p in result.points] == ["ticket"] * 8
    assert len(result.lottery["rounds"]) == 8 and result.notes == []
    blind = simplify(subject, spec=spec, train=recipe)
    assert blind.lottery is None and "initial weights are unknown" in blind.notes[0]
