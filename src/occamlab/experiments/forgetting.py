"""Example forgetting (Toneva, Sordoni, Combes, Trischler, Bengio & Gordon 2019, arXiv 1812.05159).

A *forgetting event* happens when a training example that was classified correctly is
misclassified at the next check; an example that is learned at some point and never forgotten
afterwards is *unforgettable*. Toneva et al. found: forgetting is concentrated on few examples and
most examples of an easy dataset are unforgettable (their Fig. 1, Table 1); examples with noisy
labels are forgotten far more often than the same examples with their true labels (Fig. 3); and
the least forgotten examples can be removed from the training set at little cost in accuracy,
much less than removing a random subset of the same size (Fig. 5).

Here correctness of every training example is checked once per epoch (the frequency at which
Toneva et al. see each example in its minibatch) by a training callback. The network is a 1-D
CNN, which generalizes on MNIST-1D (test accuracy near 0.9) as Toneva et al.'s ResNet does on
CIFAR-10; an MLP fits MNIST-1D largely by memorizing hard examples, so its clean examples are
forgotten often too and the contrast with relabelled ones shrinks. Three training sets: the clean
MNIST-1D training set, the same set with noisy labels, and the clean set with its least forgotten
(or a random) fraction removed.

Each claim is a t-test over the seeds (each seed's clean, noisy and reduced runs share its
initialization and data order, so comparisons between them are paired), Holm-corrected together.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import torch

from occamlab.data import DATASETS, load_data, sized_data_spec
from occamlab.experiments.framework import Claim, Context, ExperimentResult
from occamlab.experiments.registry import EXPERIMENTS
from occamlab.experiments.stats import compare, exceeds, mean_std
from occamlab.models import model_spec
from occamlab.train import TrainSpec

SOURCE = "Toneva et al. 2019, arXiv 1812.05159"


def forgetting_events(correct: torch.Tensor) -> torch.Tensor:
    """Forgetting events per example: transitions correct → incorrect between consecutive rows.

    Args:
        correct: ``(T, n)`` booleans, row ``t`` = which examples were right at check ``t``.

    Returns:
        ``(n,)`` int64 counts.

    >>> forgetting_events(torch.tensor([[0, 1, 1], [1, 0, 1], [0, 1, 1]]).bool()).tolist()
    [1, 1, 0]
    """
    if correct.dim() != 2 or correct.dtype != torch.bool:
        raise ValueError("correct must be a (T, n) boolean tensor")
    return (correct[:-1] & ~correct[1:]).sum(dim=0).to(torch.int64)


def forgetting_statistics(correct: torch.Tensor) -> dict[str, Any]:
    """Per-example forgetting events, whether each example was ever learned, and the summary.

    An example is *unforgettable* if it was classified correctly at some check and never
    forgotten; examples never learned get infinitely many events for ranking (Toneva et al.).
    """
    events = forgetting_events(correct)
    learned = correct.any(dim=0)
    unforgettable = learned & (events == 0)
    return {
        "events": events.tolist(),
        "learned": learned.tolist(),
        "unforgettable_fraction": float(unforgettable.double().mean()),
        "never_learned_fraction": float((~learned).double().mean()),
        "mean_events": float(events.double().mean()),
    }


def removal_order(events: np.ndarray, learned: np.ndarray, *, seed: int) -> np.ndarray:
    """Training indices from least to most forgotten (never learned last; ties at random)."""
    score = np.where(learned, events.astype(np.float64), math.inf)
    tie = np.random.default_rng(seed).random(score.shape[0])
    return np.lexsort((tie, score))


@EXPERIMENTS.register
@dataclass(frozen=True)
class Forgetting:
    """Count forgetting events per training example; noisy labels; removing unforgettables.

    Attributes:
        seeds: seeds per training set (initialization, data order, noise and removal draws);
            the claims are t-tests over them, paired where the runs share a seed.
        dataset: the classification data set (a registry name: ``mnist1d``, ``digits``, …).
        num_train: training examples, for data sets that draw their size (MNIST-1D: its test
            set is the standard 1,000; the digits have a fixed split).
        model: the network, a registry model with a ``channels`` option (``cnn1d``: three
            strided 1-D convolutions; ``cnn2d``).
        channels: channels of every convolution.
        label_noise: probability that a training label is redrawn uniformly in the noisy run.
        remove_fraction: fraction of the training set removed (least forgotten vs random).
        lr: Adam learning rate.
        batch_size: minibatch size.
        epochs: training epochs (forgetting is checked once per epoch).
    """

    name: ClassVar[str] = "forgetting"
    summary: ClassVar[str] = (
        "Forgetting events: noisy-label examples are forgotten most; unforgettables can be dropped"
    )
    paper: ClassVar[str] = SOURCE
    scales: ClassVar[dict[str, dict[str, Any]]] = {
        "quick": {},
        "paper": {"seeds": 5, "num_train": 10000, "epochs": 200},
    }
    settings: ClassVar[dict[str, dict[str, Any]]] = {
        # a narrower CNN: 32 channels per convolution; its removal runs vary more from seed to
        # seed, so more seeds
        "narrow": {"channels": 32, "seeds": 6},
    }

    seeds: int = 3
    dataset: str = "mnist1d"
    num_train: int = 4000
    model: str = "cnn1d"
    channels: int = 64
    label_noise: float = 0.2
    remove_fraction: float = 0.2
    lr: float = 3e-3
    batch_size: int = 128
    epochs: int = 60

    def __post_init__(self) -> None:
        if self.seeds < 1 or not 0 < self.remove_fraction < 1 or not 0 < self.label_noise <= 1:
            raise ValueError(
                "forgetting needs seeds >= 1, 0 < remove_fraction < 1 and 0 < label_noise <= 1"
            )
        if self.dataset not in DATASETS:
            raise ValueError(f"unknown dataset {self.dataset!r}; valid: {', '.join(DATASETS)}")

    def data(self, noisy_seed: int | None = None) -> Any:
        """The clean training set, or with label noise drawn by ``noisy_seed``."""
        options: dict[str, Any] = {}
        if noisy_seed is not None:
            options.update(label_noise=self.label_noise, corruption_seed=noisy_seed)
        return sized_data_spec(self.dataset, {"num_train": self.num_train}, **options)

    def recipe(self, seed: int) -> TrainSpec:
        return TrainSpec(
            optimizer="adam",
            lr=self.lr,
            batch_size=self.batch_size,
            epochs=self.epochs,
            schedule="constant",
            eval_every=self.epochs,
            seed=seed,
        )

    def run(self, ctx: Context) -> ExperimentResult:
        model = model_spec(self.model, channels=self.channels)
        clean_spec = self.data()
        clean = load_data(clean_spec)
        size = len(clean.train)
        stats: dict[tuple[str, int], dict[str, Any]] = {}
        for kind, seed in ctx.track(
            [(k, s) for k in ("clean", "noisy") for s in range(self.seeds)], "tracking"
        ):
            data = clean_spec if kind == "clean" else self.data(seed)
            key = {"model": model, "data": data, "train": self.recipe(seed), "seed": seed}
            stats[(kind, seed)] = ctx.cached(
                "track",
                key,
                lambda _d, data=data, seed=seed: _track(model, data, self.recipe(seed), seed),
            )
        flipped = {}
        for seed in range(self.seeds):
            noisy = load_data(self.data(seed))
            flipped[seed] = (noisy.train.y != clean.train.y).numpy()
        # Rank by the forgetting events of the clean runs, summed over seeds.
        events = np.sum([stats[("clean", s)]["events"] for s in range(self.seeds)], axis=0)
        learned = np.all([stats[("clean", s)]["learned"] for s in range(self.seeds)], axis=0)
        order = removal_order(events, learned, seed=0)
        removed = int(round(self.remove_fraction * size))
        # The full-set baseline is the clean tracking run itself (the monitor does not change
        # training); the two reduced sets are trained from scratch with the same recipe.
        removal = [
            {
                "removed": "full",
                "seed": s,
                "kept": size,
                "train_accuracy": stats[("clean", s)]["train_accuracy"],
                "test_accuracy": stats[("clean", s)]["test_accuracy"],
            }
            for s in range(self.seeds)
        ]
        for how, seed in ctx.track(
            [(h, s) for h in ("least forgotten", "random") for s in range(self.seeds)],
            "removal",
        ):
            if how == "least forgotten":
                keep = np.sort(order[removed:])
            else:
                rng = np.random.default_rng(1000 + seed)
                keep = np.sort(rng.permutation(size)[removed:])
            key = {
                "model": model,
                "data": clean_spec,
                "train": self.recipe(seed),
                "seed": seed,
                "removed": how,
                "kept": hashlib.sha256(keep.astype(np.int64).tobytes()).hexdigest()[:16],
            }
            out = ctx.cached(
                "subset",
                key,
                lambda _d, keep=keep, seed=seed: _train_subset(
                    model, clean_spec, self.recipe(seed), seed, keep
                ),
            )
            removal.append({"removed": how, "seed": seed, **out})
        summary = summarize(stats, flipped, removal, seeds=self.seeds)
        return ExperimentResult(
            metrics=summary,
            tables={
                "forgetting events (clean runs)": histogram_rows(stats, self.seeds),
                "noisy vs clean labels": summary["noise_rows"],
                "removal": removal,
            },
            figures={"forgetting events and removal": figure(stats, flipped, summary, self)},
            claims=claims(summary, removal, remove_fraction=self.remove_fraction),
        )


def _track(model: Any, data: Any, recipe: TrainSpec, seed: int) -> dict[str, Any]:
    from occamlab.recipes import make_subject
    from occamlab.train import ExampleCorrectness, fit

    subject = make_subject(model=model, data=data, seed=seed)
    every = math.ceil(len(subject.data.train) / recipe.batch_size)
    monitor = ExampleCorrectness(every=every)
    result = fit(subject, recipe, callbacks=[monitor])
    return {
        **forgetting_statistics(monitor.matrix()[1:]),  # checks after each epoch
        "train_accuracy": result.final["train_accuracy"],
        "test_accuracy": result.final["test_accuracy"],
        "seconds": result.seconds,
    }


def _train_subset(
    model: Any, data: Any, recipe: TrainSpec, seed: int, keep: np.ndarray
) -> dict[str, Any]:
    from occamlab.data.base import Data, Split
    from occamlab.recipes import make_subject
    from occamlab.train import fit

    subject = make_subject(model=model, data=data, seed=seed)
    full = subject.data
    idx = torch.from_numpy(keep)
    subject.data = Data(
        name=full.name,
        train=Split(full.train.x[idx], full.train.y[idx]),
        test=full.test,
        task=full.task,
        num_outputs=full.num_outputs,
    )
    result = fit(subject, recipe)
    return {
        "kept": int(keep.size),
        "train_accuracy": result.final["train_accuracy"],
        "test_accuracy": result.final["test_accuracy"],
    }


def summarize(
    stats: dict[tuple[str, int], dict[str, Any]],
    flipped: dict[int, np.ndarray],
    removal: list[dict[str, Any]],
    *,
    seeds: int,
) -> dict[str, Any]:
    """Unforgettable fractions, noisy-vs-true forgetting, and the accuracies after removal."""
    out: dict[str, Any] = {}
    clean = [stats[("clean", s)] for s in range(seeds)]
    out["unforgettable_fraction"], out["unforgettable_fraction_std"] = mean_std(
        [c["unforgettable_fraction"] for c in clean]
    )
    out["never_learned_fraction"], _ = mean_std([c["never_learned_fraction"] for c in clean])
    # Histogram mode over learned examples, per seed, and by how much the unforgettable group
    # outnumbers the largest other group (a fraction of the training set).
    modes, leads = [], []
    for c in clean:
        events = np.asarray(c["events"])[np.asarray(c["learned"])]
        counts = np.bincount(events, minlength=2)
        modes.append(int(counts.argmax()))
        leads.append(float(counts[0] - counts[1:].max()) / max(len(c["events"]), 1))
    out["histogram_modes"] = modes
    out["unforgettable_lead"] = leads
    rows = []
    for s in range(seeds):
        mask = flipped[s]
        noisy_events = np.asarray(stats[("noisy", s)]["events"])[mask]
        true_events = np.asarray(stats[("clean", s)]["events"])[mask]
        rows.append(
            {
                "seed": s,
                "flipped_examples": int(mask.sum()),
                "events_with_noisy_label": float(noisy_events.mean()),
                "events_with_true_label": float(true_events.mean()),
                "other_examples_in_noisy_run": float(
                    np.asarray(stats[("noisy", s)]["events"])[~mask].mean()
                ),
            }
        )
    out["noise_rows"] = rows
    noisy_mean = float(np.mean([r["events_with_noisy_label"] for r in rows]))
    true_mean = float(np.mean([r["events_with_true_label"] for r in rows]))
    out["noisy_label_events"], out["true_label_events"] = noisy_mean, true_mean
    out["noise_ratio"] = noisy_mean / true_mean if true_mean > 0 else math.inf
    out["noise_ratio_min"] = min(
        r["events_with_noisy_label"] / max(r["events_with_true_label"], 1e-12) for r in rows
    )
    for how in ("full", "least forgotten", "random"):
        accs = [r["test_accuracy"] for r in removal if r["removed"] == how]
        key = how.replace(" ", "_")
        out[f"{key}_accuracy"], out[f"{key}_accuracy_std"] = mean_std(accs)
    return out


def claims(
    summary: dict[str, Any], removal: list[dict[str, Any]], *, remove_fraction: float
) -> list[Claim]:
    """Toneva et al.'s findings as t-tests over the seeds: the unforgettables' lead over the
    next largest group of the events histogram (one-sample), the log-ratio of the relabelled
    examples' forgetting with noisy and with true labels against log 2 (one-sample over the
    seeds' ratios), and the test accuracies after removal paired by seed."""
    pct = f"{100 * remove_fraction:.0f}%"

    def accuracies(how: str) -> list[float]:
        rows = sorted((r for r in removal if r["removed"] == how), key=lambda r: r["seed"])
        return [r["test_accuracy"] for r in rows]

    full, least, rand = accuracies("full"), accuracies("least forgotten"), accuracies("random")
    out = [
        Claim.tested(
            "forgetting is concentrated: unforgettable examples (0 events) are the largest group",
            exceeds(
                summary["unforgettable_lead"],
                0.0,
                name="unforgettable lead",
                hypothesis="fraction unforgettable − fraction in the largest other group > 0",
            ),
            f"mode of the events histogram per seed {summary['histogram_modes']}; "
            f"{summary['unforgettable_fraction']:.1%} ± {summary['unforgettable_fraction_std']:.1%}"
            f" of examples unforgettable, {summary['never_learned_fraction']:.1%} never learned",
            SOURCE + ", Fig. 1 and Table 1",
        )
    ]
    rows = summary["noise_rows"]
    noisy = [r["events_with_noisy_label"] for r in rows]
    true = [r["events_with_true_label"] for r in rows]
    noise_statement = (
        "examples with noisy labels are forgotten ≥ 2× as often as with their true labels"
    )
    noise_evidence = (
        "mean events of the relabelled examples per seed "
        + ", ".join(f"{a:.2f}" for a in noisy)
        + " with noisy labels vs "
        + ", ".join(f"{b:.2f}" for b in true)
        + " with true labels"
    )
    if all(a > 0 and b > 0 for a, b in zip(noisy, true, strict=True)):
        ratios = [math.log(a / b) for a, b in zip(noisy, true, strict=True)]
        out.append(
            Claim.tested(
                noise_statement,
                exceeds(
                    ratios,
                    math.log(2.0),
                    name="log(noisy / true)",
                    hypothesis="log(events with noisy labels / with true labels) > log 2",
                ),
                noise_evidence
                + " (ratios "
                + ", ".join(f"{math.exp(r):.1f}" for r in ratios)
                + ")",
                SOURCE + ", Fig. 3",
            )
        )
    else:
        out.append(
            Claim(
                noise_statement,
                False,
                noise_evidence + ": a seed without forgetting events has no ratio to test",
                SOURCE + ", Fig. 3",
            )
        )
    out += [
        Claim.tested(
            f"removing the {pct} least forgotten examples costs little accuracy (≤ 0.02)",
            compare(
                least,
                full,
                margin=-0.02,
                paired=True,
                names=("least forgotten removed", "full set"),
                hypothesis="accuracy without the least forgotten − full set > −0.02",
            ),
            f"test accuracy {np.mean(least):.3f} ± {summary['least_forgotten_accuracy_std']:.3f} "
            f"without them vs {np.mean(full):.3f} ± {summary['full_accuracy_std']:.3f} on the "
            f"full set ({len(full)} seeds)",
            SOURCE + ", Fig. 5 (left)",
        ),
        Claim.tested(
            f"removing the {pct} least forgotten examples hurts less than removing a random {pct}",
            compare(
                least,
                rand,
                paired=True,
                names=("least forgotten removed", "random removed"),
                hypothesis="accuracy without the least forgotten − without a random subset > 0",
            ),
            f"test accuracy {np.mean(least):.3f} ± {summary['least_forgotten_accuracy_std']:.3f}"
            f" (least forgotten removed) vs {np.mean(rand):.3f} ± "
            f"{summary['random_accuracy_std']:.3f} (random removed)",
            SOURCE + ", Fig. 5 (left)",
        ),
    ]
    return out


def histogram_rows(stats: dict[tuple[str, int], dict[str, Any]], seeds: int) -> list[dict]:
    """Fraction of learned training examples with k forgetting events (mean over seeds)."""
    hists = []
    for s in range(seeds):
        c = stats[("clean", s)]
        events = np.asarray(c["events"])[np.asarray(c["learned"])]
        hists.append(np.bincount(events, minlength=1) / max(len(c["events"]), 1))
    width = max(len(h) for h in hists)
    padded = np.array([np.pad(h, (0, width - len(h))) for h in hists])
    rows = []
    for k in range(width):
        mean, std = mean_std(padded[:, k].tolist())
        rows.append({"events": k, "fraction": mean, "fraction_std": std})
    never = float(np.mean([stats[("clean", s)]["never_learned_fraction"] for s in range(seeds)]))
    rows.append({"events": "never learned", "fraction": never, "fraction_std": None})
    return rows


def figure(stats, flipped, summary, spec: Forgetting) -> Any:
    """Events histogram (clean run), noisy vs true labels, and accuracy after removal."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(13, 3.8), layout="constrained")
    ax1, ax2, ax3 = fig.subplots(1, 3)
    c = stats[("clean", 0)]
    events = np.asarray(c["events"])[np.asarray(c["learned"])]
    ax1.hist(events, bins=np.arange(events.max() + 2) - 0.5, color="C0")
    ax1.set(xlabel="forgetting events", ylabel="training examples", title="clean labels (seed 0)")
    mask = flipped[0]
    noisy = np.asarray(stats[("noisy", 0)]["events"])[mask]
    true = np.asarray(c["events"])[mask]
    top = int(max(noisy.max(), true.max())) + 2
    ax2.hist(
        [true, noisy],
        bins=np.arange(top) - 0.5,
        label=["true labels", "noisy labels"],
        color=["C0", "C3"],
    )
    ax2.set(xlabel="forgetting events", title="the relabelled examples (seed 0)")
    ax2.legend(fontsize=8)
    names = ["full", "least forgotten", "random"]
    values = [summary[f"{n.replace(' ', '_')}_accuracy"] for n in names]
    errors = [summary[f"{n.replace(' ', '_')}_accuracy_std"] for n in names]
    ax3.bar(range(3), values, yerr=errors, color=["C7", "C2", "C1"], capsize=4)
    ax3.set_xticks(
        range(3),
        [
            "full set",
            f"−{spec.remove_fraction:.0%} least\nforgotten",
            f"−{spec.remove_fraction:.0%} random",
        ],
    )
    ax3.set(ylabel="test accuracy", ylim=(min(values) - 0.1, max(values) + 0.05))
    return fig
