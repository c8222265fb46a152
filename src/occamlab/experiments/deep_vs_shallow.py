"""Deep vs shallow: the product of n inputs (Lin, Tegmark & Rolnick 2017; Rolnick & Tegmark 2018).

Explicit constructions, verified numerically (float64, random points of [−1, 1]ⁿ):

* **deep**: the multiplication gate of Lin et al. uses 4 neurons,
  ``m(a, b) = [σ(λ(a+b)) + σ(−λ(a+b)) − σ(λ(a−b)) − σ(−λ(a−b))] / (4λ²σ''(0)) = ab + O(λ²)``;
  a binary tree of n − 1 gates (depth ⌈log₂ n⌉, an unpaired value carried to the next level by
  the linear map) multiplies n inputs with 4(n − 1) neurons.
* **shallow**: one hidden layer of 2ⁿ neurons,
  ``Π xᵢ ≈ Σ_{s ∈ {±1}ⁿ} (Π sᵢ) σ(λ s·x) / (2ⁿ λⁿ σ⁽ⁿ⁾(0))``: the symmetric sum cancels every
  Taylor term except the multilinear one. Rolnick & Tegmark prove no single hidden layer does
  with fewer than 2ⁿ neurons.

Both use σ = exp (every derivative is 1 at 0; any smooth σ with σ''(0) ≠ 0, resp. σ⁽ⁿ⁾(0) ≠ 0,
works the same way), with λ chosen per n as the largest value on a grid that meets the stated
error (too small a λ loses the product to floating-point cancellation).

Then trained networks (:func:`occamlab.train.fit`, each run a cached part): the smallest width
whose net fits the product of n Uniform[−√3, √3] inputs to a target training error, for one
hidden layer against ⌈log₂ n⌉ hidden layers; the neuron count needed by the shallow net grows much
faster with n (Rolnick & Tegmark 2018, Fig. 2).

Claims. The constructions are deterministic and verified to the stated tolerance: those two
claims are checks. The trained nets are replicated: every seed runs its own width search for
every (n, depth), giving one shallow/deep neuron ratio per (n, seed). That the ratio grows with n
is a slope t-test of its logarithm against n over every (n, seed); that one hidden layer needs
more neurons at the largest n is a one-sample t-test of the log-ratio there against 0. The
``gelu`` setting trains GELU nets instead of tanh ones (GELU''(0) ≠ 0, as Lin et al.'s gate
asks of σ).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from occamlab.data import data_spec
from occamlab.experiments.framework import Claim, Context, ExperimentResult
from occamlab.experiments.registry import EXPERIMENTS
from occamlab.experiments.stats import exceeds, trend
from occamlab.models import ACTIVATIONS, model_spec
from occamlab.train import Callback, TrainSpec, TrainState

LIN = "Lin, Tegmark & Rolnick 2017, arXiv 1608.08225, Fig. 2"
ROLNICK = "Rolnick & Tegmark 2018, arXiv 1705.05502"
LAMBDAS = tuple(float(v) for v in np.geomspace(1e-4, 0.3, 40))


def gate(a: np.ndarray, b: np.ndarray, lam: float) -> np.ndarray:
    """Lin et al.'s 4-neuron multiplication gate with σ = exp (σ''(0) = 1)."""
    p, q = lam * (a + b), lam * (a - b)
    return (np.exp(p) + np.exp(-p) - np.exp(q) - np.exp(-q)) / (4.0 * lam**2)


def deep_product(x: np.ndarray, lam: float) -> tuple[np.ndarray, int, int]:
    """Product of the columns of ``x`` by a binary tree of gates; returns (values, neurons,
    hidden layers)."""
    values = [x[:, i] for i in range(x.shape[1])]
    neurons = layers = 0
    while len(values) > 1:
        paired = [gate(values[i], values[i + 1], lam) for i in range(0, len(values) - 1, 2)]
        neurons += 4 * len(paired)
        layers += 1
        values = paired + ([values[-1]] if len(values) % 2 else [])
    return values[0], neurons, layers


def shallow_product(x: np.ndarray, lam: float) -> tuple[np.ndarray, int]:
    """Product of the columns of ``x`` by one hidden layer of 2ⁿ exp-neurons; returns
    (values, neurons)."""
    n = x.shape[1]
    signs = np.array(list(itertools.product((-1.0, 1.0), repeat=n)))  # (2ⁿ, n): hidden weights
    hidden = np.exp(lam * x @ signs.T)  # (m, 2ⁿ)
    out = hidden @ signs.prod(axis=1) / (2.0**n * lam**n)  # σ⁽ⁿ⁾(0) = 1
    return out, len(signs)


def verify_construction(n: int, *, tolerance: float, points: int, seed: int) -> dict[str, Any]:
    """Both constructions at the largest grid λ meeting ``tolerance`` (max abs error on
    ``points`` uniform points of [−1, 1]ⁿ); ``None`` errors if no λ does."""
    x = np.random.default_rng(seed).uniform(-1.0, 1.0, (points, n))
    target = x.prod(axis=1)
    out: dict[str, Any] = {"n": n}
    for kind in ("deep", "shallow"):
        best = None
        for lam in LAMBDAS:
            values, neurons, *rest = (
                deep_product(x, lam) if kind == "deep" else shallow_product(x, lam)
            )
            error = float(np.abs(values - target).max())
            if error <= tolerance:
                best = (lam, error, neurons, rest[0] if rest else 1)
        if best is None:
            lam = LAMBDAS[0]
            values, neurons, *rest = (
                deep_product(x, lam) if kind == "deep" else shallow_product(x, lam)
            )
            best = (None, float(np.abs(values - target).max()), neurons, rest[0] if rest else 1)
        out.update(
            {
                f"{kind}_lambda": best[0],
                f"{kind}_max_error": best[1],
                f"{kind}_neurons": best[2],
                f"{kind}_layers": best[3],
            }
        )
    return out


@EXPERIMENTS.register
@dataclass(frozen=True)
class DeepVsShallow:
    """Neurons needed for the product of n inputs: 4(n−1) deep vs 2ⁿ shallow, built and trained.

    Attributes:
        max_n: constructions for n = 2 … max_n.
        tolerance: stated max abs error of the constructions on [−1, 1]ⁿ.
        points: random points the constructions are verified on.
        trained_n: trained nets for n = 2, 4, … up to trained_n.
        seeds: independent width searches (each with its own initialization seed) per
            (n, depth): the sample of the trained-net claims' tests.
        target_error: training MSE a trained net must reach (the target has variance 1): the
            question is what the architecture can express, so the criterion is the fit on the
            sample (training continues to half of it). With few examples per parameter a net can
            partly memorize the sample instead; the test MSE, reported alongside, shows when.
        max_width: widest net tried.
        steps: full-batch Adam steps per training run.
        lr: Adam's learning rate.
        patience: stop a run once its training loss has not improved by 1% for this many
            steps (a net too small stalls early, and the width search moves on).
        activation: the trained nets' activation (an MLP activation of the model registry).
        num_train: training examples.
        num_test: test examples (the test MSE reported alongside).
    """

    name: ClassVar[str] = "deep-vs-shallow"
    summary: ClassVar[str] = (
        "The product of n inputs: 4(n−1) neurons deep vs 2ⁿ shallow (explicit, verified), and "
        "trained nets need far fewer neurons with log₂ n layers than with one"
    )
    paper: ClassVar[str] = (
        "Lin, Tegmark & Rolnick 2017, arXiv 1608.08225; Rolnick & Tegmark 2018, arXiv 1705.05502"
    )
    scales: ClassVar[dict[str, dict[str, Any]]] = {
        "quick": {},
        "paper": {"trained_n": 8, "seeds": 8, "max_width": 512, "steps": 10000, "num_train": 4000},
    }
    settings: ClassVar[dict[str, dict[str, Any]]] = {"gelu": {"activation": "gelu"}}

    max_n: int = 7
    tolerance: float = 1e-3
    points: int = 10_000
    trained_n: int = 6
    seeds: int = 6
    target_error: float = 0.05
    max_width: int = 128
    steps: int = 4000
    lr: float = 1e-2
    patience: int = 300
    activation: str = "tanh"
    num_train: int = 1000
    num_test: int = 2000

    def __post_init__(self) -> None:
        if self.max_n < 3 or self.trained_n < 4 or self.seeds < 1 or self.max_width < 2:
            raise ValueError("deep-vs-shallow needs max_n >= 3, trained_n >= 4, seeds >= 1")
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {', '.join(ACTIVATIONS)}")

    def trained_ns(self) -> list[int]:
        """n = 2, 4, 6, … up to trained_n (⌈log₂ n⌉ = 1, 2, 3, …: each a new depth)."""
        return list(range(2, self.trained_n + 1, 2))

    def run(self, ctx: Context) -> ExperimentResult:
        built = [
            ctx.cached(
                "construction",
                {"n": n, "tolerance": self.tolerance, "points": self.points, "lambdas": LAMBDAS},
                lambda _, n=n: verify_construction(
                    n, tolerance=self.tolerance, points=self.points, seed=n
                ),
            )
            for n in ctx.track(range(2, self.max_n + 1), "constructions")
        ]
        trained, attempts = [], []
        searches = [
            (n, depth, seed)
            for n in self.trained_ns()
            for depth in sorted({1, max(1, math.ceil(math.log2(n)))})
            for seed in range(self.seeds)
        ]
        for n, depth, seed in ctx.track(searches, "width searches"):
            found, tried = self._smallest_width(ctx, n, depth, seed)
            attempts += tried
            trained.append({"n": n, "depth": depth, "seed": seed, **found})
        summary = summarize(built, trained, tolerance=self.tolerance)
        return ExperimentResult(
            metrics=summary,
            tables={
                "constructions": built,
                "smallest trained nets": trained,
                "training runs": attempts,
            },
            figures={"neurons vs n": figure(built, trained)},
            claims=claims(summary),
        )

    def _smallest_width(self, ctx: Context, n: int, depth: int, seed: int):
        """Widths 2, 4, 8, … up to max_width; the first whose net (initialized from ``seed``)
        reaches the target."""
        tried = []
        width = 2
        while width <= self.max_width:
            key = {
                "n": n,
                "depth": depth,
                "width": width,
                "seed": seed,
                "steps": self.steps,
                "lr": self.lr,
                "activation": self.activation,
                "num_train": self.num_train,
                "num_test": self.num_test,
                "target": self.target_error,
                "patience": self.patience,
            }
            m = ctx.cached("train", key, lambda _, w=width: self._train(n, depth, w, seed))
            tried.append(
                {"n": n, "depth": depth, "width": width, "seed": seed, "neurons": width * depth} | m
            )
            if m["train_mse"] <= self.target_error:
                found = {
                    "width": width,
                    "neurons": width * depth,
                    "train_mse": m["train_mse"],
                    "test_mse": m["test_mse"],
                    "reached": True,
                }
                return found, tried
            width *= 2
        return {
            "width": None,
            "neurons": None,
            "train_mse": None,
            "test_mse": None,
            "reached": False,
        }, tried

    def _train(self, n: int, depth: int, width: int, seed: int) -> dict[str, Any]:
        """Full-batch Adam on the product of n inputs; stops at half the target training MSE or
        when the training loss stalls (:class:`Plateau`)."""
        from occamlab.recipes import make_subject
        from occamlab.train import fit

        subject = make_subject(
            model=model_spec("mlp", width=width, depth=depth, activation=self.activation),
            data=data_spec(
                "product", input_dim=n, degree=n, num_train=self.num_train, num_test=self.num_test
            ),
            seed=seed,
        )
        train = TrainSpec(
            optimizer="adam",
            lr=self.lr,
            batch_size=0,
            epochs=0,
            max_steps=self.steps,
            schedule="constant",
            target_loss=self.target_error / 2,
            eval_every=50,
            seed=seed,
        )
        result = fit(subject, train, callbacks=[Plateau(patience=self.patience)])
        return {
            "steps": result.steps,
            "stop_reason": result.stop_reason,
            "train_mse": result.final["train_loss"],
            "test_mse": result.final["test_loss"],
        }


class Plateau(Callback):
    """Stop once the (full-batch) training loss has not improved by 1% for ``patience`` steps:
    a net too small for the target stalls early, and the width search moves on."""

    def __init__(self, *, patience: int) -> None:
        self.patience = patience
        self.best = math.inf
        self.since = 0

    def on_step_end(self, state: TrainState) -> None:
        if state.batch_loss < 0.99 * self.best:
            self.best, self.since = state.batch_loss, 0
        else:
            self.since += 1
            if self.since >= self.patience:
                state.request_stop(f"no 1% improvement in {self.patience} steps")


def summarize(
    built: list[dict[str, Any]], trained: list[dict[str, Any]], *, tolerance: float
) -> dict[str, Any]:
    """Neuron counts against n; the shallow/deep neuron ratio of the trained nets per (n, seed)
    (for the n whose deep net has more than one hidden layer, where both searches reached the
    target)."""
    ratios = []
    for n, seed in sorted({(t["n"], t.get("seed", 0)) for t in trained}):
        rows = {t["depth"]: t for t in trained if t["n"] == n and t.get("seed", 0) == seed}
        shallow, deep = rows.get(1), rows[max(rows)]
        if max(rows) > 1 and shallow["reached"] and deep["reached"]:
            ratios.append(
                {
                    "n": n,
                    "seed": seed,
                    "shallow_neurons": shallow["neurons"],
                    "deep_neurons": deep["neurons"],
                    "ratio": shallow["neurons"] / deep["neurons"],
                }
            )
    return {
        "constructions_verified": all(
            b["deep_max_error"] <= tolerance and b["shallow_max_error"] <= tolerance for b in built
        ),
        "deep_neurons_match": all(b["deep_neurons"] == 4 * (b["n"] - 1) for b in built),
        "shallow_neurons_match": all(b["shallow_neurons"] == 2 ** b["n"] for b in built),
        "max_construction_error": max(
            max(b["deep_max_error"], b["shallow_max_error"]) for b in built
        ),
        "construction_n": [built[0]["n"], built[-1]["n"]],
        "all_trained_reached": all(t["reached"] for t in trained),
        "unreached": [[t["n"], t["depth"], t.get("seed", 0)] for t in trained if not t["reached"]],
        "ratios": ratios,
    }


def claims(s: dict[str, Any]) -> list[Claim]:
    """The papers' findings: the constructions are checks on deterministic numbers; the trained
    nets' claims are tests over the seeds' width searches (a slope t-test of the log neuron
    ratio against n, a one-sample t-test of the log-ratio at the largest n against 0). A search
    that never reached the target leaves its ratio unknown: the trained-net claims then fail,
    untested, and say which."""
    ratios = s["ratios"]
    lo, hi = s["construction_n"]
    out = [
        Claim(
            f"a deep net with 4(n−1) neurons computes the product of n inputs (n = {lo}…{hi})",
            passed=s["constructions_verified"] and s["deep_neurons_match"],
            evidence=f"max |error| over the cube ≤ {s['max_construction_error']:.1e} for both "
            "constructions (stated tolerance in the spec)",
            source=LIN,
        ),
        Claim(
            "a single hidden layer computes it with 2ⁿ neurons (the proven minimum)",
            passed=s["constructions_verified"] and s["shallow_neurons_match"],
            evidence=f"2ⁿ-neuron construction verified for n = {lo}…{hi}; at n = {hi}: "
            f"{2**hi} shallow vs {4 * (hi - 1)} deep neurons",
            source=f"{ROLNICK}, Thm. 4.1",
        ),
    ]
    grows = (
        "trained nets: the neurons one hidden layer needs, relative to ⌈log₂ n⌉ layers, grow with n"
    )
    more = "trained nets: at the largest n one hidden layer needs more neurons than ⌈log₂ n⌉ layers"
    ns = sorted({r["n"] for r in ratios})
    text = "; ".join(
        f"n={n}: "
        + ", ".join(f"{r['shallow_neurons']} vs {r['deep_neurons']}" for r in ratios if r["n"] == n)
        + f" (mean ratio {np.mean([r['ratio'] for r in ratios if r['n'] == n]):.2f})"
        for n in ns
    )
    evidence = (
        f"smallest shallow vs deep neuron counts reaching the target, per seed: {text} (widths "
        "searched in steps of ×2)"
    )
    if not s["all_trained_reached"] or len(ns) < 2 or len(ratios) < 3:
        why = "".join(
            f"; n={n} with {d} hidden layer{'s' if d > 1 else ''} never reached it (seed {seed})"
            for n, d, seed in s["unreached"]
        )
        if len(ns) < 2 or len(ratios) < 3:
            why += "; fewer than two n or three ratios with both depths reached: no trend to test"
        return out + [Claim(c, False, evidence + why, f"{ROLNICK}, Fig. 2") for c in (grows, more)]
    largest = [math.log(r["ratio"]) for r in ratios if r["n"] == ns[-1]]
    return out + [
        Claim.tested(
            grows,
            trend(
                [r["n"] for r in ratios],
                [math.log(r["ratio"]) for r in ratios],
                name="ln(shallow/deep neurons)",
                hypothesis="slope of ln(shallow neurons / deep neurons) against n > 0",
            ),
            evidence,
            f"{ROLNICK}, Fig. 2",
        ),
        Claim.tested(
            more,
            exceeds(
                largest,
                0.0,
                name=f"ln(shallow/deep neurons), n={ns[-1]}",
                hypothesis=f"mean ln(shallow neurons / deep neurons) at n = {ns[-1]} > 0",
            ),
            evidence,
            f"{ROLNICK}, Fig. 2",
        ),
    ]


def figure(built: list[dict[str, Any]], trained: list[dict[str, Any]]) -> Any:
    """Neurons against n: the two constructions and the smallest trained nets."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7, 4.2))
    ax = fig.subplots()
    ns = [b["n"] for b in built]
    ax.plot(ns, [b["shallow_neurons"] for b in built], "o-", label="shallow construction 2ⁿ")
    ax.plot(ns, [b["deep_neurons"] for b in built], "s-", label="deep construction 4(n−1)")
    for depth_kind, marker in (("shallow", "^"), ("deep", "v")):
        rows = [
            t
            for t in trained
            if t["reached"]
            and (t["depth"] == 1) == (depth_kind == "shallow")
            and (depth_kind == "shallow" or t["depth"] > 1)
        ]
        ax.plot(
            [t["n"] for t in rows],
            [t["neurons"] for t in rows],
            marker,
            ls="none",
            alpha=0.6,
            label=f"trained, {'1 hidden layer' if depth_kind == 'shallow' else '⌈log₂ n⌉ layers'}",
        )
    ax.set(
        yscale="log",
        xlabel="number of inputs n",
        ylabel="neurons",
        title="neurons needed for the product of n inputs",
    )
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
