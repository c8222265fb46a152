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
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import torch
from torch import nn

from occamlab.data import data_spec, load_data
from occamlab.data.twelve_bit import twelve_bit_inputs_and_labels
from occamlab.experiments.framework import Claim, Context, ExperimentResult
from occamlab.experiments.registry import EXPERIMENTS
from occamlab.probes.information.monitor import InformationPlaneMonitor
from occamlab.subject import Subject
from occamlab.train import TrainSpec, fit

SOURCE = "Saxe et al. 2018, arXiv 1804.08274, Fig. 1; Shwartz-Ziv & Tishby 2017, 1703.00810"
WIDTHS = (12, 10, 7, 5, 4, 3, 2)


def network(activation: Literal["tanh", "relu"], *, seed: int) -> nn.Sequential:
    """The 12-10-7-5-4-3-2 network with ``N(0, 1/fan_in)`` weights and zero biases."""
    g = torch.Generator().manual_seed(seed)
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(WIDTHS[:-1], WIDTHS[1:], strict=True)):
        linear = nn.Linear(a, b)
        with torch.no_grad():
            linear.weight.copy_(torch.randn(b, a, generator=g) / a**0.5)
            linear.bias.zero_()
        layers.append(linear)
        if i < len(WIDTHS) - 2:
            layers.append(nn.Tanh() if activation == "tanh" else nn.ReLU())
    return nn.Sequential(*layers)


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
        epochs: training epochs.
        every: epochs between estimates.
        bins: bins per unit (estimates are repeated with bins/3 and 3·bins).
        lr: Adam learning rate.
        batch_size: minibatch size.
        seed: seed of the initialization, the data split and the data order.
    """

    name: ClassVar[str] = "information-plane"
    summary: ClassVar[str] = "Binning shows compression in tanh layers and none in ReLU layers"
    paper: ClassVar[str] = "Shwartz-Ziv & Tishby 2017, arXiv 1703.00810; Saxe et al. 2018"
    scales: ClassVar[dict[str, dict[str, Any]]] = {
        "quick": {},
        "paper": {"epochs": 8000, "every": 100},
    }

    epochs: int = 600
    every: int = 20
    bins: int = 30
    lr: float = 1e-3
    batch_size: int = 256
    seed: int = 0

    def __post_init__(self) -> None:
        if self.epochs < 2 or self.every < 1 or self.every > self.epochs:
            raise ValueError("information-plane needs epochs >= 2 and 1 <= every <= epochs")
        if self.bins < 6 or self.lr <= 0 or self.batch_size < 0:
            raise ValueError("need bins >= 6, lr > 0 and batch_size >= 0")

    def bin_counts(self) -> tuple[int, ...]:
        return (max(2, self.bins // 3), self.bins, 3 * self.bins)

    def train_one(self, activation: str) -> dict[str, Any]:
        data = load_data(data_spec("twelve_bit", seed=self.seed))
        x, y = twelve_bit_inputs_and_labels()
        net = network(activation, seed=self.seed)  # type: ignore[arg-type]
        monitor = InformationPlaneMonitor(x, y, every=self.every, bins=self.bin_counts())
        recipe = TrainSpec(
            optimizer="adam",
            lr=self.lr,
            batch_size=self.batch_size,
            epochs=self.epochs,
            schedule="constant",
            eval_every=self.epochs,
            seed=self.seed,
        )
        result = fit(Subject(net, data), recipe, callbacks=[monitor])
        return {
            "activation": activation,
            "train_accuracy": result.final["train_accuracy"],
            "test_accuracy": result.final["test_accuracy"],
            "records": monitor.records,
        }

    def run(self, ctx: Context) -> ExperimentResult:
        runs = {}
        for activation in ctx.track(["tanh", "relu"], "networks"):
            runs[activation] = ctx.cached(
                "network",
                {**self.__dict__, "activation": activation},
                lambda _d, a=activation: self.train_one(a),
            )
        layers = sorted({r["layer"] for r in runs["tanh"]["records"]}, key=_layer_order)
        table = []
        for activation, run in runs.items():
            for bins in self.bin_counts():
                for layer in layers:
                    c = compression(run["records"], layer, bins)
                    table.append({"activation": activation, "bins": bins, "layer": layer, **c})
        accuracy = [
            {
                "activation": a,
                "train_accuracy": r["train_accuracy"],
                "test_accuracy": r["test_accuracy"],
            }
            for a, r in runs.items()
        ]
        return ExperimentResult(
            metrics={"accuracy": accuracy, "compression": table},
            tables={"compression by layer and bin count": table, "accuracy": accuracy},
            figures={
                "information plane (tanh vs ReLU)": figure(runs, self.bins),
            },
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
    """Compression in the last hidden layers of tanh, none in ReLU, at ``bins`` bins: the mean
    over the two deepest hidden layers of the fraction of peak ``I(X;T)`` lost by the end."""
    deep = hidden[-2:]

    def mean_compression(activation: str) -> float:
        rows = [r for r in table if r["activation"] == activation and r["bins"] == bins]
        return sum(r["relative_compression"] for r in rows if r["layer"] in deep) / len(deep)

    tanh_c, relu_c = mean_compression("tanh"), mean_compression("relu")
    fits = {r["activation"]: r["train_accuracy"] for r in accuracy}
    return [
        Claim(
            statement="both networks learn the task (training accuracy >= 0.9)",
            passed=bool(min(fits.values()) >= 0.9),
            evidence=", ".join(f"{a}: {v:.3f}" for a, v in fits.items()),
            source=SOURCE,
        ),
        Claim(
            statement=f"tanh: the last hidden layers compress late in training (I(X;T) falls by "
            f"at least a fifth of its peak; {bins} bins)",
            passed=bool(tanh_c >= 0.2),
            evidence=f"mean fraction of peak I(X;T) lost, layers {', '.join(deep)}: {tanh_c:.3f}",
            source=SOURCE,
        ),
        Claim(
            statement=f"ReLU: the same layers do not compress (they lose less than a twentieth of "
            f"their peak I(X;T); {bins} bins)",
            passed=bool(relu_c < 0.05),
            evidence=f"mean fraction of peak I(X;T) lost, layers {', '.join(deep)}: {relu_c:.3f}",
            source=SOURCE,
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
