"""Edge of stability: full-batch GD drives λ_max up to 2/η and keeps it there (Cohen et al. 2021).

A tanh MLP is trained on MNIST-1D (``data``) with the MSE loss (one-hot targets) by full-batch
gradient descent at step size η, through :func:`occamlab.train.fit` with a
:class:`~occamlab.probes.curvature.SharpnessMonitor` callback (warm-started Lanczos on the training
loss's Hessian every few steps). On a quadratic, GD diverges once λ_max > 2/η; Cohen et al. found
that on neural networks λ_max first rises (progressive sharpening), then hovers at — just above —
2/η while the loss keeps going down, non-monotonically over short times. Several step sizes
give several thresholds 2/η; each run should settle at its own.

The claims hold at every step size and every seed, so the runs — every step size times every
seed (initialization) — are the sample of their tests: one-sample t-tests over the runs with the
paper's cut-offs as margins (ratios on a log scale), Holm-corrected together. A run that never
reaches 2/η fails the claims about what follows, untested, and its evidence says so (no number
is printed for a quantity that was never measured). The ``digits`` setting runs the same step
sizes on scikit-learn's 8×8 digits.

Note on scale: occamlab's MSE is the mean over the 10 outputs of (f − y)², i.e. 1/20 of the
½‖f − y‖² in Cohen et al., so the same dynamics need a step size 20× larger here.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from typing import Any, ClassVar

from occamlab.data import DATASETS, sized_data_spec
from occamlab.experiments.framework import Claim, Context, ExperimentResult
from occamlab.experiments.registry import EXPERIMENTS
from occamlab.experiments.stats import exceeds
from occamlab.models import model_spec
from occamlab.specs import spec_to_dict

SOURCE = "Cohen et al. 2021, arXiv 2103.00065"


@EXPERIMENTS.register
@dataclass(frozen=True)
class EdgeOfStability:
    """λ_max of the training loss under full-batch GD, against 2/η, over training.

    Attributes:
        threshold: 2/η of the first run; run i uses 2/η = threshold + i·spacing.
        spacing: step between the thresholds 2/η of consecutive runs.
        num_lrs: number of step sizes.
        steps: GD steps per run.
        every: steps between λ_max estimates.
        width: hidden width of the tanh MLP.
        depth: hidden layers.
        data: dataset name (a classification dataset of the registry; one-hot MSE targets).
        num_train: training examples, for datasets with that option (e.g. mnist1d; the loss and
            the Hessian are over all of them).
        seeds: initialization seeds per step size; every (step size, seed) run is one point of
            the claims' tests.
    """

    name: ClassVar[str] = "edge-of-stability"
    summary: ClassVar[str] = (
        "Full-batch GD: λ_max rises (progressive sharpening), then hovers at 2/η while the loss "
        "keeps decreasing non-monotonically"
    )
    paper: ClassVar[str] = "Cohen et al. 2021, arXiv 2103.00065"
    scales: ClassVar[dict[str, dict[str, Any]]] = {
        "quick": {},
        "paper": {"num_lrs": 4, "spacing": 1.0, "steps": 6000, "width": 200, "num_train": 5000},
    }
    settings: ClassVar[dict[str, dict[str, Any]]] = {"digits": {"data": "digits"}}

    threshold: float = 2.0
    spacing: float = 0.5
    num_lrs: int = 2
    steps: int = 1500
    every: int = 10
    width: int = 64
    depth: int = 2
    data: str = "mnist1d"
    num_train: int = 1000
    seeds: int = 4

    def __post_init__(self) -> None:
        if (
            self.threshold <= 0
            or self.spacing <= 0
            or self.num_lrs < 1
            or self.steps < 10
            or self.every < 1
            or self.seeds < 1
        ):
            raise ValueError(
                "edge-of-stability needs threshold > 0, num_lrs >= 1, steps >= 10, every >= 1, "
                "seeds >= 1"
            )
        if self.data not in DATASETS:
            raise ValueError(f"unknown dataset {self.data!r}; valid: {', '.join(DATASETS)}")

    def lrs(self) -> list[float]:
        """The step sizes η = 2/(threshold + i·spacing)."""
        return [2.0 / (self.threshold + i * self.spacing) for i in range(self.num_lrs)]

    def dataset(self):
        """The data spec (``num_train`` only for datasets that take it)."""
        return sized_data_spec(self.data, {"num_train": self.num_train})

    def run(self, ctx: Context) -> ExperimentResult:
        runs = []
        grid = [(lr, seed) for lr in self.lrs() for seed in range(self.seeds)]
        for lr, seed in ctx.track(grid, "GD runs"):
            key = {
                "lr": lr,
                "steps": self.steps,
                "every": self.every,
                "width": self.width,
                "depth": self.depth,
                "data": spec_to_dict(self.dataset()),
                "seed": seed,
            }
            runs.append(ctx.cached("gd", key, lambda _, lr=lr, s=seed: self._train(lr, s)))
        summary = summarize(runs)
        table = [
            {"lr": run["lr"], "seed": run["seed"], "two_over_lr": 2.0 / run["lr"], **rec}
            for run in runs
            for rec in run["records"]
        ]
        return ExperimentResult(
            metrics=summary,
            tables={"λ_max over training": table, "by step size": summary["runs"]},
            figures={"λ_max against 2/η over steps": figure(runs)},
            claims=claims(summary),
        )

    def _train(self, lr: float, seed: int) -> dict[str, Any]:
        from occamlab.probes.curvature import SharpnessMonitor
        from occamlab.recipes import make_subject
        from occamlab.train import StepLogger, TrainSpec, fit

        subject = make_subject(
            model=model_spec("mlp", width=self.width, depth=self.depth, activation="tanh"),
            data=self.dataset(),
            loss="mse",
            seed=seed,
        )
        monitor = SharpnessMonitor(every=self.every, limit=0, tol=1e-3, seed=seed)
        losses = StepLogger(every=1)
        fit(
            subject,
            TrainSpec(
                optimizer="sgd",
                lr=lr,
                momentum=0.0,
                batch_size=0,
                epochs=0,
                max_steps=self.steps,
                schedule="constant",
                eval_every=self.steps + 1,
                seed=seed,
            ),
            callbacks=[monitor, losses],
        )
        loss_at = {r["step"]: r["loss"] for r in losses.records}  # loss before step `step`
        records = [
            {
                "step": m["step"],
                "lambda_max": m["lambda_max"],
                "relative_residual": m["relative_residual"],
                "loss": loss_at.get(m["step"] + 1),
            }
            for m in monitor.records
        ]
        return {
            "lr": lr,
            "seed": seed,
            "records": records,
            "losses": [r["loss"] for r in losses.records],
        }


def summarize(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Per run (step size and seed): λ_max at the start, when it first reaches 0.95·2/η, and
    how it behaves and how the loss moves afterwards (None for what was never measured: no
    estimate, or fewer than two losses, after reaching 2/η)."""
    rows = []
    for run in runs:
        lr, recs, losses = run["lr"], run["records"], run["losses"]
        limit = 2.0 / lr
        crossed = next((r for r in recs if r["lambda_max"] >= 0.95 * limit), None)
        row: dict[str, Any] = {
            "lr": lr,
            "seed": run.get("seed", 0),
            "two_over_lr": limit,
            "lambda_initial": recs[0]["lambda_max"],
            "lambda_peak": max(r["lambda_max"] for r in recs),
            "reached_step": None if crossed is None else crossed["step"],
            "steps": len(losses),
            "median_ratio_after": None,
            "fraction_within_20pct": None,
            "loss_at_reach": None,
            "loss_final": None,
            "loss_increases": None,
        }
        if crossed is not None:
            after = [r["lambda_max"] / limit for r in recs if r["step"] > crossed["step"]]
            tail = losses[crossed["step"] :]
            if after:
                row["median_ratio_after"] = statistics.median(after)
                row["fraction_within_20pct"] = sum(0.8 <= a <= 1.2 for a in after) / len(after)
            if len(tail) >= 2:
                row["loss_at_reach"], row["loss_final"] = tail[0], tail[-1]
                row["loss_increases"] = sum(b > a for a, b in zip(tail, tail[1:], strict=False)) / (
                    len(tail) - 1
                )
        rows.append(row)
    return {"runs": rows}


def claims(s: dict[str, Any]) -> list[Claim]:
    """Cohen et al.'s findings, each stated for every run: the runs (step sizes × seeds) are the
    sample of one-sample t-tests (the paper's cut-offs as margins, ratios on a log scale). A run
    that never reaches 2/η (or has nothing measured afterwards) fails the claims about it,
    untested, and its evidence says what was never measured instead of printing a number."""
    rows = s["runs"]
    source = f"{SOURCE}, Fig. 1 and Sec. 3"
    over = f"over the {len(rows)} runs (step sizes × seeds)"

    def label(r: dict[str, Any]) -> str:
        return f"2/η={r['two_over_lr']:.2f}, seed {r['seed']}"

    def missing(r: dict[str, Any], key: str) -> str:
        if r["reached_step"] is None:
            return f"{label(r)}: never reached 2/η (peak λ_max {r['lambda_peak']:.2f})"
        what = (
            "λ_max estimate"
            if key in ("median_ratio_after", "fraction_within_20pct")
            else ("pair of losses")
        )
        return f"{label(r)}: reached 2/η at step {r['reached_step']} but no {what} after it"

    def at_edge(statement: str, key: str, test: Any, fmt) -> Claim:
        ok = [r[key] is not None for r in rows]
        evidence = "; ".join(
            fmt(r) if o else missing(r, key) for r, o in zip(rows, ok, strict=True)
        )
        if not all(ok):
            return Claim(statement, False, evidence + ", so there is no 'afterwards'", source)
        return Claim.tested(statement, test(), evidence, source)

    def col(key: str, fn=lambda v: v) -> list[float]:
        return [fn(r[key]) for r in rows]

    return [
        at_edge(
            "progressive sharpening: λ_max rises from below 0.7·2/η until it reaches 2/η",
            "reached_step",
            lambda: exceeds(
                [-math.log(r["lambda_initial"] / r["two_over_lr"]) for r in rows],
                -math.log(0.7),
                name="−ln(λ₀/(2/η))",
                hypothesis=f"mean ln(λ_max at step 0 / (2/η)) < ln 0.7 {over}",
            ),
            lambda r: (
                f"{label(r)}: λ_max {r['lambda_initial']:.2f} at step 0 "
                f"→ 0.95·2/η at step {r['reached_step']}"
            ),
        ),
        at_edge(
            "edge of stability: afterwards λ_max hovers at 2/η (median within 10%)",
            "median_ratio_after",
            lambda: exceeds(
                col("median_ratio_after", lambda v: -abs(v - 1.0)),
                -0.1,
                name="−|median λ_max/(2/η) − 1|",
                hypothesis=f"mean |median λ_max/(2/η) after reaching it − 1| < 0.1 {over}",
            ),
            lambda r: (
                f"{label(r)}: median λ_max/(2/η) {r['median_ratio_after']:.3f}, "
                f"peak {r['lambda_peak']:.2f}"
            ),
        ),
        at_edge(
            "edge of stability: at least 80% of the estimates afterwards are within 20% of 2/η",
            "fraction_within_20pct",
            lambda: exceeds(
                col("fraction_within_20pct"),
                0.8,
                name="fraction within 20%",
                hypothesis=f"mean fraction of λ_max estimates within 20% of 2/η > 0.8 {over}",
            ),
            lambda r: (
                f"{label(r)}: within 20%: {r['fraction_within_20pct']:.0%} "
                f"of the estimates after step {r['reached_step']}"
            ),
        ),
        at_edge(
            "at the edge of stability the loss keeps decreasing (by more than 5%)",
            "loss_final",
            lambda: exceeds(
                [-math.log(r["loss_final"] / r["loss_at_reach"]) for r in rows],
                -math.log(0.95),
                name="−ln(final loss / loss at 2/η)",
                hypothesis=f"mean ln(final loss / loss on reaching 2/η) < ln 0.95 {over}",
            ),
            lambda r: f"{label(r)}: loss {r['loss_at_reach']:.4f} → {r['loss_final']:.4f}",
        ),
        at_edge(
            "at the edge of stability the loss moves non-monotonically (rising on at least 2% "
            "of the steps)",
            "loss_increases",
            lambda: exceeds(
                col("loss_increases"),
                0.02,
                name="fraction of rising steps",
                hypothesis=f"mean fraction of steps on which the loss rises > 0.02 {over}",
            ),
            lambda r: f"{label(r)}: rising on {r['loss_increases']:.0%} of steps",
        ),
    ]


def figure(runs: list[dict[str, Any]]) -> Any:
    """Cohen et al.'s Fig. 1: training loss, and λ_max with 2/η dashed, against the step."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(11, 4))
    lx, sx = fig.subplots(1, 2)
    for i, run in enumerate(runs):
        color = f"C{i}"
        label = f"η = {run['lr']:.3g}, seed {run.get('seed', 0)}"
        lx.plot(range(len(run["losses"])), run["losses"], color=color, lw=1, label=label)
        steps = [r["step"] for r in run["records"]]
        sx.plot(steps, [r["lambda_max"] for r in run["records"]], color=color, lw=1.2, label=label)
        sx.axhline(2.0 / run["lr"], color=color, ls="--", lw=1)
    lx.set(yscale="log", xlabel="GD step", ylabel="training loss (MSE)", title="training loss")
    sx.set(xlabel="GD step", ylabel="λ_max (dashed: 2/η)", title="sharpness")
    lx.legend(fontsize=8)
    sx.legend(fontsize=8)
    fig.tight_layout()
    return fig
