"""Memorization capacity: 2n + d weights fit any n points (Zhang et al. 2017, Theorem 1), and
over-specified students reach a random teacher's global optimum (Livni, Shalev-Shwartz & Shamir
2014).

(a) The construction of Zhang et al.'s Theorem 1
(:mod:`occamlab.probes.memorization.interpolation`): a depth-2 ReLU network with 2n + d
weights whose hidden units share one random direction ``a``, kinks ``b_j`` interleaving the
sorted projections ``⟨a, x_i⟩``, and output weights solving the lower-triangular system
``A w = y``. It is built in float64 for nested samples of n = min_points, 4·min_points, … up to
max_points points of: Gaussian inputs in ``input_dim`` dimensions with Gaussian targets, and
subsets of real data sets (scikit-learn's digits, MNIST-1D) with their true labels and with
uniformly random labels; every construction seed draws a new direction, subset and random
labels. Each network is evaluated on its own sample: its weight count, the triangular
structure, the largest residual against the a-priori float64 rounding bound, whether rounding
its outputs recovers every label, and the condition number of ``A``. A 1-D example (n points
on a line) is drawn: the fitted piecewise-linear function through the points.

(b) The folklore experiment on over-specification (Livni et al. 2014): targets are the
outputs of a random bias-free teacher ``f(x) = Σ_{i≤k} v_i φ(⟨u_i, x⟩)`` with k hidden units on
Gaussian inputs (the ``teacher`` data set); students of width m = k, 2k, 4k, … up to
``max_factor``·k (one hidden layer, biases) are trained on them with full-batch Adam through the
package's training loop, the seeds of one width as one vectorized ensemble. A student of width
m ≥ k contains the teacher, so the global minimum of the training loss is 0; a seed *reaches* it
when its final training loss is below ``success_loss`` times the targets' variance.

Claims. The construction's structure (2n + d weights, triangular with a positive diagonal) and
its exact label recovery are checks on every construction (deterministic once drawn). That the
residual is at float64 rounding is a one-sample t-test over construction seeds of each seed's
worst log₁₀(residual / rounding bound) below 0. That the triangular system's condition number
grows faster than n² is a slope t-test of log₁₀ κ on log₁₀ n over every construction (the
smallest gap of n random projections is about range/n², and κ(A) ≳ n·range/min gap). That the
final training loss falls with over-specification is a slope t-test of log₁₀(final loss /
variance) on log₂(m/k) over every (width, seed); that more seeds reach the global optimum at the
widest student than at m = k is a permutation test of the difference of the success fractions
(a Monte-Carlo form of Fisher's exact test: the permutations of the seeds' 0/1 outcomes keep
the total number of successes). Holm-corrected together.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import torch

from occamlab.data import DATASETS, data_spec, load_data
from occamlab.data.rng import torch_generator
from occamlab.experiments.framework import Claim, Context, ExperimentResult, fields_except
from occamlab.experiments.registry import EXPERIMENTS
from occamlab.experiments.stats import exceeds, grouped_mean_std, permutation, trend
from occamlab.models import model_spec
from occamlab.probes.memorization.interpolation import check_interpolant, interpolant
from occamlab.train import TrainSpec

ZHANG = "Zhang et al. 2017, arXiv 1611.03530, Theorem 1 (proof in the appendix)"
LIVNI = "Livni, Shalev-Shwartz & Shamir 2014, arXiv 1410.1141, over-specification"
NUMERICS = "float64 rounding of the construction (forward substitution, backward stable)"
ACTIVATIONS = ("relu", "tanh")


@EXPERIMENTS.register
@dataclass(frozen=True)
class MemorizationCapacity:
    """2n + d weights memorize any n points, built and verified in float64; over-specified
    students reach a random teacher's global optimum more often.

    Attributes:
        seeds: students per width (initialization seeds; the width claims are tests over them).
        construction_seeds: draws of the construction per sample (direction, subset, random
            labels and Gaussian data).
        min_points: smallest sample the construction is built for.
        max_points: largest (sizes grow ×4 from min_points).
        input_dim: dimension of the Gaussian inputs (construction and teacher).
        datasets: real data sets for the construction, comma-separated registry names (each
            with at least max_points training examples).
        kink_position: θ ∈ (0, 1), where each kink sits in the gap before its point.
        line_points: points of the 1-D example drawn in the figure.
        teacher_width: hidden units k of the random teacher.
        max_factor: students of width k, 2k, 4k, … up to max_factor·k (a power of 2).
        activation: teacher's and students' activation, ``relu`` or ``tanh``.
        num_train: training examples of the teacher.
        num_test: test examples (the students' distance to the teacher, reported).
        teacher_seed: seed of the teacher and its inputs.
        steps: full-batch Adam steps per student.
        lr: Adam's learning rate (constant).
        success_loss: a student reaches the global optimum (0) when its final training loss is
            below this fraction of the targets' variance.
    """

    name: ClassVar[str] = "memorization-capacity"
    summary: ClassVar[str] = (
        "2n + d weights fit any n points (Zhang et al.'s construction, verified in float64, κ "
        "grows faster than n²); students wider than a random teacher reach its global optimum "
        "more often"
    )
    paper: ClassVar[str] = (
        "Zhang et al. 2017, arXiv 1611.03530; Livni, Shalev-Shwartz & Shamir 2014, arXiv 1410.1141"
    )
    scales: ClassVar[dict[str, dict[str, Any]]] = {
        "quick": {},
        "paper": {
            "seeds": 32,
            "construction_seeds": 10,
            "teacher_width": 16,
            "num_train": 4000,
            "steps": 10000,
        },
    }
    settings: ClassVar[dict[str, dict[str, Any]]] = {
        "small-teacher": {"input_dim": 8, "teacher_width": 6, "kink_position": 0.1},
    }

    seeds: int = 16
    construction_seeds: int = 5
    min_points: int = 16
    max_points: int = 1024
    input_dim: int = 10
    datasets: str = "digits,mnist1d"
    kink_position: float = 0.5
    line_points: int = 12
    teacher_width: int = 8
    max_factor: int = 8
    activation: str = "relu"
    num_train: int = 1000
    num_test: int = 1000
    teacher_seed: int = 0
    steps: int = 3000
    lr: float = 0.01
    success_loss: float = 1e-4

    def __post_init__(self) -> None:
        if self.seeds < 1 or self.construction_seeds < 1:
            raise ValueError("memorization-capacity needs seeds >= 1 and construction_seeds >= 1")
        if not 2 <= self.min_points <= self.max_points:
            raise ValueError("need 2 <= min_points <= max_points")
        if self.max_factor < 2 or self.max_factor & (self.max_factor - 1):
            raise ValueError(f"max_factor must be a power of 2 >= 2, got {self.max_factor}")
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {', '.join(ACTIVATIONS)}")
        if not 0.0 < self.kink_position < 1.0:
            raise ValueError(f"kink_position must lie in (0, 1), got {self.kink_position}")
        if self.line_points < 2 or self.success_loss <= 0:
            raise ValueError("need line_points >= 2 and success_loss > 0")
        for name in self.dataset_names():
            if name not in DATASETS.names():
                raise ValueError(f"unknown data set {name!r}; valid: {', '.join(DATASETS.names())}")

    def dataset_names(self) -> list[str]:
        return [s.strip() for s in self.datasets.split(",") if s.strip()]

    def sizes(self) -> list[int]:
        """n = min_points, 4·min_points, … up to max_points."""
        out, n = [], self.min_points
        while n <= self.max_points:
            out.append(n)
            n *= 4
        return out

    def widths(self) -> list[int]:
        """m = k, 2k, 4k, … up to max_factor·k."""
        return [self.teacher_width * 2**j for j in range(int(math.log2(self.max_factor)) + 1)]

    def run(self, ctx: Context) -> ExperimentResult:
        key = fields_except(
            self,
            "seeds",
            "construction_seeds",
            "teacher_width",
            "max_factor",
            "activation",
            "num_train",
            "num_test",
            "teacher_seed",
            "steps",
            "lr",
            "success_loss",
            "line_points",
        )
        built, loaded = [], {}  # the real data sets, loaded once for every draw that needs them
        for seed in ctx.track(range(self.construction_seeds), "constructions"):
            part = ctx.cached(
                "constructions",
                {**key, "seed": seed},
                lambda _, s=seed: self._construct(s, loaded),
            )
            built += part["rows"]
        line = ctx.cached(
            "line",
            {"points": self.line_points, "kink_position": self.kink_position},
            lambda _: line_example(self.line_points, self.kink_position),
        )
        students = self._students(ctx)
        summary = summarize(built, students, widths=self.widths())
        return ExperimentResult(
            metrics=summary,
            tables={
                "constructions": built,
                "constructions by sample and n": grouped_mean_std(
                    built,
                    ["sample", "labels", "n"],
                    ["log10_condition", "log10_relative_residual", "log10_residual_to_bound"],
                    count="draws",
                ),
                "students": students,
                "students by width": summary["by_width"],
                "1-D example": line["rows"],
            },
            figures={"memorization capacity": figure(line, built, students, summary, self)},
            claims=claims(built, students, summary, self),
        )

    # --- (a) the construction ----------------------------------------------------------------

    def _samples(
        self, seed: int, loaded: dict[str, Any]
    ) -> list[tuple[str, str, torch.Tensor, torch.Tensor]]:
        """(sample, labels, inputs, targets) of max_points points each, drawn for ``seed``."""
        n = self.max_points
        gen = torch_generator(seed, "memorization-capacity/gaussian")
        x = torch.randn(n, self.input_dim, generator=gen, dtype=torch.float64)
        y = torch.randn(n, generator=gen, dtype=torch.float64)
        out = [("gaussian", "gaussian", x, y)]
        for name in self.dataset_names():
            if name not in loaded:
                loaded[name] = load_data(data_spec(name)).train
            data = loaded[name]
            if data.x.shape[0] < n:
                raise ValueError(f"{name} has {data.x.shape[0]} training examples < max_points {n}")
            gen = torch_generator(seed, f"memorization-capacity/{name}")
            subset = torch.randperm(data.x.shape[0], generator=gen)[:n]
            x = data.x[subset].reshape(n, -1).to(torch.float64)
            labels = data.y[subset]
            classes = int(data.y.max()) + 1
            random = torch.randint(0, classes, (n,), generator=gen)
            out += [(name, "true", x, labels), (name, "random", x, random)]
        return out

    def _construct(self, seed: int, loaded: dict[str, Any]) -> dict[str, Any]:
        rows = []
        for sample, labels, x, y in self._samples(seed, loaded):
            for n in self.sizes():
                gen = torch_generator(seed, f"memorization-capacity/direction/{sample}/{n}")
                net = interpolant(x[:n], y[:n], kink_position=self.kink_position, generator=gen)
                check = check_interpolant(net, x[:n], y[:n])
                rows.append({"sample": sample, "labels": labels, "seed": seed, **_row(check)})
        return {"rows": rows}

    # --- (b) students of a random teacher ----------------------------------------------------

    def teacher(self) -> Any:
        return data_spec(
            "teacher",
            input_dim=self.input_dim,
            teacher_width=self.teacher_width,
            teacher_depth=1,
            activation=self.activation,
            num_train=self.num_train,
            num_test=self.num_test,
            seed=self.teacher_seed,
        )

    def _students(self, ctx: Context) -> list[dict[str, Any]]:
        from occamlab.runs import TrainJob

        data = self.teacher()
        # full batch: the data order (TrainSpec.seed) plays no part, so every seed of a width
        # shares one recipe and the width's seeds train as one vectorized ensemble
        recipe = TrainSpec(
            optimizer="adam",
            lr=self.lr,
            batch_size=0,
            epochs=0,
            max_steps=self.steps,
            schedule="constant",
            eval_every=self.steps,
            seed=0,
        )
        runs = [(m, s) for m in self.widths() for s in range(self.seeds)]
        jobs = [
            TrainJob(
                model=model_spec("mlp", width=m, depth=1, activation=self.activation),
                data=data,
                train=recipe,
                seed=s,
            )
            for m, s in runs
        ]
        trained = ctx.train_many(jobs)
        y = trained[0].subject.split("train").y.to(torch.float64)
        variance = float(y.var(unbiased=False))
        test_var = float(trained[0].subject.split("test").y.to(torch.float64).var(unbiased=False))
        rows = []
        for (m, s), t in zip(runs, trained, strict=True):
            metrics = t.record.metrics
            relative = float(metrics["train_loss"]) / variance
            rows.append(
                {
                    "width": m,
                    "factor": m // self.teacher_width,
                    "seed": s,
                    "parameters": metrics["num_parameters"],
                    "train_loss": float(metrics["train_loss"]),
                    "relative_loss": relative,
                    "log10_relative_loss": math.log10(max(relative, 1e-30)),
                    "relative_test_loss": float(metrics["test_loss"]) / test_var,
                    "reached": relative < self.success_loss,
                    "steps": metrics["steps"],
                }
            )
        return rows


def _row(check: Any) -> dict[str, Any]:
    d = check.to_dict()
    d["log10_condition"] = math.log10(d["condition_number"])
    d["log10_relative_residual"] = math.log10(max(d["relative_residual"], 1e-300))
    d["log10_residual_to_bound"] = math.log10(max(d["max_residual"], 1e-300) / d["rounding_bound"])
    return d


def line_example(points: int, kink_position: float, *, seed: int = 0) -> dict[str, Any]:
    """The construction on ``points`` random points of a line (d = 1): the points, the kinks,
    the weights, the check, and the fitted function on a grid."""
    gen = torch_generator(seed, "memorization-capacity/line")
    x = torch.sort(torch.rand(points, generator=gen, dtype=torch.float64) * 2 - 1).values
    y = torch.randn(points, generator=gen, dtype=torch.float64)
    net = interpolant(x[:, None], y, kink_position=kink_position, generator=gen)
    check = check_interpolant(net, x[:, None], y)
    grid = torch.linspace(float(x[0]) - 0.05, float(x[-1]) + 0.05, 961, dtype=torch.float64)
    with torch.no_grad():
        f = net(grid[:, None])
        z, a = x * net.direction[0], float(net.direction[0])
        kinks_x = net.kinks / a
    rows = [
        {"x": float(xi), "y": float(yi), "f(x)": float(fi)}
        for xi, yi, fi in zip(x, y, net(x[:, None]).detach(), strict=True)
    ]
    return {
        "rows": rows,
        "kinks": [float(k) for k in kinks_x],
        "weights": [float(w) for w in net.weights.detach()],
        "grid": grid.tolist(),
        "f": f.tolist(),
        "projection_sign": 1.0 if a > 0 else -1.0,
        "num_weights": net.num_weights,
        "check": _row(check),
        "span": float(z.max() - z.min()),
    }


def summarize(
    built: list[dict[str, Any]], students: list[dict[str, Any]], *, widths: list[int]
) -> dict[str, Any]:
    """Headline numbers: the constructions' worst residuals and largest κ, how the residual
    and κ scale with n, and the students' loss and success fraction per width."""
    gauss = [b for b in built if b["sample"] == "gaussian"]
    by_width = grouped_mean_std(
        students, ["width", "factor"], ["log10_relative_loss", "relative_test_loss"], count="seeds"
    )
    for row in by_width:
        mine = [s for s in students if s["width"] == row["width"]]
        row["reached"] = sum(s["reached"] for s in mine)
        row["success_fraction"] = row["reached"] / len(mine)
        row["median_relative_loss"] = float(np.median([s["relative_loss"] for s in mine]))
        low, high = _clopper_pearson(row["reached"], len(mine))
        row["success_low"], row["success_high"] = low, high
    largest = max(b["n"] for b in built)
    # how the worst relative residual grows with n (Gaussian data): its log-log slope, and the
    # n at which that line reaches 0.5 (a label would no longer round to itself) if it goes on
    ns = sorted({b["n"] for b in gauss})
    worst = [max(b["log10_relative_residual"] for b in gauss if b["n"] == n) for n in ns]
    slope, intercept = np.polyfit(np.log10(ns), worst, 1)
    fails_at = 10 ** ((math.log10(0.5) - intercept) / slope) if slope > 0 else math.inf
    return {
        "constructions": len(built),
        "all_exact": all(b["exact"] for b in built),
        "weights_2n_plus_d": all(b["num_weights"] == 2 * b["n"] + b["d"] for b in built),
        "triangular": all(b["lower_triangular"] and b["min_diagonal"] > 0 for b in built),
        "labels_recovered": all(b["labels_recovered"] is not False for b in built),
        "max_relative_residual": max(b["relative_residual"] for b in built),
        "max_residual_to_bound": max(10 ** b["log10_residual_to_bound"] for b in built),
        "largest_n": largest,
        "max_condition": max(b["condition_number"] for b in built),
        "max_condition_at_largest_n": {
            f"{b['sample']}/{b['labels']}": max(
                c["condition_number"]
                for c in built
                if c["n"] == largest and c["sample"] == b["sample"] and c["labels"] == b["labels"]
            )
            for b in built
        },
        "residual_slope": float(slope),
        "float64_fails_near_n": float(fails_at),
        "widths": widths,
        "by_width": by_width,
    }


def _clopper_pearson(k: int, n: int, alpha: float = 0.05) -> tuple[float, float]:
    """Exact (Clopper–Pearson) interval of a binomial proportion."""
    from scipy import stats

    ci = stats.binomtest(k, n).proportion_ci(1 - alpha, method="exact")
    return float(ci.low), float(ci.high)


def claims(
    built: list[dict[str, Any]],
    students: list[dict[str, Any]],
    s: dict[str, Any],
    spec: MemorizationCapacity,
) -> list[Claim]:
    """Checks on every construction, tests over construction seeds and student seeds."""
    ns = sorted({b["n"] for b in built})
    samples = sorted({f"{b['sample']}/{b['labels']}" for b in built})
    seeds = sorted({b["seed"] for b in built})
    worst = [max(b["log10_residual_to_bound"] for b in built if b["seed"] == sd) for sd in seeds]
    out = [
        Claim(
            "a depth-2 ReLU network with 2n + d weights fits every sample: lower-triangular "
            "system with a positive diagonal",
            passed=s["weights_2n_plus_d"] and s["triangular"],
            evidence=f"{s['constructions']} constructions (n = {', '.join(map(str, ns))}; "
            f"{', '.join(samples)}; {len(seeds)} draws each): every one has 2n + d weights and a "
            "lower-triangular A with a positive diagonal",
            source=ZHANG,
        ),
        Claim(
            "zero training error on real data with true and with random labels: every output "
            "rounds to its label",
            passed=s["labels_recovered"],
            evidence=f"largest relative residual {s['max_relative_residual']:.1e} over every "
            f"construction (at n = {s['largest_n']}); labels recovered exactly in every "
            "construction on labelled data",
            source=f"{ZHANG}; Zhang et al. 2017, §2 (random labels)",
        ),
        Claim.tested(
            "the residual is at float64 rounding (below the a-priori rounding bound)",
            exceeds(
                [-v for v in worst],
                0.0,
                name="−max log10(residual / rounding bound)",
                hypothesis="mean over draws of max log10(residual / rounding bound) < 0",
            ),
            "worst log10(residual / bound) per draw: "
            + ", ".join(f"{v:.2f}" for v in worst)
            + f"; largest ratio {s['max_residual_to_bound']:.1e}",
            NUMERICS,
        ),
        Claim.tested(
            "the triangular system's condition number grows faster than n²",
            trend(
                [math.log10(b["n"]) for b in built],
                [b["log10_condition"] for b in built],
                margin=2.0,
                name="log10 κ(A)",
                hypothesis="slope of log10 κ(A) against log10 n > 2",
            ),
            "largest κ at n = "
            + f"{s['largest_n']}: "
            + ", ".join(f"{k} {v:.1e}" for k, v in s["max_condition_at_largest_n"].items())
            + f"; worst relative residual grows like n^{s['residual_slope']:.2f} (Gaussian "
            f"data), reaching 0.5 near n ≈ {s['float64_fails_near_n']:.1e} if the trend holds",
            f"{NUMERICS}; min gap of n random projections ≈ range/n²",
        ),
    ]
    k = spec.teacher_width
    widest = max(r["width"] for r in students)
    loss_text = "; ".join(
        f"m={r['width']}: median {r['median_relative_loss']:.1e}, reached {r['reached']}/"
        f"{r['seeds']}"
        for r in s["by_width"]
    )
    out.append(
        Claim.tested(
            "the final training loss falls with over-specification (student width m ≥ k)",
            trend(
                [math.log2(r["factor"]) for r in students],
                [-r["log10_relative_loss"] for r in students],
                name="−log10(final loss / var y)",
                hypothesis="slope of log10(final training loss / var y) against log2(m/k) < 0",
            ),
            f"final training loss / var(y) per width (teacher k = {k}): {loss_text}",
            LIVNI,
        )
    )
    at_k = [float(r["reached"]) for r in students if r["width"] == k]
    at_max = [float(r["reached"]) for r in students if r["width"] == widest]
    out.append(
        Claim.tested(
            f"more seeds reach the global optimum (loss < {spec.success_loss:g}·var y) at m = "
            f"{widest // k}k than at m = k",
            permutation(
                at_max,
                at_k,
                names=(f"reached at m={widest}", f"reached at m={k}"),
                hypothesis=f"success fraction at m = {widest} − at m = {k} > 0",
            ),
            f"reached {int(sum(at_max))}/{len(at_max)} seeds at m = {widest} vs "
            f"{int(sum(at_k))}/{len(at_k)} at m = {k} (permutation test of the 0/1 outcomes: "
            "Fisher's exact test by Monte Carlo)",
            LIVNI,
        )
    )
    return out


def figure(
    line: dict[str, Any],
    built: list[dict[str, Any]],
    students: list[dict[str, Any]],
    summary: dict[str, Any],
    spec: MemorizationCapacity,
) -> Any:
    """The constructed interpolant on a line, κ against n, and the student-width curves."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(11, 8))
    (ax1, ax2), (ax3, ax4) = fig.subplots(2, 2)
    xs = [r["x"] for r in line["rows"]]
    ys = [r["y"] for r in line["rows"]]
    ax1.plot(line["grid"], line["f"], "-", lw=1.2, label="f(x), 2n + d weights")
    ax1.plot(xs, ys, "ko", ms=5, label="the n points")
    for i, kx in enumerate(line["kinks"]):
        ax1.axvline(kx, color="0.6", ls=":", lw=0.8, label="kinks b_j / a" if i == 0 else None)
    ax1.set(
        xlabel="x (d = 1)",
        ylabel="y",
        title=f"Zhang et al.'s interpolant, n = {len(xs)}, θ = {spec.kink_position:g}",
    )
    ax1.legend(fontsize=8)

    groups = sorted({(b["sample"], b["labels"]) for b in built})
    for sample, labels in groups:
        rows = [b for b in built if b["sample"] == sample and b["labels"] == labels]
        ns = sorted({b["n"] for b in rows})
        med = [np.median([b["condition_number"] for b in rows if b["n"] == n]) for n in ns]
        ax2.plot(ns, med, "o-", label=f"{sample}, {labels}")
        ax2.plot([b["n"] for b in rows], [b["condition_number"] for b in rows], ".", c="0.7")
    ns = sorted({b["n"] for b in built})
    start = float(np.median([b["condition_number"] for b in built if b["n"] == ns[0]]))
    ax2.plot(ns, [start * (n / ns[0]) ** 3 for n in ns], "k:", lw=1, label="∝ n³")
    ax2.set(xscale="log", yscale="log", xlabel="n", ylabel="κ(A)", title="condition of A w = y")
    ax2.legend(fontsize=7)

    rows = summary["by_width"]
    widths = [r["width"] for r in rows]
    ax3.axhline(spec.success_loss, color="r", ls="--", lw=1, label="success threshold")
    for r in rows:
        mine = [t for t in students if t["width"] == r["width"]]
        jitter = np.linspace(0.94, 1.06, len(mine))
        ax3.plot(
            [r["width"] * j for j in jitter],
            [max(t["relative_loss"], 1e-16) for t in mine],
            ".",
            c="0.5",
        )
    ax3.plot(widths, [r["median_relative_loss"] for r in rows], "o-", label="median over seeds")
    ax3.set(
        xscale="log",
        yscale="log",
        xlabel=f"student width m (teacher k = {spec.teacher_width})",
        ylabel="final training loss / var y",
        title="over-specified students",
    )
    ax3.set_xticks(widths, [str(w) for w in widths])
    ax3.set_xticks([], minor=True)
    ax3.legend(fontsize=8)
    frac = [r["success_fraction"] for r in rows]
    err = [
        [f - r["success_low"] for f, r in zip(frac, rows, strict=True)],
        [r["success_high"] - f for f, r in zip(frac, rows, strict=True)],
    ]
    ax4.errorbar(widths, frac, yerr=err, marker="o", capsize=3)
    ax4.set(
        xscale="log",
        ylim=(-0.05, 1.05),
        xlabel="student width m",
        ylabel="fraction of seeds at the global optimum",
        title="success fraction (Clopper–Pearson 95%)",
    )
    ax4.set_xticks(widths, [str(w) for w in widths])
    ax4.set_xticks([], minor=True)
    fig.tight_layout()
    return fig
