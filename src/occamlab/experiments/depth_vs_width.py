"""Depth vs width for ReLU nets: the sawtooth, Yarotsky's square, trained nets at one budget.

(a) **The sawtooth** (Telgarsky 2016). The tent map ``t(x) = 2 min(x, 1 − x) = 2σ(x) − 4σ(x − ½)``
on [0, 1] is one hidden layer of width 2; composing it k times gives a depth-k, width-2 ReLU
network (2k units) computing ``g_k``, with ``2^k`` linear pieces, alternating between 0 at the
even and 1 at the odd multiples of ``2^−k``. The pieces are counted exactly, as a function of the
network's weights, by :func:`occamlab.probes.regions.line_regions` on the segment [0, 1]. A
network with one hidden layer of u units is piecewise linear with at most u + 1 pieces. A
continuous function with p pieces crosses ½ at most p times, while ``g_k − ½`` changes sign
``2^k`` times along the multiples of ``2^−k``: with fewer than ``2^k`` pieces its L∞ error is at
least ½ (and the constant ½ attains it). So a single hidden layer needs at least ``2^k − 1``
units to approximate ``g_k`` better than a constant, and ``2^k`` compute it exactly (the
construction is built and verified): exponentially many, against 2k deep.

(b) **Yarotsky's square** (Yarotsky 2017, Prop. 2). ``f_m(x) = x − Σ_{s=1..m} g_s(x)/4^s`` is the
piecewise-linear interpolation of x² at the multiples of ``2^−m``, so
``sup_{[0,1]} |f_m − x²| = 2^(−2m−2)``, attained at the midpoints; a depth-m, width-3 ReLU network
computes it (two units carry the tent map, one the running sum, which stays ≥ x² ≥ 0). Built as
an ``mlp`` of the model registry and evaluated in float64 on a dyadic grid 2^``grid_levels`` times
finer than its breakpoints, the error is exact (dyadic arithmetic is exact in float64).
Multiplication follows: ``xy ≈ 2 f_m((x+y)/2) − (f_m(x) + f_m(y))/2`` on [0, 1]², with
``|error| ≤ 2·2^(−2m−2)`` (each f_m over-estimates by at most 2^(−2m−2)); the bound is attained.

(c) **Trained nets at one weight budget** (Grohs et al. 2019 ask how the error of the best
split falls). For every target — the sawtooths ``g_1 … g_K`` (compositional depth k) and a smooth
shallow target — ReLU MLPs of every depth 1 … ``max_depth`` with the widest width whose parameter
count stays within ``budget`` are trained by full-batch Adam (``ctx.train_many``: the seeds and
restarts of one split train as one vectorized ensemble). Each seed keeps the restart with the
lowest training loss (selection on the training sample only, the same for every split): the
question is the error a split can reach at the budget, and a narrow deep ReLU net stays at a
constant from many initializations (its units die), which without restarts adds to the seeds'
spread a noise that says nothing about what depth can express.

Claims. The constructions are deterministic and exact in float64: their four claims are checks,
and so is Telgarsky's lower bound applied to every trained net (fewer than 2^k pieces, counted
by the probe: max error ≥ ½ on g_k). The trained splits are tests over the seeds of the
difference "relative test error of one hidden layer − that of the deepest split" (test MSE over
the target's variance; > 0: depth wins): a one-sample t-test that it is > 0 on the most
compositional sawtooth g_max_order, and a paired t-test (seed by seed) that it is larger there
than on the smooth target. Whether gradient descent finds what depth can express is the open
part: Malach & Shalev-Shwartz (2019, arXiv 1903.03488) argue that it does so only where shallow
approximations already work, and a failed claim is the honest answer when it does not.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import numpy as np
import torch
from torch import nn

from occamlab.data import data_spec
from occamlab.data.univariate import sawtooth, univariate
from occamlab.experiments.framework import Claim, Context, ExperimentResult
from occamlab.experiments.registry import EXPERIMENTS
from occamlab.experiments.stats import compare, exceeds, grouped_mean_std
from occamlab.models import model_spec
from occamlab.models.mlp import fully_connected_width
from occamlab.probes.regions import line_regions
from occamlab.train import TrainSpec

TELGARSKY = "Telgarsky 2016, arXiv 1602.04485, Lemmas 2.1–2.3"
YAROTSKY = "Yarotsky 2017, arXiv 1610.01145, Prop. 2 and 3"
GROHS = "Grohs et al. 2019, arXiv 1901.02220; Telgarsky 2016, arXiv 1602.04485"
GRID = 12  # trained nets' max error: on the multiples of 2^−GRID
EXACT = 1e-12  # float64 rounding allowance of the constructions (dyadic arithmetic is exact)


# --- constructions ------------------------------------------------------------------------------


def relu_net(layers: list[tuple[list[list[float]], list[float]]]) -> nn.Module:
    """The registry's ReLU ``mlp`` (1 input, equal hidden widths) with the given weights and
    biases ``(W, b)`` of each Linear layer in order, in float64."""
    width = len(layers[0][1])
    net = model_spec("mlp", width=width, depth=len(layers) - 1, activation="relu").build(
        input_shape=(1,), num_outputs=1, generator=torch.Generator().manual_seed(0)
    )
    net = net.double()
    linears = [m for m in net.modules() if isinstance(m, nn.Linear)]
    with torch.no_grad():
        for linear, (w, b) in zip(linears, layers, strict=True):
            linear.weight.copy_(torch.tensor(w, dtype=torch.float64))
            linear.bias.copy_(torch.tensor(b, dtype=torch.float64))
    return net


def sawtooth_net(k: int) -> nn.Module:
    """Depth k, width 2: layer l computes ``(σ(g), σ(g − ½))`` of ``g = g_{l−1}``, and
    ``g_l = 2σ(g) − 4σ(g − ½)`` (the tent map on [0, 1])."""
    if k < 1:
        raise ValueError(f"the sawtooth net needs depth k >= 1, got {k}")
    first = ([[1.0], [1.0]], [0.0, -0.5])
    middle = ([[2.0, -4.0], [2.0, -4.0]], [0.0, -0.5])
    return relu_net([first, *[middle] * (k - 1), ([[2.0, -4.0]], [0.0])])


def shallow_sawtooth_net(k: int) -> nn.Module:
    """One hidden layer of ``2^k`` units computing ``g_k`` on [0, 1]: ``σ(x)`` with weight
    ``2^k`` (the first slope) and ``σ(x − j/2^k)`` with the slope changes ``∓2^(k+1)``."""
    n = 2**k
    out = [float(n)] + [(-1.0) ** j * 2.0 * n for j in range(1, n)]
    return relu_net([([[1.0]] * n, [-j / n for j in range(n)]), ([out], [0.0])])


def square_net(m: int) -> nn.Module:
    """Yarotsky's depth-m, width-3 network computing ``f_m(x) = x − Σ_{s≤m} g_s(x)/4^s``: hidden
    layer s holds ``(σ(g_{s−1}), σ(g_{s−1} − ½), σ(f_{s−1}))`` (``f_{s−1} ≥ x² ≥ 0``)."""
    if m < 1:
        raise ValueError(f"the square net needs depth m >= 1, got {m}")
    layers = [([[1.0], [1.0], [1.0]], [0.0, -0.5, 0.0])]
    for s in range(1, m + 1):
        c = 4.0**-s
        g, f = [2.0, -4.0, 0.0], [-2.0 * c, 4.0 * c, 1.0]  # g_s and f_s = f_{s−1} − g_s/4^s
        layers.append(([g, g, f], [0.0, -0.5, 0.0]) if s < m else ([f], [0.0]))
    return relu_net(layers)


def evaluate(net: nn.Module, x: np.ndarray) -> np.ndarray:
    """The net's output at the points ``x`` (float64)."""
    net = copy.deepcopy(net).double()  # the module itself is untouched
    with torch.no_grad():
        out = net(torch.as_tensor(x, dtype=torch.float64).reshape(-1, 1))
    return out.reshape(-1).numpy()


def pieces(net: nn.Module) -> int:
    """Linear pieces of the net on [0, 1] (the regions probe, exact)."""
    return line_regions(net, torch.zeros(1), torch.ones(1)).pieces


def dyadic_grid(level: int) -> np.ndarray:
    """The multiples of ``2^−level`` in [0, 1]."""
    return np.arange(2**level + 1, dtype=np.float64) / 2**level


def multiply(square: nn.Module, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``xy ≈ 2 f((x+y)/2) − (f(x) + f(y))/2`` for ``x, y ∈ [0, 1]``, ``f`` the square net."""
    return 2.0 * evaluate(square, (x + y) / 2) - (evaluate(square, x) + evaluate(square, y)) / 2


def sawtooth_row(k: int, *, grid_levels: int) -> dict[str, Any]:
    """The depth-k construction and the one-hidden-layer one for ``g_k``: pieces (probe), units,
    parameters, max error on the dyadic grid; the units one hidden layer needs."""
    x = dyadic_grid(k + grid_levels)
    target = sawtooth(x, k)
    deep, shallow = sawtooth_net(k), shallow_sawtooth_net(k)
    return {
        "k": k,
        "deep_units": 2 * k,
        "deep_parameters": sum(p.numel() for p in deep.parameters()),
        "deep_pieces": pieces(deep),
        "deep_max_error": float(np.abs(evaluate(deep, x) - target).max()),
        "shallow_units": 2**k,
        "shallow_parameters": sum(p.numel() for p in shallow.parameters()),
        "shallow_pieces": pieces(shallow),
        "shallow_max_error": float(np.abs(evaluate(shallow, x) - target).max()),
        # fewer than 2^k pieces: L∞ error >= ½ (sign changes of g_k − ½); u units give u + 1
        "shallow_units_lower_bound": 2**k - 1,
        "fewer_pieces_error": 0.5,
    }


def square_row(m: int, *, grid_levels: int) -> dict[str, Any]:
    """Yarotsky's depth-m square net: its pieces (probe), its max error against x² and that of
    the multiplication built from it, on dyadic grids, against the closed forms."""
    net = square_net(m)
    x = dyadic_grid(m + grid_levels)
    error = evaluate(net, x) - x**2
    u, v = np.meshgrid(dyadic_grid(m + 2), dyadic_grid(m + 2))
    product_error = multiply(net, u.ravel(), v.ravel()) - u.ravel() * v.ravel()
    return {
        "m": m,
        "units": 3 * m,
        "pieces": pieces(net),
        "max_error": float(np.abs(error).max()),
        "min_signed_error": float(error.min()),
        "bound": 2.0 ** (-2 * m - 2),
        "product_max_error": float(np.abs(product_error).max()),
        "product_bound": 2.0 ** (-2 * m - 1),
    }


# --- trained nets at one budget -------------------------------------------------------------------


Smooth = Literal["sine", "square"]


@EXPERIMENTS.register
@dataclass(frozen=True)
class DepthVsWidth:
    """Sawtooth pieces 2^k at depth k vs units 2^k at depth 1, Yarotsky's x², trained splits.

    Attributes:
        max_k: sawtooth constructions for k = 1 … max_k.
        max_m: Yarotsky's square for depths m = 1 … max_m.
        grid_levels: the constructions are checked on the multiples of 2^−(k + grid_levels)
            (a grid 2^grid_levels times finer than their breakpoints, which it contains).
        max_order: trained nets fit the sawtooths g_1 … g_max_order (compositional depth k).
        smooth: the smooth shallow target: ``"sine"`` (sin πx) or ``"square"`` (x²).
        budget: parameter budget of every trained split (width chosen per depth).
        max_depth: splits of depth 1 … max_depth; the deepest is the deep split of the claims.
        seeds: independent initializations per (target, split): the sample of the tests.
        restarts: initializations per seed; the one with the lowest training loss is kept.
        steps: full-batch Adam steps (cosine schedule).
        lr: Adam's peak learning rate.
        num_train: training inputs x ~ Uniform[0, 1] (one draw, shared by every run).
        num_test: test inputs.
    """

    name: ClassVar[str] = "depth-vs-width"
    summary: ClassVar[str] = (
        "Depth k makes 2^k linear pieces with 2k units where one hidden layer needs 2^k "
        "(exact), Yarotsky's x² to 2^(−2m−2) at depth m (exact), and trained splits of one "
        "weight budget on sawtooths of growing depth vs a smooth target"
    )
    paper: ClassVar[str] = (
        "Telgarsky 2016, arXiv 1602.04485; Yarotsky 2017, arXiv 1610.01145; "
        "Grohs et al. 2019, arXiv 1901.02220"
    )
    scales: ClassVar[dict[str, dict[str, Any]]] = {
        "quick": {},
        "paper": {
            "max_k": 12,
            "max_m": 12,
            "max_order": 5,
            "budget": 300,
            "max_depth": 5,
            "seeds": 10,
            "restarts": 8,
            "steps": 20000,
        },
    }
    settings: ClassVar[dict[str, dict[str, Any]]] = {
        "square": {"smooth": "square"},
    }

    max_k: int = 8
    max_m: int = 8
    grid_levels: int = 4
    max_order: int = 3
    smooth: Smooth = "sine"
    budget: int = 100
    max_depth: int = 3
    seeds: int = 6
    restarts: int = 4
    steps: int = 4000
    lr: float = 0.01
    num_train: int = 512
    num_test: int = 2048

    def __post_init__(self) -> None:
        if (
            self.max_k < 2
            or self.max_m < 1
            or self.grid_levels < 1
            or self.max_order < 2
            or self.max_depth < 2
            or self.seeds < 2
            or self.restarts < 1
            or self.budget < 3 * self.max_depth + 4
        ):
            raise ValueError(
                "depth-vs-width needs max_k >= 2, max_m >= 1, grid_levels >= 1, max_order >= 2, "
                "max_depth >= 2, seeds >= 2, restarts >= 1 and a budget of at least "
                "3·max_depth + 4 parameters"
            )
        if self.smooth not in ("sine", "square"):
            raise ValueError(f"smooth must be 'sine' or 'square', got {self.smooth!r}")

    def targets(self) -> list[tuple[str, str, int]]:
        """(label, function, order) of every trained target: the sawtooths, then the smooth."""
        out = [(f"g_{k}", "sawtooth", k) for k in range(1, self.max_order + 1)]
        return out + [("sin πx" if self.smooth == "sine" else "x²", self.smooth, 1)]

    def splits(self) -> list[tuple[int, int]]:
        """(depth, width) of every split of the budget."""
        return [
            (d, fully_connected_width(self.budget, 1, d, 1)) for d in range(1, self.max_depth + 1)
        ]

    def run(self, ctx: Context) -> ExperimentResult:
        saws = [
            ctx.cached(
                "sawtooth",
                {"k": k, "grid_levels": self.grid_levels},
                lambda _, k=k: sawtooth_row(k, grid_levels=self.grid_levels),
            )
            for k in ctx.track(range(1, self.max_k + 1), "sawtooth constructions")
        ]
        squares = [
            ctx.cached(
                "square",
                {"m": m, "grid_levels": self.grid_levels},
                lambda _, m=m: square_row(m, grid_levels=self.grid_levels),
            )
            for m in ctx.track(range(1, self.max_m + 1), "square constructions")
        ]
        runs = self._train(ctx)
        summary = summarize(saws, squares, runs, self)
        return ExperimentResult(
            metrics=summary,
            tables={
                "sawtooth constructions": saws,
                "square constructions": squares,
                "trained splits": summary.pop("by_split"),
                "trained runs": runs,
            },
            figures={"pieces and error vs depth and width": figure(saws, squares, runs, self)},
            claims=claims(summary, self),
        )

    def _train(self, ctx: Context) -> list[dict[str, Any]]:
        """Every (target, split, seed, restart) through ``ctx.train_many``; per (target, split,
        seed) the restart with the lowest training loss, its test error relative to the target's
        variance, its pieces on [0, 1] (probe) and its max error on a dyadic grid."""
        from occamlab.runs import TrainJob

        recipe = TrainSpec(
            optimizer="adam",
            lr=self.lr,
            batch_size=0,
            epochs=0,
            max_steps=self.steps,
            schedule="cosine",
            eval_every=self.steps,
        )
        cases = [
            (target, split, seed, r)
            for target in self.targets()
            for split in self.splits()
            for seed in range(self.seeds)
            for r in range(self.restarts)
        ]
        jobs = [
            TrainJob(
                model=model_spec("mlp", width=w, depth=d, activation="relu"),
                data=data_spec(
                    "univariate",
                    function=function,
                    order=order,
                    num_train=self.num_train,
                    num_test=self.num_test,
                ),
                train=recipe,
                seed=seed * self.restarts + r,
            )
            for (_, function, order), (d, w), seed, r in cases
        ]
        trained = ctx.train_many(jobs)
        best: dict[tuple, tuple[float, Any]] = {}
        for (target, split, seed, _), t in zip(cases, trained, strict=True):
            loss = t.record.metrics["train_loss"]
            key = (target, split, seed)
            if key not in best or loss < best[key][0]:
                best[key] = (loss, t)
        rows = []
        for (target, (depth, width), seed), (_, t) in ctx.track(best.items(), "trained nets"):
            label, function, order = target
            m = t.record.metrics
            data = t.subject.data
            variance = float(data.test.y.double().var(unbiased=False))
            x = dyadic_grid(GRID)
            net = t.subject.model
            linf = float(np.abs(evaluate(net, x) - univariate(x, function, order)).max())
            rows.append(
                {
                    "target": label,
                    "function": function,
                    "order": order,
                    "depth": depth,
                    "width": width,
                    "parameters": m["num_parameters"],
                    "seed": seed,
                    "train_loss": m["train_loss"],
                    "test_mse": m["test_loss"],
                    "test_relative": m["test_loss"] / variance,
                    "max_error": linf,
                    "pieces": pieces(net),
                }
            )
        return rows


def advantages(runs: list[dict[str, Any]], max_depth: int) -> dict[str, list[float]]:
    """Per target, per seed: the relative test error of one hidden layer minus that of the
    deepest split (test MSE / target variance; > 0: depth wins), in seed order.

    A difference, not a log-ratio: two fits that both reach 1e-6 of the variance differ by
    nothing that matters, however far apart their logarithms are."""
    out: dict[str, list[float]] = {}
    for target in dict.fromkeys(r["target"] for r in runs):
        by = {(r["depth"], r["seed"]): r["test_relative"] for r in runs if r["target"] == target}
        seeds = sorted({s for _, s in by})
        out[target] = [by[1, s] - by[max_depth, s] for s in seeds]
    return out


def summarize(
    saws: list[dict[str, Any]],
    squares: list[dict[str, Any]],
    runs: list[dict[str, Any]],
    spec: DepthVsWidth,
) -> dict[str, Any]:
    """The constructions against their closed forms; the trained splits per target (mean ± std
    over seeds), the best split per target, and the per-seed log advantages of depth."""
    by_split = grouped_mean_std(
        runs,
        ["target", "depth", "width", "parameters"],
        ["test_relative", "max_error", "pieces"],
        count="seeds",
    )
    best = {}
    for row in by_split:
        if row["target"] not in best or row["test_relative"] < best[row["target"]]["test_relative"]:
            best[row["target"]] = row
    saw_targets = [r for r in runs if r["function"] == "sawtooth"]
    few = [r for r in saw_targets if r["pieces"] < 2 ** r["order"]]
    return {
        "sawtooth_deep_exact": all(
            s["deep_pieces"] == 2 ** s["k"] and s["deep_max_error"] <= EXACT for s in saws
        ),
        "sawtooth_shallow_exact": all(
            s["shallow_pieces"] == 2 ** s["k"] and s["shallow_max_error"] <= EXACT for s in saws
        ),
        "sawtooth_k": [saws[0]["k"], saws[-1]["k"]],
        "units_at_max_k": {
            "deep": saws[-1]["deep_units"],
            "shallow_lower_bound": saws[-1]["shallow_units_lower_bound"],
            "shallow_exact": saws[-1]["shallow_units"],
        },
        "square_exact": all(
            abs(q["max_error"] - q["bound"]) <= 1e-9 * q["bound"]
            and q["min_signed_error"] >= -EXACT
            and q["pieces"] == 2 ** q["m"]
            for q in squares
        ),
        "product_within_bound": all(
            q["product_max_error"] <= q["product_bound"] * (1 + 1e-9) for q in squares
        ),
        "product_bound_attained": all(
            q["product_max_error"] >= q["product_bound"] * (1 - 1e-9) for q in squares
        ),
        "square_m": [squares[0]["m"], squares[-1]["m"]],
        "square_errors": [q["max_error"] for q in squares],
        "few_pieces_nets": len(few),
        "few_pieces_min_error": min((r["max_error"] for r in few), default=None),
        "by_split": by_split,
        "best_split": {t: {"depth": b["depth"], "width": b["width"]} for t, b in best.items()},
        "advantages": advantages(runs, spec.max_depth),
        "compositional": f"g_{spec.max_order}",
        "smooth": spec.targets()[-1][0],
        "deep": {
            "depth": spec.max_depth,
            "width": fully_connected_width(spec.budget, 1, spec.max_depth, 1),
        },
        "shallow_width": fully_connected_width(spec.budget, 1, 1, 1),
    }


def claims(s: dict[str, Any], spec: DepthVsWidth) -> list[Claim]:
    """Checks of the constructions (deterministic, exact in float64) and of Telgarsky's lower
    bound on every trained net; paired tests over seeds of the trained splits."""
    lo, hi = s["sawtooth_k"]
    m_lo, m_hi = s["square_m"]
    units = s["units_at_max_k"]
    out = [
        Claim(
            f"a depth-k, width-2 ReLU net (2k units) computes the sawtooth g_k with exactly 2^k "
            f"linear pieces (k = {lo}…{hi})",
            passed=s["sawtooth_deep_exact"],
            evidence=f"pieces counted by the regions probe on [0, 1] = 2^k for every k; max "
            f"error on the multiples of 2^−(k+{spec.grid_levels}) ≤ {EXACT:g}",
            source=TELGARSKY,
        ),
        Claim(
            "one hidden layer needs at least 2^k − 1 units to approximate g_k better than the "
            "constant ½ in L∞ (fewer pieces: error ≥ ½), and 2^k units compute it exactly: "
            "exponentially many units against 2k deep",
            passed=s["sawtooth_shallow_exact"],
            evidence=f"the 2^k-unit construction verified (2^k pieces by the probe, exact) for "
            f"k = {lo}…{hi}; at k = {hi}: ≥ {units['shallow_lower_bound']} (exactly "
            f"{units['shallow_exact']}) shallow units vs {units['deep']} deep",
            source=TELGARSKY,
        ),
        Claim(
            "Yarotsky's depth-m, width-3 net f_m = x − Σ g_s/4^s has sup|f_m − x²| = "
            f"2^(−2m−2) and 2^m pieces (m = {m_lo}…{m_hi})",
            passed=s["square_exact"],
            evidence="max error on the dyadic grid: "
            + ", ".join(f"{e:.3g}" for e in s["square_errors"])
            + " (= 2^(−2m−2) to 1e-9; f_m ≥ x² everywhere)",
            source=YAROTSKY,
        ),
        Claim(
            "multiplication built from it, xy ≈ 2f_m((x+y)/2) − (f_m(x) + f_m(y))/2, is within "
            "2^(−2m−1) of xy on [0, 1]²",
            passed=s["product_within_bound"],
            evidence="max error on the multiples of 2^−(m+2) in [0, 1]² "
            + ("equals" if s["product_bound_attained"] else "is below")
            + f" the bound for m = {m_lo}…{m_hi}",
            source=YAROTSKY,
        ),
    ]
    few = s["few_pieces_nets"]
    out.append(
        Claim(
            "every trained net with fewer than 2^k pieces (any depth) has L∞ error ≥ ½ on g_k",
            passed=few == 0 or s["few_pieces_min_error"] >= 0.5 - 1e-6,
            evidence=(
                f"{few} trained nets have fewer pieces than their sawtooth (probe count); their "
                f"smallest max error on the multiples of 2^−{GRID}: {s['few_pieces_min_error']:.3f}"
                if few
                else "no trained net has fewer pieces than its sawtooth: nothing to check"
            ),
            source=f"{TELGARSKY} (the sign-change argument)",
        )
    )
    adv, comp, smooth = s["advantages"], s["compositional"], s["smooth"]
    deep = s["deep"]
    split = (
        f"depth {deep['depth']} × width {deep['width']} vs 1 × {s['shallow_width']} at "
        f"≈{spec.budget} parameters"
    )
    evidence = (
        f"relative test MSE (MSE / target variance) of one hidden layer minus the deep split, "
        f"per seed ({split}, best of {spec.restarts} restarts by training loss): "
        + "; ".join(f"{t}: " + ", ".join(f"{v:+.3f}" for v in vs) for t, vs in adv.items())
    )
    out += [
        Claim.tested(
            f"at one weight budget, the deep-and-narrow net fits the compositional target "
            f"{comp} better than one hidden layer",
            exceeds(
                adv[comp],
                0.0,
                name=f"shallow − deep relative error, {comp}",
                hypothesis=f"mean (shallow − deep relative test error) on {comp} > 0",
            ),
            evidence,
            GROHS,
        ),
        Claim.tested(
            f"depth helps more on the compositional target {comp} than on the smooth {smooth}",
            compare(
                adv[comp],
                adv[smooth],
                paired=True,
                hypothesis=f"mean (shallow − deep relative test error) on {comp} minus on "
                f"{smooth} > 0",
                names=(comp, smooth),
            ),
            evidence,
            GROHS,
        ),
    ]
    return out


def figure(
    saws: list[dict[str, Any]],
    squares: list[dict[str, Any]],
    runs: list[dict[str, Any]],
    spec: DepthVsWidth,
) -> Any:
    """Pieces and units of the sawtooth constructions against k; Yarotsky's errors against m;
    the trained splits' relative test error per target against depth."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(13, 4))
    a, b, c = fig.subplots(1, 3)
    ks = [r["k"] for r in saws]
    a.plot(ks, [r["deep_pieces"] for r in saws], "o-", label="pieces of the depth-k net (probe)")
    a.plot(ks, [r["deep_units"] for r in saws], "s-", label="units, depth k (width 2)")
    a.plot(ks, [r["shallow_units"] for r in saws], "^-", label="units, one hidden layer (exact)")
    a.plot(ks, [r["shallow_units_lower_bound"] for r in saws], "v:", label="… lower bound 2^k − 1")
    a.set(yscale="log", xlabel="sawtooth order k", ylabel="count", title="sawtooth g_k")
    a.legend(fontsize=7)
    ms = [q["m"] for q in squares]
    b.plot(ms, [q["max_error"] for q in squares], "o", label="sup |f_m − x²| (measured)")
    b.plot(ms, [q["bound"] for q in squares], "k-", lw=0.8, label="2^(−2m−2)")
    b.plot(ms, [q["product_max_error"] for q in squares], "s", label="sup |×_m − xy| (measured)")
    b.plot(ms, [q["product_bound"] for q in squares], "k--", lw=0.8, label="2^(−2m−1)")
    b.set(yscale="log", xlabel="depth m (width 3)", ylabel="max error", title="Yarotsky's x²")
    b.legend(fontsize=7)
    rows = grouped_mean_std(runs, ["target", "depth"], ["test_relative"])
    for target in dict.fromkeys(r["target"] for r in rows):
        sel = [r for r in rows if r["target"] == target]
        c.plot([r["depth"] for r in sel], [r["test_relative"] for r in sel], "o-", label=target)
    c.set(
        yscale="log",
        xlabel=f"depth (width filling ≈{spec.budget} parameters)",
        ylabel="test MSE / target variance (mean over seeds)",
        title="trained splits of one budget",
        xticks=list(range(1, spec.max_depth + 1)),
    )
    c.legend(fontsize=7)
    fig.tight_layout()
    return fig
