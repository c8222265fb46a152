"""Random labels (Zhang, Bengio, Hardt, Recht & Vinyals 2017, arXiv 1611.03530).

An MLP fits MNIST-1D (the ``digits`` setting: scikit-learn's 8×8 digits) with a fraction p of its
training labels replaced by uniformly random classes, for p from 0 to 1, and with corrupted inputs
(one fixed permutation of the features for all examples, an independent permutation per example,
Gaussian noise with the data's mean and covariance per feature). Each run trains to a target
training accuracy. The paper's findings (its Fig. 1): networks fit every variant; the test error
grows steadily with p and reaches chance at p = 1; random labels slow training down only by a small
constant factor; a fixed shuffle of the pixels does not hurt a fully connected net (it is
permutation-invariant in distribution).

Each claim is a test over the seeds (see :func:`claims`): the rise of the test error is a slope
test over every (p, seed) run, its linearity a test of the seeds' R², the comparisons of two
conditions paired t-tests by seed (a seed shares its initialization and data order across
conditions); the paper's cut-offs are the tests' margins. That every run fits its training set
is checked run by run.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from occamlab.data import data_spec
from occamlab.experiments.framework import Claim, Context, ExperimentResult
from occamlab.experiments.registry import EXPERIMENTS
from occamlab.experiments.stats import compare, exceeds, linear_fit, mean_std, trend, within
from occamlab.models import model_spec
from occamlab.train import TrainSpec

SOURCE = "Zhang et al. 2017, arXiv 1611.03530, Fig. 1"
INPUT_CORRUPTIONS = ("shuffled_pixels", "random_pixels", "gaussian")


@EXPERIMENTS.register
@dataclass(frozen=True)
class RandomLabels:
    """Fit MNIST-1D with corrupted labels or inputs; test error against the corruption level.

    Attributes:
        seeds: seeds per condition (initialization, data order and corruption draw); the claims
            are tests over them (with one seed the tested claims are inconclusive).
        data: the data set (a registry name, e.g. ``mnist1d`` or ``digits``).
        model: the network (a registry model with ``width`` and ``depth`` options, e.g. ``mlp``).
        width: hidden width of the MLP.
        depth: hidden layers of the MLP.
        num_train: training examples (0: the data set's own split, as for ``digits``; MNIST-1D's
            test set is the standard 1,000).
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
    settings: ClassVar[dict[str, dict[str, Any]]] = {
        "digits": {"data": "digits", "num_train": 0},
    }

    seeds: int = 4
    data: str = "mnist1d"
    model: str = "mlp"
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
        self.dataset(), model_spec(self.model, width=self.width, depth=self.depth)

    def dataset(self, **corruption: Any) -> Any:
        """The data set's spec with this corruption (``num_train`` 0: the data set's own)."""
        sizes = {"num_train": self.num_train} if self.num_train else {}
        return data_spec(self.data, **sizes, **corruption)

    def levels(self) -> list[float]:
        return [round(float(p), 6) for p in np.linspace(0.0, 1.0, self.num_levels)]

    def conditions(self) -> list[tuple[str, float]]:
        out = [("clean", p) for p in self.levels()]
        if self.input_corruptions:
            out += [(c, 0.0) for c in INPUT_CORRUPTIONS]
        return out

    def run(self, ctx: Context) -> ExperimentResult:
        from occamlab.runs import TrainJob

        model = model_spec(self.model, width=self.width, depth=self.depth)
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
        # the runs of one input corruption (every seed and label-noise level) train together
        jobs = [
            TrainJob(
                model=model,
                data=self.dataset(label_noise=p, inputs=inputs, corruption_seed=seed),
                train=TrainSpec(**recipe, seed=seed),
                seed=seed,
            )
            for inputs, p, seed in runs
        ]
        trained = ctx.train_many(jobs)
        rows = []
        for (inputs, p, seed), t in zip(runs, trained, strict=True):
            m = t.record.metrics
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
            claims=claims(
                rows,
                target=self.target_accuracy,
                num_classes=trained[0].subject.data.num_outputs,
            ),
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


def _by_seed(rows: list[dict[str, Any]], inputs: str, p: float) -> dict[int, dict[str, Any]]:
    return {r["seed"]: r for r in rows if r["inputs"] == inputs and r["label_noise"] == p}


def _rise(clean: list[dict[str, Any]], slope: float, mean_error: dict[float, float]) -> Claim:
    statement, source = "test error rises with the label corruption p", SOURCE + "c"
    levels = sorted(mean_error)
    curve = f"mean error {mean_error[levels[0]]:.3f} at p={levels[0]:g} to " + (
        f"{mean_error[levels[-1]]:.3f} at p={levels[-1]:g}"
    )
    if len(clean) < 3:
        return Claim(statement, False, f"{len(clean)} runs: a slope test needs 3 ({curve})", source)
    test = trend(
        [r["label_noise"] for r in clean],
        [r["test_error"] for r in clean],
        name="test error",
        hypothesis="slope of the test error against p > 0",
    )
    return Claim.tested(
        statement, test, f"slope {slope:.3f} over {len(clean)} runs ({curve})", source
    )


def _linear(per_seed_r2: list[float], r2: float, levels: list[float]) -> Claim:
    statement, source = "the rise is linear: R² of the test error against p ≥ 0.9", SOURCE + "c"
    if len(levels) < 3:
        return Claim(
            statement,
            False,
            f"{len(levels)} levels of p: a line through fewer than 3 says nothing about linearity",
            source,
        )
    test = exceeds(
        per_seed_r2,
        0.9,
        name="R² per seed",
        hypothesis="mean over seeds of R² (test error against p) > 0.9",
    )
    values = ", ".join(f"{v:.3f}" for v in per_seed_r2)
    return Claim.tested(statement, test, f"R² {values} per seed ({r2:.3f} over all runs)", source)


def claims(rows: list[dict[str, Any]], *, target: float, num_classes: int) -> list[Claim]:
    """The paper's findings as tests over the per-seed runs.

    The rise of the test error with p is a slope t-test over every (p, seed) run; its linearity
    a one-sample t-test of the seeds' R² (each seed's error against p) above 0.9; at p = 1 the
    error is within 0.05 of chance (two one-sided t-tests); the steps to fit at p = 1 against
    p = 0 and the shuffled pixels against the clean inputs are paired by seed. That every run
    fits its training set is checked run by run (untested: a statement about each run).
    """
    worst = min(rows, key=lambda r: r["train_accuracy"])
    chance = 1.0 - 1.0 / num_classes
    clean = sorted((r for r in rows if r["inputs"] == "clean"), key=lambda r: r["label_noise"])
    levels = sorted({r["label_noise"] for r in clean})
    first, last = levels[0], levels[-1]
    zero, one = _by_seed(rows, "clean", first), _by_seed(rows, "clean", last)
    seeds = sorted(set(zero) & set(one))
    err_one = [one[s]["test_error"] for s in sorted(one)]
    ratios = [one[s]["steps"] / zero[s]["steps"] for s in seeds]
    slope, _, r2 = linear_fit([r["label_noise"] for r in clean], [r["test_error"] for r in clean])
    per_seed_r2 = []
    for seed in sorted({r["seed"] for r in clean}):
        mine = [r for r in clean if r["seed"] == seed]
        if len({r["label_noise"] for r in mine}) >= 2:
            per_seed_r2.append(
                linear_fit([r["label_noise"] for r in mine], [r["test_error"] for r in mine])[2]
            )
    mean_error = {
        p: float(np.mean([r["test_error"] for r in clean if r["label_noise"] == p])) for p in levels
    }
    n = len(seeds)
    out = [
        Claim(
            "the network fits the training set under every corruption",
            passed=worst["train_accuracy"] >= target,
            evidence=f"lowest train accuracy {worst['train_accuracy']:.4f} "
            f"({worst['inputs']}, p={worst['label_noise']}, seed {worst['seed']}); "
            f"target {target}",
            source=SOURCE + "a",
        ),
        _rise(clean, slope, mean_error),
        _linear(per_seed_r2, r2, levels),
        Claim.tested(
            "with fully random labels the test error is at chance (within 0.05)",
            within(
                err_one,
                chance,
                0.05,
                name="test error at p=1",
                hypothesis=f"|test error at p=1 − {chance:.2f}| < 0.05",
            ),
            f"test error {np.mean(err_one):.3f} at p={last:g} (mean of {len(err_one)} seeds); "
            f"chance {chance:.2f}",
            SOURCE + "c",
        ),
        Claim.tested(
            "random labels take longer to fit",
            compare(
                [one[s]["steps"] for s in seeds],
                [zero[s]["steps"] for s in seeds],
                paired=True,
                names=(f"steps at p={last:g}", f"steps at p={first:g}"),
                hypothesis="steps to fit: random − true labels > 0",
            ),
            f"steps to fit: {np.mean([one[s]['steps'] for s in seeds]):.0f} (p={last:g}) vs "
            f"{np.mean([zero[s]['steps'] for s in seeds]):.0f} (p={first:g}), mean of {n} seeds",
            SOURCE + "b",
        ),
        Claim.tested(
            "random labels slow fitting down by a small constant factor (at most 10×)",
            exceeds(
                [-v for v in ratios],
                -10.0,
                name="−steps ratio",
                hypothesis="steps ratio (random / true labels, per seed) < 10",
            ),
            f"steps ratio {', '.join(f'{v:.2f}' for v in ratios)} per seed",
            SOURCE + "b",
        ),
    ]
    shuffled = _by_seed(rows, "shuffled_pixels", 0.0)
    if shuffled and 0.0 in levels:
        pair = sorted(set(shuffled) & set(zero))
        a, b = [shuffled[s]["test_error"] for s in pair], [zero[s]["test_error"] for s in pair]
        out.append(
            Claim.tested(
                "a fixed shuffle of the pixels hurts an MLP by less than 0.03 of test error",
                compare(
                    b,
                    a,
                    margin=-0.03,
                    paired=True,
                    names=("clean", "shuffled pixels"),
                    hypothesis="clean − shuffled test error > −0.03",
                ),
                f"test error {np.mean(a):.3f} shuffled vs {np.mean(b):.3f} clean "
                f"(mean of {len(pair)} seeds)",
                SOURCE + "c",
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
