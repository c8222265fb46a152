"""Lazy vs rich training (Chizat, Oyallon & Bach 2019, arXiv 1812.07956; Woodworth et al. 2020,
arXiv 2002.09277): the output scale α decides whether a network learns features.

The model is ``f_α(x) = α (h(θ, x) − h(θ₀, x))`` with ``h`` an MLP in the NTK parameterization
(centred, so that ``f_α = 0`` at initialization), trained by full-batch gradient descent on the
mean squared error with step ``η/α²`` — the scaling of Chizat et al. under which the function
moves at the same initial speed for every α. For large α the weights barely move, the NTK stays
put and the network follows kernel gradient flow with its initial NTK (the *lazy* regime); for
small α the weights must travel far, the NTK moves and the network departs from the kernel
prediction (the *rich* regime). Measured per α: the kernel distance of Fort et al. (2020, arXiv
2010.15110) between the NTK at initialization and after training, and the deviation of the
network's test predictions from the linearized (NTK) model trained for the same time
(:meth:`occamlab.probes.kernels.regression.KernelRegression.at_time`).
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import torch
from torch import nn

from occamlab.data import data_spec, load_data
from occamlab.experiments.framework import Claim, Context, ExperimentResult
from occamlab.experiments.registry import EXPERIMENTS
from occamlab.probes.kernels import empirical_ntk
from occamlab.probes.kernels.distance import KernelDistanceMonitor
from occamlab.probes.kernels.regression import kernel_regression
from occamlab.probes.kernels.wide import wide_mlp
from occamlab.subject import Subject
from occamlab.train import TrainSpec, fit

SOURCE = "Chizat et al. 2019, arXiv 1812.07956, Thm 2.2 and Fig. 2; Fort et al. 2020, 2010.15110"


class Centered(nn.Module):
    """``α (h(θ, x) − h(θ₀, x))``: the scaled model of Chizat et al., zero at initialization.

    The frozen copy of ``h`` at initialization has ``requires_grad=False`` (not trained, not part
    of the NTK).
    """

    def __init__(self, base: nn.Module, alpha: float) -> None:
        super().__init__()
        self.base = base
        self.alpha = float(alpha)
        self.initial = copy.deepcopy(base).requires_grad_(False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.alpha * (self.base(x) - self.initial(x))


@EXPERIMENTS.register
@dataclass(frozen=True)
class LazyVsRich:
    """Train the α-scaled model for several α; kernel distance and agreement with NTK regression.

    Attributes:
        alphas: number of output scales α, log-spaced from alpha_min to alpha_max.
        alpha_min: the smallest α (rich end).
        alpha_max: the largest α (lazy end).
        width: hidden width of the MLP (NTK parameterization).
        depth: hidden layers.
        activation: the MLP's nonlinearity.
        num_train: teacher-student training examples (input dimension 8).
        num_test: test examples.
        steps: full-batch gradient-descent steps.
        step_size: η·λ_max/n, the step relative to the stability limit of the linearized model
            (reduced in proportion to α below α = 0.1, where the nonlinearity destabilizes GD).
        seed: seed of the data and the initialization.
    """

    name: ClassVar[str] = "lazy-vs-rich"
    summary: ClassVar[str] = (
        "Large output scale: the NTK stays put and the net is kernel regression; small: it moves"
    )
    paper: ClassVar[str] = "Chizat, Oyallon & Bach 2019, arXiv 1812.07956"
    scales: ClassVar[dict[str, dict[str, Any]]] = {
        "quick": {},
        "paper": {"alphas": 9, "alpha_min": 0.01, "width": 1024, "num_train": 256, "steps": 10000},
    }

    alphas: int = 5
    alpha_min: float = 0.03
    alpha_max: float = 100.0
    width: int = 128
    depth: int = 2
    activation: Literal["relu", "tanh", "erf"] = "relu"
    num_train: int = 100
    num_test: int = 200
    steps: int = 2000
    step_size: float = 0.5
    seed: int = 0

    def __post_init__(self) -> None:
        if self.alphas < 2 or not 0 < self.alpha_min < self.alpha_max:
            raise ValueError("lazy-vs-rich needs alphas >= 2 and 0 < alpha_min < alpha_max")
        if min(self.width, self.num_train, self.num_test, self.steps) < 1 or self.depth < 1:
            raise ValueError("width, depth, num_train, num_test and steps must be positive")
        if not 0 < self.step_size < 1:
            raise ValueError(f"step_size must be in (0, 1), got {self.step_size}")

    def alpha_values(self) -> list[float]:
        lo, hi = math.log10(self.alpha_min), math.log10(self.alpha_max)
        return [
            round(10 ** (lo + (hi - lo) * i / (self.alphas - 1)), 6) for i in range(self.alphas)
        ]

    def data(self):
        return data_spec(
            "teacher",
            input_dim=8,
            teacher_width=16,
            num_train=self.num_train,
            num_test=self.num_test,
            seed=self.seed,
        )

    def train_one(self, alpha: float) -> dict[str, Any]:
        """Train the α-scaled model; kernel distance, deviation from NTK regression, errors."""
        data = load_data(self.data())
        base = wide_mlp(
            8,
            self.width,
            self.depth,
            1,
            activation=self.activation,
            generator=torch.Generator().manual_seed(self.seed),
        )
        model = Centered(base, alpha)
        subject = Subject(model, data, loss="mse")
        x, y, xt = data.train.x, data.train.y, data.test.x
        k0 = empirical_ntk(model, x, mode="trace").double()
        k0_test = empirical_ntk(model, xt, x, mode="trace").double()
        n = len(x)
        lam = float(torch.linalg.eigvalsh(k0)[-1])
        # The linearized model's loss Hessian is (2/n) K: GD is stable below lr = n / λ_max(K).
        lr = self.step_size * min(1.0, alpha / 0.1) * n / lam
        monitor = KernelDistanceMonitor(x, every=max(1, self.steps // 10))
        recipe = TrainSpec(
            optimizer="sgd",
            lr=lr,
            momentum=0.0,
            batch_size=0,
            epochs=self.steps,
            schedule="constant",
            eval_every=self.steps,
            seed=self.seed,
        )
        fit(subject, recipe, callbacks=[monitor])
        with torch.no_grad():
            net = model(xt).double()
        tau = 2 * lr * self.steps / n
        linear = kernel_regression(k0, y).at_time(tau, k0_test)
        target = data.test.y.double()
        return {
            "alpha": alpha,
            "lr": lr,
            "kernel_distance": monitor.records[-1]["kernel_distance"],
            "parameter_distance": monitor.records[-1]["parameter_distance"],
            "deviation_from_ntk": float((net - linear).norm() / linear.norm()),
            "train_mse": subject.evaluate(split="train").loss,
            "test_mse_network": float((net - target).pow(2).mean()),
            "test_mse_ntk": float((linear - target).pow(2).mean()),
            "trajectory": monitor.records,
        }

    def run(self, ctx: Context) -> ExperimentResult:
        rows = []
        key = {
            k: v for k, v in self.__dict__.items() if k not in ("alphas", "alpha_min", "alpha_max")
        }
        for alpha in ctx.track(self.alpha_values(), "output scales"):
            rows.append(
                ctx.cached("alpha", {**key, "alpha": alpha}, lambda _d, a=alpha: self.train_one(a))
            )
        table = [{k: v for k, v in r.items() if k != "trajectory"} for r in rows]
        return ExperimentResult(
            metrics={"by_alpha": table},
            tables={"per output scale": table},
            figures={"kernel distance and deviation vs α": figure(rows)},
            claims=claims(table),
        )


def claims(rows: list[dict[str, Any]]) -> list[Claim]:
    """The paper's findings, on rows sorted by α (smallest first)."""
    rows = sorted(rows, key=lambda r: r["alpha"])
    rich, lazy = rows[0], rows[-1]
    dist = [r["kernel_distance"] for r in rows]
    dev = [r["deviation_from_ntk"] for r in rows]
    return [
        Claim(
            statement="lazy regime: at the largest α the NTK barely moves (kernel distance < 0.01)",
            passed=bool(lazy["kernel_distance"] < 0.01),
            evidence=f"d(Θ₀, Θ_T) = {lazy['kernel_distance']:.2e} at α = {lazy['alpha']:g}",
            source=SOURCE,
        ),
        Claim(
            statement="rich regime: at the smallest α the NTK moves (kernel distance > 0.1)",
            passed=bool(rich["kernel_distance"] > 0.1),
            evidence=f"d(Θ₀, Θ_T) = {rich['kernel_distance']:.3f} at α = {rich['alpha']:g}",
            source=SOURCE,
        ),
        Claim(
            statement="the kernel moves less and less as α grows (monotone in α)",
            passed=bool(all(a > b for a, b in zip(dist, dist[1:], strict=False))),
            evidence="kernel distance by increasing α: " + ", ".join(f"{d:.2e}" for d in dist),
            source=SOURCE,
        ),
        Claim(
            statement="lazy regime: the trained network is NTK regression (test predictions "
            "within 5% of the linearized model trained as long)",
            passed=bool(lazy["deviation_from_ntk"] < 0.05),
            evidence=f"‖f − f_lin‖/‖f_lin‖ = {lazy['deviation_from_ntk']:.3f} at α = "
            f"{lazy['alpha']:g}",
            source=SOURCE,
        ),
        Claim(
            statement="rich regime: the network departs from NTK regression (deviation > 0.1 and "
            "more than 10x the lazy one)",
            passed=bool(
                rich["deviation_from_ntk"] > 0.1
                and rich["deviation_from_ntk"] > 10 * lazy["deviation_from_ntk"]
            ),
            evidence="deviation by increasing α: " + ", ".join(f"{d:.3f}" for d in dev),
            source=SOURCE,
        ),
    ]


def figure(rows: list[dict[str, Any]]):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = sorted(rows, key=lambda r: r["alpha"])
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    alphas = [r["alpha"] for r in rows]
    axes[0].loglog(alphas, [max(r["kernel_distance"], 1e-12) for r in rows], "o-", label="kernel")
    axes[0].loglog(alphas, [r["parameter_distance"] for r in rows], "s--", label="‖θ−θ₀‖/‖θ₀‖")
    axes[0].loglog(
        alphas, [r["deviation_from_ntk"] for r in rows], "^-", label="‖f − f_NTK‖/‖f_NTK‖"
    )
    axes[0].set(xlabel="output scale α", title="movement after training")
    axes[0].legend(fontsize=8)
    for r in rows:
        traj = r.get("trajectory") or []
        axes[1].semilogy(
            [t["step"] for t in traj][1:],
            [max(t["kernel_distance"], 1e-12) for t in traj][1:],
            ".-",
            label=f"α = {r['alpha']:g}",
        )
    axes[1].set(xlabel="step", ylabel="kernel distance d(Θ₀, Θ_t)", title="during training")
    axes[1].legend(fontsize=8)
    fig.tight_layout()
    return fig
