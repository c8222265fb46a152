"""Implicit bias of gradient descent: which of many zero-loss solutions GD picks.

Three problems where the loss has many global minima and GD's choice is known in closed form,
each compared with a solution computed independently of GD:

(a) Logistic regression on linearly separable data (Soudry et al. 2018): w(t) diverges, but
    w(t)/‖w(t)‖ converges to the hard-margin SVM direction ŵ (min ‖w‖ s.t. yᵢ wᵀxᵢ ≥ 1, solved
    here by scikit-learn's ``LinearSVC``), with w(t) = ŵ·ln t + ρ(t), ρ bounded: ‖w(t)‖ grows like
    ‖ŵ‖·ln t and the angle to ŵ shrinks like 1/ln t.
(b) Matrix completion with a full-size factorization X = UUᵀ, U ∈ R^{n×n} (Gunasekar et al.
    2017): from a small initialization GD reaches the minimum nuclear norm completion. The ground
    truth is a low-rank PSD matrix and the observed set is large enough that the truth *is* the
    unique minimum nuclear norm completion; that is checked by a dual certificate (Candès & Recht
    2009): Y supported on the observed set with P_T(Y) = UUᵀ-part E and ‖P_T⊥(Y)‖₂ < 1.
(c) A diagonal linear network w = u² − v² (u = v = α at init; Woodworth et al. 2020) on an
    underdetermined regression: α → 0 gives the minimum-ℓ1 interpolant (linear programming, scipy's
    HiGHS), α → ∞ the minimum-ℓ2 one (pseudo-inverse).

All three are problems of a few hundred numbers: GD runs on them directly in float64 NumPy, on
one BLAS thread, every seed's logistic regression and diagonal network in one batch.

Each seed draws an independent problem of each kind, and the claims are t-tests over the seeds
(Holm-corrected together): a cut-off on a per-seed quantity (angle < 0.1 rad, distance ≤ 0.05,
a ratio within 1.5× or 10%) is a one-sample t-test with the cut-off as its margin, a change
within a seed's runs is a paired t-test, and "grows with the init scale" is a slope t-test over
every (init scale, seed) point. The checks that the problems are set up right (the dual
certificate, every run fitting its data) stay untested: they must hold on every seed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from threadpoolctl import threadpool_limits

from occamlab.experiments.framework import Claim, Context, ExperimentResult
from occamlab.experiments.implicit_bias_problems import (
    POINTS,
    angle,
    completion_problem,
    diagonal_network,
    factorized_completion,
    logistic_gd,
    min_l1_interpolant,
    nuclear_norm_certificate,
    separable_data,
    sparse_regression,
)
from occamlab.experiments.registry import EXPERIMENTS
from occamlab.experiments.stats import compare, exceeds, linear_fit, trend

SOUDRY = "Soudry et al. 2018, arXiv 1710.10345, Fig. 1 and Thm. 3"
GUNASEKAR = "Gunasekar et al. 2017, arXiv 1705.09280, Fig. 1 and Conjecture 1"
WOODWORTH = "Woodworth et al. 2020, arXiv 2002.09277, Thm. 1 and Fig. 1"
INIT_SCALES_COMPLETION = (1e-4, 1e-3, 1e-2, 1e-1, 1.0)
INIT_SCALES_DIAGONAL = (1e-3, 1e-2, 1e-1, 1.0, 10.0)


@EXPERIMENTS.register
@dataclass(frozen=True)
class ImplicitBias:
    """GD's implicit bias: max-margin (logistic), min nuclear norm (factorization), ℓ1 vs ℓ2.

    Attributes:
        seeds: independent datasets per problem; the claims are t-tests over them (each seed a
            sample point), the setup checks hold on each.
        num_points: points drawn for logistic regression (before the margin gap thins them).
        points: their distribution, ``gaussian`` (standard normal) or ``uniform`` (in the cube
            [−1, 1]^d).
        data_dim: their dimension d.
        min_margin: points closer than this to the labelling hyperplane are dropped.
        margin_gap: points that are not support vectors but have an SVM margin below this
            (1 < yᵢŵᵀxᵢ < margin_gap) are dropped, which leaves ŵ unchanged.
        steps: GD steps on the logistic loss.
        matrix_size: n of the n×n matrix to complete.
        matrix_rank: rank of the ground truth.
        observed_fraction: fraction of entries observed (symmetric mask).
        num_samples: regression examples for the diagonal network.
        num_features: dimension d of the diagonal network (d > num_samples).
        sparsity: nonzeros of the planted regression vector.
        completion_steps: GD steps on the factorization.
        diagonal_steps: most GD steps on the diagonal network.
    """

    name: ClassVar[str] = "implicit-bias"
    summary: ClassVar[str] = (
        "GD converges to the max-margin SVM (logistic), the min nuclear norm completion "
        "(factorization, small init), and ℓ1 vs ℓ2 interpolants (diagonal nets, init scale)"
    )
    paper: ClassVar[str] = (
        "Soudry et al. 2018, arXiv 1710.10345; Gunasekar et al. 2017, arXiv 1705.09280; "
        "Woodworth et al. 2020, arXiv 2002.09277"
    )
    scales: ClassVar[dict[str, dict[str, Any]]] = {
        "quick": {},
        "paper": {"seeds": 24, "steps": 10_000_000, "matrix_size": 50},
    }
    settings: ClassVar[dict[str, dict[str, Any]]] = {
        # uniform points in a 3-D cube with a margin gap of 3; a rank-3 completion; a diagonal
        # network in 80 dimensions with 30 examples and 4 nonzeros
        "uniform-3d": {
            "points": "uniform",
            "data_dim": 3,
            "margin_gap": 3.0,
            "matrix_rank": 3,
            "num_samples": 30,
            "num_features": 80,
            "sparsity": 4,
        },
    }

    seeds: int = 24
    num_points: int = 40
    points: str = "gaussian"
    data_dim: int = 2
    min_margin: float = 0.05
    margin_gap: float = 2.0
    steps: int = 300_000
    matrix_size: int = 40
    matrix_rank: int = 2
    observed_fraction: float = 0.7
    num_samples: int = 40
    num_features: int = 100
    sparsity: int = 5
    completion_steps: int = 20_000
    diagonal_steps: int = 150_000

    def __post_init__(self) -> None:
        if self.seeds < 1 or self.steps < 1000 or self.num_samples >= self.num_features:
            raise ValueError(
                "implicit-bias needs seeds >= 1, steps >= 1000 and num_samples < num_features"
            )
        if self.points not in POINTS or self.data_dim < 1 or self.margin_gap <= 1:
            raise ValueError(
                f"implicit-bias needs points in {POINTS}, data_dim >= 1 and margin_gap > 1"
            )

    def run(self, ctx: Context) -> ExperimentResult:
        # matrices of at most a few thousand entries: one BLAS thread is fastest, more only
        # spin (several times the CPU time of one)
        with threadpool_limits(1, user_api="blas"):
            return self._run(ctx)

    def _run(self, ctx: Context) -> ExperimentResult:
        seeds = range(self.seeds)
        logistic = ctx.cached(
            "logistic",
            {
                "seeds": self.seeds,
                "n": self.num_points,
                "points": self.points,
                "d": self.data_dim,
                "min_margin": self.min_margin,
                "gap": self.margin_gap,
                "steps": self.steps,
            },
            lambda _: self._logistic(self.seeds),
        )["runs"]
        completion = [
            ctx.cached(
                "completion",
                {
                    "seed": s,
                    "n": self.matrix_size,
                    "rank": self.matrix_rank,
                    "fraction": self.observed_fraction,
                    "steps": self.completion_steps,
                },
                lambda _, s=s: self._completion(s),
            )
            for s in ctx.track(seeds, "matrix completion")
        ]
        diagonal = ctx.cached(
            "diagonal",
            {
                "seeds": self.seeds,
                "n": self.num_samples,
                "d": self.num_features,
                "k": self.sparsity,
                "steps": self.diagonal_steps,
            },
            lambda _: self._diagonal(self.seeds),
        )["runs"]
        summary = summarize(logistic, completion, diagonal)
        return ExperimentResult(
            metrics=summary,
            tables={
                "logistic regression: angle to the SVM": [
                    {k: v for k, v in r.items() if k != "w"}
                    for run in logistic
                    for r in run["trajectory"]
                ],
                "matrix completion": [r for run in completion for r in run["runs"]],
                "diagonal network": [r for run in diagonal for r in run["runs"]],
            },
            figures={"angle to the SVM vs log t": figure(logistic, completion, diagonal)},
            claims=claims(summary),
        )

    def _logistic(self, seeds: int) -> dict[str, Any]:
        data = [
            separable_data(
                self.num_points,
                self.data_dim,
                gap=self.margin_gap,
                seed=s,
                points=self.points,
                min_margin=self.min_margin,
            )
            for s in range(seeds)
        ]
        trajectories = logistic_gd(
            [d[0] for d in data], [d[1] for d in data], steps=self.steps, records=40
        )
        runs = []
        for seed, (xi, yi, svm), trajectory in zip(range(seeds), data, trajectories, strict=True):
            for r in trajectory:
                w = np.asarray(r["w"])
                r.update({"seed": seed, "angle": angle(w, svm), "norm": float(np.linalg.norm(w))})
            runs.append(
                {
                    "seed": seed,
                    "svm": svm.tolist(),
                    "svm_norm": float(np.linalg.norm(svm)),
                    "svm_min_margin": float(np.min(yi * (xi @ svm))),
                    "num_points": len(yi),
                    "trajectory": trajectory,
                }
            )
        return {"runs": runs}

    def _completion(self, seed: int) -> dict[str, Any]:
        m, mask = completion_problem(
            self.matrix_size, self.matrix_rank, self.observed_fraction, seed=seed
        )
        cert = nuclear_norm_certificate(m, mask, self.matrix_rank)
        runs = factorized_completion(
            m,
            mask,
            init_scales=list(INIT_SCALES_COMPLETION),
            steps=self.completion_steps,
            seed=seed,
        )
        for r in runs:
            r["seed"] = seed
        return {"seed": seed, **cert, "runs": runs}

    def _diagonal(self, seeds: int) -> dict[str, Any]:
        problems = [
            sparse_regression(self.num_samples, self.num_features, self.sparsity, seed=s)
            for s in range(seeds)
        ]
        ws = diagonal_network(
            np.stack([p[0] for p in problems]),
            np.stack([p[1] for p in problems]),
            init_scales=list(INIT_SCALES_DIAGONAL),
            max_steps=self.diagonal_steps,
        )
        out = []
        for seed, ((x, y, w_star), w_runs) in enumerate(zip(problems, ws, strict=True)):
            l1 = min_l1_interpolant(x, y)
            l2 = np.linalg.pinv(x) @ y
            runs = [
                {
                    "seed": seed,
                    "init_scale": a,
                    "distance_to_l1": float(np.linalg.norm(w - l1) / np.linalg.norm(l1)),
                    "distance_to_l2": float(np.linalg.norm(w - l2) / np.linalg.norm(l2)),
                    "l1_norm": float(np.abs(w).sum()),
                    "residual": float(np.linalg.norm(x @ w - y) / np.linalg.norm(y)),
                }
                for a, w in zip(INIT_SCALES_DIAGONAL, w_runs, strict=True)
            ]
            out.append(
                {
                    "seed": seed,
                    "min_l1_norm": float(np.abs(l1).sum()),
                    "min_l2_solution_l1_norm": float(np.abs(l2).sum()),
                    "l1_recovers_planted": float(np.linalg.norm(l1 - w_star)),
                    "runs": runs,
                }
            )
        return {"runs": out}


def _log_log(ax: Any, xlabel: str, ylabel: str, title: str) -> None:
    ax.set(xscale="log", yscale="log", xlabel=xlabel, ylabel=ylabel, title=title)


def listed(rows: list[dict[str, Any]], key: str, spec: str = "") -> str:
    """``rows[i][key]`` of every row, formatted with ``spec``, comma-separated (evidence)."""
    return ", ".join(format(row[key], spec) for row in rows)


def summarize(
    logistic: list[dict[str, Any]],
    completion: list[dict[str, Any]],
    diagonal: list[dict[str, Any]],
) -> dict[str, Any]:
    """Per-seed numbers behind the claims (one row per seed: the sample of each test)."""
    log_rows = []
    for run in logistic:
        traj = run["trajectory"]
        t_max = traj[-1]["t"]
        last = [r for r in traj if r["t"] >= t_max / 10]  # the last decade
        slope, _, _ = linear_fit([math.log(r["t"]) for r in last], [r["norm"] for r in last])
        scaled = [r["angle"] * math.log(r["t"]) for r in last]
        log_rows.append(
            {
                "seed": run["seed"],
                "final_angle": traj[-1]["angle"],
                "decade_start_angle": last[0]["angle"],
                "decade_start_t": last[0]["t"],
                "largest_angle": max(r["angle"] for r in traj),
                "angle_decreasing": all(
                    b["angle"] <= a["angle"] for a, b in zip(last, last[1:], strict=False)
                ),
                "angle_log_t_change": max(scaled) / min(scaled),
                "norm_slope": slope,
                "svm_norm": run["svm_norm"],
                "svm_min_margin": run["svm_min_margin"],
                "steps": t_max,
            }
        )
    comp_rows = []
    for run in completion:
        rs = sorted(run["runs"], key=lambda r: r["init_scale"])
        errs = [r["relative_error"] for r in rs]
        comp_rows.append(
            {
                "seed": run["seed"],
                "certificate_norm": run["certificate_norm"],
                "certificate_residual": run["certificate_residual"],
                "injectivity": run["injectivity"],
                "init_scales": [r["init_scale"] for r in rs],
                "errors": errs,
                "error_smallest_init": errs[0],
                "error_largest_init": errs[-1],
                "errors_monotone": all(a <= b for a, b in zip(errs, errs[1:], strict=False)),
                "max_train_residual": max(r["train_residual"] for r in run["runs"]),
            }
        )
    diag_rows = []
    for run in diagonal:
        rs = sorted(run["runs"], key=lambda r: r["init_scale"])
        norms = [r["l1_norm"] for r in rs]
        diag_rows.append(
            {
                "seed": run["seed"],
                "init_scales": [r["init_scale"] for r in rs],
                "l1_norms": norms,
                "min_l1_norm": run["min_l1_norm"],
                "small_init_to_l1": rs[0]["distance_to_l1"],
                "large_init_to_l2": rs[-1]["distance_to_l2"],
                "small_init_to_l2": rs[0]["distance_to_l2"],
                "l1_norm_monotone": all(
                    a <= b * (1 + 1e-6) for a, b in zip(norms, norms[1:], strict=False)
                ),
                "max_residual": max(r["residual"] for r in rs),
            }
        )
    return {"logistic": log_rows, "completion": comp_rows, "diagonal": diag_rows}


def claims(s: dict[str, Any]) -> list[Claim]:
    """The papers' findings as tests over the seeds (each seed is an independent problem):
    thresholds on a per-seed quantity are one-sample t-tests with the paper's cut-off as the
    margin (ratios on a log scale), changes within a seed's runs are paired t-tests, and "grows
    with the init scale" is a slope t-test over every (init scale, seed) point. That the
    problems are set up right (a dual certificate; every run fits its data) is checked on every
    seed, untested."""
    lg, cp, dg = s["logistic"], s["completion"], s["diagonal"]

    def worst(rows, key, fn=max):
        return fn(r[key] for r in rows)

    def col(rows, key, fn=lambda v: v):
        return [fn(r[key]) for r in rows]

    ratio = [r["norm_slope"] / r["svm_norm"] for r in lg]
    comp_x = [math.log10(a) for r in cp for a in r["init_scales"]]
    comp_y = [math.log10(e) for r in cp for e in r["errors"]]
    diag_x = [math.log10(a) for r in dg for a in r["init_scales"]]
    diag_y = [n / r["min_l1_norm"] for r in dg for n in r["l1_norms"]]
    return [
        Claim.tested(
            "GD on separable logistic regression converges in direction to the hard-margin SVM "
            "(scikit-learn): the angle to it ends below 0.1 rad",
            exceeds(
                col(lg, "final_angle", lambda v: -v),
                -0.1,
                name="−angle",
                hypothesis="mean angle to ŵ_SVM at the last step < 0.1 rad",
            ),
            "angle (rad) at t = "
            + f"{lg[0]['steps']:.0e}: "
            + listed(lg, "final_angle", ".4f")
            + " (largest on the way: "
            + listed(lg, "largest_angle", ".3f")
            + "); SVM min margin "
            + listed(lg, "svm_min_margin", ".6f")
            + " (1 = exact)",
            SOUDRY,
        ),
        Claim.tested(
            "past a transient the angle keeps shrinking: it falls over the last decade of steps",
            compare(
                col(lg, "decade_start_angle", math.log),
                col(lg, "final_angle", math.log),
                paired=True,
                names=("ln angle at t/10", "ln angle at t"),
                hypothesis="ln angle at the start − ln angle at the end of the last decade > 0",
            ),
            "angle (rad) at the start of the last decade: "
            + listed(lg, "decade_start_angle", ".4f")
            + "; at its end: "
            + listed(lg, "final_angle", ".4f")
            + "; decreasing at every record: "
            + listed(lg, "angle_decreasing"),
            SOUDRY,
        ),
        Claim.tested(
            "the angle decays like 1/log t (angle·ln t changes by < 1.5× over the last decade)",
            exceeds(
                col(lg, "angle_log_t_change", lambda v: -math.log(v)),
                -math.log(1.5),
                name="−ln(max/min angle·ln t)",
                hypothesis="mean ln(max/min of angle·ln t over the last decade) < ln 1.5",
            ),
            "max/min of angle·ln t over the last decade: "
            + listed(lg, "angle_log_t_change", ".3f"),
            SOUDRY,
        ),
        Claim.tested(
            "‖w(t)‖ grows like ‖ŵ_SVM‖·ln t (slope over the last decade within 10%)",
            exceeds(
                [-abs(q - 1.0) for q in ratio],
                -0.1,
                name="−|slope/‖ŵ‖ − 1|",
                hypothesis="mean |slope of ‖w‖ against ln t / ‖ŵ_SVM‖ − 1| < 0.1",
            ),
            "slope of ‖w‖ against ln t / ‖ŵ_SVM‖: "
            + ", ".join(f"{q:.3f}" for q in ratio)
            + " (‖ŵ_SVM‖ = "
            + listed(lg, "svm_norm", ".3f")
            + ")",
            SOUDRY,
        ),
        Claim(
            "the ground truth is the unique minimum nuclear norm completion (dual certificate, "
            "on every seed: a check of the setup)",
            passed=worst(cp, "certificate_norm") < 1.0
            and worst(cp, "certificate_residual") < 1e-8
            and worst(cp, "injectivity", min) > 1e-6,
            evidence="‖P_T⊥(Y)‖ = "
            + listed(cp, "certificate_norm", ".3f")
            + " (< 1 certifies), equation residual ≤ "
            + f"{worst(cp, 'certificate_residual'):.1e}",
            source="Candès & Recht 2009, arXiv 0805.4471, Lemma 3.1",
        ),
        Claim(
            "every GD run fits its data (observed entries and regression targets to a relative "
            "residual ≤ 1e-3, on every seed: a check of the setup)",
            passed=worst(cp, "max_train_residual") <= 1e-3 and worst(dg, "max_residual") <= 1e-3,
            evidence=f"observed entries fitted to {worst(cp, 'max_train_residual'):.0e}, "
            f"regression targets to {worst(dg, 'max_residual'):.0e}",
            source=f"{GUNASEKAR}; {WOODWORTH}",
        ),
        Claim.tested(
            "GD on a full-size factorization from small init (1e-4) reaches the min nuclear "
            "norm completion (relative error ≤ 1e-2)",
            exceeds(
                col(cp, "error_smallest_init", lambda v: -v),
                -1e-2,
                name="−error at the smallest init",
                hypothesis="mean relative error at the smallest init < 1e-2",
            ),
            "relative error at init 1e-4: " + listed(cp, "error_smallest_init", ".1e"),
            GUNASEKAR,
        ),
        Claim.tested(
            "the completion error shrinks with the init scale",
            trend(
                comp_x,
                comp_y,
                name="log₁₀ error",
                hypothesis="slope of log₁₀ relative error against log₁₀(init scale) > 0",
            ),
            "relative error by increasing init scale: "
            + "; ".join(", ".join(f"{e:.1e}" for e in r["errors"]) for r in cp),
            GUNASEKAR,
        ),
        Claim.tested(
            "the completion error at init 1 is at least 10× that at init 1e-4",
            compare(
                col(cp, "error_largest_init", math.log10),
                col(cp, "error_smallest_init", math.log10),
                margin=1.0,
                paired=True,
                names=("log₁₀ error at init 1", "log₁₀ error at init 1e-4"),
                hypothesis="log₁₀ error at the largest − at the smallest init > log₁₀ 10",
            ),
            "relative error at init 1e-4: "
            + listed(cp, "error_smallest_init", ".1e")
            + "; at init 1: "
            + listed(cp, "error_largest_init", ".1e"),
            GUNASEKAR,
        ),
        Claim.tested(
            "diagonal network: small init gives the minimum-ℓ1 (sparse) interpolant (relative "
            "distance ≤ 0.05)",
            exceeds(
                col(dg, "small_init_to_l1", lambda v: -v),
                -0.05,
                name="−distance to min-ℓ1",
                hypothesis="mean relative distance to the min-ℓ1 interpolant at α = 1e-3 < 0.05",
            ),
            "relative distance to the min-ℓ1 solution at α=1e-3: "
            + listed(dg, "small_init_to_l1", ".3f")
            + " (to min-ℓ2: "
            + listed(dg, "small_init_to_l2", ".2f")
            + ")",
            WOODWORTH,
        ),
        Claim.tested(
            "diagonal network: large init gives the minimum-ℓ2 (kernel) interpolant (relative "
            "distance ≤ 0.05)",
            exceeds(
                col(dg, "large_init_to_l2", lambda v: -v),
                -0.05,
                name="−distance to min-ℓ2",
                hypothesis="mean relative distance to the min-ℓ2 interpolant at α = 10 < 0.05",
            ),
            "relative distance to the min-ℓ2 solution at α=10: "
            + listed(dg, "large_init_to_l2", ".1e"),
            WOODWORTH,
        ),
        Claim.tested(
            "diagonal network: ‖w‖₁ grows with the init scale in between",
            trend(
                diag_x,
                diag_y,
                name="‖w‖₁ / min ‖w‖₁",
                hypothesis="slope of ‖w‖₁ / (the min-ℓ1 norm) against log₁₀ α > 0",
            ),
            "‖w‖₁ / min-ℓ1 norm by increasing α: "
            + "; ".join(", ".join(f"{n / r['min_l1_norm']:.2f}" for n in r["l1_norms"]) for r in dg)
            + "; monotone in α: "
            + listed(dg, "l1_norm_monotone"),
            WOODWORTH,
        ),
    ]


def figure(logistic, completion, diagonal) -> Any:
    """Angle to the SVM and ‖w‖ against t; completion error and ℓ1/ℓ2 distances against α."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(13, 3.8))
    ax, nx, cx, dx = fig.subplots(1, 4)
    for run in logistic:
        t = [r["t"] for r in run["trajectory"]]
        ax.plot(t, [r["angle"] for r in run["trajectory"]], marker=".", label=f"seed {run['seed']}")
        nx.plot(t, [r["norm"] for r in run["trajectory"]], marker=".")
        end = run["trajectory"][-1]  # slope ‖ŵ‖ through the last point
        nx.plot(
            t, [end["norm"] + run["svm_norm"] * math.log(v / end["t"]) for v in t], "k:", lw=0.8
        )
    _log_log(ax, "GD step t", "angle to ŵ_SVM (rad)", "(a) logistic regression")
    ax.legend(fontsize=8)
    nx.set(
        xscale="log",
        xlabel="GD step t",
        ylabel="‖w(t)‖",
        ylim=(0, None),
        title="‖w‖; dotted: slope ‖ŵ_SVM‖ in ln t",
    )
    for run in completion:
        rs = sorted(run["runs"], key=lambda r: r["init_scale"])
        cx.plot([r["init_scale"] for r in rs], [r["relative_error"] for r in rs], marker="o")
    _log_log(cx, "init scale α", "‖X − X*‖/‖X*‖ (X* min nuclear norm)", "(b) matrix completion")
    for run in diagonal:
        rs = sorted(run["runs"], key=lambda r: r["init_scale"])
        a = [r["init_scale"] for r in rs]
        dx.plot(a, [r["distance_to_l1"] for r in rs], "o-", color="tab:blue")
        dx.plot(a, [r["distance_to_l2"] for r in rs], "s--", color="tab:orange")
    dx.plot([], [], "o-", color="tab:blue", label="to min-ℓ1")
    dx.plot([], [], "s--", color="tab:orange", label="to min-ℓ2")
    _log_log(dx, "init scale α", "relative distance", "(c) diagonal network u² − v²")
    dx.legend(fontsize=8)
    fig.tight_layout()
    return fig
