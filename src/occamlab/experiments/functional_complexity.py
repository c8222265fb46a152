"""How the functional complexity of an MLP on MNIST-1D grows with training time, width and depth,
measured by the interaction strength (IAS) and main-effect complexity (MEC) of Molnar,
Casalicchio & Bischl (2019, arXiv 1904.03867) (:mod:`occamlab.probes.complexity`).

Each seed trains, with Adam at a constant rate on MNIST-1D's standard split:

* the base MLP (``width`` × ``depth``) for each number of epochs in ``checkpoints`` (runs with
  the same seed, data order and constant rate: each is a prefix of the longer ones), and
* MLPs of every width in ``widths`` (depth ``depth``) and every depth in ``depths`` (width
  ``width``) for the largest number of epochs.

Every network's function (``output``: the ten logits, or the ten class probabilities, pooled) is
decomposed on ``limit`` test inputs by first-order ALE; the untrained network is measured too
(epoch 0, shown, not tested: a random ReLU network's tiny logits are not additive, and the first
epoch makes them nearly so). Claims are slope t-tests over every (setting, seed) point, the same
at every setting:

* **training time**: IAS and MEC grow with log₂ epochs over the trained checkpoints (SGD-trained
  networks learn functions of increasing complexity, Nakkiran et al. 2019, arXiv 1905.11604);
* **width**: IAS grows with log₂ width at the end of training;
* **depth**: IAS and MEC grow with depth at the end of training.

Width and depth are compared at an equal number of epochs, so a larger network has also fitted
more of the data; test accuracies are in the tables.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from occamlab.data import data_spec
from occamlab.experiments.framework import Claim, Context, ExperimentResult, fields_except
from occamlab.experiments.registry import EXPERIMENTS
from occamlab.experiments.stats import grouped_mean_std, trend
from occamlab.models import model_spec
from occamlab.probes.complexity import ComplexitySpec, functional_complexity
from occamlab.train import TrainSpec

SOURCE = "Molnar, Casalicchio & Bischl 2019, arXiv 1904.03867 (IAS, MEC)"
TIME_SOURCE = "Nakkiran et al. 2019, arXiv 1905.11604; measures of Molnar et al. 2019"
MEASURES = ("interaction_strength", "main_effect_complexity")
SHORT = {"interaction_strength": "IAS", "main_effect_complexity": "MEC"}


def _ints(text: str, name: str) -> list[int]:
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise ValueError(f"{name} must be comma-separated integers, got {text!r}") from None
    if len(values) < 3 or min(values) < 1 or len(set(values)) != len(values):
        raise ValueError(f"{name} needs at least 3 distinct positive values, got {text!r}")
    return sorted(values)


@EXPERIMENTS.register
@dataclass(frozen=True)
class FunctionalComplexity:
    """Functional complexity (IAS, MEC) of MNIST-1D MLPs along training, width and depth.

    Attributes:
        width: hidden width of the base MLP (the training-time and depth sweeps).
        depth: hidden layers of the base MLP (the training-time and width sweeps).
        widths: the widths compared, comma-separated (at least 3).
        depths: the depths compared, comma-separated (at least 3).
        checkpoints: numbers of training epochs measured, comma-separated (at least 3); the
            largest is the training of the width and depth sweeps.
        lr: Adam's constant learning rate.
        batch_size: minibatch size.
        num_train: MNIST-1D training examples (0: the standard 4,000).
        output: decompose the ten ``logit`` outputs or the ten class ``probability`` outputs
            (pooled).
        limit: test inputs the decomposition averages over.
        bins: ALE quantile bins per feature.
        epsilon: MEC's tolerance (each main effect approximated to R² >= 1 − epsilon).
        seeds: initializations and data orders; every (setting, seed) is one point of a trend.
    """

    name: ClassVar[str] = "functional-complexity"
    summary: ClassVar[str] = (
        "An MNIST-1D MLP's interaction strength and main-effect complexity grow with training "
        "time, width and depth"
    )
    paper: ClassVar[str] = "Molnar, Casalicchio & Bischl 2019, arXiv 1904.03867"
    scales: ClassVar[dict[str, dict[str, Any]]] = {
        "quick": {},
        "paper": {
            "widths": "16,32,64,128,256,512,1024",
            "depths": "1,2,3,4",
            "checkpoints": "1,2,4,8,16,32,64",
            "limit": 1000,
            "seeds": 10,
        },
    }
    settings: ClassVar[dict[str, dict[str, Any]]] = {
        "probability": {"output": "probability"},
    }

    width: int = 128
    depth: int = 2
    widths: str = "32,128,512"
    depths: str = "1,2,3"
    checkpoints: str = "1,3,10,30"
    lr: float = 1e-3
    batch_size: int = 128
    num_train: int = 0
    output: Literal["logit", "probability"] = "logit"
    limit: int = 500
    bins: int = 20
    epsilon: float = 0.05
    seeds: int = 4

    def __post_init__(self) -> None:
        _ints(self.widths, "widths")
        _ints(self.depths, "depths")
        _ints(self.checkpoints, "checkpoints")
        if min(self.width, self.depth, self.batch_size, self.seeds) < 1:
            raise ValueError("width, depth, batch_size and seeds must be >= 1")
        if self.lr <= 0 or self.num_train < 0 or self.limit < 2:
            raise ValueError("lr must be > 0, num_train >= 0 (0: all) and limit >= 2")
        ComplexitySpec(bins=self.bins, epsilon=self.epsilon, output=self.output)

    def dataset(self) -> Any:
        return data_spec("mnist1d", **({"num_train": self.num_train} if self.num_train else {}))

    def recipe(self, epochs: int, seed: int) -> TrainSpec:
        return TrainSpec(
            optimizer="adam",
            lr=self.lr,
            batch_size=self.batch_size,
            epochs=epochs,
            schedule="constant",
            eval_every=epochs,
            seed=seed,
        )

    def probe(self) -> ComplexitySpec:
        return ComplexitySpec(
            output=self.output,
            pool=True,
            bins=self.bins,
            epsilon=self.epsilon,
            h_features=0,
            curves=0,
            limit=self.limit,
        )

    def configurations(self) -> list[dict[str, Any]]:
        """Every network measured: the sweep it belongs to, width, depth and epochs."""
        last = _ints(self.checkpoints, "checkpoints")[-1]
        out = [
            {"sweep": "epochs", "width": self.width, "depth": self.depth, "epochs": e}
            for e in (0, *_ints(self.checkpoints, "checkpoints"))
        ]
        out += [
            {"sweep": "width", "width": w, "depth": self.depth, "epochs": last}
            for w in _ints(self.widths, "widths")
        ]
        out += [
            {"sweep": "depth", "width": self.width, "depth": d, "epochs": last}
            for d in _ints(self.depths, "depths")
        ]
        return out

    def run(self, ctx: Context) -> ExperimentResult:
        from occamlab.recipes import make_subject
        from occamlab.runs import TrainJob

        configs = self.configurations()
        networks = {(c["width"], c["depth"], c["epochs"]) for c in configs}
        trained_keys = sorted(k for k in networks if k[2] > 0)
        runs = [(k, s) for k in trained_keys for s in range(self.seeds)]
        jobs = [
            TrainJob(
                model=model_spec("mlp", width=w, depth=d),
                data=self.dataset(),
                train=self.recipe(e, s),
                seed=s,
            )
            for (w, d, e), s in runs
        ]
        trained = dict(zip(runs, ctx.train_many(jobs), strict=True))
        probe = self.probe()
        measured: dict[tuple[Any, ...], dict[str, Any]] = {}
        todo = [(k, s) for k in sorted(networks) for s in range(self.seeds)]
        for (w, d, e), s in ctx.track(todo, "decompositions"):
            if e == 0:
                subject = make_subject(
                    model=model_spec("mlp", width=w, depth=d), data=self.dataset(), seed=s
                )
                key = {"untrained": {"width": w, "depth": d, "seed": s}, "data": self.dataset()}
                accuracy = None
            else:
                t = trained[((w, d, e), s)]
                subject, key = t.subject, {"run": t.record.id}
                accuracy = t.record.metrics["test_accuracy"]
            part = ctx.cached(
                "decomposition",
                {**key, "probe": probe},
                lambda _dir, sub=subject: _measure(sub, probe),
            )
            measured[(w, d, e, s)] = {**part, "test_accuracy": accuracy}
        rows = [
            {**c, "seed": s, **measured[(c["width"], c["depth"], c["epochs"], s)]}
            for c in configs
            for s in range(self.seeds)
        ]
        summary = summarize(rows)
        return ExperimentResult(
            metrics={"summary": summary, "rows": rows, "spec": fields_except(self)},
            tables={
                "per sweep and setting (mean ± std over seeds)": summary,
                "per network and seed": rows,
            },
            figures={"functional complexity vs training, width and depth": figure(rows)},
            claims=claims(rows),
        )


def _measure(subject: Any, probe: ComplexitySpec) -> dict[str, Any]:
    r = functional_complexity(subject, spec=probe)
    return {
        "interaction_strength": r.interaction_strength,
        "main_effect_complexity": r.main_effect_complexity,
        "features_used": r.features_used,
        "seconds": r.seconds,
    }


def summarize(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Mean and standard deviation over seeds per sweep and network."""
    keys = ["interaction_strength", "main_effect_complexity", "features_used"]
    trained = [r for r in rows if r["test_accuracy"] is not None]
    out = grouped_mean_std(rows, ["sweep", "width", "depth", "epochs"], keys, count="seeds")
    accuracy = grouped_mean_std(trained, ["sweep", "width", "depth", "epochs"], ["test_accuracy"])
    by = {(a["sweep"], a["width"], a["depth"], a["epochs"]): a for a in accuracy}
    for row in out:
        a = by.get((row["sweep"], row["width"], row["depth"], row["epochs"]))
        row["test_accuracy"] = a["test_accuracy"] if a else None
    return out


_AXES = {
    "epochs": ("epochs", "log₂ epochs", math.log2),
    "width": ("width", "log₂ width", math.log2),
    "depth": ("depth", "depth", float),
}


def points(rows: list[dict[str, Any]], sweep: str, measure: str) -> tuple[list[float], list[float]]:
    """The (x, y) points of a sweep's trend: every trained network of the sweep and seed."""
    field, _, scale = _AXES[sweep]
    chosen = [r for r in rows if r["sweep"] == sweep and r["epochs"] > 0]
    return [scale(r[field]) for r in chosen], [r[measure] for r in chosen]


def claims(rows: list[dict[str, Any]]) -> list[Claim]:
    """Positive slopes of IAS and MEC in training time, width and depth (module docstring)."""
    tests = [
        ("epochs", "interaction_strength", TIME_SOURCE),
        ("epochs", "main_effect_complexity", TIME_SOURCE),
        ("width", "interaction_strength", SOURCE),
        ("depth", "interaction_strength", SOURCE),
        ("depth", "main_effect_complexity", SOURCE),
    ]
    out = []
    for sweep, measure, source in tests:
        x, y = points(rows, sweep, measure)
        field, label, _ = _AXES[sweep]
        means: dict[int, list[float]] = {}
        for r in rows:
            if r["sweep"] == sweep and r["epochs"] > 0:
                means.setdefault(r[field], []).append(r[measure])
        evidence = ", ".join(
            f"{field} {k}: {sum(v) / len(v):.3f}" for k, v in sorted(means.items())
        )
        words = {"epochs": "training time", "width": "width", "depth": "depth"}[sweep]
        out.append(
            Claim.tested(
                f"{SHORT[measure]} grows with {words} (positive slope on {label})",
                trend(
                    x,
                    y,
                    name=SHORT[measure],
                    hypothesis=f"slope of {SHORT[measure]} on {label} > 0",
                ),
                f"mean {SHORT[measure]} over seeds at {evidence}",
                source,
            )
        )
    return out


def figure(rows: list[dict[str, Any]]):
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    fig = Figure(figsize=(13, 7.5))
    axes = fig.subplots(2, 3)
    for col, sweep in enumerate(("epochs", "width", "depth")):
        field, label, _ = _AXES[sweep]
        for row, measure in enumerate(MEASURES):
            ax = axes[row, col]
            chosen = [r for r in rows if r["sweep"] == sweep]
            for seed in sorted({r["seed"] for r in chosen}):
                rs = sorted((r for r in chosen if r["seed"] == seed), key=lambda r: r[field])
                xs = [max(r[field], 0.5) if sweep == "epochs" else r[field] for r in rs]
                ax.plot(xs, [r[measure] for r in rs], "o-", alpha=0.6, label=f"seed {seed}")
            if sweep != "depth":
                ax.set_xscale("log", base=2)
            ax.set(xlabel=field + (" (0 plotted at ½)" if sweep == "epochs" else ""))
            ax.set(ylabel=SHORT[measure], title=f"{SHORT[measure]} vs {field}")
    axes[0, 0].legend(fontsize=7)
    fig.tight_layout()
    return fig


__all__ = ["FunctionalComplexity", "claims", "points", "summarize"]
