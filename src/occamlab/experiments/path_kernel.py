"""Every model learned by gradient descent is approximately a kernel machine (Domingos 2020,
arXiv 2012.00152): the path kernel along the trajectory, its O(η) residual, and how far it
is from the NTK at initialization in the lazy and the rich regime.

Along gradient flow the change of the output at any input is exactly a kernel machine over the
training points, ``Δf(x) = Σ_i ∫ Θ_t(x, x_i)(−∂L/∂f(x_i)) dt``, whose kernel is the *path
kernel* ``K(x, x_i) = ∫ Θ_t(x, x_i) dt`` (Domingos's Theorem 1). Gradient descent with step η
discretizes the integral; the kernel machine then misses the network's change by O(η) at a
fixed training time T = η·steps. :mod:`occamlab.probes.kernels.path` accumulates both sums
during training (the loop of :func:`occamlab.train.fit` with a callback; each step's kernel by
:func:`~occamlab.probes.kernels.empirical_ntk`).

The model is the centred, α-scaled MLP of :mod:`occamlab.experiments.lazy_vs_rich`,
``α (h(θ, x) − h(θ₀, x))`` in the NTK parameterization, in float64, trained by full-batch
gradient descent on the mean squared error of a teacher-student task with step
``η = step_size · n / λ_max(Θ₀)`` (the stability limit of the linearized model; ∝ 1/α²), then
with η/2, η/4, … for 2×, 4×, … as many steps (the same training time). Two regimes share each
seed's problem: *lazy* (large α, or a wide network), where the kernel barely moves, so the path
kernel is T·Θ₀; and *rich* (small α, or a narrow network), where it moves along the way.

Each seed draws its own teacher, data and initialization; the claims are t-tests over the seeds,
Holm-corrected together:

* **identity**: at the smallest step, the kernel machine reproduces the network's change on the
  test inputs to within 1% (``‖Δf − KM‖/‖Δf‖``), a one-sample t-test of −log10 of it > 2, in
  each regime;
* **O(η)**: each seed's least-squares slope of log residual against log η is within 1 ± 0.2
  (two one-sided t-tests), in each regime;
* **lazy**: the path kernel is the initial NTK up to scale: the kernel distance of Fort et al.
  d(Θ₀, K) < 10⁻³ (one-sample t-test of −log10 d > 3);
* **rich**: d(Θ₀, K) > 10⁻³, and more than 10× the lazy regime's (paired t-test of the logs).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import torch

from occamlab.data import data_spec, load_data
from occamlab.data.base import Data, Split
from occamlab.experiments.framework import Claim, Context, ExperimentResult, fields_except
from occamlab.experiments.lazy_vs_rich import Centered
from occamlab.experiments.registry import EXPERIMENTS
from occamlab.experiments.stats import compare, exceeds, grouped_mean_std, linear_fit, within
from occamlab.probes.kernels import empirical_ntk
from occamlab.probes.kernels.path import path_kernel
from occamlab.probes.kernels.wide import wide_mlp
from occamlab.subject import Subject
from occamlab.train import TrainSpec

SOURCE = "Domingos 2020, arXiv 2012.00152, Theorem 1"
REGIMES = ("lazy", "rich")
RESIDUAL_CUTOFF = 0.01  # "to within 1%" at the smallest step
SLOPE_TOLERANCE = 0.2  # the residual's order in η: 1 ± 0.2
DISTANCE_CUTOFF = 1e-3  # kernel distance: below when lazy, above when rich


def _float64(data: Data) -> Data:
    return dataclasses.replace(
        data,
        train=Split(data.train.x.double(), data.train.y.double()),
        test=Split(data.test.x.double(), data.test.y.double()),
    )


@EXPERIMENTS.register
@dataclass(frozen=True)
class PathKernel:
    """The path kernel of full-batch gradient descent and its kernel machine, lazy and rich.

    Attributes:
        width_lazy: hidden width of the lazy regime's MLP (NTK parameterization).
        width_rich: hidden width of the rich regime's MLP.
        alpha_lazy: output scale α of the lazy regime (large: lazy).
        alpha_rich: output scale α of the rich regime (small: rich).
        depth: hidden layers.
        activation: the MLP's nonlinearity (smooth, as the theorem's Taylor argument assumes).
        input_dim: input dimension of the teacher-student task (Gaussian inputs).
        teacher_width: hidden width of the one-hidden-layer teacher network.
        num_train: training examples (the kernel machine's points).
        num_test: test inputs at which Δf and the kernel machine are compared.
        steps: gradient-descent steps at the largest step size.
        step_size: the largest step, η·λ_max(Θ₀)/n (relative to the linearized model's
            stability limit).
        step_sizes: number of step sizes, halving from the largest (steps doubling: the same
            training time).
        seeds: independent problems (teacher, data and initialization); the claims are t-tests
            over them.
    """

    name: ClassVar[str] = "path-kernel"
    summary: ClassVar[str] = (
        "Gradient descent's change of the output is a kernel machine with the path kernel "
        "(residual O(η)); the path kernel is the NTK at init when lazy, departs from it when rich"
    )
    paper: ClassVar[str] = "Domingos 2020, arXiv 2012.00152"
    scales: ClassVar[dict[str, dict[str, Any]]] = {
        "quick": {},
        "paper": {
            "width_lazy": 512,
            "width_rich": 512,
            "num_train": 64,
            "num_test": 64,
            "steps": 100,
            "step_sizes": 6,
            "seeds": 20,
        },
    }
    settings: ClassVar[dict[str, dict[str, Any]]] = {
        "width": {
            "width_lazy": 1024,
            "width_rich": 8,
            "alpha_lazy": 1.0,
            "alpha_rich": 1.0,
            "depth": 1,
        },
    }

    width_lazy: int = 128
    width_rich: int = 128
    alpha_lazy: float = 30.0
    alpha_rich: float = 0.1
    depth: int = 2
    activation: Literal["tanh", "erf", "relu"] = "tanh"
    input_dim: int = 8
    teacher_width: int = 16
    num_train: int = 16
    num_test: int = 16
    steps: int = 25
    step_size: float = 0.1
    step_sizes: int = 5
    seeds: int = 8

    def __post_init__(self) -> None:
        sizes = (self.width_lazy, self.width_rich, self.depth, self.input_dim, self.teacher_width)
        if min(*sizes, self.num_train, self.num_test, self.steps, self.seeds) < 1:
            raise ValueError(
                "widths, depth, input_dim, teacher_width, num_train, num_test, steps and seeds "
                "must be positive"
            )
        if self.step_sizes < 3:
            raise ValueError(f"step_sizes must be >= 3 (a slope to test), got {self.step_sizes}")
        if not 0 < self.step_size < 1:
            raise ValueError(f"step_size must be in (0, 1), got {self.step_size}")
        if min(self.alpha_lazy, self.alpha_rich) <= 0:
            raise ValueError("alpha_lazy and alpha_rich must be > 0")

    def regime(self, name: str) -> tuple[int, float]:
        """The (width, α) of a regime."""
        if name == "lazy":
            return self.width_lazy, self.alpha_lazy
        if name == "rich":
            return self.width_rich, self.alpha_rich
        raise ValueError(f"unknown regime {name!r}; valid: {', '.join(REGIMES)}")

    def subject(self, regime: str, seed: int) -> Subject:
        """The seed's teacher-student problem and the regime's centred, α-scaled MLP (float64)."""
        width, alpha = self.regime(regime)
        data = load_data(
            data_spec(
                "teacher",
                input_dim=self.input_dim,
                teacher_width=self.teacher_width,
                num_train=self.num_train,
                num_test=self.num_test,
                seed=seed,
            )
        )
        base = wide_mlp(
            self.input_dim,
            width,
            self.depth,
            1,
            activation=self.activation,
            generator=torch.Generator().manual_seed(seed),
            dtype=torch.float64,
        )
        return Subject(Centered(base, alpha), _float64(data), loss="mse")

    def sweep(self, regime: str, seed: int) -> dict[str, Any]:
        """Train at every step size for the same time; per step size the kernel machine's
        residual and the path kernel's distance to the initial NTK."""
        subject = self.subject(regime, seed)
        x = subject.data.train.x
        k0 = empirical_ntk(subject.model, x, mode="trace").double()
        n = len(x)
        # The linearized model's loss Hessian is (2/n) Θ₀: GD is stable below η = n / λ_max.
        lr = self.step_size * n / float(torch.linalg.eigvalsh(k0)[-1])
        rows, ends = [], []
        for j in range(self.step_sizes):
            recipe = TrainSpec(
                optimizer="sgd",
                lr=lr / 2**j,
                momentum=0.0,
                batch_size=0,
                epochs=self.steps * 2**j,
                schedule="constant",
                eval_every=self.steps * 2**j,
                seed=seed,
            )
            result = path_kernel(subject, recipe)
            rows.append(
                {
                    "regime": regime,
                    "seed": seed,
                    "halvings": j,
                    "lr": recipe.lr,
                    "steps": result.steps,
                    "time": result.time,
                    "residual": result.residual,
                    "initial_ntk_residual": result.initial_residual,
                    "kernel_distance": result.distance_to_initial_ntk,
                    "change_norm": float(result.change.norm()),
                }
            )
            if j in (0, self.step_sizes - 1):
                ends.append(
                    {
                        "halvings": j,
                        "change": result.change[:, 0].tolist(),
                        "prediction": result.prediction[:, 0].tolist(),
                        "initial_prediction": result.initial_prediction[:, 0].tolist(),
                    }
                )
        return {"rows": rows, "scatter": ends}

    def run(self, ctx: Context) -> ExperimentResult:
        common = fields_except(
            self, "seeds", "width_lazy", "width_rich", "alpha_lazy", "alpha_rich"
        )
        runs = [(r, s) for s in range(self.seeds) for r in REGIMES]
        parts = []
        for regime, seed in ctx.track(runs, "regimes and seeds"):
            width, alpha = self.regime(regime)
            key = {**common, "width": width, "alpha": alpha, "seed": seed}
            part = ctx.cached("sweep", key, lambda _d, r=regime, s=seed: self.sweep(r, s))
            parts.append({**part, "regime": regime, "seed": seed})
        # a part is keyed by (width, α), not the regime's name: two regimes may share one
        rows = [{**row, "regime": p["regime"]} for p in parts for row in p["rows"]]
        summary = summarize(rows)
        per_seed = seed_table(rows)
        return ExperimentResult(
            metrics={"by_step": summary, "per_seed": per_seed, "runs": rows},
            tables={
                "per regime and step size (mean ± std over seeds)": summary,
                "per regime and seed": per_seed,
            },
            figures={"kernel-machine residual and path kernel vs NTK": figure(rows, parts)},
            claims=claims(rows),
        )


def summarize(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Mean and standard deviation over seeds per regime and step size."""
    keys = ("lr", "residual", "initial_ntk_residual", "kernel_distance", "change_norm")
    return grouped_mean_std(rows, ["regime", "halvings"], keys, count="seeds")


def seed_table(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per regime and seed: the residual's slope in η, the smallest-step residual and distance."""
    out = []
    for regime in REGIMES:
        for seed in sorted({r["seed"] for r in rows if r["regime"] == regime}):
            rs = sorted(
                (r for r in rows if r["regime"] == regime and r["seed"] == seed),
                key=lambda r: r["halvings"],
            )
            slope, _, r2 = linear_fit(
                [math.log(r["lr"]) for r in rs], [math.log(max(r["residual"], 1e-300)) for r in rs]
            )
            out.append(
                {
                    "regime": regime,
                    "seed": seed,
                    "slope": slope,
                    "slope_r2": r2,
                    "residual_smallest_step": rs[-1]["residual"],
                    "kernel_distance": rs[-1]["kernel_distance"],
                }
            )
    return out


def claims(rows: list[dict[str, Any]]) -> list[Claim]:
    """The theorem's consequences as t-tests over the seeds (see the module docstring)."""
    table = seed_table(rows)

    def of(regime: str, key: str) -> list[float]:
        return [r[key] for r in table if r["regime"] == regime]

    def log(values: list[float]) -> list[float]:
        return [math.log10(max(v, 1e-300)) for v in values]

    def listed(values: list[float], spec: str) -> str:
        return ", ".join(format(v, spec) for v in values)

    out = []
    for regime in REGIMES:
        residual = of(regime, "residual_smallest_step")
        out.append(
            Claim.tested(
                f"{regime} regime: at the smallest step the path-kernel machine reproduces the "
                f"network's change on the test inputs to within {RESIDUAL_CUTOFF:.0%}",
                exceeds(
                    [-v for v in log(residual)],
                    -math.log10(RESIDUAL_CUTOFF),
                    name="−log10 ‖Δf − KM‖/‖Δf‖",
                    hypothesis=f"mean log10 ‖Δf − KM‖/‖Δf‖ < log10 {RESIDUAL_CUTOFF:g}",
                ),
                f"‖Δf − KM‖/‖Δf‖ at the smallest step, per seed: {listed(residual, '.2e')}",
                SOURCE,
            )
        )
    for regime in REGIMES:
        slopes = of(regime, "slope")
        out.append(
            Claim.tested(
                f"{regime} regime: the kernel machine's residual shrinks like O(η) at a fixed "
                f"training time (log-log slope within 1 ± {SLOPE_TOLERANCE:g})",
                within(
                    slopes,
                    1.0,
                    SLOPE_TOLERANCE,
                    name="slope of log residual on log η",
                    hypothesis=f"|mean slope − 1| < {SLOPE_TOLERANCE:g}",
                ),
                f"slope per seed: {listed(slopes, '.3f')}",
                SOURCE,
            )
        )
    lazy, rich = of("lazy", "kernel_distance"), of("rich", "kernel_distance")
    cut = -math.log10(DISTANCE_CUTOFF)
    out += [
        Claim.tested(
            f"lazy regime: the path kernel is the NTK at initialization integrated over time "
            f"(kernel distance d(Θ₀, K) < {DISTANCE_CUTOFF:g})",
            exceeds(
                [-v for v in log(lazy)],
                cut,
                name="−log10 d(Θ₀, K)",
                hypothesis=f"mean log10 d(Θ₀, K) < {-cut:g}",
            ),
            f"d(Θ₀, K) per seed: {listed(lazy, '.2e')}",
            SOURCE,
        ),
        Claim.tested(
            f"rich regime: the path kernel departs from the NTK at initialization "
            f"(d(Θ₀, K) > {DISTANCE_CUTOFF:g})",
            exceeds(
                log(rich),
                -cut,
                name="log10 d(Θ₀, K)",
                hypothesis=f"mean log10 d(Θ₀, K) > {-cut:g}",
            ),
            f"d(Θ₀, K) per seed: {listed(rich, '.2e')}",
            SOURCE,
        ),
        Claim.tested(
            "the rich path kernel is more than 10x farther from the initial NTK than the lazy one",
            compare(
                log(rich),
                log(lazy),
                margin=1.0,
                paired=True,
                names=("log10 d rich", "log10 d lazy"),
                hypothesis="mean log10 (d rich / d lazy) > 1",
            ),
            "d(Θ₀, K) rich / lazy per seed: "
            + listed([r / max(lz, 1e-300) for r, lz in zip(rich, lazy, strict=True)], ".3g"),
            SOURCE,
        ),
    ]
    return out


def figure(rows: list[dict[str, Any]], parts: list[dict[str, Any]]):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(14, 4))
    colors = {"lazy": "tab:blue", "rich": "tab:red"}
    ax = axes[0]
    for regime in REGIMES:
        seeds = sorted({r["seed"] for r in rows if r["regime"] == regime})
        for i, seed in enumerate(seeds):
            rs = sorted(
                (r for r in rows if r["regime"] == regime and r["seed"] == seed),
                key=lambda r: r["halvings"],
            )
            rel = [r["lr"] / rs[0]["lr"] for r in rs]
            ax.loglog(
                rel,
                [r["residual"] for r in rs],
                "o-",
                color=colors[regime],
                alpha=0.5,
                ms=3,
                label=regime if i == 0 else None,
            )
    ax.loglog([1 / 16, 1], [1e-5 / 16, 1e-5], "k--", label="slope 1")
    ax.set(xlabel="η / η_max (same training time)", ylabel="‖Δf − KM‖ / ‖Δf‖")
    ax.set_title("kernel-machine residual is O(η)")
    ax.legend(fontsize=8)

    ax = axes[1]
    first = min(p["seed"] for p in parts)
    rich = next(p for p in parts if p["regime"] == "rich" and p["seed"] == first)
    end = rich["scatter"][-1]
    ax.plot(end["change"], end["prediction"], "o", mfc="none", label="path kernel Σ η Θ_t")
    ax.plot(end["change"], end["initial_prediction"], "x", label="initial NTK Σ η Θ₀")
    lim = [min(end["change"]), max(end["change"])]
    ax.plot(lim, lim, "k:", lw=1)
    ax.set(xlabel="network's change Δf(x)", ylabel="kernel machine Σ_t η Σ_i K(x, x_i)(−∂L/∂f_i)")
    ax.set_title(f"rich regime, seed {first}, test inputs, η / {2 ** end['halvings']}")
    ax.legend(fontsize=8)

    ax = axes[2]
    table = seed_table(rows)
    for i, regime in enumerate(REGIMES):
        ds = [r["kernel_distance"] for r in table if r["regime"] == regime]
        ax.semilogy([i] * len(ds), ds, "o", color=colors[regime], alpha=0.7)
    ax.axhline(DISTANCE_CUTOFF, color="k", ls="--", lw=1)
    ax.set_xticks(range(len(REGIMES)), REGIMES)
    ax.set_xlim(-0.5, len(REGIMES) - 0.5)
    ax.set(ylabel="kernel distance d(Θ₀, path kernel)")
    ax.set_title("path kernel vs NTK at initialization")
    fig.tight_layout()
    return fig
