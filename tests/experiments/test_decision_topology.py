import math

import pytest
import torch

from occamlab.experiments import run_experiment
from occamlab.experiments.decision_topology import (
    DecisionTopology,
    claims,
    random_net,
    rings_data,
    rings_label,
)
from occamlab.experiments.registry import spec_at_scale
from occamlab.models.mlp import fully_connected_num_parameters, fully_connected_width
from occamlab.probes.topology import betti_numbers, positive_region, relu_betti_bound
from occamlab.store import Store


def test_width_for_hits_the_budget():
    assert fully_connected_width(400, 2, 1, 1) == 100  # 4w + 1 = 401
    assert fully_connected_width(400, 2, 2, 1) == 18  # w² + 5w + 1: 415 beats 375 (w = 17)
    for depth in (1, 2, 3, 4):
        w = fully_connected_width(1000, 3, depth, 1)
        count = fully_connected_num_parameters(3, (w,) * depth, 1)
        for other in (w - 1, w + 1):
            if other >= 1:
                assert abs(count - 1000) <= abs(
                    fully_connected_num_parameters(3, (other,) * depth, 1) - 1000
                )


def test_random_net_draws_the_stated_gaussians():
    net = random_net(dim=2, depth=2, width=300, activation="tanh", weight_std=6.0, bias_std=1.0,
                     seed=3)  # fmt: skip
    layers = [m for m in net.modules() if isinstance(m, torch.nn.Linear)]
    assert [tuple(m.weight.shape) for m in layers] == [(300, 2), (300, 300), (1, 300)]
    second = layers[1]
    assert float(second.weight.detach().std()) == pytest.approx(6.0 / math.sqrt(300), rel=0.02)
    assert float(second.bias.detach().std()) == pytest.approx(1.0, rel=0.15)
    again = random_net(dim=2, depth=2, width=300, activation="tanh", weight_std=6.0, bias_std=1.0,
                       seed=3)  # fmt: skip
    assert all(torch.equal(a, b) for a, b in zip(net.parameters(), again.parameters(), strict=True))
    other = random_net(dim=2, depth=2, width=300, activation="tanh", weight_std=6.0, bias_std=1.0,
                       seed=4)  # fmt: skip
    assert not torch.equal(layers[0].weight, next(other.parameters()))


def _rows(deep_b, shallow_b, seeds=4, relu_b=1):
    """Per-net rows: B = 1 at depth 1, ``deep_b`` at depth 3 (budget 400); one-layer nets at the
    large budget have ``shallow_b``; ReLU nets ``relu_b`` against a bound of 10."""
    rows = []
    for seed in range(seeds):
        for depth, b in ((1, 1), (2, (1 + deep_b) // 2), (3, deep_b + seed % 2)):
            rows.append({"family": "sigmoidal", "budget": 400, "depth": depth, "seed": seed,
                         "betti_sum": b})  # fmt: skip
        rows.append({"family": "sigmoidal", "budget": 1600, "depth": 1, "seed": seed,
                     "betti_sum": shallow_b + seed % 2})  # fmt: skip
        rows.append({"family": "relu", "budget": 400, "depth": 1, "seed": seed, "width": 100,
                     "betti_sum": relu_b, "bound": 10, "within_bound": relu_b <= 10})  # fmt: skip
    for r in rows:
        r["log2_1p_b"] = math.log2(1 + r["betti_sum"])
    return rows


def test_claims_pass_and_fail_on_the_numbers():
    spec = DecisionTopology(max_depth=3)
    passed = claims(spec, _rows(deep_b=30, shallow_b=1))
    assert [c.decision for c in passed] == ["passed", "passed", "passed"]
    assert passed[1].test.estimate == pytest.approx(
        (4 * math.log2(31) + 4 * math.log2(32)) / 8 / 1 - (math.log2(2) + math.log2(3)) / 2
    )
    # deep nets no more complex than the wide shallow net: the comparison fails
    flat = claims(spec, _rows(deep_b=1, shallow_b=1))
    assert flat[1].decision == "failed"
    # a ReLU net above its bound fails the check
    assert not claims(spec, _rows(deep_b=30, shallow_b=1, relu_b=11))[2].passed


def test_experiment_end_to_end(tmp_path):
    spec = spec_at_scale(
        DecisionTopology,
        "quick",
        {"seeds": 2, "grid": 48, "budget": 120, "max_depth": 2, "trained_seeds": 1,
         "train_steps": 30, "num_train": 200},
    )  # fmt: skip
    run = run_experiment(spec, Store(tmp_path / "s.sqlite"))
    out = run.to_dict()
    assert all(c["decision"] in ("passed", "failed", "inconclusive") for c in out["claims"])
    assert len(out["claims"]) == 3 and out["claims"][0]["test"]["method"] == "slope t-test"
    nets = out["tables"]["nets"]
    assert len(nets) == 2 * 2 * 2 * 2  # families × budgets × depths × seeds
    for row in nets:  # every number recomputed from an independently built net
        relu = row["family"] == "relu"
        net = random_net(dim=2, depth=row["depth"], width=row["width"],
                         activation="relu" if relu else "tanh",
                         weight_std=spec.relu_weight_std if relu else spec.weight_std,
                         bias_std=spec.bias_std, seed=row["seed"])  # fmt: skip
        region = positive_region(net, [(-1, 1), (-1, 1)], grid=48)
        assert row["betti"] == list(region.betti) and row["betti_sum"] == region.total
        assert row["parameters"] == fully_connected_num_parameters(
            2, [row["width"]] * row["depth"], 1
        )
        if relu:
            assert row["bound"] == relu_betti_bound([row["width"]] * row["depth"], 2)
    assert out["claims"][2]["passed"] and out["metrics"]["relu_within_bound"]
    assert len(out["tables"]["resolution"]) == 4 and out["figures"]
    trained = out["tables"]["trained nets"]
    assert [(t["depth"], t["seed"]) for t in trained] == [(1, 0), (2, 0)]
    assert all(0 <= t["test_accuracy"] <= 1 and t["betti_sum"] == sum(t["betti"]) for t in trained)
    assert run_experiment(spec, Store(tmp_path / "s.sqlite")).reused


def test_rings_target_topology():
    u = torch.linspace(-1, 1, 256, dtype=torch.float64)
    grid = torch.stack(torch.meshgrid(u, u, indexing="ij"), -1).reshape(-1, 2)
    for rings in (1, 2, 3):
        labels = rings_label(grid, rings).reshape(256, 256).double().numpy()
        assert betti_numbers(labels - 0.5) == (rings, rings - 1)
    assert rings_label(torch.tensor([[0.0, 0.0], [0.5, 0.0], [0.9, 0.0]]), 2).tolist() == [1, 0, 1]
    data = rings_data(2, 50, seed=0)
    assert len(data.train) == len(data.test) == 50 and data.num_outputs == 2


class _Solid(torch.nn.Module):
    """f(x) > 0 on a hand-built region of [−1, 1]³: a ball, a hollow shell or a solid torus."""

    def __init__(self, shape: str):
        super().__init__()
        self.shape = shape

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        r = x.norm(dim=1)
        if self.shape == "ball":
            f = 0.6 - r
        elif self.shape == "shell":
            f = torch.minimum(0.8 - r, r - 0.4)
        else:  # a tube of radius 0.2 around the circle of radius 0.6 in the (x₀, x₁) plane
            f = 0.2 - torch.hypot(x[:, :2].norm(dim=1) - 0.6, x[:, 2])
        return f.unsqueeze(1)


@pytest.mark.parametrize(
    ("shape", "betti"), [("ball", (1, 0, 0)), ("shell", (1, 0, 1)), ("torus", (1, 1, 0))]
)
def test_hand_built_solids_through_the_probe(shape, betti):
    region = positive_region(_Solid(shape), [(-1, 1)] * 3, grid=40)
    assert region.betti == betti and region.total == sum(betti)


def test_experiment_in_three_dimensions(tmp_path):
    spec = spec_at_scale(
        DecisionTopology, "quick", {"seeds": 2, "grid": 12, "budget": 120, "max_depth": 2},
        setting="3d",
    )  # fmt: skip
    assert (spec.dim, spec.activation) == (3, "tanh")
    out = run_experiment(spec, Store(tmp_path / "s.sqlite")).to_dict()
    assert out["metrics"]["dim"] == 3 and out["tables"]["trained nets"] == []
    for row in out["tables"]["nets"]:
        assert len(row["betti"]) == 3 and row["betti_sum"] == sum(row["betti"])
        relu = row["family"] == "relu"
        net = random_net(dim=3, depth=row["depth"], width=row["width"],
                         activation="relu" if relu else "tanh",
                         weight_std=spec.relu_weight_std if relu else spec.weight_std,
                         bias_std=spec.bias_std, seed=row["seed"])  # fmt: skip
        assert list(positive_region(net, [(-1, 1)] * 3, grid=12).betti) == row["betti"]
        if relu:
            assert row["bound"] == relu_betti_bound([row["width"]] * row["depth"], 3)
    assert "2R + C(R, 2)" in out["claims"][2]["statement"]
