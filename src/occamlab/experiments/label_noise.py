"""Robustness to massive label noise (Rolnick, Veit, Belongie & Shavit 2017, arXiv 1705.10694).

Each clean training example is diluted with α examples whose labels are drawn uniformly at
random. Rolnick et al. found that test accuracy degrades only gradually with α and stays far
above chance even when noisy labels outnumber clean ones a hundredfold (their Fig. 1, MNIST), and
that larger batches tolerate noise better, since noisy gradients largely cancel within a batch
(their §4–5, the batch-size figure).

The diluted set of ``n`` clean and ``α n`` noisy examples is MNIST-1D with ``(1 + α) n`` training
examples and label noise ``α / (1 + α)`` (each label redrawn uniformly with that probability), so
``n`` clean labels in expectation, exactly as a registry dataset; every α, batch size and seed is
one cached registry training, trained through the sweep function.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from occamlab.data import data_spec
from occamlab.experiments import EXPERIMENTS, Claim, Context, ExperimentResult
from occamlab.experiments.stats import mean_std
from occamlab.experiments.sweep import Member, train_members
from occamlab.models import model_spec
from occamlab.train import TrainSpec

SOURCE = "Rolnick et al. 2017, arXiv 1705.10694"
ALPHAS = (0, 1, 2, 5, 10, 20, 50, 100)


@EXPERIMENTS.register
@dataclass(frozen=True)
class LabelNoiseRobustness:
    """Dilute each clean example with α randomly labelled ones; accuracy vs α and batch size.

    Attributes:
        seeds: seeds per setting (initialization, data order and the noisy labels).
        num_clean: clean training examples n (in expectation).
        max_alpha: largest α; α runs through 0, 1, 2, 5, 10, 20, 50, 100 up to it.
        width: hidden width of the MLP.
        depth: hidden layers of the MLP.
        lr: Adam learning rate (the same for every batch size).
        batch_size: batch size of the α sweep.
        small_batch: the smaller batch size compared at the largest α.
        large_batch: the larger batch size compared at the largest α.
        epochs: passes over the diluted training set.
    """

    name: ClassVar[str] = "label-noise-robustness"
    summary: ClassVar[str] = (
        "Accuracy stays far above chance with α noisy labels per clean one; larger batches help"
    )
    paper: ClassVar[str] = SOURCE
    scales: ClassVar[dict[str, dict[str, Any]]] = {
        "quick": {},
        "paper": {"seeds": 5, "num_clean": 4000, "max_alpha": 100, "epochs": 20},
    }

    seeds: int = 3
    num_clean: int = 1000
    max_alpha: int = 20
    width: int = 256
    depth: int = 2
    lr: float = 1e-3
    batch_size: int = 128
    small_batch: int = 32
    large_batch: int = 512
    epochs: int = 8

    def __post_init__(self) -> None:
        if self.seeds < 1 or self.max_alpha < 1 or not self.small_batch < self.large_batch:
            raise ValueError(
                "label-noise-robustness needs seeds >= 1, max_alpha >= 1 and "
                "small_batch < large_batch"
            )

    def alphas(self) -> list[int]:
        return [a for a in ALPHAS if a <= self.max_alpha]

    def member(self, alpha: int, batch: int, seed: int) -> Member:
        data = data_spec(
            "mnist1d",
            num_train=self.num_clean * (1 + alpha),
            label_noise=alpha / (1 + alpha),
            corruption_seed=seed,
        )
        recipe = TrainSpec(
            optimizer="adam",
            lr=self.lr,
            batch_size=batch,
            epochs=self.epochs,
            schedule="constant",
            eval_every=self.epochs,
            seed=seed,
        )
        model = model_spec("mlp", width=self.width, depth=self.depth)
        return Member(model=model, data=data, train=recipe, seed=seed)

    def settings(self) -> list[tuple[int, int]]:
        top = self.alphas()[-1]
        out = [(a, self.batch_size) for a in self.alphas()]
        for batch in (self.small_batch, self.large_batch):
            for alpha in (0, top):
                if (alpha, batch) not in out:
                    out.append((alpha, batch))
        return out

    def run(self, ctx: Context) -> ExperimentResult:
        runs = [(a, b, s) for a, b in self.settings() for s in range(self.seeds)]
        metrics = train_members(ctx, [self.member(a, b, s) for a, b, s in runs])
        rows = [
            {
                "alpha": a,
                "batch_size": b,
                "seed": s,
                "num_train": self.num_clean * (1 + a),
                "test_accuracy": m["test_accuracy"],
                "train_accuracy": m["train_accuracy"],
                "steps": m["steps"],
            }
            for (a, b, s), m in zip(runs, metrics, strict=True)
        ]
        summary = summarize(rows, batch_size=self.batch_size)
        top = self.alphas()[-1]
        return ExperimentResult(
            metrics=summary,
            tables={"by setting": summary["by_setting"], "runs": rows},
            figures={"test accuracy vs noisy labels per clean label": figure(summary, self)},
            claims=claims(
                summary,
                top=top,
                batch_size=self.batch_size,
                small=self.small_batch,
                large=self.large_batch,
                chance=0.1,
            ),
        )


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
    summary: dict[str, Any], *, top: int, batch_size: int, small: int, large: int, chance: float
) -> list[Claim]:
    """Rolnick et al.'s findings, checked on the summary."""
    acc, std = summary["accuracy"], summary["std"]

    def at(alpha: int, batch: int) -> float:
        return acc[f"alpha={alpha}, batch={batch}"]

    def sd(alpha: int, batch: int) -> float:
        return std[f"alpha={alpha}, batch={batch}"]

    clean, noisy = at(0, batch_size), at(top, batch_size)
    kept = (noisy - chance) / (clean - chance) if clean > chance else float("nan")
    sweep = [r["test_accuracy"] for r in summary["sweep"]]
    gain_top = at(top, large) - at(top, small)
    gain_clean = at(0, large) - at(0, small)
    spread = float(np.hypot(sd(top, large), sd(top, small)))
    return [
        Claim(
            f"with {top} noisy labels per clean one, accuracy keeps ≥ half its margin over chance",
            passed=bool(kept >= 0.5),
            evidence=f"test accuracy {noisy:.3f} ± {sd(top, batch_size):.3f} at α={top} vs "
            f"{clean:.3f} ± {sd(0, batch_size):.3f} at α=0 (chance {chance:.2f}): "
            f"{kept:.0%} of the margin kept",
            source=SOURCE + ", Fig. 1 (MNIST, accuracy vs α)",
        ),
        Claim(
            "test accuracy falls steadily as α grows (monotone up to 0.02 of seed noise)",
            passed=all(b <= a + 0.02 for a, b in zip(sweep, sweep[1:], strict=False)),
            evidence="test accuracy along α = "
            + ", ".join(f"{r['alpha']}: {r['test_accuracy']:.3f}" for r in summary["sweep"]),
            source=SOURCE + ", Fig. 1",
        ),
        Claim(
            f"larger batches tolerate noise better: batch {large} beats batch {small} at α={top}",
            passed=bool(gain_top > spread and gain_top > gain_clean),
            evidence=f"at α={top}: {at(top, large):.3f} (batch {large}) vs {at(top, small):.3f} "
            f"(batch {small}), gain {gain_top:+.3f} (seed spread {spread:.3f}); at α=0 the gain "
            f"is {gain_clean:+.3f}",
            source=SOURCE + ", §4 (batch size figure)",
        ),
    ]


def figure(summary: dict[str, Any], spec: LabelNoiseRobustness) -> Any:
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
    ax.axhline(0.1, color="k", ls=":", lw=1, label="chance")
    ax.set(
        xscale="log",
        xlabel="noisy labels per clean label α (α=0 drawn at 0.5)",
        ylabel="test accuracy",
        title=f"MNIST-1D, {spec.num_clean} clean examples",
    )
    ax.legend(fontsize=8)
    return fig
