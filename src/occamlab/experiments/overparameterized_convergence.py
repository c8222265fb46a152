"""Over-parameterization: GD on a wide two-layer ReLU net converges linearly (Du et al. 2019).

The network f(x) = (1/√m) Σ_r a_r relu(w_rᵀx) (a_r ∈ {±1} fixed, w_r(0) ~ N(0, I)) is trained by
full-batch gradient descent on its first layer, L = ½‖u − y‖², on ``num_points`` unit-norm inputs
in general position (uniform on the sphere of R^``dim``) with random ±1 labels, at widths m =
``min_width`` · ``width_factor``^j. Each seed draws its own data set, labels and initializations.
The closed form (:mod:`occamlab.probes.dynamics.overparameterized`) gives the Gram matrix of the
infinite-width dynamics, H^∞_ij = x_iᵀx_j (π − arccos(x_iᵀx_j))/(2π), and λ₀ = λ_min(H^∞); the step
is η = ``lr_scale``/λ_max(H^∞) and the run lasts until the bound (1 − ηλ₀/2)^k has fallen by
``bound_decades`` decades.

Claims, Holm-corrected together; each exponent is a per-seed least-squares slope on a log–log
scale over the widths, tested over the seeds:

* λ₀ > 0 on every seed's data (n points in general position; exact, untested);
* the Gram matrix of the network at initialization concentrates on the closed form:
  ‖H(0) − H^∞‖_F ∝ m^{−1/2} (slope within 0.1 of −½; Du et al. Lemma 3.1);
* the loss follows or beats (1 − ηλ₀/2)^k at every width, step and seed (Thm. 4.1): the largest
  (1/k) ln(L(k)/L(0)) − ln(1 − ηλ₀/2) over widths and steps is < 0 (one-sample t-test);
* as m grows the loss approaches the infinite-width (kernel) prediction ‖(I − ηH^∞)^k r₀‖²: the
  largest |L(k) − L^∞(k)|/L(0) shrinks (slope < 0);
* the largest weight movement max_r ‖w_r(K) − w_r(0)‖ shrinks like 1/√m (slope within 0.1 of −½;
  the theorem bounds it by R' = 4√n‖y − u(0)‖/(√m λ₀));
* the fraction of activation patterns 1{w_rᵀx_i ≥ 0} that flip during training shrinks like 1/√m
  (only neurons with |w_r(0)ᵀx_i| < R' can flip; slope within 0.1 of −½).

The deep version (Du, Lee, Li, Wang & Zhai 2019, arXiv 1811.03804; Allen-Zhu, Li & Song 2018)
trains a residual MLP x⁽ˡ⁾ = x⁽ˡ⁻¹⁾ + (c/(L√m)) relu(W_l x⁽ˡ⁻¹⁾) (``depth`` L blocks after a
first layer, all W_l trained, output signs fixed; :func:`~occamlab.probes.dynamics.overparameterized
.train_residual`) on the same n points at widths m = ``deep_min_width`` · ``deep_width_factor``^j,
with η = ``lr_scale``/λ_max(G(0)) of the network's own Gram G = JJᵀ, until the bound
(1 − ηλ_min(G(0))/2)^k has fallen by ``bound_decades`` decades:

* global convergence: at the widest width every seed's loss has fallen by ``bound_decades``
  decades (exact count, untested);
* the loss follows or beats (1 − ηλ_min(G(0))/2)^k at the widest width (Du et al. 2019b,
  Thm. 6.1): the worst (1/k) ln(L(k)/L(0)) − ln(1 − ηλ_min/2) over k is < 0 (one-sample t-test);
* the largest relative weight movement max_l ‖W_l(K) − W_l(0)‖_F/‖W_l(0)‖_F shrinks with m
  (per-seed log–log slope < 0).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from occamlab.experiments.framework import Claim, Context, ExperimentResult
from occamlab.experiments.registry import EXPERIMENTS
from occamlab.experiments.stats import exceeds, within
from occamlab.probes.dynamics import overparameterized as op

DU = "Du, Zhai, Poczós & Singh 2019, arXiv 1810.02054"
DU_DEEP = "Du, Lee, Li, Wang & Zhai 2019, arXiv 1811.03804"
EXPONENT = -0.5  # every width effect of the theory scales as m^{-1/2}
EXPONENT_TOLERANCE = 0.1


@EXPERIMENTS.register
@dataclass(frozen=True)
class OverparameterizedConvergence:
    """Wide two-layer ReLU networks: linear convergence at rate λ₀, movement and flips ∝ 1/√m.

    Attributes:
        num_points: training inputs n (unit vectors, uniform on the sphere).
        dim: input dimension d.
        min_width: the smallest width m.
        width_factor: ratio of consecutive widths.
        num_widths: number of widths.
        lr_scale: step size η in units of 1/λ_max(H^∞).
        bound_decades: train until the bound (1 − ηλ₀/2)^k has fallen by this many decades.
        gram_draws: initializations per width over which ‖H(0) − H^∞‖ is averaged (root mean
            square; the trained network's is the first).
        depth: residual blocks L of the deep network (after its first layer).
        deep_min_width: the deep network's smallest width.
        deep_width_factor: ratio of the deep network's consecutive widths.
        deep_num_widths: number of deep-network widths.
        residual_scale: c in the residual branch (c/(L√m)) relu(W_l x).
        seeds: independent data sets, labels and initializations: the sample of the tests.
    """

    name: ClassVar[str] = "overparameterized-convergence"
    summary: ClassVar[str] = (
        "Wide two-layer ReLU nets: GD's loss follows (1 − ηλ₀/2)^k with λ₀ from the closed-form "
        "Gram H^∞; weight movement and activation flips shrink like 1/√m"
    )
    paper: ClassVar[str] = (
        "Du, Zhai, Poczós & Singh 2019, arXiv 1810.02054; Allen-Zhu, Li & Song 2018, "
        "arXiv 1811.03962"
    )
    scales: ClassVar[dict[str, dict[str, Any]]] = {
        "quick": {},
        "paper": {
            "num_points": 1000,
            "dim": 1000,
            "min_width": 1000,
            "width_factor": 2,
            "num_widths": 5,
            "seeds": 10,
        },
    }
    settings: ClassVar[dict[str, dict[str, Any]]] = {
        "more-points": {"num_points": 40, "dim": 8},
        "small-step": {"lr_scale": 0.25, "bound_decades": 1.0},
    }

    num_points: int = 20
    dim: int = 10
    min_width: int = 256
    width_factor: int = 4
    num_widths: int = 4
    lr_scale: float = 1.0
    bound_decades: float = 2.0
    gram_draws: int = 10
    depth: int = 8
    deep_min_width: int = 32
    deep_width_factor: int = 2
    deep_num_widths: int = 4
    residual_scale: float = 1.0
    seeds: int = 8

    def __post_init__(self) -> None:
        if (
            self.num_points < 2
            or self.dim < 2
            or self.min_width < 1
            or self.width_factor < 2
            or self.num_widths < 3
            or not 0 < self.lr_scale <= 1.0
            or self.bound_decades <= 0
            or self.gram_draws < 1
            or self.depth < 1
            or self.deep_min_width < 1
            or self.deep_width_factor < 2
            or self.deep_num_widths < 3
            or self.residual_scale <= 0
            or self.seeds < 1
        ):
            raise ValueError(
                "overparameterized-convergence needs num_points, dim >= 2, min_width >= 1, "
                "width_factor >= 2, num_widths >= 3, 0 < lr_scale <= 1, bound_decades > 0, "
                "gram_draws >= 1, depth >= 1, deep_min_width >= 1, deep_width_factor >= 2, "
                "deep_num_widths >= 3, residual_scale > 0, seeds >= 1"
            )

    def widths(self) -> list[int]:
        return [self.min_width * self.width_factor**j for j in range(self.num_widths)]

    def deep_widths(self) -> list[int]:
        return [
            self.deep_min_width * self.deep_width_factor**j for j in range(self.deep_num_widths)
        ]

    def run(self, ctx: Context) -> ExperimentResult:
        runs = [
            ctx.cached(
                "seed",
                {
                    "seed": seed,
                    "num_points": self.num_points,
                    "dim": self.dim,
                    "widths": self.widths(),
                    "lr_scale": self.lr_scale,
                    "bound_decades": self.bound_decades,
                    "gram_draws": self.gram_draws,
                },
                lambda _, s=seed: self._seed(s),
            )
            for seed in ctx.track(range(self.seeds), "seeds")
        ]
        deep = [
            ctx.cached(
                "deep",
                {
                    "seed": seed,
                    "num_points": self.num_points,
                    "dim": self.dim,
                    "widths": self.deep_widths(),
                    "depth": self.depth,
                    "residual_scale": self.residual_scale,
                    "lr_scale": self.lr_scale,
                    "bound_decades": self.bound_decades,
                },
                lambda _, s=seed: self._deep(s),
            )
            for seed in ctx.track(range(self.seeds), "deep seeds")
        ]
        summary = summarize(runs)
        summary.update(summarize_deep(deep, self.bound_decades))
        table = [
            {"seed": k, **{key: v for key, v in row.items() if key != "curve"}}
            for k, r in enumerate(runs)
            for row in r["widths"]
        ]
        return ExperimentResult(
            metrics=summary,
            tables={
                "widths": table,
                "deep": [
                    {"seed": k, **{key: v for key, v in row.items() if key != "curve"}}
                    for k, r in enumerate(deep)
                    for row in r["widths"]
                ],
            },
            figures={
                "loss vs (1 − ηλ₀/2)^k and movement vs m": figure(runs, summary),
                "deep residual net: loss and movement vs m": deep_figure(deep, summary),
            },
            claims=claims(summary),
        )

    def _seed(self, seed: int) -> dict[str, Any]:
        rng = np.random.default_rng([seed, 0])
        x = op.sphere_points(self.num_points, self.dim, rng)
        y = rng.choice([-1.0, 1.0], size=self.num_points)
        h = op.gram_infinite(x)
        evals = np.linalg.eigvalsh(h)
        lam0, lam_max = float(evals[0]), float(evals[-1])
        lr = self.lr_scale / lam_max
        steps = math.ceil(self.bound_decades * math.log(10) / -math.log1p(-0.5 * lr * lam0))
        rows = []
        for m in self.widths():
            r = op.train_two_layer(
                x, y, width=m, lr=lr, steps=steps, rng=np.random.default_rng([seed, 1, m])
            )
            k = np.asarray(r.steps)
            loss = np.asarray(r.residual_sq)
            kernel = op.kernel_prediction(h, r.residual0, lr, k)
            draws = np.random.default_rng([seed, 2, m])
            gram_sq = [np.linalg.norm(r.gram_initial - h) ** 2] + [
                np.linalg.norm(op.gram_empirical(draws.standard_normal((m, self.dim)), x) - h) ** 2
                for _ in range(self.gram_draws - 1)
            ]
            excess = np.log(loss[1:] / loss[0]) / k[1:] - math.log1p(-0.5 * lr * lam0)
            rows.append(
                {
                    "width": m,
                    "loss_ratio_final": float(loss[-1] / loss[0]),
                    "rate_excess": float(excess.max()),
                    "kernel_deviation": float(np.abs(loss - kernel).max() / loss[0]),
                    "gram_error": float(np.sqrt(np.mean(gram_sq)) / np.linalg.norm(h)),
                    "lambda_min_initial": r.lambda_min_initial,
                    "lambda_min_final": r.lambda_min_final,
                    "max_movement": r.max_movement[-1],
                    "movement_bound": op.movement_bound(
                        self.num_points, math.sqrt(loss[0]), m, lam0
                    ),
                    "flip_fraction": r.flip_fraction[-1],
                    "curve": {
                        "k": k[:: max(1, len(k) // 200)].tolist(),
                        "loss_ratio": (loss / loss[0])[:: max(1, len(k) // 200)].tolist(),
                        "kernel_ratio": (kernel / loss[0])[:: max(1, len(k) // 200)].tolist(),
                    },
                }
            )
        return {
            "lambda0": lam0,
            "lambda_max": lam_max,
            "lr": lr,
            "steps": steps,
            "bound_final": float(op.rate_bound(lr, lam0, steps)),
            "widths": rows,
        }

    def _deep(self, seed: int) -> dict[str, Any]:
        x, y = _deep_seed_data(seed, self.num_points, self.dim)
        rows = []
        for m in self.deep_widths():
            r = op.train_residual(
                x,
                y,
                width=m,
                depth=self.depth,
                residual_scale=self.residual_scale,
                lr_scale=self.lr_scale,
                decades=self.bound_decades,
                rng=np.random.default_rng([seed, 3, m]),
            )
            loss = np.asarray(r.residual_sq)
            k = np.arange(len(loss))
            excess = np.log(loss[1:] / loss[0]) / k[1:] - math.log1p(-0.5 * r.lr * r.lambda_min)
            every = max(1, len(k) // 200)
            rows.append(
                {
                    "width": m,
                    "lambda_min": r.lambda_min,
                    "lambda_max": r.lambda_max,
                    "steps": r.steps,
                    "loss_ratio_final": float(loss[-1] / loss[0]),
                    "rate_excess": float(excess.max()),
                    "max_relative_movement": max(r.relative_movement),
                    "curve": {
                        "k": k[::every].tolist(),
                        "loss_ratio": (loss / loss[0])[::every].tolist(),
                        "bound": op.rate_bound(r.lr, r.lambda_min, k[::every]).tolist(),
                    },
                }
            )
        return {"widths": rows}


def _deep_seed_data(seed: int, n: int, d: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng([seed, 0])
    return op.sphere_points(n, d, rng), rng.choice([-1.0, 1.0], size=n)


def _slope(widths: list[int], values: list[float]) -> float:
    if min(values) <= 0:
        return math.nan
    return float(np.polyfit(np.log(widths), np.log(values), 1)[0])


def summarize(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Per-seed log–log slopes over the widths, the worst rate excess, λ₀ per seed."""
    out: dict[str, Any] = {
        "lambda0": [r["lambda0"] for r in runs],
        "lr": [r["lr"] for r in runs],
        "steps": [r["steps"] for r in runs],
        "bound_final": [r["bound_final"] for r in runs],
        "widths": [row["width"] for row in runs[0]["widths"]],
        "rate_excess": [max(row["rate_excess"] for row in r["widths"]) for r in runs],
    }
    for key in ("gram_error", "kernel_deviation", "max_movement", "flip_fraction"):
        out[f"{key}_slope"] = [
            _slope([row["width"] for row in r["widths"]], [row[key] for row in r["widths"]])
            for r in runs
        ]
        out[f"{key}_mean"] = np.mean([[row[key] for row in r["widths"]] for r in runs], 0).tolist()
    out["movement_bound_mean"] = np.mean(
        [[row["movement_bound"] for row in r["widths"]] for r in runs], 0
    ).tolist()
    out["movement_within_bound"] = all(
        row["max_movement"] <= row["movement_bound"] for r in runs for row in r["widths"]
    )
    out["loss_ratio_final_widest"] = [r["widths"][-1]["loss_ratio_final"] for r in runs]
    return out


def summarize_deep(deep: list[dict[str, Any]], decades: float) -> dict[str, Any]:
    """The deep residual runs: per-seed convergence at the widest width and movement slopes."""
    widths = [row["width"] for row in deep[0]["widths"]]
    widest = [r["widths"][-1] for r in deep]
    return {
        "deep_widths": widths,
        "deep_decades_target": decades,
        "deep_decades_widest": [-math.log10(row["loss_ratio_final"]) for row in widest],
        "deep_rate_excess_widest": [row["rate_excess"] for row in widest],
        "deep_steps_widest": [row["steps"] for row in widest],
        "deep_lambda_min_widest": [row["lambda_min"] for row in widest],
        "deep_converged_per_width": [
            sum(r["widths"][j]["loss_ratio_final"] <= 10.0**-decades for r in deep)
            for j in range(len(widths))
        ],
        "deep_movement_slope": [
            _slope(widths, [row["max_relative_movement"] for row in r["widths"]]) for r in deep
        ],
        "deep_loss_slope": [
            _slope(widths, [row["loss_ratio_final"] for row in r["widths"]]) for r in deep
        ],
        "deep_movement_mean": np.mean(
            [[row["max_relative_movement"] for row in r["widths"]] for r in deep], 0
        ).tolist(),
        "deep_loss_ratio_mean": np.exp(
            np.mean([[math.log(row["loss_ratio_final"]) for row in r["widths"]] for r in deep], 0)
        ).tolist(),
    }


def _fmt(values: list[float], spec: str = ".3f") -> str:
    return ", ".join(format(v, spec) for v in values)


def _exponent_claim(
    s: dict[str, Any], key: str, statement: str, what: str, extra: str, source: str
) -> Claim:
    slopes = s[f"{key}_slope"]
    evidence = (
        f"per-seed slopes of ln({what}) on ln m: {_fmt(slopes)}; mean {what} "
        f"{_fmt(s[f'{key}_mean'], '.3g')} at m = {_fmt(s['widths'], 'd')}" + extra
    )
    if not all(math.isfinite(v) for v in slopes):
        return Claim(statement, False, evidence + " (a zero value: no slope)", source)
    return Claim.tested(
        statement,
        within(
            slopes,
            EXPONENT,
            EXPONENT_TOLERANCE,
            name=f"slope of ln {what}",
            hypothesis=f"|mean slope of ln({what}) on ln m + 0.5| < 0.1",
        ),
        evidence,
        source,
    )


def claims(s: dict[str, Any]) -> list[Claim]:
    """Du et al.'s findings on :func:`summarize`'s output."""
    lam0 = s["lambda0"]
    excess = s["rate_excess"]
    deviation = s["kernel_deviation_slope"]
    out = [
        Claim(
            "λ₀ = λ_min(H^∞) > 0 for n unit inputs in general position (closed-form H^∞)",
            passed=min(lam0) > 0,
            evidence=f"λ₀ per seed: {_fmt(lam0, '.4f')}",
            source=DU + ", Thm. 3.1",
        ),
        _exponent_claim(
            s,
            "gram_error",
            "the network's Gram matrix at initialization concentrates on the closed form: "
            "‖H(0) − H^∞‖ ∝ 1/√m",
            "‖H(0) − H^∞‖/‖H^∞‖",
            "",
            DU + ", Lemma 3.1",
        ),
        Claim.tested(
            "the training loss follows or beats (1 − ηλ₀/2)^k at every width and step",
            exceeds(
                [-v for v in excess],
                0.0,
                name="−worst rate excess",
                hypothesis="mean over seeds of max over widths, k of "
                "(1/k) ln(L(k)/L(0)) − ln(1 − ηλ₀/2) < 0",
            ),
            f"worst (1/k) ln(L(k)/L(0)) − ln(1 − ηλ₀/2) per seed: {_fmt(excess, '.4f')}; "
            f"after {_fmt(s['steps'], 'd')} steps the bound is {_fmt(s['bound_final'], '.1e')}, "
            f"the loss ratio at the widest m {_fmt(s['loss_ratio_final_widest'], '.1e')}",
            DU + ", Thm. 4.1",
        ),
        Claim.tested(
            "as m grows, the loss curve approaches the infinite-width prediction "
            "‖(I − ηH^∞)^k (u(0) − y)‖²",
            exceeds(
                [-v for v in deviation],
                0.0,
                name="−slope of ln deviation",
                hypothesis="mean slope of ln max_k |L(k) − L^∞(k)|/L(0) on ln m < 0",
            ),
            f"per-seed slopes {_fmt(deviation)}; mean max_k |L(k) − L^∞(k)|/L(0) "
            f"{_fmt(s['kernel_deviation_mean'], '.3g')} at m = {_fmt(s['widths'], 'd')}",
            DU + ", Sect. 4 (u(k+1) − y ≈ (I − ηH^∞)(u(k) − y))",
        ),
        _exponent_claim(
            s,
            "max_movement",
            "the largest weight movement max_r ‖w_r(K) − w_r(0)‖ shrinks like 1/√m",
            "max movement",
            f"; the bound R' = 4√n‖y − u(0)‖/(√m λ₀) is {_fmt(s['movement_bound_mean'], '.3g')}"
            f" (respected everywhere: {s['movement_within_bound']})",
            DU + ", Thm. 4.1 and Lemma 4.1",
        ),
        _exponent_claim(
            s,
            "flip_fraction",
            "the fraction of activation patterns that flip during training shrinks like 1/√m",
            "flip fraction",
            "",
            DU + ", Lemma 3.2 (only |w_r(0)ᵀx_i| < R' can flip)",
        ),
    ]
    return out + deep_claims(s)


def deep_claims(s: dict[str, Any]) -> list[Claim]:
    """Du, Lee, Li, Wang & Zhai's findings for the residual network on :func:`summarize_deep`."""
    decades = s["deep_decades_widest"]
    target = s["deep_decades_target"]
    excess = s["deep_rate_excess_widest"]
    slopes = s["deep_movement_slope"]
    seeds = len(decades)
    widest = s["deep_widths"][-1]
    converged = s["deep_converged_per_width"]
    movement_evidence = (
        f"per-seed slopes of ln max_l ‖ΔW_l‖_F/‖W_l(0)‖_F on ln m: {_fmt(slopes)}; mean "
        f"{_fmt(s['deep_movement_mean'], '.3g')} at m = {_fmt(s['deep_widths'], 'd')}"
    )
    return [
        Claim(
            f"deep residual net: at width {widest} GD brings every seed's loss down by "
            f"{target:g} decades (global convergence)",
            passed=min(decades) >= target,
            evidence=f"decades of loss decrease at m = {widest} per seed: {_fmt(decades, '.1f')} "
            f"(target {target:g}); seeds converged per width m = "
            f"{_fmt(s['deep_widths'], 'd')}: {_fmt(converged, 'd')} of {seeds}",
            source=DU_DEEP + ", Thm. 6.1",
        ),
        Claim.tested(
            "deep residual net: at the widest width the loss follows or beats "
            "(1 − ηλ_min(G(0))/2)^k",
            exceeds(
                [-v for v in excess],
                0.0,
                name="−worst rate excess (deep)",
                hypothesis="mean over seeds of max over k of "
                "(1/k) ln(L(k)/L(0)) − ln(1 − ηλ_min(G(0))/2) < 0",
            ),
            f"worst excess per seed at m = {widest}: {_fmt(excess, '.4f')}; λ_min(G(0)) "
            f"{_fmt(s['deep_lambda_min_widest'], '.3f')}, {_fmt(s['deep_steps_widest'], 'd')} "
            f"steps; geometric-mean final loss ratio {_fmt(s['deep_loss_ratio_mean'], '.1e')} "
            f"at m = {_fmt(s['deep_widths'], 'd')}",
            DU_DEEP + ", Thm. 6.1",
        ),
        Claim(
            "deep residual net: the largest relative weight movement shrinks with width",
            False,
            movement_evidence + " (a zero value: no slope)",
            DU_DEEP + ", Sect. 6 (every W_l stays near its initialization)",
        )
        if not all(math.isfinite(v) for v in slopes)
        else Claim.tested(
            "deep residual net: the largest relative weight movement shrinks with width",
            exceeds(
                [-v for v in slopes],
                0.0,
                name="−slope of ln relative movement",
                hypothesis="mean slope of ln max_l ‖W_l(K) − W_l(0)‖_F/‖W_l(0)‖_F on ln m < 0",
            ),
            movement_evidence,
            DU_DEEP + ", Sect. 6 (every W_l stays near its initialization)",
        ),
    ]


def deep_figure(deep: list[dict[str, Any]], s: dict[str, Any]) -> Any:
    """The deep residual net: seed 0's loss ratio per width against its bound; the largest
    relative movement against m for every seed."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10, 4))
    ax, bx = fig.subplots(1, 2)
    for j, row in enumerate(deep[0]["widths"]):
        c = row["curve"]
        ax.plot(c["k"], c["loss_ratio"], color=f"C{j}", label=f"m = {row['width']}")
        ax.plot(c["k"], c["bound"], ":", color=f"C{j}", lw=1)
    ax.set(
        yscale="log",
        xlabel="GD step k",
        ylabel="L(k)/L(0)",
        title="residual net, seed 0 (dotted: (1 − ηλ_min/2)^k)",
    )
    ax.legend(fontsize=7)
    widths = np.asarray(s["deep_widths"], dtype=float)
    for r in deep:
        bx.plot(
            widths,
            [row["max_relative_movement"] for row in r["widths"]],
            "o-",
            color="C0",
            alpha=0.4,
        )
    bx.set(
        xscale="log",
        yscale="log",
        xlabel="width m",
        ylabel="max_l ‖ΔW_l‖_F / ‖W_l(0)‖_F",
        title=f"relative movement, slope {np.mean(s['deep_movement_slope']):.3f}",
    )
    fig.tight_layout()
    return fig


def figure(runs: list[dict[str, Any]], s: dict[str, Any]) -> Any:
    """Loss ratio of seed 0 against the bound and the kernel prediction; movement and flips
    against m for every seed."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(13, 4))
    ax, bx, cx = fig.subplots(1, 3)
    r0 = runs[0]
    for j, row in enumerate(r0["widths"]):
        c = row["curve"]
        ax.plot(c["k"], c["loss_ratio"], color=f"C{j}", label=f"m = {row['width']}")
    last = r0["widths"][-1]["curve"]
    ax.plot(last["k"], last["kernel_ratio"], "k--", lw=1, label="infinite width (H^∞)")
    k = np.asarray(last["k"])
    ax.plot(
        k,
        (1 - 0.5 * r0["lr"] * r0["lambda0"]) ** k,
        "k:",
        label=f"(1 − ηλ₀/2)^k, λ₀ = {r0['lambda0']:.3f}",
    )
    ax.set(yscale="log", xlabel="GD step k", ylabel="L(k)/L(0)", title="training loss (seed 0)")
    ax.legend(fontsize=7)
    widths = np.asarray(s["widths"], dtype=float)
    for panel, key, label in (
        (bx, "max_movement", "max_r ‖w_r(K) − w_r(0)‖"),
        (cx, "flip_fraction", "fraction of flipped activations"),
    ):
        for r in runs:
            panel.plot(widths, [row[key] for row in r["widths"]], "o-", color="C0", alpha=0.4)
        mean = s[f"{key}_mean"]
        panel.plot(widths, mean[0] * np.sqrt(widths[0] / widths), "k:", label="∝ 1/√m")
        panel.set(
            xscale="log",
            yscale="log",
            xlabel="width m",
            ylabel=label,
            title=f"slope {np.mean(s[f'{key}_slope']):.3f} (theory −0.5)",
        )
        panel.legend(fontsize=8)
    fig.tight_layout()
    return fig
