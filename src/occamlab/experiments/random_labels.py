"""Random labels (Zhang, Bengio, Hardt, Recht & Vinyals 2017, arXiv 1611.03530).

An MLP fits MNIST-1D with a fraction p of its training labels replaced by uniformly random
classes, for p from 0 to 1, and with corrupted inputs (one fixed permutation of the features for
all examples, an independent permutation per example, Gaussian noise with the data's mean and
covariance per feature). Each run trains to a target training accuracy. The paper's findings
(its Fig. 1): networks fit every variant; the test error grows steadily with p and reaches chance
at p = 1; random labels slow training down only by a small constant factor; a fixed shuffle of
the pixels does not hurt a fully connected net (it is permutation-invariant in distribution).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from occamlab.data import data_spec
from occamlab.experiments.framework import Claim, Context, ExperimentResult
from occamlab.experiments.registry import EXPERIMENTS
from occamlab.experiments.stats import linear_fit, mean_std
from occamlab.models import model_spec
from occamlab.train import TrainSpec

SOURCE = "Zhang et al. 2017, arXiv 1611.03530, Fig. 1"
INPUT_CORRUPTIONS = ("shuffled_pixels", "random_pixels", "gaussian")


@EXPERIMENTS.register
@dataclass(frozen=True)
class RandomLabels:
    """Fit MNIST-1D with corrupted labels or inputs; test error against the corruption level.

    Attributes:
        seeds: seeds per condition (initialization, data order and corruption draw).
        width: hidden width of the MLP.
        depth: hidden layers of the MLP.
        num_train: MNIST-1D training examples (the test set is the standard 1,000).
        num_levels: label-corruption levels p, evenly spaced in [0, 1].
        input_corruptions: also run shuffled pixels, random pixels and Gaussian inputs.
        lr: Adam learning rate.
        batch_size: minibatch size.
        max_epochs: give up after this many epochs (a run that does not fit fails a claim).
        target_accuracy: training accuracy at which a run counts as fitted.
    """

    name: ClassVar[str] = "random-labels"
    summary: ClassVar[str] = (
        "Networks fit random labels; test error rises linearly with label corruption"
    )
    paper: ClassVar[str] = "Zhang et al. 2017, arXiv 1611.03530"
    scales: ClassVar[dict[str, dict[str, Any]]] = {
        "quick": {},
        "paper": {"seeds": 5, "width": 512, "num_train": 20000, "num_levels": 11},
    }

    seeds: int = 3
    width: int = 128
    depth: int = 2
    num_train: int = 4000
    num_levels: int = 6
    input_corruptions: bool = True
    lr: float = 1e-3
    batch_size: int = 128
    max_epochs: int = 2000
    target_accuracy: float = 0.999

    def __post_init__(self) -> None:
        if self.seeds < 1 or self.num_levels < 2:
            raise ValueError("random-labels needs seeds >= 1 and num_levels >= 2")

    def levels(self) -> list[float]:
        return [round(float(p), 6) for p in np.linspace(0.0, 1.0, self.num_levels)]

    def conditions(self) -> list[tuple[str, float]]:
        out = [("clean", p) for p in self.levels()]
        if self.input_corruptions:
            out += [(c, 0.0) for c in INPUT_CORRUPTIONS]
        return out

    def run(self, ctx: Context) -> ExperimentResult:
        model = model_spec("mlp", width=self.width, depth=self.depth)
        recipe = dict(
            optimizer="adam",
            lr=self.lr,
            batch_size=self.batch_size,
            epochs=self.max_epochs,
            schedule="constant",
            target_accuracy=self.target_accuracy,
            eval_every=5,
        )
        runs = [(c, p, s) for c, p in self.conditions() for s in range(self.seeds)]
        rows = []
        for inputs, p, seed in ctx.track(runs, "training"):
            data = data_spec(
                "mnist1d",
                num_train=self.num_train,
                label_noise=p,
                inputs=inputs,
                corruption_seed=seed,
            )
            trained = ctx.train(
                model=model, data=data, train=TrainSpec(**recipe, seed=seed), seed=seed
            )
            m = trained.record.metrics
            rows.append(
                {
                    "inputs": inputs,
                    "label_noise": p,
                    "seed": seed,
                    "train_accuracy": m["train_accuracy"],
                    "test_error": 1.0 - m["test_accuracy"],
                    "steps": m["steps"],
                }
            )
        summary = summarize(rows)
        return ExperimentResult(
            metrics=summary,
            tables={"runs": rows, "by condition": summary["by_condition"]},
            figures={"test error vs label corruption": figure(summary)},
            claims=claims(rows, summary, target=self.target_accuracy, num_classes=10),
        )


def summarize(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Mean ± std over seeds per condition, and the line of test error against p."""
    groups: dict[tuple[str, float], list[dict[str, Any]]] = {}
    for r in rows:
        groups.setdefault((r["inputs"], r["label_noise"]), []).append(r)
    by_condition = []
    for (inputs, p), rs in groups.items():
        err, err_sd = mean_std([r["test_error"] for r in rs])
        steps, steps_sd = mean_std([r["steps"] for r in rs])
        by_condition.append(
            {
                "inputs": inputs,
                "label_noise": p,
                "test_error": err,
                "test_error_std": err_sd,
                "steps": steps,
                "steps_std": steps_sd,
                "min_train_accuracy": min(r["train_accuracy"] for r in rs),
            }
        )
    clean = sorted(
        (c for c in by_condition if c["inputs"] == "clean"), key=lambda c: c["label_noise"]
    )
    slope, intercept, r2 = linear_fit(
        [c["label_noise"] for c in clean], [c["test_error"] for c in clean]
    )
    return {
        "by_condition": by_condition,
        "slope": slope,
        "intercept": intercept,
        "r2": r2,
        "clean_error": clean[0]["test_error"],
        "random_label_error": clean[-1]["test_error"],
        "steps_ratio": clean[-1]["steps"] / clean[0]["steps"],
    }


def claims(
    rows: list[dict[str, Any]], summary: dict[str, Any], *, target: float, num_classes: int
) -> list[Claim]:
    """The paper's findings, checked on the measured rows and their summary."""
    worst = min(rows, key=lambda r: r["train_accuracy"])
    chance = 1.0 - 1.0 / num_classes
    by = {(c["inputs"], c["label_noise"]): c for c in summary["by_condition"]}
    out = [
        Claim(
            "the network fits the training set under every corruption",
            passed=worst["train_accuracy"] >= target,
            evidence=f"lowest train accuracy {worst['train_accuracy']:.4f} "
            f"({worst['inputs']}, p={worst['label_noise']}, seed {worst['seed']}); "
            f"target {target}",
            source=SOURCE + "a",
        ),
        Claim(
            "test error rises linearly with the label corruption p",
            passed=summary["slope"] > 0 and summary["r2"] >= 0.9,
            evidence=f"slope {summary['slope']:.3f}, R² {summary['r2']:.3f} "
            f"(error {summary['clean_error']:.3f} at p=0 to "
            f"{summary['random_label_error']:.3f} at p=1)",
            source=SOURCE + "c",
        ),
        Claim(
            "with fully random labels the test error is at chance",
            passed=abs(summary["random_label_error"] - chance) <= 0.05,
            evidence=f"test error {summary['random_label_error']:.3f} at p=1; chance {chance:.2f}",
            source=SOURCE + "c",
        ),
        Claim(
            "random labels take longer to fit, by a small constant factor",
            passed=1.0 < summary["steps_ratio"] <= 10.0,
            evidence=f"steps to fit: {by[('clean', 1.0)]['steps']:.0f} (p=1) vs "
            f"{by[('clean', 0.0)]['steps']:.0f} (p=0), ratio {summary['steps_ratio']:.2f}",
            source=SOURCE + "b",
        ),
    ]
    if ("shuffled_pixels", 0.0) in by:
        shuffled = by[("shuffled_pixels", 0.0)]["test_error"]
        out.append(
            Claim(
                "a fixed shuffle of the pixels hurts an MLP no more than noise across seeds",
                passed=shuffled <= summary["clean_error"] + 0.03,
                evidence=f"test error {shuffled:.3f} shuffled vs {summary['clean_error']:.3f} "
                "clean (tolerance 0.03)",
                source=SOURCE + "c",
            )
        )
    return out


def figure(summary: dict[str, Any]) -> Any:
    """Test error against p (mean ± std over seeds) with the input corruptions marked."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7, 4))
    ax = fig.subplots()
    clean = sorted(
        (c for c in summary["by_condition"] if c["inputs"] == "clean"),
        key=lambda c: c["label_noise"],
    )
    ps = [c["label_noise"] for c in clean]
    ax.errorbar(
        ps,
        [c["test_error"] for c in clean],
        yerr=[c["test_error_std"] for c in clean],
        marker="o",
        capsize=3,
        label="label corruption p",
    )
    ax.plot(
        ps,
        [summary["slope"] * p + summary["intercept"] for p in ps],
        "k:",
        lw=1,
        label=f"linear fit (R² {summary['r2']:.3f})",
    )
    for c in summary["by_condition"]:
        if c["inputs"] != "clean":
            ax.axhline(c["test_error"], ls="--", lw=1, alpha=0.7, label=c["inputs"])
    ax.set(xlabel="label corruption p", ylabel="test error", ylim=(0, 1))
    ax.legend(fontsize=8)
    return fig
