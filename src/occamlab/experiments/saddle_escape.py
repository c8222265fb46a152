"""Saddle points: GD escapes strict saddles, with a perturbation in O(log d) steps.

Three findings on a strict saddle in d dimensions,

    f(x) = −½ x₁² + ¼ x₁⁴ + ½ Σ_{i≥2} x_i²,   ∇²f(0) = diag(−1, 1, …, 1),

whose saddle at 0 (f = 0) separates the minima x = ±e₁ (f = −¼); its stable manifold is the
hyperplane x₁ = 0:

* plain GD started on the stable manifold converges to the saddle and never escapes;
* perturbed GD (Jin et al. 2017, Algorithm 1: add a point drawn uniformly from a ball of radius r
  when the gradient is small) escapes. The kick's component along e₁ has size about r/√d, and
  it grows by (1 + η) per step, so escaping takes ≈ (½ ln d + ln(c/r)) / ln(1 + η) steps: linear
  in log d, never polynomial in d;
* GD from random initializations essentially never converges to the saddle (Lee et al. 2016:
  the stable manifold has measure zero).

Then the landscape of a small network: every critical point of a two-layer linear network's
training loss is known in closed form (Baldi & Hornik 1989; checked here: ‖∇L‖ ≈ 0 at each),
and the index (fraction of negative Hessian eigenvalues, from the exact float64 Hessian of
:class:`occamlab.linalg.hessian.HessianOperator`) is plotted against the loss: the higher the loss
of a critical point, the more directions of descent it has, and only the lowest is a minimum
(Dauphin et al. 2014, Fig. 1, found the same for critical points of nonlinear networks located
numerically).

The escape claims are t-tests over the perturbations (each an independent kick, ``seeds`` per
dimension): the slope of escape steps against ln d over every (d, draw) point must lie within
25% of ½/ln(1 + η) (one slope t-test per side), and the steps must grow less than 3× from the
smallest to the largest d (a Welch t-test of the mean log steps). The index-loss claim is a
one-sample t-test of the per-problem Spearman ρ against 0.5. The counts over every run (plain GD
on the stable manifold, every kick escaping, random initializations avoiding the saddle) and the
closed-form critical points are checked exactly, untested. The ``large-step`` setting doubles
the step size η (the predicted slope ½/ln(1 + η) halves).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import torch

from occamlab.data import data_spec
from occamlab.experiments.framework import Claim, Context, ExperimentResult
from occamlab.experiments.registry import EXPERIMENTS
from occamlab.experiments.stats import compare, exceeds, linear_fit, mean_std, trend
from occamlab.models import model_spec

JIN = "Jin et al. 2017, arXiv 1703.00887, Thm. 3"
LEE = "Lee et al. 2016, arXiv 1602.04915, Thm. 4"
DAUPHIN = "Dauphin et al. 2014, arXiv 1406.2572, Fig. 1"


# -- the strict saddle -----------------------------------------------------------------------
def saddle_value(x: np.ndarray) -> np.ndarray:
    """f(x) = −½x₁² + ¼x₁⁴ + ½Σ_{i≥2}x_i² for each row of ``x`` (shape (m, d))."""
    x1 = x[:, 0]
    return -0.5 * x1**2 + 0.25 * x1**4 + 0.5 * (x[:, 1:] ** 2).sum(axis=1)


def saddle_gradient(x: np.ndarray) -> np.ndarray:
    """∇f for each row of ``x``."""
    g = x.copy()
    g[:, 0] = -x[:, 0] + x[:, 0] ** 3
    return g


def gd_on_saddle(x0: np.ndarray, *, lr: float, steps: int) -> np.ndarray:
    """Plain GD from each row of ``x0``; returns the final points."""
    x = x0.copy()
    for _ in range(steps):
        x -= lr * saddle_gradient(x)
    return x


def uniform_ball(m: int, d: int, radius: float, rng: np.random.Generator) -> np.ndarray:
    """``m`` points uniform in the d-ball of ``radius``: direction uniform, radius ∝ U^{1/d}."""
    z = rng.standard_normal((m, d))
    z /= np.linalg.norm(z, axis=1, keepdims=True)
    return z * (radius * rng.random(m) ** (1.0 / d))[:, None]


def perturbed_gd_escape(
    d: int,
    *,
    draws: int,
    lr: float,
    radius: float,
    grad_threshold: float,
    escape_value: float,
    max_steps: int,
    seed: int,
) -> dict[str, Any]:
    """Perturbed GD from a point on the stable manifold, ``draws`` independent kicks at once.

    Each run starts at x₀ = (0, 1/√(d−1), …) (on the stable manifold, ‖x₀‖ = 1), runs GD until
    ‖∇f‖ ≤ ``grad_threshold`` (it is then near the saddle), adds one uniform kick from the ball
    of ``radius`` and counts the steps until f ≤ ``escape_value`` (well below the saddle's 0);
    ``steps`` lists them per draw (−1: not escaped within ``max_steps``).
    """
    rng = np.random.default_rng(seed)
    x0 = np.zeros((1, d))
    x0[0, 1:] = 1.0 / math.sqrt(d - 1)
    approach = 0
    while np.linalg.norm(saddle_gradient(x0)) > grad_threshold:
        x0 -= lr * saddle_gradient(x0)
        approach += 1
    x = x0 + uniform_ball(draws, d, radius, rng)
    steps = np.full(draws, -1)
    for t in range(1, max_steps + 1):
        x -= lr * saddle_gradient(x)
        done = (saddle_value(x) <= escape_value) & (steps < 0)
        steps[done] = t
        if (steps >= 0).all():
            break
    escaped = steps >= 0
    mean, sd = mean_std(steps[escaped].tolist()) if escaped.any() else (math.nan, math.nan)
    return {
        "d": d,
        "approach_steps": approach,
        "escaped_fraction": float(escaped.mean()),
        "escape_steps_mean": mean,
        "escape_steps_std": sd,
        "escape_steps_median": float(np.median(steps[escaped])) if escaped.any() else math.nan,
        "steps": steps.tolist(),
    }


# -- critical points of a small network ------------------------------------------------------
def linear_network_critical_points(subject) -> list[dict[str, Any]]:
    """Every critical point of a two-layer linear network's MSE, with its loss and Hessian.

    For f(x) = W₂W₁x (hidden width k) on data with covariances Σ_xx, Σ_yx, the critical points
    are, up to an invertible k×k reparametrization, W₂ = [U_S 0], W₁ = [U_Sᵀ Σ_yx Σ_xx⁻¹; 0] for
    each set S of at most k eigenvectors of Σ = Σ_yx Σ_xx⁻¹ Σ_xy (Baldi & Hornik 1989); the loss
    falls with the eigenvalues kept. The Hessian of each (float64, the subject's own loss) comes
    from :class:`occamlab.linalg.hessian.HessianOperator`, and the gradient there is reported so
    that a wrong point would show.
    """
    from itertools import combinations

    from occamlab.linalg.hessian import HessianOperator

    layers = [m for m in subject.model.modules() if isinstance(m, torch.nn.Linear)]
    first, second = layers
    k = first.out_features
    x = subject.data.train.x.double()
    y = subject.data.train.y.double()
    sxx, syx = x.T @ x / len(x), y.T @ x / len(x)
    regression = syx @ torch.linalg.inv(sxx)
    evals, evecs = torch.linalg.eigh(regression @ syx.T)
    names = list(subject.params())
    points = []
    for size in range(k + 1):
        for kept in combinations(range(len(evals)), size):
            u = evecs[:, list(kept)]
            w2 = torch.zeros(second.out_features, k, dtype=torch.float64)
            w1 = torch.zeros(k, first.in_features, dtype=torch.float64)
            w2[:, :size], w1[:size] = u, u.T @ regression
            theta = torch.cat([w1.reshape(-1), w2.reshape(-1)])
            op = HessianOperator(subject, params=theta, dtype=torch.float64)
            spectrum = torch.linalg.eigvalsh(op.dense())
            points.append(
                {
                    "kept": list(kept),
                    "loss": op.loss(),
                    "gradient_norm": float(op.gradient().norm()),
                    "index": hessian_index(spectrum),
                    "negative_eigenvalues": int((spectrum < -1e-9 * spectrum.abs().max()).sum()),
                    "min_eigenvalue": float(spectrum[0]),
                    "num_parameters": len(spectrum),
                }
            )
    if names != ["features.1.weight", "head.weight"]:  # pragma: no cover - a changed MLP layout
        raise RuntimeError(f"unexpected parameters {names}; expected two bias-free layers")
    return points


def hessian_index(eigenvalues: torch.Tensor, *, rel_tol: float = 1e-6) -> float:
    """Fraction of eigenvalues below −rel_tol·max|λ| (Dauphin et al.'s index α)."""
    scale = float(eigenvalues.abs().max())
    return float((eigenvalues < -rel_tol * scale).double().mean())


def spearman(x: list[float], y: list[float]) -> float:
    """Spearman rank correlation (average ranks for ties)."""
    from scipy.stats import spearmanr

    return float(spearmanr(x, y).statistic)


@EXPERIMENTS.register
@dataclass(frozen=True)
class SaddleEscape:
    """Strict saddles: GD on the stable manifold stalls, perturbed GD escapes in O(log d) steps.

    Attributes:
        dims: the dimensions d are 10, 100, …, 10^dims.
        seeds: independent perturbations (kicks) per dimension: the sample of the escape-time
            tests.
        lr: GD step size η on the strict saddle.
        radius: radius r of the perturbation ball.
        grad_threshold: perturb once ‖∇f‖ falls below this.
        escape_value: a run has escaped once f ≤ this (the saddle is at 0, the minima at −¼).
        max_steps: steps after the kick before a run counts as not escaped.
        gd_steps: plain GD steps on the stable manifold and from the random initializations.
        random_inits: random Gaussian initializations for the measure-zero claim.
        init_dim: dimension d of the random initializations.
        net_seeds: linear-network problems (teachers) whose critical points are examined: the
            sample of the index-loss test.
        outputs: input and output dimension of the linear network (and its teacher).
        hidden: hidden width k of the linear network (k < outputs).
        num_train: teacher-student training examples.
    """

    name: ClassVar[str] = "saddle-escape"
    summary: ClassVar[str] = (
        "GD on a strict saddle's stable manifold stalls; perturbed GD escapes in O(log d) steps; "
        "the index of a network's critical points grows with their loss"
    )
    paper: ClassVar[str] = (
        "Lee et al. 2016, arXiv 1602.04915; Jin et al. 2017, arXiv 1703.00887; "
        "Dauphin et al. 2014, arXiv 1406.2572"
    )
    scales: ClassVar[dict[str, dict[str, Any]]] = {
        "quick": {},
        "paper": {"dims": 5, "seeds": 200, "random_inits": 10000, "net_seeds": 8, "outputs": 7},
    }
    settings: ClassVar[dict[str, dict[str, Any]]] = {"large-step": {"lr": 0.1}}

    dims: int = 4
    seeds: int = 100
    lr: float = 0.05
    radius: float = 0.01
    grad_threshold: float = 1e-3
    escape_value: float = -0.2
    max_steps: int = 100_000
    gd_steps: int = 2000
    random_inits: int = 1000
    init_dim: int = 10
    net_seeds: int = 3
    outputs: int = 5
    hidden: int = 3
    num_train: int = 200

    def __post_init__(self) -> None:
        if (
            self.dims < 2
            or self.seeds < 2
            or self.net_seeds < 1
            or not 1 <= self.hidden < self.outputs
            or not -0.25 < self.escape_value < 0
        ):
            raise ValueError(
                "saddle-escape needs dims >= 2, seeds >= 2, net_seeds >= 1, 1 <= hidden < "
                "outputs and −0.25 < escape_value < 0"
            )

    def run(self, ctx: Context) -> ExperimentResult:
        escape = [
            ctx.cached(
                "escape",
                {
                    "d": 10**k,
                    "draws": self.seeds,
                    "lr": self.lr,
                    "radius": self.radius,
                    "grad_threshold": self.grad_threshold,
                    "escape_value": self.escape_value,
                    "max_steps": self.max_steps,
                    "per_draw": True,
                },
                lambda _, k=k: perturbed_gd_escape(
                    10**k,
                    draws=self.seeds,
                    lr=self.lr,
                    radius=self.radius,
                    grad_threshold=self.grad_threshold,
                    escape_value=self.escape_value,
                    max_steps=self.max_steps,
                    seed=k,
                ),
            )
            for k in ctx.track(range(1, self.dims + 1), "perturbed GD")
        ]
        plain = ctx.cached(
            "stable manifold",
            {"lr": self.lr, "d": 10**self.dims, "steps": self.gd_steps},
            lambda _: self._stable_manifold(),
        )
        inits = ctx.cached(
            "random inits",
            {"n": self.random_inits, "lr": self.lr, "d": self.init_dim, "steps": self.gd_steps},
            lambda _: self._random_inits(),
        )
        points = []
        for seed in ctx.track(range(self.net_seeds), "critical points"):
            key = {
                "seed": seed,
                "outputs": self.outputs,
                "hidden": self.hidden,
                "num_train": self.num_train,
            }
            points += ctx.cached("critical points", key, lambda _, s=seed: self._critical(s))[
                "points"
            ]
        summary = summarize(escape, plain, inits, points, lr=self.lr)
        return ExperimentResult(
            metrics=summary,
            tables={
                "escape steps": [{k: v for k, v in e.items() if k != "steps"} for e in escape],
                "critical points": points,
            },
            figures={"escape steps vs log d": figure(escape, points, summary)},
            claims=claims(summary, escape),
        )

    def _stable_manifold(self) -> dict[str, Any]:
        d = 10**self.dims
        x0 = np.zeros((1, d))
        x0[0, 1:] = 1.0 / math.sqrt(d - 1)
        x = gd_on_saddle(x0, lr=self.lr, steps=self.gd_steps)
        return {
            "d": d,
            "steps": self.gd_steps,
            "distance_to_saddle": float(np.linalg.norm(x)),
            "value": float(saddle_value(x)[0]),
        }

    def _random_inits(self) -> dict[str, Any]:
        rng = np.random.default_rng(0)
        x0 = rng.standard_normal((self.random_inits, self.init_dim))
        x = gd_on_saddle(x0, lr=self.lr, steps=self.gd_steps)
        near_saddle = np.linalg.norm(x, axis=1) < 1e-2
        at_minimum = np.abs(np.abs(x[:, 0]) - 1.0) < 1e-3
        return {
            "inits": self.random_inits,
            "converged_to_saddle": int(near_saddle.sum()),
            "converged_to_minimum": int(at_minimum.sum()),
        }

    def _critical(self, seed: int) -> dict[str, Any]:
        from occamlab.recipes import make_subject

        subject = make_subject(
            model=model_spec("mlp", width=self.hidden, depth=1, activation="identity", bias=False),
            data=data_spec(
                "teacher",
                input_dim=self.outputs,
                teacher_depth=0,
                num_outputs=self.outputs,
                num_train=self.num_train,
                seed=seed,
            ),
            seed=seed,
        )
        points = linear_network_critical_points(subject)
        for p in points:
            p["seed"] = seed
        return {"points": points}


def summarize(
    escape: list[dict[str, Any]],
    plain: dict[str, Any],
    inits: dict[str, Any],
    points: list[dict[str, Any]],
    *,
    lr: float,
) -> dict[str, Any]:
    """Fit escape steps against ln d; correlation of index and loss at converged points."""
    logd = [math.log(e["d"]) for e in escape]
    steps = [e["escape_steps_mean"] for e in escape]
    slope, intercept, r2 = linear_fit(logd, steps)
    found = [p for p in points if p["gradient_norm"] <= 1e-8]
    seeds = sorted({p["seed"] for p in found})
    rhos = [
        spearman(
            [p["loss"] for p in found if p["seed"] == s],
            [p["index"] for p in found if p["seed"] == s],
        )
        for s in seeds
    ]
    rho = min(rhos) if rhos else math.nan
    return {
        "escape_slope_per_ln_d": slope,
        "escape_intercept": intercept,
        "escape_r2": r2,
        "predicted_slope": 0.5 / math.log(1.0 + lr),
        "escape_ratio_largest_smallest": steps[-1] / steps[0],
        "dimension_ratio": escape[-1]["d"] / escape[0]["d"],
        "min_escaped_fraction": min(e["escaped_fraction"] for e in escape),
        "stable_manifold": plain,
        "random_inits": inits,
        "critical_points_found": len(found),
        "critical_points_tried": len(points),
        "index_loss_spearman": rho,
        "index_loss_spearman_by_problem": rhos,
        "minima_found": sum(p["index"] == 0 for p in found),
        "minima_are_lowest": all(
            min(p["loss"] for p in found if p["seed"] == s)
            == min((p["loss"] for p in found if p["seed"] == s and p["index"] == 0), default=-1)
            for s in seeds
        ),
        "saddles_found": sum(p["index"] > 0 for p in found),
    }


def claims(s: dict[str, Any], escape: list[dict[str, Any]]) -> list[Claim]:
    """The papers' findings on :func:`summarize`'s output and the per-draw escape steps
    (``escape``: :func:`perturbed_gd_escape` per dimension, smallest d first)."""
    plain, inits = s["stable_manifold"], s["random_inits"]
    predicted = s["predicted_slope"]
    x = [math.log(e["d"]) for e in escape for t in e["steps"] if t >= 0]
    y = [float(t) for e in escape for t in e["steps"] if t >= 0]
    small = [math.log(t) for t in escape[0]["steps"] if t > 0]
    large = [math.log(t) for t in escape[-1]["steps"] if t > 0]
    escape_source = JIN + " (iterations polylog in d)"
    fit = (
        f"slope {s['escape_slope_per_ln_d']:.1f} steps per unit ln d through the means "
        f"(predicted ½/ln(1+η) = {predicted:.1f}), R² {s['escape_r2']:.3f}"
    )
    out = [
        Claim(
            "plain GD started on the stable manifold converges to the saddle (never escapes)",
            passed=plain["distance_to_saddle"] < 1e-6 and plain["value"] >= 0.0,
            evidence=f"after {plain['steps']} steps in d={plain['d']}: distance to the saddle "
            f"{plain['distance_to_saddle']:.1e}, f = {plain['value']:.1e} (saddle 0, minima −0.25)",
            source=LEE + " (the stable manifold is the set GD cannot leave)",
        ),
        Claim(
            "perturbed GD escapes the saddle every time",
            passed=s["min_escaped_fraction"] == 1.0,
            evidence=f"lowest fraction of escaped runs over d: {s['min_escaped_fraction']:.3f}",
            source=JIN,
        ),
    ]
    if len(set(x)) >= 2 and len(x) >= 3:
        out += [
            Claim.tested(
                "escape steps grow linearly in ln d, at no less than 0.75× the slope ½/ln(1+η) "
                "of the kick's e₁-component ~ r/√d",
                trend(
                    x,
                    y,
                    margin=0.75 * predicted,
                    name="escape steps",
                    hypothesis=f"slope of escape steps against ln d > 0.75 × {predicted:.2f}",
                ),
                fit,
                escape_source,
            ),
            Claim.tested(
                "escape steps grow like log d, at no more than 1.25× the slope ½/ln(1+η)",
                trend(
                    x,
                    [-v for v in y],
                    margin=-1.25 * predicted,
                    name="−escape steps",
                    hypothesis=f"slope of escape steps against ln d < 1.25 × {predicted:.2f}",
                ),
                fit,
                escape_source,
            ),
        ]
    else:
        out.append(
            Claim(
                "escape steps grow like log d, with the slope ½/ln(1+η)",
                passed=False,
                evidence="too few escaped runs at distinct dimensions for a slope",
                source=escape_source,
            )
        )
    if small and large:
        out.append(
            Claim.tested(
                "not polynomially in d: the escape steps grow less than 3× from the smallest "
                "to the largest d",
                compare(
                    small,
                    large,
                    margin=-math.log(3.0),
                    names=(f"ln steps, d={escape[0]['d']}", f"ln steps, d={escape[-1]['d']}"),
                    hypothesis="mean ln steps at the largest d − at the smallest d < ln 3",
                ),
                f"mean escape steps {escape[0]['escape_steps_mean']:.1f} at d={escape[0]['d']} "
                f"and {escape[-1]['escape_steps_mean']:.1f} at d={escape[-1]['d']} "
                f"(×{s['escape_ratio_largest_smallest']:.2f} while d grows "
                f"×{s['dimension_ratio']:.0f})",
                escape_source,
            )
        )
    else:
        out.append(
            Claim(
                "not polynomially in d: the escape steps grow less than 3× from the smallest "
                "to the largest d",
                passed=False,
                evidence="no escaped run at the smallest or the largest d",
                source=escape_source,
            )
        )
    out.append(
        Claim(
            "GD from random initializations essentially never converges to the saddle",
            passed=inits["converged_to_saddle"] <= 0.001 * inits["inits"]
            and inits["converged_to_minimum"] >= 0.999 * inits["inits"],
            evidence=f"{inits['converged_to_saddle']} of {inits['inits']} runs end at the saddle, "
            f"{inits['converged_to_minimum']} at a minimum",
            source=LEE,
        )
    )
    rhos = s["index_loss_spearman_by_problem"]
    statement = (
        "critical points of a network's loss with higher loss have a larger index (more "
        "negative-curvature directions): Spearman ρ(loss, index) > 0.5"
    )
    if rhos and all(math.isfinite(r) for r in rhos):
        out.append(
            Claim.tested(
                statement,
                exceeds(rhos, 0.5, name="ρ", hypothesis="mean Spearman ρ(loss, index) > 0.5"),
                "Spearman ρ(loss, index) per problem: " + ", ".join(f"{r:.2f}" for r in rhos),
                DAUPHIN,
            )
        )
    else:
        out.append(
            Claim(
                statement,
                passed=False,
                evidence="no Spearman ρ on some problem (no verified critical points, or a "
                "constant loss or index)",
                source=DAUPHIN,
            )
        )
    out.append(
        Claim(
            "the closed-form critical points are critical, at least 3 are saddles, and the "
            "only minima are the lowest points (on every problem)",
            passed=s["critical_points_found"] >= 10
            and s["critical_points_found"] == s["critical_points_tried"]
            and s["saddles_found"] >= 3
            and s["minima_are_lowest"],
            evidence=f"{s['critical_points_found']} of {s['critical_points_tried']} closed-form "
            f"points verified critical (‖∇L‖ ≤ 1e-8): {s['saddles_found']} saddles, "
            f"{s['minima_found']} minima, minima lowest: {s['minima_are_lowest']}",
            source="Baldi & Hornik 1989; " + DAUPHIN,
        )
    )
    return out


def figure(escape: list[dict[str, Any]], points: list[dict[str, Any]], s: dict[str, Any]) -> Any:
    """Escape steps against d (log axis) with the fitted line; index against loss."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10, 4))
    ax, bx = fig.subplots(1, 2)
    ds = [e["d"] for e in escape]
    ax.errorbar(
        ds,
        [e["escape_steps_mean"] for e in escape],
        yerr=[e["escape_steps_std"] for e in escape],
        marker="o",
        capsize=3,
        label="perturbed GD (mean ± sd over kicks)",
    )
    grid = np.geomspace(ds[0], ds[-1], 50)
    ax.plot(
        grid,
        s["escape_slope_per_ln_d"] * np.log(grid) + s["escape_intercept"],
        "k:",
        label=f"fit: {s['escape_slope_per_ln_d']:.1f}·ln d (R² {s['escape_r2']:.3f})",
    )
    ax.set(
        xscale="log",
        xlabel="dimension d",
        ylabel="steps to escape the saddle",
        title="strict saddle: escape time vs d",
    )
    ax.legend(fontsize=8)
    for seed in sorted({p["seed"] for p in points}):
        mine = [p for p in points if p["seed"] == seed]
        bx.scatter(
            [p["loss"] for p in mine], [p["index"] for p in mine], s=14, label=f"problem {seed}"
        )
    bx.legend(fontsize=8)
    bx.set(
        xscale="log",
        xlabel="training loss at the critical point",
        ylabel="index (fraction of negative eigenvalues)",
        title=f"critical points of a linear net (ρ ≥ {s['index_loss_spearman']:.2f})",
    )
    fig.tight_layout()
    return fig
