"""Decision-region topology: the sum of Betti numbers grows with depth, not width
(Bianchini & Scarselli 2014, IEEE TNNLS 25(8), "On the complexity of neural network classifiers:
a comparison between shallow and deep architectures").

Bianchini & Scarselli measure a classifier's complexity by ``B = Σ_k b_k`` of its positive
region ``{x : f(x) > 0}`` and bound it: ``O(hⁿ)`` for one hidden layer of ``h`` units on
``ℝⁿ`` (threshold units; polynomial in ``h`` for sigmoidal ones), growing exponentially with the
number of layers for deep sigmoidal nets, where they also show a deep net whose ``B`` grows like
``2^l`` in its ``l`` layers. Deep nets thus reach far more complex regions with the same resources.

Here: random fully connected networks (one output, inputs ``x ∈ [−1, 1]ⁿ``, ``n`` = 2 or 3)
with ``depth = 1 … max_depth`` hidden layers, each depth at the width whose parameter count is
closest to ``budget`` (and to ``budget_factor · budget``), weights ``N(0, σ_w²/fan_in)`` and biases
``N(0, σ_b²)``. The sigmoidal nets (``tanh``; ``erf`` in the ``erf`` setting) are drawn with
a large ``σ_w`` — the chaotic phase of Poole et al. 2016 (arXiv 1606.05340), where each layer
folds the input space further. ``B`` is
computed with :func:`occamlab.probes.topology.positive_region` (gudhi's cubical homology) on a
``grid``-point-per-side lattice of the cube (512² in the plane by default, 64³ in space in the
``3d`` setting: the folds of the deep nets are thin, and a coarser grid splits them into spurious
components; the run re-counts the first seeds' nets on a grid twice as fine to show how far the
count has converged).

The paper's bounds for sigmoidal nets hide their constants in ``O(·)``; the bound checked here
in closed form is the piecewise-linear one (:func:`occamlab.probes.topology.relu_betti_bound`):
for ReLU nets of the same architectures (He-scaled weights), ``B ≤ 2R`` in the plane
(``2R + C(R, 2)`` in space) with ``R = ∏_l Σ_{j≤n} C(n_l, j)`` the closed-form region bound —
for one hidden layer ``2(1 + h + C(h, 2))``, the paper's ``O(hⁿ)``.

Trained nets (2-D): at every depth, ``trained_seeds`` sigmoidal nets of ``budget`` parameters
(registry initialization) are trained with :func:`occamlab.train.fit` on concentric rings (class 1
on a disk and ``rings − 1`` rings around it: ``b₀ = rings``, ``b₁ = rings − 1``), and the Betti
numbers of their class-1 region are reported beside the target's (a table, no claim: the paper
bounds what a net can express, not what training finds).

Claims (tests over seeds, Holm-corrected together; the same logic at every setting):

* at a fixed parameter budget, ``log₂(1 + B)`` of the sigmoidal nets rises with depth while the
  width falls (slope t-test over every (depth, seed), slope > 0);
* depth beats width: the deepest net at ``budget`` has more than twice the ``1 + B`` of the
  one-hidden-layer net with ``budget_factor`` times the parameters (Welch t-test of
  ``log₂(1 + B)``, margin 1);
* every ReLU net's ``B`` is within the closed-form bound (a check on every net).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import numpy as np
import torch

from occamlab.experiments.framework import Claim, Context, ExperimentResult, fields_except
from occamlab.experiments.registry import EXPERIMENTS
from occamlab.experiments.stats import compare, grouped_mean_std, trend
from occamlab.models import model_spec
from occamlab.models.mlp import fully_connected_num_parameters, fully_connected_width
from occamlab.models.registry import build_model
from occamlab.probes.topology import PositiveRegion, positive_region, relu_betti_bound

PAPER = "Bianchini & Scarselli 2014, IEEE TNNLS 25(8):1553–1565"
HE = math.sqrt(2.0)


def random_net(
    *, dim: int, depth: int, width: int, activation: str, weight_std: float, bias_std: float,
    seed: int,
) -> torch.nn.Module:  # fmt: skip
    """A registry MLP with weights ``N(0, weight_std²/fan_in)`` and biases ``N(0, bias_std²)``,
    drawn layer by layer from a generator seeded with ``seed``."""
    spec = model_spec("mlp", width=width, depth=depth, activation=activation)
    net = build_model(spec, input_shape=(dim,), num_outputs=1, seed=seed)
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for layer in net.modules():
            if isinstance(layer, torch.nn.Linear):
                fan_in = layer.weight.shape[1]
                layer.weight.copy_(torch.randn(layer.weight.shape, generator=g))
                layer.weight.mul_(weight_std / math.sqrt(fan_in))
                layer.bias.copy_(torch.randn(layer.bias.shape, generator=g) * bias_std)
    return net


@EXPERIMENTS.register
@dataclass(frozen=True)
class DecisionTopology:
    """Betti numbers of random networks' positive regions against depth and width at equal
    parameter count.

    Attributes:
        dim: input dimension (2 or 3); the grid covers [−1, 1]^dim.
        grid: lattice points per side (grid^dim evaluations per net).
        budget: parameters of the nets compared across depths.
        budget_factor: the nets are also drawn at this many times the budget (wider at every
            depth): the width comparison.
        max_depth: depths 1 … max_depth hidden layers.
        activation: the sigmoidal nets' activation (``tanh`` or ``erf``).
        weight_std: σ_w of the sigmoidal nets (weights N(0, σ_w²/fan_in)).
        bias_std: σ_b of every net (biases N(0, σ_b²)).
        relu_weight_std: σ_w of the ReLU nets the closed-form bound is checked on (He: √2).
        seeds: independent draws per (depth, budget).
        trained_seeds: trained nets per depth (2-D only; 0: none), each at ``budget``
            parameters with the sigmoidal activation and the registry's default initialization.
        rings: the trained nets' task: class 1 on ``rings`` concentric rings (the innermost a
            disk) of [−1, 1]², class 0 between and outside them; its positive region has
            ``b₀ = rings`` and ``b₁ = rings − 1``.
        num_train: training points (uniform on the square; as many test points).
        train_steps: full-batch Adam steps (cosine schedule).
        lr: Adam's learning rate.
    """

    name: ClassVar[str] = "decision-topology"
    summary: ClassVar[str] = (
        "The sum of Betti numbers of a net's positive region grows with depth far faster than "
        "with width at equal parameter count, within the closed-form bound"
    )
    paper: ClassVar[str] = PAPER
    scales: ClassVar[dict[str, dict[str, Any]]] = {
        "quick": {},
        "paper": {"max_depth": 6, "seeds": 20, "grid": 1024},
    }
    settings: ClassVar[dict[str, dict[str, Any]]] = {
        "erf": {"activation": "erf"},
        "3d": {"dim": 3, "grid": 64},
    }

    dim: int = 2
    grid: int = 512
    budget: int = 400
    budget_factor: int = 4
    max_depth: int = 4
    activation: Literal["tanh", "erf"] = "tanh"
    weight_std: float = 6.0
    bias_std: float = 1.0
    relu_weight_std: float = HE
    seeds: int = 8
    trained_seeds: int = 3
    rings: int = 2
    num_train: int = 1000
    train_steps: int = 1000
    lr: float = 0.01

    def __post_init__(self) -> None:
        if self.dim not in (2, 3):
            raise ValueError(f"dim must be 2 or 3, got {self.dim}")
        if self.max_depth < 2 or self.seeds < 1 or self.budget_factor < 2 or self.grid < 8:
            raise ValueError("need max_depth >= 2, seeds >= 1, budget_factor >= 2, grid >= 8")
        if self.activation not in ("tanh", "erf"):
            raise ValueError(f"activation must be tanh or erf, got {self.activation!r}")
        if self.budget < 4 * (self.dim + 2) * self.max_depth:
            raise ValueError(f"budget {self.budget} is too small for depth {self.max_depth}")

    def budgets(self) -> list[int]:
        return [self.budget, self.budget * self.budget_factor]

    def run(self, ctx: Context) -> ExperimentResult:
        common = fields_except(self, "seeds", "max_depth")
        jobs = [
            (family, budget, depth, seed)
            for family in ("sigmoidal", "relu")
            for budget in self.budgets()
            for depth in range(1, self.max_depth + 1)
            for seed in range(self.seeds)
        ]
        rows = [
            ctx.cached(
                "net",
                {**common, "family": f, "budget": b, "depth": d, "seed": s},
                lambda _, f=f, b=b, d=d, s=s: self.measure(f, b, d, s).to_dict(),
            )
            | {"family": f, "budget": b, "depth": d, "seed": s}
            for f, b, d, s in ctx.track(jobs, "random nets")
        ]
        rows = [_row(r, self) for r in rows]
        means = grouped_mean_std(
            rows, ["family", "budget", "depth", "width"], ["betti_sum", "log2_1p_b"]
        )
        for m in means:
            m["max_betti_sum"] = max(
                r["betti_sum"]
                for r in rows
                if (r["family"], r["budget"], r["depth"]) == (m["family"], m["budget"], m["depth"])
            )
        # Resolution: the first seeds' sigmoidal nets at the budget, again on a grid twice as fine.
        resolution = [
            {"depth": d, "seed": s, "grid": self.grid, "fine_grid": 2 * self.grid}
            | ctx.cached(
                "finer grid",
                {**common, "family": "sigmoidal", "depth": d, "seed": s},
                lambda _, d=d, s=s: {
                    "fine_betti_sum": self.measure(
                        "sigmoidal", self.budget, d, s, grid=2 * self.grid
                    ).total
                },
            )
            for d in range(1, self.max_depth + 1)
            for s in range(min(self.seeds, 2))
        ]
        for r in resolution:
            r["betti_sum"] = next(
                x["betti_sum"]
                for x in rows
                if (x["family"], x["budget"], x["depth"], x["seed"])
                == ("sigmoidal", self.budget, r["depth"], r["seed"])
            )
        trained = [
            ctx.cached(
                "trained",
                {**common, "depth": d, "seed": s},
                lambda _, d=d, s=s: self.train_and_measure(d, s),
            )
            | {"depth": d, "seed": s, "width": fully_connected_width(self.budget, self.dim, d, 1)}
            for d in range(1, self.max_depth + 1)
            for s in (range(self.trained_seeds) if self.dim == 2 else [])
        ]
        deep = self.measure("sigmoidal", self.budget, self.max_depth, 0)
        shallow = self.measure("sigmoidal", self.budgets()[1], 1, 0)
        return ExperimentResult(
            metrics={
                "grid": self.grid,
                "dim": self.dim,
                "nets": len(rows),
                "relu_within_bound": all(r["within_bound"] for r in rows if r["family"] == "relu"),
                "betti_sum_at_grid": sum(r["betti_sum"] for r in resolution),
                "betti_sum_at_finer_grid": sum(r["fine_betti_sum"] for r in resolution),
                "rings_target_betti": [self.rings, self.rings - 1],
            },
            tables={
                "mean Betti sums": means,
                "trained nets": trained,
                "resolution": resolution,
                "nets": rows,
            },
            figures={"Betti numbers vs depth and width": figure(self, means, rows, deep, shallow)},
            claims=claims(self, rows, resolution),
        )

    def measure(
        self, family: str, budget: int, depth: int, seed: int, *, grid: int | None = None
    ) -> PositiveRegion:
        """The positive region of one random net on the grid over [−1, 1]^dim (``grid`` points
        per side, the spec's by default)."""
        relu = family == "relu"
        net = random_net(
            dim=self.dim,
            depth=depth,
            width=fully_connected_width(budget, self.dim, depth, 1),
            activation="relu" if relu else self.activation,
            weight_std=self.relu_weight_std if relu else self.weight_std,
            bias_std=self.bias_std,
            seed=seed,
        )
        return positive_region(net, [(-1.0, 1.0)] * self.dim, grid=grid or self.grid)

    def train_and_measure(self, depth: int, seed: int) -> dict[str, Any]:
        """Train a ``depth``-layer net of ``budget`` parameters on the rings task
        (:func:`occamlab.train.fit`) and measure its class-1 region on the grid."""
        from occamlab.subject import Subject
        from occamlab.train import TrainSpec, fit

        spec = model_spec(
            "mlp",
            width=fully_connected_width(self.budget, 2, depth, 1),
            depth=depth,
            activation=self.activation,
        )
        net = build_model(spec, input_shape=(2,), num_outputs=2, seed=seed)
        subject = Subject(model=net, data=rings_data(self.rings, self.num_train, seed=seed))
        train = TrainSpec(
            optimizer="adam",
            lr=self.lr,
            batch_size=0,
            epochs=0,
            max_steps=self.train_steps,
            schedule="cosine",
            eval_every=self.train_steps,
            seed=seed,
        )
        result = fit(subject, train)
        region = positive_region(net, [(-1.0, 1.0)] * 2, grid=self.grid, output=1)
        return {
            "betti": list(region.betti),
            "betti_sum": region.total,
            "train_accuracy": result.final["train_accuracy"],
            "test_accuracy": result.final["test_accuracy"],
        }


def rings_label(x: torch.Tensor, rings: int) -> torch.Tensor:
    """1 on ``rings`` concentric rings of equal width in the unit disk (the innermost a disk,
    radius band ``[2k, 2k + 1) / (2 rings − 1)`` for ring ``k``), 0 elsewhere."""
    band = torch.floor(x.norm(dim=1) * (2 * rings - 1)).long()
    return ((band % 2 == 0) & (band < 2 * rings - 1)).long()


def rings_data(rings: int, num: int, *, seed: int) -> Any:
    """``num`` uniform training and ``num`` test points of [−1, 1]² labelled by
    :func:`rings_label`."""
    from occamlab.data.base import Data, Split

    g = torch.Generator().manual_seed(seed)
    x = torch.rand(2 * num, 2, generator=g) * 2 - 1
    y = rings_label(x, rings)
    train, test = Split(x[:num], y[:num]), Split(x[num:], y[num:])
    return Data(name="rings", train=train, test=test, task="classification", num_outputs=2)


def _row(r: dict[str, Any], spec: DecisionTopology) -> dict[str, Any]:
    """One net's numbers: its architecture, Betti numbers and (ReLU) the closed-form bound."""
    width = fully_connected_width(r["budget"], spec.dim, r["depth"], 1)
    widths = [width] * r["depth"]
    row = {
        "family": r["family"],
        "budget": r["budget"],
        "depth": r["depth"],
        "width": width,
        "parameters": fully_connected_num_parameters(spec.dim, widths, 1),
        "seed": r["seed"],
        "betti": r["betti"],
        "betti_sum": r["betti_sum"],
        "log2_1p_b": math.log2(1 + r["betti_sum"]),
        "positive_fraction": r["positive_fraction"],
    }
    if r["family"] == "relu":
        row["bound"] = relu_betti_bound(widths, spec.dim)
        row["within_bound"] = r["betti_sum"] <= row["bound"]
    return row


def claims(
    spec: DecisionTopology,
    rows: list[dict[str, Any]],
    resolution: list[dict[str, Any]] | None = None,
) -> list[Claim]:
    """The paper's findings as tests over the seeds (see the module docstring); ``resolution``
    (the same nets re-counted on a finer grid) is quoted in the evidence."""
    small, large = spec.budgets()
    sig = [r for r in rows if r["family"] == "sigmoidal"]
    at_budget = [r for r in sig if r["budget"] == small]
    deepest = [r["log2_1p_b"] for r in at_budget if r["depth"] == spec.max_depth]
    shallow_wide = [r["log2_1p_b"] for r in sig if r["budget"] == large and r["depth"] == 1]
    means = {
        d: float(np.mean([r["betti_sum"] for r in at_budget if r["depth"] == d]))
        for d in range(1, spec.max_depth + 1)
    }
    widths = {d: fully_connected_width(small, spec.dim, d, 1) for d in means}
    per_depth = ", ".join(f"depth {d} (width {widths[d]}): {m:.1f}" for d, m in means.items())
    shallow_mean = float(np.mean([2**v - 1 for v in shallow_wide]))
    relu = [r for r in rows if r["family"] == "relu"]
    worst = max(relu, key=lambda r: r["betti_sum"] / r["bound"])
    grid = "×".join([str(spec.grid)] * spec.dim)
    finer = ""
    if resolution:
        finer = (
            "; re-counted on a grid twice as fine, "
            + ", ".join(f"{r['betti_sum']}→{r['fine_betti_sum']}" for r in resolution)
            + f" (depth {resolution[0]['depth']}…{resolution[-1]['depth']}, first seeds)"
        )
    return [
        Claim.tested(
            f"at a fixed budget of {small} parameters, the sum of Betti numbers of the "
            f"{spec.activation} nets' positive region rises with depth (as width falls)",
            trend(
                [r["depth"] for r in at_budget],
                [r["log2_1p_b"] for r in at_budget],
                name="log2(1 + B)",
                hypothesis="slope of log₂(1 + B) against depth > 0 at equal parameters",
            ),
            f"mean B per depth on the {grid} grid: {per_depth}{finer}",
            f"{PAPER}, Table I and Sec. IV (B grows exponentially with depth)",
        ),
        Claim.tested(
            f"depth beats width: {spec.max_depth} hidden layers with {small} parameters have "
            f"more than twice the 1 + B of one hidden layer with {large}",
            compare(
                deepest,
                shallow_wide,
                margin=1.0,
                names=(f"log2(1+B), depth {spec.max_depth}", "log2(1+B), 1 layer, wide"),
                hypothesis=f"mean log₂(1 + B) at depth {spec.max_depth} (budget {small}) − "
                f"mean at depth 1 (budget {large}) > 1",
            ),
            f"mean B {means[spec.max_depth]:.1f} (depth {spec.max_depth}, width "
            f"{widths[spec.max_depth]}) vs {shallow_mean:.1f} (1 hidden layer, width "
            f"{fully_connected_width(large, spec.dim, 1, 1)})",
            f"{PAPER}, Table I (shallow O(hⁿ) vs deep exponential in the layers)",
        ),
        Claim(
            "every ReLU net's sum of Betti numbers is within the closed-form bound "
            f"{'2R' if spec.dim == 2 else '2R + C(R, 2)'} (R: the linear-region bound)",
            passed=all(r["within_bound"] for r in relu),
            evidence=f"{len(relu)} ReLU nets; largest B/bound {worst['betti_sum']}/"
            f"{worst['bound']} (depth {worst['depth']}, width {worst['width']}); mean B "
            f"{np.mean([r['betti_sum'] for r in relu]):.2f}",
            source=f"{PAPER}, Table I (O(hⁿ) for one layer); Serra et al. 2018, arXiv 1711.02114",
        ),
    ]


def figure(
    spec: DecisionTopology,
    means: list[dict[str, Any]],
    rows: list[dict[str, Any]],
    deep: PositiveRegion,
    shallow: PositiveRegion,
) -> Any:
    """B against depth (per budget) and against width (per depth), and the positive regions of
    one deep and one shallow net."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(13, 7.2))
    axes = fig.subplots(2, 2, width_ratios=[1.25, 1]).flatten()
    ax_depth, ax_deep, ax_width, ax_shallow = axes
    for (family, budget), style in zip(
        [("sigmoidal", b) for b in spec.budgets()] + [("relu", b) for b in spec.budgets()],
        ["o-", "s-", "o--", "s--"],
        strict=True,
    ):
        ms = [m for m in means if (m["family"], m["budget"]) == (family, budget)]
        label = f"{spec.activation if family == 'sigmoidal' else 'relu'}, {budget} parameters"
        ax_depth.plot(
            [m["depth"] for m in ms], [1 + m["betti_sum"] for m in ms], style, label=label
        )
        pts = [r for r in rows if (r["family"], r["budget"]) == (family, budget)]
        ax_depth.plot(
            [r["depth"] + 0.06 * (family == "relu") for r in pts],
            [1 + r["betti_sum"] for r in pts],
            ".",
            color=ax_depth.lines[-1].get_color(),
            alpha=0.35,
        )
    ax_depth.set(
        yscale="log",
        xlabel="hidden layers (width falls to keep the budget)",
        ylabel="1 + B (sum of Betti numbers)",
        title="B against depth at equal parameter count",
        xticks=range(1, spec.max_depth + 1),
    )
    ax_depth.legend(fontsize=8)
    for depth in range(1, spec.max_depth + 1):
        ms = [m for m in means if m["family"] == "sigmoidal" and m["depth"] == depth]
        ax_width.plot(
            [m["width"] for m in ms], [1 + m["betti_sum"] for m in ms], "o-", label=f"{depth}"
        )
    ax_width.set(
        xscale="log",
        yscale="log",
        xlabel=f"width ({spec.budget} → {spec.budget * spec.budget_factor} parameters)",
        ylabel="1 + B",
        title=f"{spec.activation} nets: B against width",
    )
    ax_width.legend(title="hidden layers", fontsize=8)
    grid = "×".join([str(spec.grid)] * spec.dim)
    deep_width = fully_connected_width(spec.budget, spec.dim, spec.max_depth, 1)
    shallow_width = fully_connected_width(spec.budgets()[1], spec.dim, 1, 1)
    deep.plot(
        ax=ax_deep,
        title=f"{spec.max_depth} layers × {deep_width}: b = {list(deep.betti)} ({grid})",
    )
    shallow.plot(
        ax=ax_shallow,
        title=f"1 layer × {shallow_width}: b = {list(shallow.betti)}",
    )
    fig.tight_layout()
    return fig
