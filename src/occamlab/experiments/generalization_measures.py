"""Which measures predict generalization? (Jiang et al. 2019, "Fantastic generalization measures
and where to find them", arXiv 1912.02178; scores of Jiang et al. 2020 and Dziugaite et al. 2020).

A zoo of MLPs on MNIST-1D varies seven hyperparameters — depth, width, learning rate, batch
size, weight decay, dropout and optimizer — each over a few values. Every model trains until
its training cross-entropy reaches ``target_loss`` (Jiang et al.'s 0.01), with the learning rate
decaying linearly to zero over ``max_epochs`` so that the noisiest settings still converge
within the budget; only models that fit (training accuracy ≥ ``fit_accuracy``) are scored.
Every measure of :mod:`occamlab.probes.measures` is computed on each model and scored against
the generalization gap with Kendall's τ, the granulated Ψ, the PGDL conditional mutual
information and the robust sign-error (:mod:`occamlab.experiments.generalization_scores`), with
bootstrap confidence intervals.

Design. ``grid`` trains every combination (2⁷ = 128 configurations with two values each).
``star`` (the CPU default) draws ``bases`` random configurations of the grid and adds, for
each, every configuration that differs from it in exactly one hyperparameter: each star holds
the pairs that Ψ and the sign-error compare (those models differ in one hyperparameter only),
and the bootstrap resamples whole stars (and seeds). Learning rates are relative: 1 means the
optimizer's standard rate (SGD with momentum 0.9: 0.05; Adam: 0.001). MNIST-1D gets 8,000 test
examples (instead of the standard 1,000) so that the gaps are measured to about ±0.5%.

Claims. τ, Ψ and the other scores are statistics of the whole zoo, with no per-seed value to
test; each claim is a bootstrap test (:func:`occamlab.experiments.stats.bootstrapped`) over the
zoo's independent units, a star (or the grid) times a seed: it passes when at most α of the
replicates fall on the wrong side of the paper's cut-off (Holm-corrected over the claims).
At quick scale the nets are narrower (widths 64 and 128), train on 2,000 MNIST-1D examples for at
most 100 epochs at 1 and 2 times the standard learning rate (the paper scale: 4,000 examples and
0.25, 0.5 and 1 times), and every configuration trains with three seeds: 4 stars × 3 seeds = 12
units. The ``half-data`` setting trains on 1,000 examples (the measures are meant to predict the
gap at any training-set size), where a seed costs about two thirds as much, with five seeds (20
units).

Training goes through :func:`train_zoo`, which hands the whole zoo to the run store's trainer:
the seeds vary the initialization (and the dropout masks) and share one minibatch order, so that
every seed of a configuration, and the configurations that differ only in learning rate or
weight decay, train together as one vectorized ensemble. The bootstrap scores every measure of a
resample at once.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import numpy as np

from occamlab.data import DATASETS, sized_data_spec
from occamlab.experiments.framework import Claim, Context, ExperimentResult
from occamlab.experiments.generalization_scores import (
    Zoo,
    bootstrap_replicates,
    percentile_intervals,
    scores,
)
from occamlab.experiments.registry import EXPERIMENTS
from occamlab.experiments.stats import bootstrapped
from occamlab.models import build_model, model_spec
from occamlab.probes.measures import CATALOG, MeasuresSpec, generalization_measures
from occamlab.runs import TrainedSubject, TrainJob
from occamlab.specs import spec_to_dict
from occamlab.train import TrainSpec

HYPERPARAMETERS = ("depth", "width", "lr", "batch_size", "weight_decay", "dropout", "optimizer")
BASE_LR = {"sgd": 0.05, "adam": 1e-3}
SOURCE = "Jiang et al. 2019, arXiv 1912.02178, Table 2/5"


@dataclass(frozen=True)
class Member:
    """One model of the zoo: its hyperparameters, seed and star (cluster)."""

    config: tuple[tuple[str, Any], ...]
    seed: int
    cluster: str

    @property
    def hp(self) -> dict[str, Any]:
        return dict(self.config)


def _values(text: str, kind: type) -> tuple:
    items = [v.strip() for v in text.split(",") if v.strip()]
    if not items:
        raise ValueError(f"empty list of values: {text!r}")
    return tuple(kind(v) for v in items)


def train_zoo(ctx: Context, members: Sequence[Member], spec: Any) -> list[TrainedSubject]:
    """Train (or reuse) every member through the run store. A seed sets the initialization (and
    the dropout masks); every member draws its minibatches in one shared order, so the members
    that share an architecture, batch size and optimizer — every seed, and configurations that
    differ in learning rate or weight decay — train as one vectorized ensemble (the trainer
    stacks fully connected nets, dropout included, by a fixed rule, so a stored zoo does not
    depend on the machine's load)."""
    jobs = []
    for member in members:
        hp = member.hp
        jobs.append(
            TrainJob(
                model=model_spec(
                    "mlp", width=hp["width"], depth=hp["depth"], dropout=hp["dropout"]
                ),
                data=spec.dataset(),
                train=TrainSpec(
                    optimizer=hp["optimizer"],
                    lr=BASE_LR[hp["optimizer"]] * hp["lr"],
                    momentum=0.9,
                    weight_decay=hp["weight_decay"],
                    batch_size=hp["batch_size"],
                    epochs=spec.max_epochs,
                    schedule="linear",
                    target_loss=spec.target_loss,
                    eval_every=2,
                    seed=0,  # one minibatch order for all: the seeds vary the init
                ),
                seed=member.seed,
            )
        )
    return ctx.train_many(jobs)


@EXPERIMENTS.register
@dataclass(frozen=True)
class GeneralizationMeasures:
    """Rank Jiang et al.'s generalization measures on a zoo of MNIST-1D MLPs.

    Attributes:
        depths: hidden layers (comma-separated values).
        widths: hidden units per layer.
        lrs: learning rates relative to the optimizer's standard rate.
        batch_sizes: minibatch sizes.
        weight_decays: L2 penalties.
        dropouts: dropout probabilities after each hidden layer.
        optimizers: ``sgd`` (momentum 0.9) and/or ``adam``.
        design: ``star`` (random bases and their one-hyperparameter neighbours) or ``grid``.
        bases: number of random base configurations of the star design.
        seeds: initialization seeds per configuration (the seeds of one architecture and
            recipe train as one vectorized ensemble); every star times every seed is one unit
            of the bootstrap that decides the claims.
        data: dataset name (a classification dataset of the registry).
        num_train: training examples (datasets with that option, e.g. mnist1d).
        num_test: test examples (datasets with that option).
        target_loss: stop training at this training cross-entropy.
        max_epochs: stop training after this many epochs.
        fit_accuracy: models below this training accuracy are left out of the scores.
        num_samples: Monte Carlo draws per σ in the PAC-Bayes searches.
        search_depth: bisection steps of the σ and α searches.
        ascent_steps: gradient-ascent steps per α.
        measure_examples: training examples the sharpness searches and the gradient noise
            use (the first this many; 0: all). Every other measure uses the whole split.
        replicates: bootstrap replicates of the confidence intervals and the claims' tests.
        design_seed: seeds the choice of base configurations and the bootstrap.
    """

    name: ClassVar[str] = "generalization-measures"
    summary: ClassVar[str] = (
        "Which generalization measures predict the gap? Kendall τ, Ψ, CMI, sign-error on a zoo"
    )
    paper: ClassVar[str] = "Jiang et al. 2019, arXiv 1912.02178"
    scales: ClassVar[dict[str, dict[str, Any]]] = {
        "quick": {},
        "paper": {
            "design": "grid",
            "depths": "2,3,4",
            "widths": "256,512,1024",
            "lrs": "0.25,0.5,1",
            "seeds": 2,
            "search_depth": 12,
            "num_samples": 16,
            "ascent_steps": 10,
            "measure_examples": 0,
            "replicates": 500,
            "num_train": 4000,
            "max_epochs": 100,
        },
    }
    settings: ClassVar[dict[str, dict[str, Any]]] = {"half-data": {"num_train": 1000, "seeds": 5}}

    depths: str = "2,3"
    widths: str = "64,128"
    lrs: str = "1,2"
    batch_sizes: str = "32,128"
    weight_decays: str = "0,0.00005"
    dropouts: str = "0,0.1"
    optimizers: str = "sgd,adam"
    design: Literal["star", "grid"] = "star"
    bases: int = 4
    seeds: int = 3
    data: str = "mnist1d"
    num_train: int = 2000
    num_test: int = 8000
    target_loss: float = 0.01
    max_epochs: int = 100
    fit_accuracy: float = 0.99
    num_samples: int = 8
    search_depth: int = 8
    ascent_steps: int = 5
    measure_examples: int = 500
    replicates: int = 400
    design_seed: int = 0

    def __post_init__(self) -> None:
        grid = self.grid()
        if any(v not in BASE_LR for v in grid["optimizer"]):
            raise ValueError(f"optimizers must be among {sorted(BASE_LR)}")
        if self.bases < 1 or self.seeds < 1 or self.replicates < 1:
            raise ValueError("bases, seeds and replicates must be >= 1")
        if self.data not in DATASETS:
            raise ValueError(f"unknown dataset {self.data!r}; valid: {', '.join(DATASETS)}")

    def grid(self) -> dict[str, tuple]:
        return {
            "depth": _values(self.depths, int),
            "width": _values(self.widths, int),
            "lr": _values(self.lrs, float),
            "batch_size": _values(self.batch_sizes, int),
            "weight_decay": _values(self.weight_decays, float),
            "dropout": _values(self.dropouts, float),
            "optimizer": _values(self.optimizers, str),
        }

    def dataset(self):
        return sized_data_spec(self.data, {"num_train": self.num_train, "num_test": self.num_test})

    def members(self) -> list[Member]:
        """The zoo: every configuration of the design, times every seed."""
        grid = self.grid()
        configs: dict[tuple, str] = {}
        if self.design == "grid":
            for combo in itertools.product(*grid.values()):
                configs.setdefault(tuple(zip(HYPERPARAMETERS, combo, strict=True)), "grid")
        else:
            rng = np.random.default_rng(self.design_seed)
            everything = list(itertools.product(*grid.values()))
            picks = rng.choice(
                len(everything), size=min(self.bases, len(everything)), replace=False
            )
            for b, pick in enumerate(picks):
                base = dict(zip(HYPERPARAMETERS, everything[pick], strict=True))
                star = [base] + [
                    {**base, h: v} for h in HYPERPARAMETERS for v in grid[h] if v != base[h]
                ]
                for config in star:
                    configs.setdefault(tuple(config.items()), f"star {b}")
        return [
            Member(
                config=c,
                seed=s,
                cluster=f"{cluster}, seed {s}" if cluster != "grid" else f"seed {s}",
            )
            for c, cluster in configs.items()
            for s in range(self.seeds)
        ]

    def measures_spec(self) -> MeasuresSpec:
        return MeasuresSpec(
            num_samples=self.num_samples,
            search_depth=self.search_depth,
            ascent_steps=self.ascent_steps,
            limit=self.measure_examples,
        )

    def run(self, ctx: Context) -> ExperimentResult:
        members = self.members()
        trained = train_zoo(ctx, members, self)
        rows = [
            self._measure(ctx, member, t)
            for member, t in ctx.track(list(zip(members, trained, strict=True)), "measures")
        ]
        fitted = [r for r in rows if r["train_accuracy"] >= self.fit_accuracy]
        varying = [h for h, v in self.grid().items() if len(v) > 1]
        measures = tuple(CATALOG)
        test_examples = len(self.dataset().load().test) if fitted else 0
        zoo = Zoo.from_rows(
            fitted, measures=measures, hyperparameters=varying, test_examples=test_examples
        )
        table = scores(zoo) if fitted else []
        samples = (
            bootstrap_replicates(zoo, replicates=self.replicates, seed=self.design_seed)
            if fitted
            else {}
        )
        intervals = percentile_intervals(samples)
        for row in table:
            for key, (lo, hi) in intervals.get(row["measure"], {}).items():
                row[f"{key}_low"], row[f"{key}_high"] = lo, hi
        return ExperimentResult(
            metrics={
                "models": len(rows),
                "fitted": len(fitted),
                "hyperparameters": varying,
                "scores": {r["measure"]: {k: r[k] for k in ("tau", "psi", "cmi")} for r in table},
            },
            tables={"scores": table, "zoo": rows},
            figures={"tau and psi per measure": figure(table)} if table else {},
            claims=claims(table, len(rows), len(fitted), samples, len(set(zoo.clusters))),
        )

    def _measure(self, ctx: Context, member: Member, trained: TrainedSubject) -> dict[str, Any]:
        mspec = self.measures_spec()

        def compute(_directory) -> dict[str, Any]:
            subject = trained.subject
            hp = member.hp
            module = build_model(
                model_spec("mlp", width=hp["width"], depth=hp["depth"], dropout=hp["dropout"]),
                input_shape=subject.data.input_shape,
                num_outputs=subject.data.num_outputs,
                seed=member.seed,
            )
            init = {k: p.detach() for k, p in module.named_parameters()}
            history = trained.record.metrics.get("history")
            report = generalization_measures(
                subject,
                init=init,
                history=history,
                initial_loss=subject.evaluate(init).loss,
                spec=mspec,
            )
            return {
                **report.values,
                "train_error": report.train_error,
                "test_error": report.test_error,
                "gap": report.generalization_gap,
                "seconds": sum(report.seconds.values()),
            }

        key = {"train_run": trained.record.id, "measures": spec_to_dict(mspec)}
        values = ctx.cached("measures", key, compute)
        m = trained.record.metrics
        return {
            **member.hp,
            "seed": member.seed,
            "cluster": member.cluster,
            "train_accuracy": m["train_accuracy"],
            "train_loss": m["train_loss"],
            "steps": m["steps"],
            "train_seconds": m["seconds"],
            **values,
        }


def _rank(table: list[dict[str, Any]], measure: str, key: str) -> int | None:
    ranked = sorted((r for r in table if np.isfinite(r[key])), key=lambda r: r[key], reverse=True)
    for i, r in enumerate(ranked):
        if r["measure"] == measure:
            return i + 1
    return None


def _top_third_margin(psi: dict[str, float], measure: str) -> float:
    """How far ``measure``'s Ψ lies above the ⌊K/3⌋-th best Ψ of the other measures (K measures
    with a Ψ): positive exactly when it ranks in the top third; nan without a Ψ."""
    finite = {m: v for m, v in psi.items() if np.isfinite(v)}
    if measure not in finite or len(finite) < 3:
        return math.nan
    others = sorted((v for m, v in finite.items() if m != measure), reverse=True)
    return finite[measure] - others[len(finite) // 3 - 1]


def _interval(row: dict[str, Any], key: str) -> str:
    value = row[key]
    if not np.isfinite(value):
        return "undefined"
    low, high = row.get(f"{key}_low", math.nan), row.get(f"{key}_high", math.nan)
    if not (np.isfinite(low) and np.isfinite(high)):
        return f"{value:+.3f} (no bootstrap interval)"
    return f"{value:+.3f} [{low:+.2f}, {high:+.2f}]"


MAG, PATH = "pacbayes_mag_flatness", "path_norm"
NEGATIVE = (
    ("log_prod_spectral", "the product of spectral norms"),
    ("num_parameters", "the number of parameters"),
)


def claims(
    table: list[dict[str, Any]],
    models: int,
    fitted: int,
    samples: dict[str, dict[str, np.ndarray]],
    units: int,
) -> list[Claim]:
    """Jiang et al.'s findings on this zoo's scores, each a bootstrap test: the scores are
    statistics of the whole zoo, so the test resamples its independent units (a star of the
    design, or the grid, times a seed; ``samples`` from
    :func:`~occamlab.experiments.generalization_scores.bootstrap_replicates`) and a claim passes
    when at most α of the replicates fall on the wrong side of its cut-off. That the zoo fits
    its training sets is a check on the runs, untested."""
    out = [
        Claim(
            "the zoo fits its training sets (at least 80% of models reach the fit criterion)",
            passed=fitted >= 0.8 * models and fitted >= 8,
            evidence=f"{fitted} of {models} models fit",
            source="Jiang et al. 2019, §3 (models are compared at the same training loss)",
        )
    ]
    by = {r["measure"]: r for r in table}
    statements = [
        "magnitude-aware PAC-Bayes flatness is among the best measures "
        "(granulated Ψ ≥ 0.3 and in the top third by Ψ)",
        *(f"{label} correlates negatively with the gap (τ < 0)" for _, label in NEGATIVE),
        "the path-norm is a weak predictor (|Ψ| below magnitude-aware PAC-Bayes flatness)",
    ]
    if not by:
        return out + [
            Claim(s, False, "no model fits: nothing to score", SOURCE) for s in statements
        ]
    per = f"over {units} resampled units (star × seed)"
    psi = {m: r["psi"] for m, r in by.items()}
    replicate_psi = [
        {m: float(samples[m]["psi"][b]) for m in samples} for b in range(len(samples[MAG]["psi"]))
    ]
    mag = by[MAG]
    rank = _rank(table, MAG, "psi")
    out.append(
        Claim.tested(
            statements[0],
            bootstrapped(
                [min(r[MAG] - 0.3, _top_third_margin(r, MAG)) for r in replicate_psi],
                min(mag["psi"] - 0.3, _top_third_margin(psi, MAG)),
                name="min(Ψ − 0.3, Ψ − ⌊K/3⌋-th best other Ψ)",
                units=units,
                hypothesis=f"Ψ(pacbayes_mag_flatness) > 0.3 and above the ⌊K/3⌋-th best "
                f"other measure's Ψ, {per}",
            ),
            f"Ψ = {_interval(mag, 'psi')}, "
            + (f"rank {rank} of {len(table)} by Ψ" if rank is not None else "no rank (no Ψ)"),
            SOURCE + " (pacbayes.mag.flatness among the best)",
        )
    )
    for (measure, _), statement in zip(NEGATIVE, statements[1:3], strict=True):
        r = by[measure]
        out.append(
            Claim.tested(
                statement,
                bootstrapped(
                    -samples[measure]["tau"],
                    -r["tau"],
                    0.0,
                    name=f"−τ({measure})",
                    units=units,
                    hypothesis=f"τ({measure}, gap) < 0, {per}",
                ),
                f"τ = {_interval(r, 'tau')}",
                SOURCE + " (negative τ of norm products and #params)",
            )
        )
    path = by[PATH]
    out.append(
        Claim.tested(
            statements[3],
            bootstrapped(
                samples[MAG]["psi"] - np.abs(samples[PATH]["psi"]),
                mag["psi"] - abs(path["psi"]),
                0.0,
                name="Ψ(mag flatness) − |Ψ(path-norm)|",
                units=units,
                hypothesis=f"Ψ(pacbayes_mag_flatness) − |Ψ(path_norm)| > 0, {per}",
            ),
            f"path-norm Ψ = {_interval(path, 'psi')}, pacbayes_mag_flatness Ψ = "
            f"{_interval(mag, 'psi')}",
            SOURCE + " (path-norm weak)",
        )
    )
    return out


def figure(table: list[dict[str, Any]]) -> Any:
    """τ and Ψ of every measure with their bootstrap intervals, sorted by Ψ."""
    from matplotlib.figure import Figure

    rows = sorted(table, key=lambda r: np.nan_to_num(r["psi"], nan=-9.0))
    fig = Figure(figsize=(8, 0.28 * len(rows) + 1.5))
    ax = fig.subplots()
    y = np.arange(len(rows))
    for offset, key, color in ((-0.18, "tau", "tab:blue"), (0.18, "psi", "tab:orange")):
        values = np.array([r[key] for r in rows], dtype=float)
        low = np.array([r.get(f"{key}_low", np.nan) for r in rows], dtype=float)
        high = np.array([r.get(f"{key}_high", np.nan) for r in rows], dtype=float)
        err = np.vstack([np.nan_to_num(values - low), np.nan_to_num(high - values)])
        ax.barh(y + offset, values, height=0.34, color=color, label={"tau": "τ", "psi": "Ψ"}[key])
        ax.errorbar(values, y + offset, xerr=np.abs(err), fmt="none", ecolor="black", lw=0.7)
    ax.set_yticks(y, [r["measure"] for r in rows], fontsize=7)
    ax.axvline(0, color="black", lw=0.8)
    ax.set(xlabel="rank correlation with the generalization gap", xlim=(-1, 1))
    ax.legend(loc="lower right")
    return fig
