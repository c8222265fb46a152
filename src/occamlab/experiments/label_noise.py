"""Robustness to massive label noise (Rolnick, Veit, Belongie & Shavit 2017, arXiv 1705.10694).

Each clean training example is diluted with α examples whose labels are drawn uniformly at
random. Rolnick et al. found that test accuracy degrades only gradually with α and stays far
above chance even when noisy labels outnumber clean ones many times over (their Fig. 1, MNIST),
and that larger batches tolerate noise better, since the noisy part of the gradient averages out
within a batch (their §4–5, the batch-size figure), while without noise batch size matters little.

The diluted set of ``n`` clean and ``α n`` noisy examples is the data set (MNIST-1D by default)
with ``(1 + α) n`` training examples and label noise ``α / (1 + α)`` (each label redrawn uniformly
with that probability), so ``n`` clean labels in expectation. Every setting trains for the same
number of SGD steps. As in the paper, the model is chosen by early stopping: a training callback
records which test examples are classified correctly every few steps; the first half of the
(2,000-example) test set picks the step, and accuracy is reported on the other half, which plays
no part in the choice.
Without early stopping a network eventually memorizes the noisy labels, which is not what the
paper measures.

The claims are tests over the seeds (see :func:`claims`): accuracy at the largest α against twice
chance a one-sample t-test, its fall with α a slope test over every (α, seed) run, the batch sizes
compared paired by seed (a seed shares the initialization and the noisy labels across batch
sizes).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import torch

from occamlab.data import DATASETS, data_spec, load_data
from occamlab.experiments.framework import Claim, Context, ExperimentResult
from occamlab.experiments.registry import EXPERIMENTS
from occamlab.experiments.stats import compare, exceeds, mean_std, trend
from occamlab.models import model_spec
from occamlab.train import TrainSpec

SOURCE = "Rolnick et al. 2017, arXiv 1705.10694"
ALPHAS = (0, 2, 5, 10, 20, 50, 100)


def early_stopped_accuracy(correct: torch.Tensor, *, validation: int) -> dict[str, float]:
    """Pick the record with the best accuracy on the first ``validation`` examples; report the
    accuracy of that record on the remaining examples.

    Args:
        correct: ``(T, m)`` booleans, which of ``m`` held-out examples each record got right.
        validation: how many of the ``m`` columns form the validation half.

    >>> c = torch.tensor([[1, 0, 0, 0], [1, 1, 1, 0], [0, 1, 1, 1]]).bool()
    >>> early_stopped_accuracy(c, validation=2)
    {'record': 1, 'validation_accuracy': 1.0, 'test_accuracy': 0.5}
    """
    if not 0 < validation < correct.shape[1]:
        raise ValueError(f"validation must split the {correct.shape[1]} held-out examples")
    acc = correct.double()
    best = int(acc[:, :validation].mean(dim=1).argmax())  # first best record on ties
    return {
        "record": best,
        "validation_accuracy": float(acc[best, :validation].mean()),
        "test_accuracy": float(acc[best, validation:].mean()),
    }


@EXPERIMENTS.register
@dataclass(frozen=True)
class LabelNoiseRobustness:
    """Dilute each clean example with α randomly labelled ones; accuracy vs α and batch size.

    Attributes:
        seeds: seeds per setting (initialization, data order and the noisy labels); the claims
            are tests over them (with one seed the tested claims are inconclusive).
        dataset: the classification data set, one that draws its size (``mnist1d`` or a
            synthetic one); chance is one over its number of classes.
        num_clean: clean training examples n (in expectation).
        max_alpha: largest α; α runs through 0, 2, 5, 10, 20, 50, 100 below it, then max_alpha.
        width: hidden width of the MLP.
        depth: hidden layers of the MLP.
        lr: SGD learning rate (momentum 0.9; the same for every batch size and α).
        batch_size: batch size of the α sweep.
        small_batch: the smaller batch size compared at α = 0 and the largest α.
        large_batch: the larger batch size compared at α = 0 and the largest α.
        steps: SGD steps of every run.
        check_every: record held-out correctness every this many steps.
        num_heldout: held-out examples; the first half selects the step (early
            stopping), the second half measures the accuracy.
    """

    name: ClassVar[str] = "label-noise-robustness"
    summary: ClassVar[str] = (
        "Accuracy stays far above chance with α noisy labels per clean one; larger batches help"
    )
    paper: ClassVar[str] = SOURCE
    scales: ClassVar[dict[str, dict[str, Any]]] = {
        "quick": {},
        "paper": {"seeds": 5, "max_alpha": 50, "steps": 20000, "num_heldout": 4000},
    }
    settings: ClassVar[dict[str, dict[str, Any]]] = {
        # a narrower MLP: hidden layers of 128
        "narrow": {"width": 128},
    }

    seeds: int = 3
    dataset: str = "mnist1d"
    num_clean: int = 4000
    max_alpha: int = 10
    width: int = 256
    depth: int = 2
    lr: float = 0.05
    batch_size: int = 128
    small_batch: int = 32
    large_batch: int = 512
    steps: int = 2000
    check_every: int = 100
    num_heldout: int = 2000

    def __post_init__(self) -> None:
        if self.seeds < 1 or self.max_alpha < 1 or not self.small_batch < self.large_batch:
            raise ValueError(
                "label-noise-robustness needs seeds >= 1, max_alpha >= 1 and "
                "small_batch < large_batch"
            )
        if self.num_heldout < 2:
            raise ValueError("num_heldout must be at least 2 (a validation and a test half)")
        if self.dataset not in DATASETS:
            raise ValueError(f"unknown dataset {self.dataset!r}; valid: {', '.join(DATASETS)}")

    def data(self, alpha: int, seed: int) -> Any:
        """The clean examples diluted with α random-label copies each (in expectation)."""
        return data_spec(
            self.dataset,
            num_train=self.num_clean * (1 + alpha),
            num_test=self.num_heldout,
            label_noise=alpha / (1 + alpha),
            corruption_seed=seed,
        )

    def alphas(self) -> list[int]:
        return [a for a in ALPHAS if a < self.max_alpha] + [self.max_alpha]

    def conditions(self) -> list[tuple[int, int]]:
        top = self.alphas()[-1]
        out = [(a, self.batch_size) for a in self.alphas()]
        for batch in (self.small_batch, self.large_batch):
            for alpha in (0, top):
                if (alpha, batch) not in out:
                    out.append((alpha, batch))
        return out

    def run(self, ctx: Context) -> ExperimentResult:
        model = model_spec("mlp", width=self.width, depth=self.depth)
        rows = []
        runs = [(a, b, s) for a, b in self.conditions() for s in range(self.seeds)]
        for alpha, batch, seed in ctx.track(runs, "training"):
            data = self.data(alpha, seed)
            recipe = TrainSpec(
                optimizer="sgd",
                lr=self.lr,
                momentum=0.9,
                batch_size=batch,
                epochs=0,
                max_steps=self.steps,
                schedule="constant",
                eval_every=10**9,  # the held-out records come from the callback
                seed=seed,
            )
            key = {
                "model": model,
                "data": data,
                "train": recipe,
                "seed": seed,
                "check_every": self.check_every,
            }
            out = ctx.cached(
                "train",
                key,
                lambda _d, data=data, recipe=recipe, seed=seed: self._train(
                    model, data, recipe, seed
                ),
            )
            rows.append({"alpha": alpha, "batch_size": batch, "seed": seed, **out})
        summary = summarize(rows, batch_size=self.batch_size)
        chance = 1.0 / load_data(self.data(0, 0)).num_outputs
        top = self.alphas()[-1]
        return ExperimentResult(
            metrics=summary,
            tables={"by setting": summary["by_setting"], "runs": rows},
            figures={
                "test accuracy vs noisy labels per clean label": figure(summary, self, chance)
            },
            claims=claims(
                rows,
                top=top,
                batch_size=self.batch_size,
                small=self.small_batch,
                large=self.large_batch,
                chance=chance,
            ),
        )

    def _train(self, model: Any, data: Any, recipe: TrainSpec, seed: int) -> dict[str, Any]:
        from occamlab.recipes import make_subject
        from occamlab.train import ExampleCorrectness, fit

        subject = make_subject(model=model, data=data, seed=seed)
        heldout = ExampleCorrectness(every=self.check_every, split="test")
        result = fit(subject, recipe, callbacks=[heldout])
        chosen = early_stopped_accuracy(heldout.matrix(), validation=self.num_heldout // 2)
        final = early_stopped_accuracy(heldout.matrix()[-1:], validation=self.num_heldout // 2)
        return {
            "num_train": len(subject.data.train),
            "test_accuracy": chosen["test_accuracy"],
            "validation_accuracy": chosen["validation_accuracy"],
            "chosen_step": heldout.steps[chosen["record"]],
            "final_test_accuracy": final["test_accuracy"],
            "final_train_accuracy": result.final["train_accuracy"],
        }


def summarize(rows: list[dict[str, Any]], *, batch_size: int) -> dict[str, Any]:
    """Mean ± std of test accuracy per (α, batch size)."""
    groups: dict[tuple[int, int], list[float]] = {}
    for r in rows:
        groups.setdefault((r["alpha"], r["batch_size"]), []).append(r["test_accuracy"])
    by_setting = []
    for (alpha, batch), accs in sorted(groups.items()):
        mean, std = mean_std(accs)
        by_setting.append(
            {"alpha": alpha, "batch_size": batch, "test_accuracy": mean, "test_accuracy_std": std}
        )
    acc = {(r["alpha"], r["batch_size"]): r for r in by_setting}
    return {
        "by_setting": by_setting,
        "accuracy": {f"alpha={a}, batch={b}": r["test_accuracy"] for (a, b), r in acc.items()},
        "std": {f"alpha={a}, batch={b}": r["test_accuracy_std"] for (a, b), r in acc.items()},
        "sweep": [r for r in by_setting if r["batch_size"] == batch_size],
    }


def claims(
    rows: list[dict[str, Any]],
    *,
    top: int,
    batch_size: int,
    small: int,
    large: int,
    chance: float,
) -> list[Claim]:
    """Rolnick et al.'s findings as tests over the per-seed runs.

    At α = ``top`` the accuracy is tested above 2 × chance (one-sample t-test); its fall with α
    is a slope t-test over every (α, seed) run of the sweep; batch ``large`` against ``small`` at
    α = ``top``, and that gain against the gain at α = 0, are paired t-tests by seed.
    """

    def at(alpha: int, batch: int) -> dict[int, float]:
        return {
            r["seed"]: r["test_accuracy"]
            for r in rows
            if r["alpha"] == alpha and r["batch_size"] == batch
        }

    def mean(alpha: int, batch: int) -> float:
        return float(np.mean(list(at(alpha, batch).values())))

    noisy = list(at(top, batch_size).values())
    clean = mean(0, batch_size)
    kept = (mean(top, batch_size) - chance) / (clean - chance) if clean > chance else None
    sweep = sorted((r for r in rows if r["batch_size"] == batch_size), key=lambda r: r["alpha"])
    alphas = sorted({r["alpha"] for r in sweep})
    seeds = sorted(
        set(at(top, large)) & set(at(top, small)) & set(at(0, large)) & set(at(0, small))
    )
    gain_top = [at(top, large)[s] - at(top, small)[s] for s in seeds]
    gain_clean = [at(0, large)[s] - at(0, small)[s] for s in seeds]
    sweep_text = "test accuracy along α = " + ", ".join(
        f"{a}: {mean(a, batch_size):.3f}" for a in alphas
    )
    falls = "test accuracy falls steadily as α grows"
    return [
        Claim.tested(
            f"with {top} noisy labels per clean one, test accuracy stays well above chance (≥ 2×)",
            exceeds(
                noisy,
                2 * chance,
                name=f"accuracy at α={top}",
                hypothesis=f"test accuracy at α={top} > {2 * chance:g}",
            ),
            f"test accuracy {mean(top, batch_size):.3f} at α={top} vs {clean:.3f} at α=0 "
            f"(chance {chance:.2f}, mean of {len(noisy)} seeds)"
            + ("" if kept is None else f": {kept:.0%} of the margin kept"),
            SOURCE + ", Fig. 1 (MNIST, accuracy vs α)",
        ),
        Claim(falls, False, f"{len(sweep)} runs: a slope test needs 3 ({sweep_text})", SOURCE)
        if len(sweep) < 3 or len(alphas) < 2
        else Claim.tested(
            falls,
            trend(
                [r["alpha"] for r in sweep],
                [-r["test_accuracy"] for r in sweep],
                name="−test accuracy",
                hypothesis="slope of the test accuracy against α < 0",
            ),
            f"{sweep_text} ({len(sweep)} runs)",
            SOURCE + ", Fig. 1",
        ),
        Claim.tested(
            f"larger batches tolerate noise better: batch {large} beats batch {small} at α={top}",
            compare(
                [at(top, large)[s] for s in seeds],
                [at(top, small)[s] for s in seeds],
                paired=True,
                names=(f"batch {large}", f"batch {small}"),
                hypothesis=f"accuracy at α={top}: batch {large} − batch {small} > 0",
            ),
            f"at α={top}: {mean(top, large):.3f} (batch {large}) vs {mean(top, small):.3f} "
            f"(batch {small}), mean of {len(seeds)} seeds",
            SOURCE + ", §4 (batch size figure)",
        ),
        Claim.tested(
            f"the gain of batch {large} over batch {small} is larger at α={top} than without noise",
            compare(
                gain_top,
                gain_clean,
                paired=True,
                names=(f"gain at α={top}", "gain at α=0"),
                hypothesis=f"(batch {large} − batch {small}) at α={top} − the same at α=0 > 0",
            ),
            f"gain {np.mean(gain_top):+.3f} at α={top} vs {np.mean(gain_clean):+.3f} at α=0 "
            f"(mean of {len(seeds)} seeds)",
            SOURCE + ", §4 (batch size figure)",
        ),
    ]


def figure(summary: dict[str, Any], spec: LabelNoiseRobustness, chance: float) -> Any:
    """Test accuracy against α (batch sizes as separate curves), with chance level."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7, 4))
    ax = fig.subplots()
    batches = sorted({r["batch_size"] for r in summary["by_setting"]})
    for i, batch in enumerate(batches):
        rows = [r for r in summary["by_setting"] if r["batch_size"] == batch]
        xs = [max(r["alpha"], 0.5) for r in rows]
        ax.errorbar(
            xs,
            [r["test_accuracy"] for r in rows],
            yerr=[r["test_accuracy_std"] for r in rows],
            marker="o",
            capsize=3,
            color=f"C{i}",
            label=f"batch {batch}",
        )
    ax.axhline(chance, color="k", ls=":", lw=1, label="chance")
    ax.set(
        xscale="log",
        xlabel="noisy labels per clean label α (α=0 drawn at 0.5)",
        ylabel="test accuracy",
        title=f"{spec.dataset}, {spec.num_clean} clean examples",
    )
    ax.legend(fontsize=8)
    return fig
