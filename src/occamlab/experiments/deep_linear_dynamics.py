"""Deep linear networks learn mode by mode along sigmoids (Saxe, McClelland & Ganguli 2014).

A depth-D linear network W_D⋯W_1 (hidden width ``hidden``) learns the map S = U diag(s) Vᵀ with
``modes`` singular values s_i spaced geometrically from ``s_max`` down to ``s_min``, by full-batch
gradient descent on L = ½‖S − W_D⋯W_1‖²_F (the population squared error of white inputs; time
t = k·η), in float64. Each seed draws random singular frames U, V and hidden frames, a small
balanced initialization aligned with the modes (every mode at strength u₀ = ``init_strength``)
and a Gaussian perturbation of it (``init_noise`` relative), so the modes are not exactly
decoupled. The theory (:mod:`occamlab.probes.dynamics.deep_linear`) predicts each mode strength
u_i(t) = u_iᵀ W v_i: for D = 2 the sigmoid u(t) = s e^{2st}/(e^{2st} − 1 + s/u₀), reaching s/2 at
t½ = ln(s/u₀ − 1)/(2s); for D > 2 the solution of du/dt = D u^{2−2/D}(s − u), a sharper step.

Claims, Holm-corrected together, over the seeds:

* the half-times t½ of every mode match the closed form within 5% (one-sample t-test of each
  seed's largest relative error against 0.05);
* the rise times (10% → 90% of s: the sigmoid's width, which depth changes) match it within 5%;
* learning time ∝ 1/s: each seed's least-squares slope of ln t½ against ln s lies within 0.1 of
  −1 (two one-sided tests; the closed form's own slope differs from −1 by the log factor,
  ≈ 1/ln(s/u₀) for D = 2);
* the modes are learned in order of size, strongest first, on every seed (exact, untested);
* balancedness: W_{j+1}ᵀW_{j+1} − W_jW_jᵀ is conserved by gradient flow and GD moves it by
  O(η): from a random (unbalanced) Gaussian initialization of scale ``balance_init``, its relative
  drift over time ``balance_time`` at η is twice that at η/2 (ratio within 2 ± 0.2), and the
  Richardson extrapolation to η → 0, 2·D(η/2) − D(η), has moved by less than 10⁻³ of ‖D(0)‖.

Arora et al. 2018 (arXiv 1802.06509) and Du, Hu & Lee 2018 (arXiv 1806.00900) proved the
conservation law.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from occamlab.experiments.framework import Claim, Context, ExperimentResult, fields_except
from occamlab.experiments.registry import EXPERIMENTS
from occamlab.experiments.stats import exceeds, within
from occamlab.probes.dynamics import deep_linear as dl

SAXE = "Saxe, McClelland & Ganguli 2014, arXiv 1312.6120"
BALANCE = "Arora et al. 2018, arXiv 1802.06509, Thm. 1; Du, Hu & Lee 2018, arXiv 1806.00900"
TIME_TOLERANCE = 0.05  # relative error of a time read off the closed form
SLOPE_TOLERANCE = 0.1  # |slope of ln t½ on ln s + 1|: the log factor of the closed form
RATIO_TOLERANCE = 0.2  # drift(η)/drift(η/2) = 2 + O(η)
FLOW_DRIFT = 1e-3  # relative drift of the η → 0 extrapolation: O(η²)


@EXPERIMENTS.register
@dataclass(frozen=True)
class DeepLinearDynamics:
    """Mode strengths of a deep linear network against the closed-form sigmoids; balancedness.

    Attributes:
        depth: number of layers D (≥ 2).
        modes: singular values of the target (= input and output dimension).
        hidden: width of the hidden layers (≥ modes).
        s_max: largest singular value of the target.
        s_min: smallest singular value (the others are spaced geometrically in between).
        init_strength: initial strength u₀ of every mode (balanced, aligned initialization).
        init_noise: std of the Gaussian perturbation of each layer, relative to its aligned
            scale u₀^{1/D} (per entry, divided by √fan-in).
        lr: gradient-descent step η (time t = k·η).
        horizon: training time, in units of the slowest mode's predicted half-time.
        balance_init: scale of the random Gaussian initialization of the balancedness runs
            (per entry std balance_init/√fan-in).
        balance_time: training time of the balancedness runs (at η and at η/2).
        seeds: independent draws of frames and initializations: the sample of the tests.
    """

    name: ClassVar[str] = "deep-linear-dynamics"
    summary: ClassVar[str] = (
        "Deep linear networks learn each mode along a closed-form sigmoid at a time ∝ 1/s, "
        "strongest first; W_{j+1}ᵀW_{j+1} − W_jW_jᵀ is conserved (O(η) drift under GD)"
    )
    paper: ClassVar[str] = (
        "Saxe, McClelland & Ganguli 2014, arXiv 1312.6120; Arora et al. 2018, arXiv 1802.06509; "
        "Du, Hu & Lee 2018, arXiv 1806.00900"
    )
    scales: ClassVar[dict[str, dict[str, Any]]] = {
        "quick": {},
        "paper": {"modes": 8, "hidden": 16, "lr": 0.001, "seeds": 20},
    }
    settings: ClassVar[dict[str, dict[str, Any]]] = {
        "depth-3": {"depth": 3, "init_strength": 1e-3},
        "wide-spectrum": {"modes": 6, "hidden": 10, "s_max": 8.0, "s_min": 0.25},
    }

    depth: int = 2
    modes: int = 4
    hidden: int = 6
    s_max: float = 4.0
    s_min: float = 0.5
    init_strength: float = 1e-9
    init_noise: float = 0.01
    lr: float = 0.002
    horizon: float = 2.0
    balance_init: float = 0.5
    balance_time: float = 10.0
    seeds: int = 5

    def __post_init__(self) -> None:
        if (
            self.depth < 2
            or self.modes < 2
            or self.hidden < self.modes
            or not 0 < self.s_min < self.s_max
            or not 0 < self.init_strength < 0.1 * self.s_min
            or self.lr <= 0
            or self.horizon <= 1
            or self.seeds < 1
        ):
            raise ValueError(
                "deep-linear-dynamics needs depth >= 2, modes >= 2, hidden >= modes, "
                "0 < s_min < s_max, 0 < init_strength < s_min/10, lr > 0, horizon > 1, seeds >= 1"
            )

    def singular_values(self) -> np.ndarray:
        """The target's singular values, largest first."""
        return np.geomspace(self.s_max, self.s_min, self.modes)

    def run(self, ctx: Context) -> ExperimentResult:
        key = fields_except(self, "balance_init", "balance_time")
        modes = ctx.cached("mode trajectories", key, lambda _: self._trajectories())
        bkey = {
            "depth": self.depth,
            "modes": self.modes,
            "hidden": self.hidden,
            "s_max": self.s_max,
            "s_min": self.s_min,
            "lr": self.lr,
            "balance_init": self.balance_init,
            "balance_time": self.balance_time,
            "seeds": self.seeds,
        }
        balance = ctx.cached("balancedness", bkey, lambda _: self._balancedness())
        summary = summarize(modes, balance)
        table = [
            {
                "seed": seed,
                "s": s,
                "t_half": th,
                "t_half_predicted": p,
                "rise": r,
                "rise_predicted": rp,
            }
            for seed in range(self.seeds)
            for s, th, p, r, rp in zip(
                modes["s"],
                modes["t_half"][seed],
                modes["t_half_predicted"],
                modes["rise"][seed],
                modes["rise_predicted"],
                strict=True,
            )
        ]
        return ExperimentResult(
            metrics=summary,
            tables={
                "learning times": table,
                "balancedness": [
                    {"seed": k, "lr": self.lr, "drift": a, "drift_half_lr": b, "flow_drift": c}
                    for k, (a, b, c) in enumerate(
                        zip(
                            balance["drift"],
                            balance["drift_half"],
                            balance["drift_flow"],
                            strict=True,
                        )
                    )
                ],
            },
            figures={"mode strengths vs closed form": figure(modes, balance, summary)},
            claims=claims(summary, modes, balance),
        )

    def _targets(self, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        n = self.modes
        u = np.linalg.qr(rng.standard_normal((n, n)))[0]
        v = np.linalg.qr(rng.standard_normal((n, n)))[0]
        return u, v, u @ np.diag(self.singular_values()) @ v.T

    def _trajectories(self) -> dict[str, Any]:
        s = self.singular_values()
        u0, depth = self.init_strength, self.depth
        t_half = [dl.half_time(float(x), u0, depth) for x in s]
        rise = [
            dl.mode_time(0.9 * x, x, u0, depth) - dl.mode_time(0.1 * x, x, u0, depth)
            for x in map(float, s)
        ]
        us, vs, targets, inits = [], [], [], []
        a0 = u0 ** (1.0 / depth)
        for seed in range(self.seeds):
            rng = np.random.default_rng([seed, 1])
            u, v, target = self._targets(rng)
            layers = dl.aligned_balanced_init(u, v, depth=depth, hidden=self.hidden, u0=u0, rng=rng)
            layers = [
                w + self.init_noise * a0 * rng.standard_normal(w.shape) / math.sqrt(w.shape[1])
                for w in layers
            ]
            us.append(u)
            vs.append(v)
            targets.append(target)
            inits.append(layers)
        stacked = [np.stack([layers[j] for layers in inits]) for j in range(depth)]
        steps = math.ceil(self.horizon * max(t_half) / self.lr)
        every = max(1, steps // 2000)
        _, times, strengths = dl.gradient_descent(
            stacked,
            np.stack(targets),
            lr=self.lr,
            steps=steps,
            u=np.stack(us),
            v=np.stack(vs),
            record_every=every,
        )
        measured_half, measured_rise = [], []
        for seed in range(self.seeds):
            curve = strengths[:, seed, :]
            measured_half.append(
                [dl.crossing_time(times, curve[:, i], 0.5 * x) for i, x in enumerate(s)]
            )
            measured_rise.append(
                [
                    dl.crossing_time(times, curve[:, i], 0.9 * x)
                    - dl.crossing_time(times, curve[:, i], 0.1 * x)
                    for i, x in enumerate(s)
                ]
            )
        predicted = np.stack([dl.mode_strength(times, float(x), u0, depth) for x in s], axis=1)
        deviation = np.abs(strengths - predicted[:, None, :]).max(axis=0) / s  # (seeds, modes)
        thin = max(1, len(times) // 400)
        return {
            "s": s.tolist(),
            "steps": steps,
            "t_half_predicted": t_half,
            "rise_predicted": rise,
            "t_half": measured_half,
            "rise": measured_rise,
            "max_deviation": deviation.tolist(),
            "times": times[::thin].tolist(),
            "strengths_seed0": strengths[::thin, 0, :].tolist(),
            "predicted": predicted[::thin].tolist(),
        }

    def _balancedness(self) -> dict[str, Any]:
        n, h = self.modes, self.hidden
        shapes = [(h, n)] + [(h, h)] * (self.depth - 2) + [(n, h)]
        targets, inits = [], []
        for seed in range(self.seeds):
            rng = np.random.default_rng([seed, 2])
            targets.append(self._targets(rng)[2])
            inits.append(
                [self.balance_init * rng.standard_normal(sh) / math.sqrt(sh[1]) for sh in shapes]
            )
        stacked = [np.stack([layers[j] for layers in inits]) for j in range(self.depth)]
        target = np.stack(targets)
        start = dl.imbalance(stacked)
        ends = {}
        for lr in (self.lr, self.lr / 2):
            steps = round(self.balance_time / lr)
            final, _, _ = dl.gradient_descent(
                stacked, target, lr=lr, steps=steps, record_every=steps
            )
            ends[lr] = dl.imbalance(final)

        def size(mats: list[np.ndarray]) -> np.ndarray:
            return np.sqrt(sum((m**2).sum(axis=(-2, -1)) for m in mats))

        norm0 = size(start)
        full, half = ends[self.lr], ends[self.lr / 2]
        flow = [2 * b - a for a, b in zip(full, half, strict=True)]
        drift = size([a - d for a, d in zip(full, start, strict=True)]) / norm0
        drift_half = size([b - d for b, d in zip(half, start, strict=True)]) / norm0
        drift_flow = size([f - d for f, d in zip(flow, start, strict=True)]) / norm0
        return {
            "imbalance_norm": norm0.tolist(),
            "drift": drift.tolist(),
            "drift_half": drift_half.tolist(),
            "drift_flow": drift_flow.tolist(),
        }


def summarize(modes: dict[str, Any], balance: dict[str, Any]) -> dict[str, Any]:
    """Per-seed errors of the half-times and rise times, slopes of ln t½ on ln s, the order in
    which the modes are learned and the drift ratios of the balancedness runs."""
    s = np.asarray(modes["s"])
    half = np.asarray(modes["t_half"], dtype=np.float64)
    rise = np.asarray(modes["rise"], dtype=np.float64)
    half_err = np.abs(half / np.asarray(modes["t_half_predicted"]) - 1).max(axis=1)
    rise_err = np.abs(rise / np.asarray(modes["rise_predicted"]) - 1).max(axis=1)
    finite = np.isfinite(half).all(axis=1)
    slopes = [
        float(np.polyfit(np.log(s), np.log(row), 1)[0]) if ok else math.nan
        for row, ok in zip(half, finite, strict=True)
    ]
    predicted_slope = float(np.polyfit(np.log(s), np.log(modes["t_half_predicted"]), 1)[0])
    in_order = [bool(ok and (np.diff(row) > 0).all()) for row, ok in zip(half, finite, strict=True)]
    drift, drift_half = np.asarray(balance["drift"]), np.asarray(balance["drift_half"])
    return {
        "singular_values": modes["s"],
        "steps": modes["steps"],
        "half_time_error": half_err.tolist(),
        "rise_time_error": rise_err.tolist(),
        "max_trajectory_deviation": float(np.max(modes["max_deviation"])),
        "slopes": slopes,
        "predicted_slope": predicted_slope,
        "learned_in_order": in_order,
        "drift_ratio": (drift / drift_half).tolist(),
        "drift": drift.tolist(),
        "drift_flow": balance["drift_flow"],
    }


def _fmt(values: list[float], spec: str = ".3f") -> str:
    return ", ".join(format(v, spec) for v in values)


def claims(s: dict[str, Any], modes: dict[str, Any], balance: dict[str, Any]) -> list[Claim]:
    """The papers' findings on :func:`summarize`'s output."""
    out = []
    for key, what, statement in (
        (
            "half_time_error",
            "half-time t½",
            "each mode reaches s/2 when the closed form says (t½ within 5%)",
        ),
        (
            "rise_time_error",
            "rise time (10% → 90%)",
            "each mode rises along the closed-form curve (its 10% → 90% rise time within 5%)",
        ),
    ):
        errors = s[key]
        evidence = (
            f"largest relative error of the {what} over {len(s['singular_values'])} modes, per "
            f"seed: {_fmt(errors, '.4f')}; largest |u − u_closed form|/s over the run "
            f"{s['max_trajectory_deviation']:.3f} ({s['steps']} GD steps)"
        )
        if all(math.isfinite(e) for e in errors):
            out.append(
                Claim.tested(
                    statement,
                    exceeds(
                        [-e for e in errors],
                        -TIME_TOLERANCE,
                        name=f"−relative error of the {what}",
                        hypothesis=f"mean largest relative error of the {what} < 0.05",
                    ),
                    evidence,
                    SAXE + ", Eq. 7 and Fig. 3",
                )
            )
        else:
            out.append(Claim(statement, False, "some mode never reached its level", SAXE))
    slopes = s["slopes"]
    statement = "learning time ∝ 1/s: slope of ln t½ against ln s within 0.1 of −1"
    if all(math.isfinite(x) for x in slopes):
        out.append(
            Claim.tested(
                statement,
                within(
                    slopes,
                    -1.0,
                    SLOPE_TOLERANCE,
                    name="slope of ln t½ on ln s",
                    hypothesis="|mean slope of ln t½ on ln s + 1| < 0.1",
                ),
                f"per-seed slopes {_fmt(slopes)} (closed form: {s['predicted_slope']:.3f}); "
                "t½ = "
                + _fmt(modes["t_half"][0], ".2f")
                + " for s = "
                + _fmt(modes["s"], ".2f")
                + " (seed 0)",
                SAXE + " (learning time τ/s up to a log factor)",
            )
        )
    else:
        out.append(Claim(statement, False, "some mode never reached s/2", SAXE))
    order = s["learned_in_order"]
    out.append(
        Claim(
            "the modes are learned one after the other, strongest first (on every seed)",
            passed=all(order),
            evidence=f"{sum(order)} of {len(order)} seeds learn the modes in order of s",
            source=SAXE + ", Fig. 3",
        )
    )
    ratio, flow = s["drift_ratio"], s["drift_flow"]
    out += [
        Claim.tested(
            "GD moves the balancedness W_{j+1}ᵀW_{j+1} − W_jW_jᵀ by O(η): halving η halves its "
            "drift (ratio within 2 ± 0.2)",
            within(
                ratio,
                2.0,
                RATIO_TOLERANCE,
                name="drift(η)/drift(η/2)",
                hypothesis="|mean drift(η)/drift(η/2) − 2| < 0.2",
            ),
            f"relative drift ‖D(T) − D(0)‖/‖D(0)‖ at η per seed {_fmt(s['drift'], '.2e')}; "
            f"ratios to η/2: {_fmt(ratio, '.4f')}",
            BALANCE,
        ),
        Claim.tested(
            "gradient flow conserves W_{j+1}ᵀW_{j+1} − W_jW_jᵀ: the η → 0 extrapolation "
            "2·D(η/2) − D(η) moves by < 10⁻³ of ‖D(0)‖",
            exceeds(
                [-x for x in flow],
                -FLOW_DRIFT,
                name="−relative drift of the flow",
                hypothesis="mean relative drift of 2·D(η/2) − D(η) < 1e-3",
            ),
            f"relative drift of the extrapolation per seed {_fmt(flow, '.1e')} "
            f"(GD at η: {_fmt(s['drift'], '.1e')})",
            BALANCE,
        ),
    ]
    return out


def figure(modes: dict[str, Any], balance: dict[str, Any], s: dict[str, Any]) -> Any:
    """Mode strengths of seed 0 against the closed form; t½ against s; drift against η."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(13, 4))
    ax, bx, cx = fig.subplots(1, 3)
    times = np.asarray(modes["times"])
    measured = np.asarray(modes["strengths_seed0"])
    predicted = np.asarray(modes["predicted"])
    for i, sv in enumerate(modes["s"]):
        (line,) = ax.plot(times, predicted[:, i], lw=1.5, label=f"s = {sv:.2f}")
        ax.plot(times[::10], measured[::10, i], "o", ms=3, color=line.get_color())
    ax.set(xlabel="time t = kη", ylabel="mode strength u_i(t)", title="GD (dots) vs closed form")
    ax.legend(fontsize=8)
    sv = np.asarray(modes["s"])
    for row in modes["t_half"]:
        bx.plot(sv, row, "o", ms=4, color="C0", alpha=0.6)
    bx.plot(sv, modes["t_half_predicted"], "k-", label="closed form t½")
    bx.plot(sv, modes["t_half_predicted"][-1] * sv[-1] / sv, "k:", label="∝ 1/s")
    bx.set(
        xscale="log",
        yscale="log",
        xlabel="singular value s",
        ylabel="half-time t½",
        title=f"learning time vs s (slope {np.mean(s['slopes']):.3f})",
    )
    bx.legend(fontsize=8)
    lr = [1.0, 0.5]
    for a, b in zip(balance["drift"], balance["drift_half"], strict=True):
        cx.plot(lr, [a, b], "o-", color="C1", alpha=0.6)
    cx.plot(lr, [np.mean(balance["drift"]) * x for x in lr], "k:", label="∝ η")
    cx.set(
        xscale="log",
        yscale="log",
        xlabel="step size (× η)",
        ylabel="‖D(T) − D(0)‖ / ‖D(0)‖",
        title="balancedness drift under GD",
    )
    cx.legend(fontsize=8)
    fig.tight_layout()
    return fig
