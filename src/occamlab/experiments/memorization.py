"""Memorization vs learning (Arpit et al. 2017, "A closer look at memorization in deep networks",
arXiv 1706.05394).

The same MLP is trained on real MNIST-1D, on real inputs with a fraction of noisy labels, on
random labels (randY) and on Gaussian inputs with the real labels (randX). Arpit et al. found that
networks fit real data faster than noise (§3); that they learn the clean examples of a noisy
training set before they memorize the relabelled ones, so that validation accuracy peaks before
the noisy labels are fit and declines afterwards (§4–5); and that they keep real data farther from
their decision boundary: the critical sample ratio (CSR, the fraction of training points with a
differently classified point within an ℓ∞ box of radius r) is lower for real data than for noise
(§4.1).

Per-epoch correctness of every training example is recorded by a training callback, so the
examples that kept their label and the relabelled ones are followed separately; in the
random-label run the examples that kept their label by chance serve as a control (there is no
pattern, so they should get no head start). The CSR is measured by a second callback during
training. CSRs are compared between real and random labels on the same inputs: Gaussian inputs
lie much farther apart than MNIST-1D signals, so a box of the same radius means something else
for them (their CSR is reported, not compared).

Each claim is a t-test over the seeds, paired by seed (the conditions of one seed share its
initialization and data order), Holm-corrected together. A claim whose quantity was not reached
on some seed (a condition never fit, examples never 90% fit) is not tested and fails.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import torch

from occamlab.data import DATASETS, load_data, sized_data_spec
from occamlab.experiments.framework import Claim, Context, ExperimentResult
from occamlab.experiments.registry import EXPERIMENTS
from occamlab.experiments.stats import compare, mean_std
from occamlab.models import model_spec
from occamlab.train import PeriodicCallback, TrainSpec, TrainState

SOURCE = "Arpit et al. 2017, arXiv 1706.05394"
CONDITIONS = ("real", "noisy labels", "random labels", "random inputs")


class CriticalSampleMonitor(PeriodicCallback):
    """Measure the critical sample ratio of the first ``limit`` training examples periodically.

    Records at the start, every ``every`` optimizer steps and at the end; the random starts of
    the search come from a generator seeded with ``seed`` at each record (same starts each time).
    """

    def __init__(self, *, every: int, radius: float, limit: int, seed: int = 0) -> None:
        super().__init__(every=every)
        self.radius, self.limit, self.seed = radius, limit, seed
        self.ratios: list[float] = []

    def measure(self, state: TrainState) -> None:
        from occamlab.probes.memorization import critical_sample_ratio

        result = critical_sample_ratio(
            state.subject,
            radius=self.radius,
            limit=self.limit,
            generator=torch.Generator().manual_seed(self.seed),
        )
        self.ratios.append(result.ratio)


@EXPERIMENTS.register
@dataclass(frozen=True)
class Memorization:
    """Real data is learned first, noise is memorized later; CSR is lower for real data.

    Attributes:
        seeds: seeds per condition (initialization, data order, label noise and input draws);
            the claims are t-tests over them, paired by seed.
        dataset: the classification data set (a registry name: ``mnist1d``, ``digits``, …).
        num_train: training examples, for data sets that draw their size (MNIST-1D: its test
            set is the standard 1,000; the digits have a fixed split).
        width: hidden width of the MLP.
        depth: hidden layers of the MLP.
        noisy_labels: label-noise probability of the "noisy labels" condition.
        lr: Adam learning rate.
        batch_size: minibatch size.
        epochs: training epochs.
        fit_accuracy: training accuracy that counts as fitted.
        csr_radius: ℓ∞ radius of the critical-sample search (inputs have unit scale).
        csr_examples: training examples the CSR is measured on.
        csr_every: measure the CSR every this many epochs.
    """

    name: ClassVar[str] = "memorization"
    summary: ClassVar[str] = (
        "Real data is fit before noise; validation peaks before noisy labels are memorized"
    )
    paper: ClassVar[str] = SOURCE
    scales: ClassVar[dict[str, dict[str, Any]]] = {
        "quick": {},
        "paper": {"seeds": 5, "num_train": 4000, "width": 512, "epochs": 400},
    }
    settings: ClassVar[dict[str, dict[str, Any]]] = {
        # scikit-learn's 8×8 digits (1,438 training images), trained twice as long
        "digits": {"dataset": "digits", "epochs": 120},
    }

    seeds: int = 6
    dataset: str = "mnist1d"
    num_train: int = 1000
    width: int = 256
    depth: int = 2
    noisy_labels: float = 0.4
    lr: float = 1e-3
    batch_size: int = 64
    epochs: int = 60
    fit_accuracy: float = 0.99
    csr_radius: float = 0.1
    csr_examples: int = 500
    csr_every: int = 5

    def __post_init__(self) -> None:
        if self.seeds < 1 or not 0 < self.noisy_labels < 1 or self.epochs < 1:
            raise ValueError("memorization needs seeds >= 1, 0 < noisy_labels < 1, epochs >= 1")
        if self.dataset not in DATASETS:
            raise ValueError(f"unknown dataset {self.dataset!r}; valid: {', '.join(DATASETS)}")

    def data(self, condition: str, seed: int) -> Any:
        options: dict[str, Any] = {"corruption_seed": seed}
        if condition == "noisy labels":
            options["label_noise"] = self.noisy_labels
        elif condition == "random labels":
            options["label_noise"] = 1.0
        elif condition == "random inputs":
            options["inputs"] = "gaussian"
        return sized_data_spec(self.dataset, {"num_train": self.num_train}, **options)

    def recipe(self, seed: int) -> TrainSpec:
        return TrainSpec(
            optimizer="adam",
            lr=self.lr,
            batch_size=self.batch_size,
            epochs=self.epochs,
            schedule="constant",
            eval_every=1,
            seed=seed,
        )

    def run(self, ctx: Context) -> ExperimentResult:
        model = model_spec("mlp", width=self.width, depth=self.depth)
        clean_y = load_data(self.data("real", 0)).train.y
        runs: dict[tuple[str, int], dict[str, Any]] = {}
        for condition, seed in ctx.track(
            [(c, s) for c in CONDITIONS for s in range(self.seeds)], "training"
        ):
            data = self.data(condition, seed)
            key = {
                "model": model,
                "data": data,
                "train": self.recipe(seed),
                "seed": seed,
                "csr": [self.csr_radius, self.csr_examples, self.csr_every],
            }
            runs[(condition, seed)] = ctx.cached(
                "train",
                key,
                lambda _d, data=data, seed=seed: self._train(model, data, seed, clean_y),
            )
        summary = summarize(runs, seeds=self.seeds, fit_accuracy=self.fit_accuracy)
        return ExperimentResult(
            metrics=summary,
            tables={"by condition": summary["rows"], "curves (seed 0)": curve_rows(runs)},
            figures={"learning real data vs noise": figure(runs, self)},
            claims=claims(summary, fit_accuracy=self.fit_accuracy, epochs=self.epochs),
        )

    def _train(self, model: Any, data: Any, seed: int, clean_y: torch.Tensor) -> dict[str, Any]:
        from occamlab.recipes import make_subject
        from occamlab.train import ExampleCorrectness, fit

        subject = make_subject(model=model, data=data, seed=seed)
        per_epoch = math.ceil(len(subject.data.train) / self.batch_size)
        correct = ExampleCorrectness(every=per_epoch)
        csr = CriticalSampleMonitor(
            every=per_epoch * self.csr_every,
            radius=self.csr_radius,
            limit=self.csr_examples,
            seed=seed,
        )
        result = fit(subject, self.recipe(seed), callbacks=[correct, csr])
        matrix = correct.matrix()[1:]  # after each epoch
        relabelled = subject.data.train.y != clean_y
        kept = ~relabelled
        return {
            "epochs": list(range(1, matrix.shape[0] + 1)),
            "train_accuracy": matrix.double().mean(dim=1).tolist(),
            "clean_accuracy": matrix[:, kept].double().mean(dim=1).tolist(),
            "relabelled_accuracy": (
                matrix[:, relabelled].double().mean(dim=1).tolist() if relabelled.any() else None
            ),
            "relabelled_fraction": float(relabelled.double().mean()),
            "test_accuracy": [h["test_accuracy"] for h in result.history],
            "csr_epochs": [s / per_epoch for s in csr.steps],
            "csr": csr.ratios,
            "seconds": result.seconds,
        }


def first_epoch(values: list[float] | None, target: float) -> int | None:
    """1-based epoch at which ``values`` first reaches ``target`` (None if never)."""
    if values is None:
        return None
    return next((i + 1 for i, v in enumerate(values) if v >= target), None)


def summarize(
    runs: dict[tuple[str, int], dict[str, Any]], *, seeds: int, fit_accuracy: float
) -> dict[str, Any]:
    """Epochs to fit per condition; the noisy run's learning order; the CSR per condition."""
    out: dict[str, Any] = {"rows": []}
    for condition in CONDITIONS:
        rs = [runs[(condition, s)] for s in range(seeds)]
        fit_epochs = [first_epoch(r["train_accuracy"], fit_accuracy) for r in rs]
        csr, csr_sd = mean_std([r["csr"][-1] for r in rs])
        # Seed-mean CSR at every measurement after initialization (same schedule per seed).
        curve = np.mean([r["csr"][1:] for r in rs], axis=0).tolist()
        final_test, final_test_sd = mean_std([r["test_accuracy"][-1] for r in rs])
        row = {
            "condition": condition,
            "epochs_to_fit": _mean_or_none(fit_epochs),
            "epochs_to_fit_by_seed": fit_epochs,
            "mean_csr_by_seed": [float(np.mean(r["csr"][1:])) for r in rs],
            "seeds_fitted": sum(e is not None for e in fit_epochs),
            "final_train_accuracy": float(np.mean([r["train_accuracy"][-1] for r in rs])),
            "final_test_accuracy": final_test,
            "final_test_accuracy_std": final_test_sd,
            "final_csr": csr,
            "final_csr_std": csr_sd,
            "mean_csr": float(np.mean(curve)),
            "csr_curve": curve,
        }
        out["rows"].append(row)
        out[condition.replace(" ", "_")] = row
    out["noisy_run"] = [learning_order(runs[("noisy labels", s)]) for s in range(seeds)]
    curves = np.array([runs[("noisy labels", s)]["test_accuracy"] for s in range(seeds)])
    for s, order in enumerate(out["noisy_run"]):
        # the peak located on the other seeds' mean curve: not biased up by this seed's noise
        others = np.delete(curves, s, axis=0) if seeds > 1 else curves
        peak = int(np.argmax(others.mean(axis=0)))
        order["peak_epoch_of_others"] = peak + 1
        order["test_at_peak_of_others"] = float(curves[s, peak])
    out["random_label_run"] = [learning_order(runs[("random labels", s)]) for s in range(seeds)]
    return out


def learning_order(run: dict[str, Any]) -> dict[str, Any]:
    """When the kept-label and the relabelled examples of one run reach 90% train accuracy,
    and where its test accuracy peaked."""
    clean_at = first_epoch(run["clean_accuracy"], 0.9)
    noisy_at = first_epoch(run["relabelled_accuracy"], 0.9)
    best = int(np.argmax(run["test_accuracy"]))
    return {
        "clean_90_epoch": clean_at,
        "relabelled_90_epoch": noisy_at,
        "head_start": None if clean_at is None or noisy_at is None else noisy_at - clean_at,
        "best_test_epoch": best + 1,
        "best_test_accuracy": run["test_accuracy"][best],
        "final_test_accuracy": run["test_accuracy"][-1],
    }


def _mean_or_none(values: list[int | None]) -> float | None:
    return None if any(v is None for v in values) else float(np.mean(values))


def claims(summary: dict[str, Any], *, fit_accuracy: float, epochs: int) -> list[Claim]:
    """Arpit et al.'s findings as t-tests over the seeds, paired by seed.

    Epochs to fit (random labels never fit count as ``epochs + 1``, a lower bound that can only
    weaken the claim); the head start of the clean over the relabelled examples in the
    noisy-label run against the same in the random-label run; the epoch at which the relabelled
    examples are 90% fit against the epoch of best test accuracy; the test accuracy at the peak
    against the final one, with each seed's peak epoch located on the mean test curve of the
    other seeds (a seed's own best epoch is the maximum of a noisy curve, above its final
    accuracy even without a decline); the CSR averaged over training, random against real
    labels.
    """
    real, noisy = summary["real"], summary["noisy_labels"]
    rand_y, rand_x = summary["random_labels"], summary["random_inputs"]
    order, control = summary["noisy_run"], summary["random_label_run"]

    def epochs_text(row: dict[str, Any]) -> str:
        return ", ".join(
            f"> {epochs}" if e is None else str(e) for e in row["epochs_to_fit_by_seed"]
        )

    def listed(rows: list[dict[str, Any]], key: str) -> str:
        return ", ".join("never" if o[key] is None else str(o[key]) for o in rows)

    def tested(statement: str, values: list[Any], make: Any, evidence: str, source: str) -> Claim:
        """A claim tested by ``make()`` if every per-seed value was measured, else failed."""
        if any(v is None for v in values):
            return Claim(statement, False, evidence + " (not reached on every seed)", source)
        return Claim.tested(statement, make(), evidence, source)

    fit_real = real["epochs_to_fit_by_seed"]
    fit_rand = [epochs + 1 if e is None else e for e in rand_y["epochs_to_fit_by_seed"]]
    head = [o["head_start"] for o in order]
    control_head = [o["head_start"] for o in control]
    memorized = [o["relabelled_90_epoch"] for o in order]
    best = [o["best_test_epoch"] for o in order]
    at_peak = [o["test_at_peak_of_others"] for o in order]
    final = [o["final_test_accuracy"] for o in order]
    return [
        tested(
            "real data is fit faster than random labels",
            fit_real,
            lambda: compare(
                fit_rand,
                fit_real,
                paired=True,
                names=("random labels", "real"),
                hypothesis=f"epochs to {fit_accuracy:.0%} train accuracy: random labels − real > 0",
            ),
            f"epochs to {fit_accuracy:.0%} train accuracy per seed: real {epochs_text(real)}, "
            f"random labels {epochs_text(rand_y)} (random inputs {epochs_text(rand_x)}: "
            "Gaussian points are easy to tell apart)",
            SOURCE + ", §3 (noise takes longer to fit)",
        ),
        tested(
            "with noisy labels the clean examples are fit first; with random labels no head start",
            head + control_head,
            lambda: compare(
                head,
                control_head,
                paired=True,
                names=("noisy labels", "random labels"),
                hypothesis="head start of the clean examples: noisy-label run − random-label "
                "run > 0",
            ),
            "epochs at which 90% of the clean / relabelled examples are fit: "
            f"{listed(order, 'clean_90_epoch')} / {listed(order, 'relabelled_90_epoch')} "
            f"(head start {listed(order, 'head_start')} epochs); with all labels random, "
            f"examples that kept their label by chance: head start "
            f"{listed(control, 'head_start')}",
            SOURCE + ", §4 (DNNs learn patterns first)",
        ),
        tested(
            "validation accuracy peaks before the noisy labels are memorized",
            memorized,
            lambda: compare(
                memorized,
                best,
                paired=True,
                names=("relabelled 90% fit", "best test accuracy"),
                hypothesis="epoch relabelled examples 90% fit − epoch of best test accuracy > 0",
            ),
            f"best test accuracy at epoch {listed(order, 'best_test_epoch')} vs relabelled "
            f"examples 90% fit at {listed(order, 'relabelled_90_epoch')}",
            SOURCE + ", §4–5 (validation accuracy with noisy labels)",
        ),
        Claim.tested(
            "validation accuracy declines once the noisy labels are memorized",
            compare(
                at_peak,
                final,
                paired=True,
                names=("at the peak", "final"),
                hypothesis="test accuracy at the peak epoch (of the other seeds' mean curve) − "
                "final > 0",
            ),
            "test accuracy at the peak epoch of the other seeds' mean curve ("
            + listed(order, "peak_epoch_of_others")
            + ") "
            + ", ".join(f"{a:.3f}" for a in at_peak)
            + " vs final "
            + ", ".join(f"{a:.3f}" for a in final)
            + f" at epoch {epochs}",
            SOURCE + ", §4–5 (validation accuracy with noisy labels)",
        ),
        Claim.tested(
            "the critical sample ratio stays lower with real labels than with random labels",
            compare(
                rand_y["mean_csr_by_seed"],
                real["mean_csr_by_seed"],
                paired=True,
                names=("random labels", "real"),
                hypothesis="CSR averaged over training: random labels − real > 0",
            ),
            f"CSR (same inputs, mean over seeds) averaged over training: real "
            f"{real['mean_csr']:.3f} vs random labels {rand_y['mean_csr']:.3f}, lower at "
            f"{sum(a < b for a, b in zip(real['csr_curve'], rand_y['csr_curve'], strict=True))}"
            f" of {len(real['csr_curve'])} measurements; at the end {real['final_csr']:.3f} ± "
            f"{real['final_csr_std']:.3f} vs {rand_y['final_csr']:.3f} ± "
            f"{rand_y['final_csr_std']:.3f} (noisy labels {noisy['mean_csr']:.3f} on average; "
            f"random inputs {rand_x['mean_csr']:.3f}: Gaussian points lie far apart, so a box of "
            "the same radius rarely reaches a boundary)",
            SOURCE + ", §4.1 (critical sample ratio during training)",
        ),
    ]


def curve_rows(runs: dict[tuple[str, int], dict[str, Any]]) -> list[dict[str, Any]]:
    """Seed 0's per-epoch curves (every 5th epoch) behind the figure."""
    rows = []
    for condition in CONDITIONS:
        r = runs[(condition, 0)]
        csr = dict(zip(r["csr_epochs"], r["csr"], strict=True))
        for i in range(0, len(r["epochs"]), 5):
            e = r["epochs"][i]
            rows.append(
                {
                    "condition": condition,
                    "epoch": e,
                    "train_accuracy": r["train_accuracy"][i],
                    "clean_examples": r["clean_accuracy"][i],
                    "relabelled_examples": (
                        None if r["relabelled_accuracy"] is None else r["relabelled_accuracy"][i]
                    ),
                    "test_accuracy": r["test_accuracy"][i],
                    "csr": csr.get(float(e)),
                }
            )
    return rows


def figure(runs: dict[tuple[str, int], dict[str, Any]], spec: Memorization) -> Any:
    """Train accuracy per condition; the noisy run's clean/relabelled/test curves; CSR."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(13, 3.8), layout="constrained")
    ax1, ax2, ax3 = fig.subplots(1, 3)
    for i, condition in enumerate(CONDITIONS):
        r = runs[(condition, 0)]
        ax1.plot(r["epochs"], r["train_accuracy"], f"C{i}", label=condition)
        ax3.plot(r["csr_epochs"], r["csr"], f"C{i}o-", ms=3, label=condition)
    ax1.set(xlabel="epoch", ylabel="train accuracy", title="fitting real data vs noise (seed 0)")
    ax1.legend(fontsize=8)
    r = runs[("noisy labels", 0)]
    ax2.plot(r["epochs"], r["clean_accuracy"], "C0", label="clean examples (train)")
    ax2.plot(r["epochs"], r["relabelled_accuracy"], "C3", label="relabelled examples (train)")
    ax2.plot(r["epochs"], r["test_accuracy"], "k", label="test")
    ax2.set(
        xlabel="epoch",
        ylabel="accuracy",
        title=f"label noise p={spec.noisy_labels} (seed 0)",
    )
    ax2.legend(fontsize=8)
    ax3.set(
        xlabel="epoch",
        ylabel="critical sample ratio",
        title=f"CSR (r={spec.csr_radius}, {spec.csr_examples} examples, seed 0)",
    )
    ax3.legend(fontsize=8)
    return fig
