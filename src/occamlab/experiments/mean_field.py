"""Mean-field limit of two-layer networks: the risk trajectory concentrates at rate N^{-1/2} and
converges to the distributional dynamics (Mei, Montanari & Nguyen 2018).

The paper's isotropic-Gaussian example (:mod:`occamlab.probes.dynamics.mean_field`): y = ±1,
x ~ N(0, (1 ± Δ)²I_d), the network f(x) = (1/N)Σ_i σ(⟨w_i, x⟩) with a piecewise-linear σ, trained
by online SGD with fresh examples at every step and the mean-field step (each neuron moves by
2ε·mean_b[(y − f)σ′(⟨w_i, x⟩)x], an N-independent rule; time t = k·ε). Every seed draws its own
initialization w_i ~ N(0, (r₀²/d)I) and its own stream of examples; the seeds of one width train
together as one batch of networks.

The limit: started from a spherically symmetric distribution, the distributional dynamics stay
spherically symmetric, and reduce to the one-dimensional dynamics of the radial distribution,
each radius moving at dr/dt = −2∂_rΨ(r; ρ_t), where Ψ and the risk are one-dimensional Gaussian
integrals of closed forms (incomplete beta functions). It is solved with ``particles`` quantiles
of the initial radial distribution (their number bounds the limit's own error: ≈ 2e-4 in risk
at 128, against the finite-N deviations of ≥ 1e-2 measured here). The limit's risk is evaluated
on the same fixed test sample as the networks' (so the test sample's own error cancels).

The claims are slope t-tests over every (N, seed) point, Holm-corrected:

* **concentration**: the seed-to-seed spread of a width's risk trajectories — per seed, the RMS
  over time of its deviation from the mean over seeds — falls like N^{-1/2}: the slope of its
  log against ln N within −0.5 ± 0.2;
* **convergence to the limit**: the RMS over time of each network's distance to the limit's risk
  falls at least like N^{-1/2}: slope < −0.3. (The distance holds a bias O(1/N), steeper, and
  the SGD noise O(√(ε/B)), flat; the batch is large enough that the fluctuations dominate.)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import torch

from occamlab.experiments.framework import Claim, Context, ExperimentResult
from occamlab.experiments.registry import EXPERIMENTS
from occamlab.experiments.stats import linear_fit, trend
from occamlab.probes.dynamics import mean_field as mf

SOURCE = "Mei, Montanari & Nguyen 2018, arXiv 1804.06561"


@EXPERIMENTS.register
@dataclass(frozen=True)
class MeanField:
    """Two-layer networks of N neurons in the mean-field scaling against their N → ∞ limit.

    Attributes:
        dim: input dimension d.
        delta: Δ: the classes' standard deviations are 1 + Δ and 1 − Δ.
        init_radius: r₀: neurons start at w ~ N(0, (r₀²/d)I) (norms ≈ r₀).
        min_neurons: the smallest width N.
        neuron_doublings: widths min_neurons·2^j for j = 0 … neuron_doublings − 1.
        seeds: networks per width (own initialization and examples): the sample of the tests.
        lr: SGD step ε (time t = steps·ε).
        batch: fresh examples per step and network.
        steps: SGD steps.
        every: steps between risk evaluations.
        test_size: examples of the fixed test sample the risks are measured on.
        particles: quantiles of the radial distribution that solve the limit.
        nodes: quadrature nodes of the Gaussian integrals of the limit.
    """

    name: ClassVar[str] = "mean-field"
    summary: ClassVar[str] = (
        "Two-layer networks in the mean-field scaling: the risk trajectory concentrates like "
        "N^-1/2 and converges to the distributional dynamics, reduced to a radial ODE"
    )
    paper: ClassVar[str] = SOURCE
    scales: ClassVar[dict[str, dict[str, Any]]] = {
        "quick": {},
        "paper": {"dim": 40, "neuron_doublings": 7, "seeds": 20, "steps": 2000, "lr": 5e-4},
    }
    settings: ClassVar[dict[str, dict[str, Any]]] = {
        "high-dim": {"dim": 40, "delta": 0.4},
    }

    dim: int = 20
    delta: float = 0.5
    init_radius: float = 0.4
    min_neurons: int = 16
    neuron_doublings: int = 5
    seeds: int = 24
    lr: float = 1e-3
    batch: int = 256
    steps: int = 500
    every: int = 25
    test_size: int = 4096
    particles: int = 128
    nodes: int = 60

    def __post_init__(self) -> None:
        if (
            self.dim < 2
            or not 0 < self.delta < 1
            or self.init_radius <= 0
            or self.min_neurons < 1
            or self.neuron_doublings < 3
            or self.seeds < 2
            or self.lr <= 0
            or min(self.batch, self.steps, self.every, self.test_size, self.particles) < 1
            or self.nodes < 8
        ):
            raise ValueError(
                "mean-field needs dim >= 2, 0 < delta < 1, neuron_doublings >= 3, seeds >= 2, "
                "positive init_radius, lr, batch, steps, every, test_size, particles; nodes >= 8"
            )

    @property
    def widths(self) -> list[int]:
        return [self.min_neurons * 2**j for j in range(self.neuron_doublings)]

    @property
    def problem(self) -> mf.IsotropicProblem:
        return mf.IsotropicProblem(dim=self.dim, delta=self.delta)

    def _test_sample(self) -> tuple[torch.Tensor, torch.Tensor]:
        return self.problem.sample((self.test_size,), torch.Generator().manual_seed(0))

    def run(self, ctx: Context) -> ExperimentResult:
        common = {
            "dim": self.dim,
            "delta": self.delta,
            "init_radius": self.init_radius,
            "lr": self.lr,
            "steps": self.steps,
            "every": self.every,
            "test_size": self.test_size,
        }
        limit = ctx.cached(
            "limit",
            {**common, "particles": self.particles, "nodes": self.nodes},
            lambda _: self._limit(),
        )
        runs = {
            n: ctx.cached(
                "networks",
                {**common, "neurons": n, "seeds": self.seeds, "batch": self.batch},
                lambda _, n=n: self._networks(n),
            )["risks"]
            for n in ctx.track(self.widths, "widths")
        }
        points = measure(runs, np.asarray(limit["test_risk"]))
        summary = summarize(points)
        summary["limit_final_risk"] = limit["risk"][-1]
        times = limit["times"]
        table = [
            {
                "neurons": n,
                "t": t,
                "risk_mean": float(np.mean([r[k] for r in risks])),
                "risk_sd": float(np.std([r[k] for r in risks], ddof=1)),
                "limit": limit["test_risk"][k],
                "limit_exact": limit["risk"][k],
            }
            for n, risks in runs.items()
            for k, t in enumerate(times)
        ]
        return ExperimentResult(
            metrics=summary,
            tables={"risk trajectories": table, "spread and distance": points},
            figures={"risk trajectories and spread vs N": figure(runs, limit, points, summary)},
            claims=claims(points, summary),
        )

    def _limit(self) -> dict[str, Any]:
        problem = self.problem
        times = np.arange(0, self.steps + 1, self.every) * self.lr
        radii0 = mf.chi_quantile_radii(self.init_radius, self.dim, self.particles)
        radii, risk = problem.radial_trajectory(radii0, times, nodes=self.nodes)
        x, y = self._test_sample()
        norms = torch.linalg.vector_norm(x.double(), dim=-1).numpy()
        labels = y.double().numpy()
        test_risk = [
            float(
                (
                    (labels - problem.mean_activation(r[:, None] * norms[None, :])[0].mean(0)) ** 2
                ).mean()
            )
            for r in radii
        ]
        return {
            "times": times.tolist(),
            "risk": risk.tolist(),
            "test_risk": test_risk,
            "radius_median": np.median(radii, axis=1).tolist(),
        }

    def _networks(self, neurons: int) -> dict[str, Any]:
        generator = torch.Generator().manual_seed(1_000_003 * neurons + self.seeds)
        w = torch.randn(self.seeds, neurons, self.dim, generator=generator)
        w *= self.init_radius / math.sqrt(self.dim)
        x, y = self._test_sample()
        risks = mf.online_sgd(
            self.problem,
            w,
            lr=self.lr,
            steps=self.steps,
            batch=self.batch,
            every=self.every,
            test_x=x,
            test_y=y,
            generator=generator,
        )
        return {"risks": risks.tolist()}


def measure(runs: dict[int, list[list[float]]], limit: np.ndarray) -> list[dict[str, Any]]:
    """Per (width, seed): the RMS over time of the risk's deviation from the width's mean over
    seeds (``spread``) and from the limit (``distance``), and its mean signed gap to the limit."""
    out = []
    for n, risks in runs.items():
        r = np.asarray(risks)
        mean = r.mean(0)
        for seed, row in enumerate(r):
            out.append(
                {
                    "neurons": n,
                    "seed": seed,
                    "spread": float(np.sqrt(((row - mean) ** 2).mean())),
                    "distance": float(np.sqrt(((row - limit) ** 2).mean())),
                    "gap": float((row - limit).mean()),
                }
            )
    return out


def summarize(points: list[dict[str, Any]]) -> dict[str, Any]:
    """Per width: mean spread, distance and gap; the log-log slopes through every point."""
    widths = sorted({p["neurons"] for p in points})
    x = [math.log(p["neurons"]) for p in points]
    out: dict[str, Any] = {"widths": widths}
    for field in ("spread", "distance", "gap"):
        out[f"{field}_by_width"] = [
            float(np.mean([p[field] for p in points if p["neurons"] == n])) for n in widths
        ]
    for field in ("spread", "distance", "gap"):
        values = [p[field] for p in points]
        if min(values) > 0:
            slope, _, r2 = linear_fit(x, [math.log(v) for v in values])
        else:  # a network below the limit: no log-log slope of the gap
            slope, r2 = math.nan, math.nan
        out[f"{field}_slope"], out[f"{field}_r2"] = slope, r2
    return out


def claims(points: list[dict[str, Any]], s: dict[str, Any]) -> list[Claim]:
    """The paper's findings, as slope t-tests over every (width, seed) point."""
    x = [math.log(p["neurons"]) for p in points]
    spread = [math.log(p["spread"]) for p in points]
    distance = [math.log(p["distance"]) for p in points]
    widths = ", ".join(str(n) for n in s["widths"])

    def listing(field: str) -> str:
        return ", ".join(f"{v:.2e}" for v in s[f"{field}_by_width"])

    spread_evidence = (
        f"slope of ln spread vs ln N {s['spread_slope']:.3f} (R² {s['spread_r2']:.2f}); mean "
        f"spread {listing('spread')} at N = {widths}"
    )
    out = [
        Claim.tested(
            "the risk trajectory concentrates as N grows: the seed-to-seed spread falls like "
            "N^-1/2 (slope of ln spread vs ln N above −0.7)",
            trend(
                x,
                spread,
                margin=-0.7,
                name="ln spread",
                hypothesis="slope of ln spread against ln N > −0.5 − 0.2",
            ),
            spread_evidence,
            SOURCE + ", Thm. 3 (concentration ∝ √(1/N))",
        ),
        Claim.tested(
            "the seed-to-seed spread falls like N^-1/2 (slope of ln spread vs ln N below −0.3)",
            trend(
                x,
                [-v for v in spread],
                margin=0.3,
                name="−ln spread",
                hypothesis="slope of ln spread against ln N < −0.5 + 0.2",
            ),
            spread_evidence,
            SOURCE + ", Thm. 3 (concentration ∝ √(1/N))",
        ),
        Claim.tested(
            "the risk trajectory converges to the distributional dynamics' (the radial ODE) at "
            "least like N^-1/2 (slope of ln distance vs ln N below −0.3)",
            trend(
                x,
                [-v for v in distance],
                margin=0.3,
                name="−ln distance",
                hypothesis="slope of ln distance to the limit against ln N < −0.5 + 0.2",
            ),
            f"slope {s['distance_slope']:.3f} (R² {s['distance_r2']:.2f}); mean distance "
            f"{listing('distance')}, mean gap (risk − limit) {listing('gap')} at N = {widths}; "
            f"limit's final risk {s['limit_final_risk']:.4f}",
            SOURCE + ", Thm. 3 and Sec. 2.1 (isotropic Gaussians)",
        ),
    ]
    return out


def figure(
    runs: dict[int, list[list[float]]],
    limit: dict[str, Any],
    points: list[dict[str, Any]],
    s: dict[str, Any],
) -> Any:
    """Risk trajectories by width against the limit; spread and distance against N."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10, 4))
    ax, bx = fig.subplots(1, 2)
    t = np.asarray(limit["times"])
    for i, (n, risks) in enumerate(runs.items()):
        r = np.asarray(risks)
        mean, sd = r.mean(0), r.std(0, ddof=1)
        ax.plot(t, mean, color=f"C{i}", label=f"N = {n}")
        ax.fill_between(t, mean - sd, mean + sd, color=f"C{i}", alpha=0.2)
    ax.plot(t, limit["risk"], "k--", label="limit (radial ODE)")
    ax.set(yscale="log", xlabel="time t = k·ε", ylabel="risk", title="risk: N neurons vs limit")
    ax.legend(fontsize=7)
    for field, marker, color in (("spread", "o", "C0"), ("distance", "s", "C3")):
        bx.scatter(
            [p["neurons"] for p in points],
            [p[field] for p in points],
            s=8,
            alpha=0.4,
            color=color,
            marker=marker,
        )
        bx.plot(
            s["widths"],
            s[f"{field}_by_width"],
            f"{marker}-",
            color=color,
            label=f"{field} (slope {s[f'{field}_slope']:.2f})",
        )
    w = np.asarray(s["widths"], dtype=float)
    bx.plot(w, s["spread_by_width"][0] * np.sqrt(w[0] / w), "k:", label="∝ N^-1/2")
    bx.set(
        xscale="log",
        yscale="log",
        xlabel="neurons N",
        ylabel="RMS over time",
        title="seed spread and distance to the limit",
    )
    bx.set_xticks(s["widths"], [str(n) for n in s["widths"]])
    bx.minorticks_off()
    bx.legend(fontsize=7)
    fig.tight_layout()
    return fig
