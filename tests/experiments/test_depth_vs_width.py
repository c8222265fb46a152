import numpy as np
import pytest
import torch

from occamlab.data.univariate import sawtooth
from occamlab.experiments import run_experiment
from occamlab.experiments.depth_vs_width import (
    DepthVsWidth,
    advantages,
    claims,
    dyadic_grid,
    evaluate,
    multiply,
    pieces,
    relu_net,
    sawtooth_net,
    sawtooth_row,
    shallow_sawtooth_net,
    square_net,
    square_row,
    summarize,
)
from occamlab.experiments.registry import spec_at_scale
from occamlab.models.mlp import fully_connected_num_parameters, fully_connected_width
from occamlab.store import Store


@pytest.mark.parametrize("k", [1, 2, 3, 5, 7])
def test_sawtooth_nets_compute_g_k_with_2_to_the_k_pieces(k):
    x = dyadic_grid(k + 4)
    deep, shallow = sawtooth_net(k), shallow_sawtooth_net(k)
    assert np.array_equal(evaluate(deep, x), sawtooth(x, k))  # exact in float64
    assert np.array_equal(evaluate(shallow, x), sawtooth(x, k))
    assert pieces(deep) == pieces(shallow) == 2**k
    widths = [m.out_features for m in deep.modules() if isinstance(m, torch.nn.Linear)]
    assert widths == [2] * k + [1]  # depth k, width 2
    assert sum(p.numel() for p in shallow.parameters()) == 3 * 2**k + 1


def test_fewer_pieces_than_the_sawtooth_means_error_at_least_one_half():
    # Telgarsky's sign-change argument, on random one-hidden-layer nets with 2^k − 2 units
    # (at most 2^k − 1 pieces): some multiple of 2^-k is off by at least ½.
    k = 4
    rng = np.random.default_rng(0)
    grid = dyadic_grid(k)
    for _ in range(40):
        u = 2**k - 2
        t = np.sort(rng.uniform(0, 1, u))
        net = relu_net([([[1.0]] * u, (-t).tolist()), ([rng.normal(0, 8, u).tolist()], [0.5])])
        assert pieces(net) <= u + 1
        assert np.abs(evaluate(net, grid) - sawtooth(grid, k)).max() >= 0.5
    # the bound is tight: the constant ½ is off by exactly ½
    assert np.abs(0.5 - sawtooth(grid, k)).max() == 0.5


@pytest.mark.parametrize("m", [1, 2, 4, 6])
def test_yarotsky_square_error_is_exactly_the_closed_form(m):
    net = square_net(m)
    x = dyadic_grid(m + 5)
    f = evaluate(net, x)
    # f_m is the piecewise-linear interpolation of x² at the multiples of 2^-m
    knots = dyadic_grid(m)
    assert np.allclose(f, np.interp(x, knots, knots**2), rtol=0, atol=1e-15)
    error = f - x**2
    assert error.min() >= 0 and error.max() == 2.0 ** (-2 * m - 2)
    mid = (np.arange(2**m) + 0.5) / 2**m  # the maximum sits at every midpoint
    assert np.allclose(evaluate(net, mid) - mid**2, 2.0 ** (-2 * m - 2), rtol=0, atol=1e-16)
    assert pieces(net) == 2**m


def test_multiplication_bound_is_attained_and_never_exceeded():
    m = 3
    net = square_net(m)
    eps = 2.0 ** (-2 * m - 2)
    u, v = np.random.default_rng(1).uniform(size=(2, 5000))
    err = multiply(net, u, v) - u * v
    assert np.abs(err).max() <= 2 * eps and err.min() >= -eps - 1e-15
    # x = 0, y = 2^-m: (x+y)/2 is a midpoint, x and y knots: the error is exactly 2ε
    assert multiply(net, np.array([0.0]), np.array([2.0**-m]))[0] == pytest.approx(2 * eps)
    row = square_row(m, grid_levels=3)
    assert row["product_max_error"] == pytest.approx(row["product_bound"], rel=1e-12)
    assert row["max_error"] == row["bound"] and row["pieces"] == 8 and row["units"] == 9


def test_sawtooth_row():
    row = sawtooth_row(3, grid_levels=2)
    assert (row["deep_pieces"], row["shallow_pieces"]) == (8, 8)
    assert (row["deep_units"], row["shallow_units"], row["shallow_units_lower_bound"]) == (6, 8, 7)
    assert row["deep_max_error"] == 0 and row["shallow_max_error"] == 0
    assert row["deep_parameters"] == 6 * 3 + 1


def test_split_width_is_closest_to_the_budget():
    assert fully_connected_width(100, 1, 1, 1) == 33  # 3w + 1 = 100
    assert fully_connected_width(100, 1, 2, 1) == 8  # w² + 4w + 1: 97 (w = 8) vs 118 (w = 9)
    for depth in (1, 2, 3, 4):
        w = fully_connected_width(150, 1, depth, 1)
        counts = [fully_connected_num_parameters(1, (v,) * depth, 1) for v in (w - 1, w, w + 1)]
        assert abs(counts[1] - 150) <= min(abs(counts[0] - 150), abs(counts[2] - 150))


def _runs(deep_errors, shallow_errors, smooth=(0.01, 0.01)):
    """Relative test errors per seed: sawtooths g_1, g_2 and the smooth target."""
    rows = []
    spec = DepthVsWidth(max_order=2, max_depth=2, budget=40, seeds=4)
    errors = {"g_1": (1e-3, 1e-3), "g_2": (shallow_errors, deep_errors), "sin πx": smooth}
    for target, (sh, dp) in errors.items():
        for depth, base in ((1, sh), (2, dp)):
            for seed in range(4):
                value = base * (1 + 0.1 * seed * (-1) ** (seed + depth))
                order = int(target[-1]) if target.startswith("g") else 1
                rows.append(
                    {
                        "target": target,
                        "function": "sawtooth" if target.startswith("g") else "sine",
                        "order": order,
                        "depth": depth,
                        "width": 13 if depth == 1 else 5,
                        "parameters": 40,
                        "seed": seed,
                        "test_relative": value,
                        "max_error": 0.7 if target == "g_2" and depth == 1 else 0.1,
                        "pieces": 3 if target == "g_2" and depth == 1 else 4,
                    }
                )
    return spec, rows


def _claims(runs, spec):
    saws = [sawtooth_row(k, grid_levels=2) for k in (1, 2)]
    squares = [square_row(m, grid_levels=2) for m in (1, 2)]
    return claims(summarize(saws, squares, runs, spec), spec)


def test_advantages_are_error_differences_per_seed():
    spec, runs = _runs(deep_errors=0.01, shallow_errors=0.5)
    adv = advantages(runs, 2)
    assert list(adv) == ["g_1", "g_2", "sin πx"] and len(adv["g_2"]) == 4
    assert adv["g_2"][0] == pytest.approx(0.5 - 0.01)
    assert adv["g_2"][1] == pytest.approx(0.5 * 1.1 - 0.01 * 0.9)


def test_claims_pass_when_depth_wins_on_the_sawtooth_only():
    spec, runs = _runs(deep_errors=0.01, shallow_errors=0.5)
    out = _claims(runs, spec)
    assert [c.decision for c in out] == ["passed"] * 7
    assert [c.test is None for c in out] == [True] * 5 + [False] * 2
    assert out[5].test.method == "one-sample t-test" and out[5].test.seeds == 4
    assert out[6].test.method == "paired t-test"
    assert "2 nets" not in out[4].evidence and "4 trained nets" in out[4].evidence


def test_claims_fail_when_the_shallow_net_wins():
    spec, runs = _runs(deep_errors=0.5, shallow_errors=0.01)
    out = _claims(runs, spec)
    assert [c.decision for c in out[5:]] == ["failed", "failed"]
    # a net with too few pieces but a small error would contradict the lemma: the check fails
    broken = [dict(r, max_error=0.3) for r in runs]
    assert not _claims(broken, spec)[4].passed


def test_tiny_run_end_to_end(tmp_path):
    spec = DepthVsWidth(
        max_k=3,
        max_m=2,
        max_order=2,
        budget=20,
        max_depth=2,
        seeds=2,
        restarts=2,
        steps=30,
        num_train=32,
        num_test=64,
    )
    d = run_experiment(spec, Store(tmp_path / "runs.sqlite")).to_dict()
    assert len(d["claims"]) == 7
    assert all(isinstance(c["passed"], bool) and c["evidence"] for c in d["claims"])
    assert [c["passed"] for c in d["claims"][:4]] == [True] * 4
    assert "pieces and error vs depth and width" in d["figures"]
    runs = d["tables"]["trained runs"]
    assert len(runs) == 3 * 2 * 2  # targets × splits × seeds (the best restart of each)
    assert {(r["depth"], r["width"]) for r in runs} == {(1, 6), (2, 3)}
    assert [r["k"] for r in d["tables"]["sawtooth constructions"]] == [1, 2, 3]
    assert d["metrics"]["square_errors"] == [2.0**-4, 2.0**-6]


def test_settings_build():
    spec = spec_at_scale(DepthVsWidth, "quick", setting="square")
    assert spec.smooth == "square" and spec.targets()[-1] == ("x²", "square", 1)
    with pytest.raises(ValueError, match="depth-vs-width needs"):
        DepthVsWidth(max_depth=1)
