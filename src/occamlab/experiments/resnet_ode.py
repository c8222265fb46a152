"""Residual networks as discretized ODEs: first-order convergence to the flow, and forward
stability set by the eigenvalues of the layer Jacobian (Haber & Ruthotto 2017; Chen et al. 2018).

Two findings on the residual network x_{l+1} = x_l + h·σ(W(t_l)x_l + b(t_l)), σ = tanh, h = T/L
(:mod:`occamlab.probes.dynamics.resnet_ode`):

* **the ODE limit.** With weights sampled from a weight function smooth in time (one random
  W(t) = W₀ + sin(ωt)W₁ + cos(ωt)W₂, b(t) per seed), the network of depth L is forward Euler on
  dx/dt = σ(W(t)x + b(t)); its output at depth L approaches the flow's x(T) (scipy's DOP853 at
  tolerance 1e-12, float64) with error O(h): the log-log slope of the error against h is 1.
* **forward stability.** With a shared weight and no bias, x = 0 is a fixed point at which the
  layer Jacobian is I + hW (tanh′(0) = 1): a small input grows per unit depth-time at the rate
  r(h) = max_k ln|1 + hλ_k(W)|/h, which tends to max Re λ(W) as h → 0. Haber & Ruthotto's
  antisymmetric weights W = K − Kᵀ − γI (eigenvalues −γ + iμ) decay; W = K − Kᵀ + γI
  (max Re λ = γ) blows up exponentially; and the antisymmetric weights beyond forward Euler's
  step limit h* = min_k 2γ/(γ² + μ_k²) (here 1.5·h*) blow up too, as their layer Jacobian's
  eigenvalues leave the unit disc. Inputs of norm ``amplitude`` keep the network in tanh's
  linear regime; the rate is fitted over the second half of the layers at which ‖x_l‖ is still
  below ``linear_below`` (past that, tanh saturates: the unstable network's growth turns linear,
  visible in the figure).

The claims are tests over seeds (each seed a new weight function, K and inputs). The order of
convergence: the per-seed log-log slope of the error against h must lie within 1 ± 0.2 (two
one-sided t-tests). The growth rates: for each of the three weight variants, the per-seed ratio
of measured to predicted rate r(h) (the mean over the inputs) must lie within 1 ± 0.1; the
transient of the non-dominant eigen-directions is the only expected deviation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from occamlab.experiments.framework import Claim, Context, ExperimentResult, fields_except
from occamlab.experiments.registry import EXPERIMENTS
from occamlab.experiments.stats import mean_std, within
from occamlab.probes.dynamics import resnet_ode as ode

HABER = "Haber & Ruthotto 2017, arXiv 1705.03341"
CHEN = "Chen et al. 2018, arXiv 1806.07366"
VARIANTS = ("antisymmetric", "positive", "beyond step limit")


@EXPERIMENTS.register
@dataclass(frozen=True)
class ResnetOde:
    """A residual network against its ODE limit: error O(h); growth at the layer Jacobian's rate.

    Attributes:
        dim: width n of the residual network (the state dimension).
        inputs: inputs per seed (the error is the RMS over them; the rates their mean).
        horizon: depth-time T of the ODE-limit part (h = T/L).
        weight_scale: scale of the weight function's matrices (entries of variance scale²/n).
        min_depth: the smallest depth L of the ODE-limit part.
        depth_doublings: depths min_depth·2^j for j = 0 … depth_doublings − 1.
        seeds: independent weight functions, K and inputs: the sample of every test.
        gamma: γ of the weights W = K − Kᵀ ∓ γI (K with entries of variance 1/n).
        step: step h of the stable and the positive variant (below forward Euler's limit).
        beyond_limit: the third variant runs the stable weights at this multiple of the step
            limit h*.
        stability_horizon: depth-time T of the stability part (depth ⌈T/h⌉ for each variant).
        amplitude: norm of the inputs of the stability part (tanh's linear regime).
        linear_below: the rate is fitted while ‖x_l‖ stays below this.
    """

    name: ClassVar[str] = "resnet-ode"
    summary: ClassVar[str] = (
        "A residual network with step h = T/L converges to its ODE flow with error O(h); forward "
        "stability follows the layer Jacobian's eigenvalues (antisymmetric weights decay, "
        "positive ones blow up at the predicted rate)"
    )
    paper: ClassVar[str] = (
        "Haber & Ruthotto 2017, arXiv 1705.03341; Chen et al. 2018, arXiv 1806.07366"
    )
    scales: ClassVar[dict[str, dict[str, Any]]] = {
        "quick": {},
        "paper": {"dim": 32, "inputs": 64, "depth_doublings": 8, "seeds": 20},
    }
    settings: ClassVar[dict[str, dict[str, Any]]] = {
        "wide-damped": {"dim": 16, "weight_scale": 2.0, "gamma": 1.0, "step": 0.02},
    }

    dim: int = 8
    inputs: int = 16
    horizon: float = 1.0
    weight_scale: float = 1.0
    min_depth: int = 8
    depth_doublings: int = 6
    seeds: int = 8
    gamma: float = 0.5
    step: float = 0.05
    beyond_limit: float = 1.5
    stability_horizon: float = 40.0
    amplitude: float = 1e-15
    linear_below: float = 1e-3

    def __post_init__(self) -> None:
        if (
            self.dim < 2
            or self.inputs < 1
            or self.horizon <= 0
            or self.min_depth < 1
            or self.depth_doublings < 3
            or self.seeds < 1
            or self.gamma <= 0
            or self.step <= 0
            or self.beyond_limit <= 1
            or self.stability_horizon <= 0
            or not 0 < self.amplitude < self.linear_below
        ):
            raise ValueError(
                "resnet-ode needs dim >= 2, inputs >= 1, depth_doublings >= 3, seeds >= 1, "
                "positive horizons, gamma and step, beyond_limit > 1, 0 < amplitude < linear_below"
            )

    @property
    def depths(self) -> list[int]:
        return [self.min_depth * 2**j for j in range(self.depth_doublings)]

    def run(self, ctx: Context) -> ExperimentResult:
        key = fields_except(self, "seeds")
        per_seed = [
            ctx.cached("seed", {**key, "seed": seed}, lambda _, s=seed: self._seed(s))
            for seed in ctx.track(range(self.seeds), "seeds")
        ]
        summary = summarize(per_seed)
        convergence = [
            {"seed": r["seed"], "depth": depth, "h": h, "error": e}
            for r in per_seed
            for depth, h, e in zip(r["depths"], r["h"], r["errors"], strict=True)
        ]
        stability = [
            {"seed": r["seed"], "variant": v, **{k: x for k, x in r[v].items() if k != "curve"}}
            for r in per_seed
            for v in VARIANTS
        ]
        return ExperimentResult(
            metrics=summary,
            tables={"error vs h": convergence, "growth rates": stability},
            figures={"error vs h and forward stability": figure(per_seed, summary)},
            claims=claims(per_seed, summary),
        )

    def _seed(self, seed: int) -> dict[str, Any]:
        rng = np.random.default_rng(seed)
        weights = ode.random_weight_function(
            self.dim, horizon=self.horizon, scale=self.weight_scale, rng=rng
        )
        x0 = rng.standard_normal((self.inputs, self.dim))
        depths = self.depths
        errors = ode.euler_errors(x0, weights, horizon=self.horizon, depths=depths)
        h = [self.horizon / d for d in depths]
        k = rng.standard_normal((self.dim, self.dim)) / math.sqrt(self.dim)
        u = rng.standard_normal((self.inputs, self.dim))
        u *= self.amplitude / np.linalg.norm(u, axis=1, keepdims=True)
        stable = ode.antisymmetric_weights(k, self.gamma)
        limit = ode.euler_step_limit(stable)
        variants = {
            "antisymmetric": (stable, self.step),
            "positive": (ode.antisymmetric_weights(k, -self.gamma), self.step),
            "beyond step limit": (stable, self.beyond_limit * limit),
        }
        out: dict[str, Any] = {
            "seed": seed,
            "depths": depths,
            "h": h,
            "errors": errors,
            "order": ode.log_log_slope(h, errors),
            "step_limit": limit,
        }
        for name, (w, step) in variants.items():
            depth = math.ceil(self.stability_horizon / step)
            norms = ode.shared_forward_norms(u, w, h=step, depth=depth)
            rates = [
                ode.measured_growth_rate(n, step, linear_below=self.linear_below) for n in norms
            ]
            predicted = ode.layer_growth_rate(w, step)
            stride = max(1, depth // 200)
            out[name] = {
                "h": step,
                "depth": depth,
                "max_real_eigenvalue": ode.max_real_eigenvalue(w),
                "predicted_rate": predicted,
                "measured_rate": float(np.mean(rates)),
                "ratio": float(np.mean(rates)) / predicted,
                "max_norm_ratio": float((norms / norms[:, :1]).max()),
                "curve": {
                    "t": (np.arange(0, depth + 1, stride) * step).tolist(),
                    "log_norm_ratio": np.log(norms[:, ::stride] / norms[:, :1]).mean(0).tolist(),
                },
            }
        return out


def summarize(per_seed: list[dict[str, Any]]) -> dict[str, Any]:
    """Mean ± sd over seeds of the order of convergence and of each variant's rates."""
    order = mean_std([r["order"] for r in per_seed])
    out: dict[str, Any] = {
        "order_mean": order[0],
        "order_std": order[1],
        "errors_mean": np.mean([r["errors"] for r in per_seed], axis=0).tolist(),
        "h": per_seed[0]["h"],
        "step_limit_mean": float(np.mean([r["step_limit"] for r in per_seed])),
    }
    for v in VARIANTS:
        for field in ("predicted_rate", "measured_rate", "ratio", "max_real_eigenvalue", "h"):
            out[f"{v}: {field}"] = float(np.mean([r[v][field] for r in per_seed]))
        out[f"{v}: max_norm_ratio"] = float(max(r[v]["max_norm_ratio"] for r in per_seed))
    return out


def claims(per_seed: list[dict[str, Any]], s: dict[str, Any]) -> list[Claim]:
    """The papers' findings, tested over the seeds of :meth:`ResnetOde._seed`."""
    orders = [r["order"] for r in per_seed]
    errors = ", ".join(f"{e:.2e}" for e in s["errors_mean"])
    out = [
        Claim.tested(
            "the residual network converges to the ODE flow with error O(h): the log-log slope "
            "of the error against h is 1 (±0.2)",
            within(orders, 1.0, 0.2, name="order", hypothesis="|mean log-log slope − 1| < 0.2"),
            f"slope {s['order_mean']:.3f} ± {s['order_std']:.3f} (sd over {len(orders)} seeds); "
            f"mean error {errors} at h = {s['h'][0]:.3g} … {s['h'][-1]:.3g}",
            HABER + " (forward Euler); " + CHEN + " (ODE limit)",
        )
    ]
    statements = {
        "antisymmetric": "antisymmetric weights W = K − Kᵀ − γI keep the forward propagation "
        "bounded: inputs decay at the rate max ln|1 + hλ(W)|/h < 0 of the layer Jacobian (±10%)",
        "positive": "weights W = K − Kᵀ + γI with max Re λ = γ > 0 blow up exponentially at the "
        "layer Jacobian's rate max ln|1 + hλ(W)|/h (±10%)",
        "beyond step limit": "the antisymmetric weights at 1.5× forward Euler's step limit "
        "h* = min 2γ/(γ² + μ²) blow up at the layer Jacobian's rate (±10%): stability follows "
        "the eigenvalues of I + hW, not of W alone",
    }
    for v in VARIANTS:
        ratios = [r[v]["ratio"] for r in per_seed]
        out.append(
            Claim.tested(
                statements[v],
                within(
                    ratios,
                    1.0,
                    0.1,
                    name=f"{v}: measured / predicted rate",
                    hypothesis="|mean measured / predicted rate − 1| < 0.1",
                ),
                f"h = {s[f'{v}: h']:.3g}: measured rate {s[f'{v}: measured_rate']:.3f}, "
                f"predicted {s[f'{v}: predicted_rate']:.3f} (continuous max Re λ "
                f"{s[f'{v}: max_real_eigenvalue']:.3f}), ratio {s[f'{v}: ratio']:.3f} (means "
                f"over {len(ratios)} seeds); largest ‖x_l‖/‖x_0‖ {s[f'{v}: max_norm_ratio']:.3g}",
                HABER + ", Sec. 3 (stability of the forward propagation)",
            )
        )
    return out


def figure(per_seed: list[dict[str, Any]], s: dict[str, Any]) -> Any:
    """Error against h (log-log) with slope 1; ln‖x_l‖/‖x_0‖ against depth-time per variant with
    the predicted rate."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10, 4))
    ax, bx = fig.subplots(1, 2)
    h = np.asarray(s["h"])
    for r in per_seed:
        ax.plot(r["h"], r["errors"], "o-", color="C0", alpha=0.3, ms=3)
    errors = np.asarray(s["errors_mean"])
    ax.plot(h, errors[-1] * h / h[-1], "k--", label="slope 1 (O(h))")
    ax.set(
        xscale="log",
        yscale="log",
        xlabel="step h = T/L",
        ylabel="‖x_L − x(T)‖ (RMS over inputs)",
        title=f"ODE limit: slope {s['order_mean']:.2f} ± {s['order_std']:.2f}",
    )
    ax.legend(fontsize=8)
    first = per_seed[0]
    for i, v in enumerate(VARIANTS):
        c = first[v]
        t = np.asarray(c["curve"]["t"])
        bx.plot(t, c["curve"]["log_norm_ratio"], color=f"C{i}", label=f"{v} (h = {c['h']:.3g})")
        bx.plot(t, c["predicted_rate"] * t, ":", color=f"C{i}")
    bx.set(
        xlabel="depth-time t = l·h",
        ylabel="ln ‖x_l‖/‖x_0‖",
        title="forward stability (dotted: max ln|1 + hλ|/h · t)",
    )
    bx.legend(fontsize=8)
    fig.tight_layout()
    return fig
