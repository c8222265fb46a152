"""The information plane (Shwartz-Ziv & Tishby 2017, arXiv 1703.00810) and its dependence on the
nonlinearity (Saxe et al. 2018, arXiv 1804.08274).

The 12-bit task (:mod:`occamlab.data.twelve_bit`) is learned by the paper's network 12-10-7-5-4-3-2
twice: with tanh and with ReLU hidden units. Every few epochs each layer's ``I(X;T)`` and
``I(T;Y)`` are estimated on all 4096 inputs by binning (30 bins per unit over ``[-1, 1]`` for
tanh; bins of the same width, 2/30, for ReLU, as in Saxe et al.). Shwartz-Ziv & Tishby saw a
late decrease of ``I(X;T)`` (compression); Saxe et al. found it in tanh networks, where units
saturate, and not in ReLU networks. Compression of a layer is measured as
``max_t I(X;T_t) − I(X;T_final)`` with the maximum taken over the whole run, and as a fraction of
that maximum. The binning estimator's sensitivity is reported by repeating
every estimate with ``bins/3`` and ``3·bins`` bins.

Each seed draws its own split of the 4096 inputs, initialization and data order, shared by its
tanh and ReLU networks; the claims are t-tests over the seeds (Holm-corrected together): the
paper's cut-offs on a per-seed quantity are one-sample t-tests with the cut-off as margin, and
"tanh compresses more than ReLU" is a paired t-test.

A narrow ReLU network can be dead: a hidden layer outputs zero on every training input, so the
network's output is constant and no gradient reaches that layer or any below it, for good (Lu,
Shin, Su & Karniadakis 2019, arXiv 1903.06733: deep narrow ReLU networks are born dead with a
probability that grows with depth and falls with width). With zero biases whether a unit is
silent at initialization depends only on the signs of the weights, so no rescaling of the
initialization (He's, or the paper code's ``1/√fan_out``) prevents it. A dead network has not
been trained in any sense the paper's claims are about, and its information plane is degenerate
(``I(X;T) = 0`` from that layer on); the seeds with a dead network are therefore reported and
left out of every claim, which stay tests of the networks that train.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import torch
from torch import nn

from occamlab.data import data_spec, load_data
from occamlab.data.twelve_bit import twelve_bit_inputs_and_labels
from occamlab.experiments.framework import Claim, Context, ExperimentResult, fields_except
from occamlab.experiments.registry import EXPERIMENTS
from occamlab.experiments.stats import compare, exceeds
from occamlab.probes.information.monitor import (
    InformationPlaneMonitor,
    activation_layers,
    representations,
)
from occamlab.subject import Subject
from occamlab.train import TrainSpec, fit

SOURCE = "Saxe et al. 2018, arXiv 1804.08274, Fig. 1; Shwartz-Ziv & Tishby 2017, 1703.00810"


def parse_widths(hidden: str) -> tuple[int, ...]:
    """The hidden widths of a dash-separated list ("10-7-5-4-3")."""
    try:
        widths = tuple(int(w) for w in hidden.split("-"))
    except ValueError:
        widths = ()
    if len(widths) < 2 or min(widths) < 1:
        raise ValueError(f"hidden must list >= 2 positive widths like '10-7-5-4-3', got {hidden!r}")
    return widths


def network(
    activation: Literal["tanh", "relu"], *, seed: int, hidden: str = "10-7-5-4-3"
) -> nn.Sequential:
    """The 12-…-2 network (the paper's: 12-10-7-5-4-3-2) with ``N(0, 1/fan_in)`` weights and
    zero biases."""
    widths = (12, *parse_widths(hidden), 2)
    g = torch.Generator().manual_seed(seed)
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(widths[:-1], widths[1:], strict=True)):
        linear = nn.Linear(a, b)
        with torch.no_grad():
            linear.weight.copy_(torch.randn(b, a, generator=g) / a**0.5)
            linear.bias.zero_()
        layers.append(linear)
        if i < len(widths) - 2:
            layers.append(nn.Tanh() if activation == "tanh" else nn.ReLU())
    return nn.Sequential(*layers)


def dead(net: nn.Module, x: torch.Tensor) -> bool:
    """Whether some hidden layer of ``net`` gives the same output for every input in ``x`` (a
    dead ReLU network: its output is constant and the layers up to that one get no gradient)."""
    reps = representations(net, x, activation_layers(net), softmax=False)
    return any(bool((t == t[0]).all()) for name, t in reps.items() if name != "output")


def compression(records: list[dict[str, Any]], layer: str, bins: int) -> dict[str, float]:
    """Peak and final ``I(X;T)`` of one layer and their difference (bits)."""
    rows = sorted(
        (r for r in records if r["layer"] == layer and r["bins"] == bins),
        key=lambda r: r["epoch"],
    )
    values = [r["i_xt"] for r in rows]
    peak = max(values)
    return {
        "peak_i_xt": peak,
        "peak_epoch": rows[values.index(peak)]["epoch"],
        "final_i_xt": values[-1],
        "compression": peak - values[-1],
        "relative_compression": (peak - values[-1]) / peak if peak > 0 else 0.0,
        "final_i_ty": rows[-1]["i_ty"],
    }


@EXPERIMENTS.register
@dataclass(frozen=True)
class InformationPlane:
    """Information plane of a tanh and a ReLU net on the 12-bit task, by binning.

    Attributes:
        hidden: hidden widths between the 12 inputs and the 2 outputs, dash-separated (the
            paper's 10-7-5-4-3).
        train_fraction: fraction of the 4096 inputs used for training (the paper: 85%).
        epochs: training epochs.
        every: epochs between estimates.
        bins: bins per unit (estimates are repeated with bins/3 and 3·bins).
        lr: Adam learning rate.
        batch_size: minibatch size.
        seeds: independent seeds (initialization, data split and data order, shared by the tanh
            and the ReLU network of a seed); the claims are t-tests over them.
    """

    name: ClassVar[str] = "information-plane"
    summary: ClassVar[str] = "Binning shows compression in tanh layers and none in ReLU layers"
    paper: ClassVar[str] = "Shwartz-Ziv & Tishby 2017, arXiv 1703.00810; Saxe et al. 2018"
    scales: ClassVar[dict[str, dict[str, Any]]] = {
        "quick": {},
        "paper": {"epochs": 8000, "every": 100, "seeds": 10},
    }
    settings: ClassVar[dict[str, dict[str, Any]]] = {
        "split-70": {"train_fraction": 0.7},
    }

    hidden: str = "10-7-5-4-3"
    train_fraction: float = 0.85
    epochs: int = 600
    every: int = 20
    bins: int = 30
    lr: float = 1e-3
    batch_size: int = 256
    seeds: int = 8

    def __post_init__(self) -> None:
        parse_widths(self.hidden)
        if self.seeds < 1 or not 0 < self.train_fraction < 1:
            raise ValueError("information-plane needs seeds >= 1 and 0 < train_fraction < 1")
        if self.epochs < 2 or self.every < 1 or self.every > self.epochs:
            raise ValueError("information-plane needs epochs >= 2 and 1 <= every <= epochs")
        if self.bins < 6 or self.lr <= 0 or self.batch_size < 0:
            raise ValueError("need bins >= 6, lr > 0 and batch_size >= 0")

    def bin_counts(self) -> tuple[int, ...]:
        return (max(2, self.bins // 3), self.bins, 3 * self.bins)

    def train_one(self, activation: str, seed: int) -> dict[str, Any]:
        data = load_data(data_spec("twelve_bit", train_fraction=self.train_fraction, seed=seed))
        x, y = twelve_bit_inputs_and_labels()
        net = network(activation, seed=seed, hidden=self.hidden)  # type: ignore[arg-type]
        monitor = InformationPlaneMonitor(x, y, every=self.every, bins=self.bin_counts())
        recipe = TrainSpec(
            optimizer="adam",
            lr=self.lr,
            batch_size=self.batch_size,
            epochs=self.epochs,
            schedule="constant",
            eval_every=self.epochs,
            seed=seed,
        )
        result = fit(Subject(net, data), recipe, callbacks=[monitor])
        return {
            "activation": activation,
            "seed": seed,
            "dead": dead(net, data.train.x),
            "train_accuracy": result.final["train_accuracy"],
            "test_accuracy": result.final["test_accuracy"],
            "records": monitor.records,
        }

    def run(self, ctx: Context) -> ExperimentResult:
        key = fields_except(self, "seeds")
        jobs = [(a, s) for s in range(self.seeds) for a in ("tanh", "relu")]
        runs = [
            ctx.cached(
                "trained network",
                {**key, "activation": a, "seed": s},
                lambda _d, a=a, s=s: self.train_one(a, s),
            )
            for a, s in ctx.track(jobs, "networks")
        ]
        layers = sorted({r["layer"] for r in runs[0]["records"]}, key=_layer_order)
        table = [
            {"activation": run["activation"], "seed": run["seed"], "bins": bins, "layer": layer}
            | compression(run["records"], layer, bins)
            for run in runs
            for bins in self.bin_counts()
            for layer in layers
        ]
        accuracy = [
            {k: r[k] for k in ("activation", "seed", "dead", "train_accuracy", "test_accuracy")}
            for r in runs
        ]
        first = {r["activation"]: r for r in runs if r["seed"] == 0}
        return ExperimentResult(
            metrics={"accuracy": accuracy, "compression": table},
            tables={"compression by seed, layer and bin count": table, "accuracy": accuracy},
            figures={"information plane (tanh vs ReLU, seed 0)": figure(first, self.bins)},
            claims=claims(
                table, accuracy, bins=self.bins, hidden=[x for x in layers if x != "output"]
            ),
        )


def _layer_order(name: str) -> tuple[int, str]:
    return (10**6, name) if name == "output" else (int(name) if name.isdigit() else 0, name)


def claims(
    table: list[dict[str, Any]],
    accuracy: list[dict[str, Any]],
    *,
    bins: int,
    hidden: list[str],
) -> list[Claim]:
    """Compression in the last hidden layers of tanh, none in ReLU, at ``bins`` bins: per seed,
    the mean over the two deepest hidden layers of the fraction of peak ``I(X;T)`` lost by the
    end. The paper's cut-offs (a fifth, a twentieth) are one-sample t-tests over the seeds; tanh
    against ReLU a paired t-test (a seed's two networks share its split and data order). Seeds
    with a dead network (:func:`dead`) are left out of every claim and named in its evidence
    (all of them are kept when every seed has one: nothing would be left to test)."""
    deep = hidden[-2:]
    all_seeds = sorted({r["seed"] for r in accuracy})
    dead_runs = sorted((r["seed"], r["activation"]) for r in accuracy if r["dead"])
    seeds = [s for s in all_seeds if s not in {d for d, _ in dead_runs}] or all_seeds
    left_out = (
        "; dead (a hidden layer silent on every training input), "
        + ("left out: " if seeds != all_seeds else "kept, as every seed has one: ")
        + ", ".join(f"seed {s} {a}" for s, a in dead_runs)
        if dead_runs
        else ""
    )

    def per_seed(activation: str) -> list[float]:
        def mean(seed: int) -> float:
            rows = [
                r
                for r in table
                if (r["activation"], r["seed"], r["bins"]) == (activation, seed, bins)
                and r["layer"] in deep
            ]
            return sum(r["relative_compression"] for r in rows) / len(rows)

        return [mean(s) for s in seeds]

    def fit(activation: str) -> list[float]:
        by_seed = {
            r["seed"]: r["train_accuracy"] for r in accuracy if r["activation"] == activation
        }
        return [by_seed[s] for s in seeds]

    def listed(values: list[float]) -> str:
        return ", ".join(f"{v:.3f}" for v in values)

    tanh_c, relu_c = per_seed("tanh"), per_seed("relu")
    fits = [min(a, b) for a, b in zip(fit("tanh"), fit("relu"), strict=True)]
    layers = f"layers {', '.join(deep)}, {bins} bins"
    return [
        Claim.tested(
            "both networks learn the task (training accuracy >= 0.9)",
            exceeds(
                fits,
                0.9,
                name="min(tanh, ReLU) training accuracy",
                hypothesis="mean over seeds of the lower training accuracy of the two > 0.9",
            ),
            f"training accuracy per seed, tanh: {listed(fit('tanh'))}; "
            f"ReLU: {listed(fit('relu'))}{left_out}",
            SOURCE,
        ),
        Claim.tested(
            f"tanh: the last hidden layers compress late in training (I(X;T) falls by at least a "
            f"fifth of its peak; {bins} bins)",
            exceeds(
                tanh_c,
                0.2,
                name="tanh fraction of peak I(X;T) lost",
                hypothesis="mean fraction of peak I(X;T) lost by the end (tanh) > 0.2",
            ),
            f"fraction of peak I(X;T) lost ({layers}), per seed: {listed(tanh_c)}{left_out}",
            SOURCE,
        ),
        Claim.tested(
            f"ReLU: the same layers do not compress (they lose less than a twentieth of their "
            f"peak I(X;T); {bins} bins)",
            exceeds(
                [-v for v in relu_c],
                -0.05,
                name="−ReLU fraction of peak I(X;T) lost",
                hypothesis="mean fraction of peak I(X;T) lost by the end (ReLU) < 0.05",
            ),
            f"fraction of peak I(X;T) lost ({layers}), per seed: {listed(relu_c)}{left_out}",
            SOURCE,
        ),
        Claim.tested(
            "compression depends on the nonlinearity: the tanh layers lose more of their peak "
            "I(X;T) than the ReLU ones",
            compare(
                tanh_c,
                relu_c,
                paired=True,
                names=("tanh", "ReLU"),
                hypothesis="mean over seeds of (tanh − ReLU fraction of peak I(X;T) lost) > 0",
            ),
            f"fraction lost ({layers}), tanh: {listed(tanh_c)}; ReLU: {listed(relu_c)}{left_out}",
            SOURCE,
        ),
    ]


def figure(runs: dict[str, dict[str, Any]], bins: int):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from occamlab.probes.information.plot import plot_information_plane

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for ax, (activation, run) in zip(axes, runs.items(), strict=True):
        plot_information_plane(
            run["records"], bins=bins, ax=ax, title=f"{activation} ({bins} bins)"
        )
    fig.tight_layout()
    return fig
