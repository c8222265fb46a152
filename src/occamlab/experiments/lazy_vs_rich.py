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

Each seed draws its own teacher-student problem and initialization; the claims are t-tests over
the seeds (Holm-corrected together): a cut-off on a quantity at the smallest or largest α is a
one-sample t-test of its log10 with the cut-off as the margin, the lazy/rich ratio of deviations
a paired t-test of the logs, and "the kernel moves less as α grows" a slope t-test of log10
kernel distance against log10 α over every (α, seed) point.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import torch
from torch import nn

from occamlab.data import data_spec, load_data
from occamlab.experiments.framework import Claim, Context, ExperimentResult, fields_except
from occamlab.experiments.registry import EXPERIMENTS
from occamlab.experiments.stats import compare, exceeds, grouped_mean_std, mean_std, trend
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
        input_dim: input dimension of the teacher-student task (Gaussian inputs).
        teacher_width: hidden width of the one-hidden-layer teacher network.
        num_train: teacher-student training examples.
        num_test: test examples.
        steps: full-batch gradient-descent steps.
        step_size: η·λ_max/n, the step relative to the stability limit of the linearized model
            (reduced in proportion to α below α = damp_below, where the nonlinearity
            destabilizes GD).
        damp_below: the α below which the step is reduced in proportion to α.
        seeds: independent problems (teacher, data and initialization); the claims are t-tests
            over them.
    """

    name: ClassVar[str] = "lazy-vs-rich"
    summary: ClassVar[str] = (
        "Large output scale: the NTK stays put and the net is kernel regression; small: it moves"
    )
    paper: ClassVar[str] = "Chizat, Oyallon & Bach 2019, arXiv 1812.07956"
    scales: ClassVar[dict[str, dict[str, Any]]] = {
        "quick": {},
        "paper": {
            "alphas": 9,
            "alpha_min": 0.01,
            "width": 1024,
            "num_train": 256,
            "steps": 10000,
        },
    }
    settings: ClassVar[dict[str, dict[str, Any]]] = {
        "tanh": {"activation": "tanh", "input_dim": 16, "teacher_width": 32},
    }

    alphas: int = 5
    alpha_min: float = 0.03
    alpha_max: float = 100.0
    width: int = 128
    depth: int = 2
    activation: Literal["relu", "tanh", "erf"] = "relu"
    input_dim: int = 8
    teacher_width: int = 16
    num_train: int = 100
    num_test: int = 200
    steps: int = 2000
    step_size: float = 0.5
    damp_below: float = 0.3
    seeds: int = 10

    def __post_init__(self) -> None:
        if self.alphas < 2 or not 0 < self.alpha_min < self.alpha_max:
            raise ValueError("lazy-vs-rich needs alphas >= 2 and 0 < alpha_min < alpha_max")
        sizes = (self.width, self.depth, self.input_dim, self.teacher_width, self.num_train)
        if min(*sizes, self.num_test, self.steps, self.seeds) < 1:
            raise ValueError(
                "width, depth, input_dim, teacher_width, num_train, num_test, steps and seeds "
                "must be positive"
            )
        if self.damp_below <= 0:
            raise ValueError(f"damp_below must be > 0, got {self.damp_below}")
        if not 0 < self.step_size < 1:
            raise ValueError(f"step_size must be in (0, 1), got {self.step_size}")

    def alpha_values(self) -> list[float]:
        lo, hi = math.log10(self.alpha_min), math.log10(self.alpha_max)
        return [
            round(10 ** (lo + (hi - lo) * i / (self.alphas - 1)), 6) for i in range(self.alphas)
        ]

    def data(self, seed: int):
        return data_spec(
            "teacher",
            input_dim=self.input_dim,
            teacher_width=self.teacher_width,
            num_train=self.num_train,
            num_test=self.num_test,
            seed=seed,
        )

    def train_one(self, alpha: float, seed: int) -> dict[str, Any]:
        """Train the α-scaled model; kernel distance, deviation from NTK regression, errors."""
        data = load_data(self.data(seed))
        base = wide_mlp(
            self.input_dim,
            self.width,
            self.depth,
            1,
            activation=self.activation,
            generator=torch.Generator().manual_seed(seed),
        )
        model = Centered(base, alpha)
        subject = Subject(model, data, loss="mse")
        x, y, xt = data.train.x, data.train.y, data.test.x
        k0 = empirical_ntk(model, x, mode="trace").double()
        k0_test = empirical_ntk(model, xt, x, mode="trace").double()
        n = len(x)
        lam = float(torch.linalg.eigvalsh(k0)[-1])
        # The linearized model's loss Hessian is (2/n) K: GD is stable below lr = n / λ_max(K).
        lr = self.step_size * min(1.0, alpha / self.damp_below) * n / lam
        monitor = KernelDistanceMonitor(x, every=max(1, self.steps // 10))
        recipe = TrainSpec(
            optimizer="sgd",
            lr=lr,
            momentum=0.0,
            batch_size=0,
            epochs=self.steps,
            schedule="constant",
            eval_every=self.steps,
            seed=seed,
        )
        fit(subject, recipe, callbacks=[monitor])
        with torch.no_grad():
            net = model(xt).double()
        tau = 2 * lr * self.steps / n
        linear = kernel_regression(k0, y).at_time(tau, k0_test)
        target = data.test.y.double()
        return {
            "alpha": alpha,
            "seed": seed,
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
        key = fields_except(self, "alphas", "alpha_min", "alpha_max", "seeds")
        runs = [(a, s) for s in range(self.seeds) for a in self.alpha_values()]
        rows = [
            ctx.cached(
                "alpha",
                {**key, "alpha": a, "seed": s},
                lambda _d, a=a, s=s: self.train_one(a, s),
            )
            for a, s in ctx.track(runs, "output scales and seeds")
        ]
        table = [{k: v for k, v in r.items() if k != "trajectory"} for r in rows]
        by_alpha = summarize(table)
        return ExperimentResult(
            metrics={"by_alpha": by_alpha, "runs": table},
            tables={"per output scale (mean ± std over seeds)": by_alpha, "per run": table},
            figures={"kernel distance and deviation vs α": figure(rows)},
            claims=claims(table),
        )


MEASURES = ("kernel_distance", "parameter_distance", "deviation_from_ntk")


def summarize(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Mean and standard deviation over seeds of each measure, per α (smallest first)."""
    keys = (*MEASURES, "test_mse_network", "test_mse_ntk")
    return sorted(grouped_mean_std(rows, ["alpha"], keys, count="seeds"), key=lambda r: r["alpha"])


def claims(rows: list[dict[str, Any]]) -> list[Claim]:
    """The paper's findings as t-tests over the seeds, on one row per (α, seed): cut-offs on
    the kernel distance and the deviation from NTK regression at the smallest (rich) and largest
    (lazy) α are one-sample t-tests of their log10 (the cut-off as margin); the rich/lazy ratio
    of deviations is a paired t-test of the logs (each seed's runs share its problem); "less and
    less as α grows" is a slope t-test over every (α, seed) point."""
    alphas = sorted({r["alpha"] for r in rows})
    lo, hi = alphas[0], alphas[-1]

    def at(alpha: float, key: str) -> list[float]:
        return [r[key] for r in sorted(rows, key=lambda r: r["seed"]) if r["alpha"] == alpha]

    def listed(values: list[float], spec: str) -> str:
        return ", ".join(format(v, spec) for v in values)

    def by_alpha(key: str, spec: str) -> str:
        means = (mean_std([r[key] for r in rows if r["alpha"] == a])[0] for a in alphas)
        return ", ".join(format(m, spec) for m in means)

    def log(values: list[float]) -> list[float]:
        return [math.log10(max(v, 1e-300)) for v in values]

    dist_lazy, dist_rich = at(hi, "kernel_distance"), at(lo, "kernel_distance")
    dev_lazy, dev_rich = at(hi, "deviation_from_ntk"), at(lo, "deviation_from_ntk")
    points = sorted(rows, key=lambda r: (r["alpha"], r["seed"]))
    return [
        Claim.tested(
            "lazy regime: at the largest α the NTK barely moves (kernel distance < 0.01)",
            exceeds(
                [-v for v in log(dist_lazy)],
                2.0,
                name="−log10 d(Θ₀, Θ_T)",
                hypothesis=f"mean log10 d(Θ₀, Θ_T) at α = {hi:g} < −2",
            ),
            f"d(Θ₀, Θ_T) at α = {hi:g}, per seed: {listed(dist_lazy, '.2e')}",
            SOURCE,
        ),
        Claim.tested(
            "rich regime: at the smallest α the NTK moves (kernel distance > 0.1)",
            exceeds(
                log(dist_rich),
                -1.0,
                name="log10 d(Θ₀, Θ_T)",
                hypothesis=f"mean log10 d(Θ₀, Θ_T) at α = {lo:g} > −1",
            ),
            f"d(Θ₀, Θ_T) at α = {lo:g}, per seed: {listed(dist_rich, '.3f')}",
            SOURCE,
        ),
        Claim.tested(
            "the kernel moves less and less as α grows (log kernel distance falls with log α)",
            trend(
                [math.log10(r["alpha"]) for r in points],
                [-v for v in log([r["kernel_distance"] for r in points])],
                name="−log10 d(Θ₀, Θ_T)",
                hypothesis="slope of log10 d(Θ₀, Θ_T) against log10 α < 0",
            ),
            "kernel distance by increasing α (mean over seeds): "
            + by_alpha("kernel_distance", ".2e"),
            SOURCE,
        ),
        Claim.tested(
            "lazy regime: the trained network is NTK regression (test predictions within 5% of "
            "the linearized model trained as long)",
            exceeds(
                [-v for v in log(dev_lazy)],
                -math.log10(0.05),
                name="−log10 ‖f − f_lin‖/‖f_lin‖",
                hypothesis=f"mean log10 ‖f − f_lin‖/‖f_lin‖ at α = {hi:g} < log10 0.05",
            ),
            f"‖f − f_lin‖/‖f_lin‖ at α = {hi:g}, per seed: {listed(dev_lazy, '.3f')}",
            SOURCE,
        ),
        Claim.tested(
            "rich regime: the network departs from NTK regression (deviation > 0.1)",
            exceeds(
                log(dev_rich),
                -1.0,
                name="log10 ‖f − f_lin‖/‖f_lin‖",
                hypothesis=f"mean log10 ‖f − f_lin‖/‖f_lin‖ at α = {lo:g} > −1",
            ),
            f"‖f − f_lin‖/‖f_lin‖ at α = {lo:g}, per seed: {listed(dev_rich, '.3f')}",
            SOURCE,
        ),
        Claim.tested(
            "the rich network departs more than 10x as far from NTK regression as the lazy one",
            compare(
                log(dev_rich),
                log(dev_lazy),
                margin=1.0,
                paired=True,
                names=(f"log10 deviation at α = {lo:g}", f"log10 deviation at α = {hi:g}"),
                hypothesis="mean log10 (rich deviation / lazy deviation) > 1",
            ),
            "deviation by increasing α (mean over seeds): " + by_alpha("deviation_from_ntk", ".3f"),
            SOURCE,
        ),
    ]


def figure(rows: list[dict[str, Any]]):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    means = summarize(rows)
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    alphas = [r["alpha"] for r in means]
    for key, style, label in zip(
        MEASURES, ("o-", "s--", "^-"), ("kernel", "‖θ−θ₀‖/‖θ₀‖", "‖f − f_NTK‖/‖f_NTK‖"), strict=True
    ):
        axes[0].errorbar(
            alphas,
            [max(r[key], 1e-12) for r in means],
            yerr=[r[f"{key}_std"] for r in means],
            fmt=style,
            label=label,
        )
    axes[0].set(xscale="log", yscale="log", xlabel="output scale α")
    axes[0].set_title("movement after training (mean ± std over seeds)")
    axes[0].legend(fontsize=8)
    first = min(r["seed"] for r in rows)
    for r in sorted((r for r in rows if r["seed"] == first), key=lambda r: r["alpha"]):
        traj = r.get("trajectory") or []
        axes[1].semilogy(
            [t["step"] for t in traj][1:],
            [max(t["kernel_distance"], 1e-12) for t in traj][1:],
            ".-",
            label=f"α = {r['alpha']:g}",
        )
    axes[1].set(xlabel="step", ylabel="kernel distance d(Θ₀, Θ_t)")
    axes[1].set_title(f"during training (seed {first})")
    axes[1].legend(fontsize=8)
    fig.tight_layout()
    return fig
