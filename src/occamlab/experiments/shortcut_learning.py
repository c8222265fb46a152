"""Shortcut learning on coloured digits (Arjovsky et al. 2019 "Colored MNIST"; Geirhos et al. 2020).

The data (:mod:`occamlab.data.colored`): a binary label ``1[digit < 5]`` flipped with
probability 0.25, so the shape predicts it at best 75% of the time; a colour (which of two
channels holds the digit) that agrees with the label with probability ``1 − e``, ``e = 0.2`` and
``0.1`` in two training environments and ``e = 0.9`` at test. The colour is the shortcut: a
better predictor than the shape in training (85%), a far worse one at test (10%).

Three predictors, one MLP architecture, all trained full-batch with Adam through the one
training loop (:func:`occamlab.train.fit` with the :class:`~occamlab.train.irm.IRMv1` objective,
its penalty weight 0 for the first two):

* **ERM** on the coloured environments pooled: it learns the colour (the paper: train 0.874,
  test 0.171);
* the **grey-scale oracle**, ERM on the same draw with the colour removed: the shape alone
  (the paper: 0.735 and 0.730);
* **IRMv1**, the environment risks plus λ times the squared gradient of each environment's risk
  with respect to a dummy scale of the outputs (the paper: 0.708 and 0.669).

Claims, each a test over seeds (each seed draws its own labels, colours and initialization):
ERM's training accuracy exceeds the oracle's (it uses the colour); ERM's test accuracy is far
below chance; the oracle's test accuracy equals its training accuracy within 0.1; IRMv1 beats
ERM at test by more than 0.25 (half the paper's gap) and is above chance; IRMv1 gives up ERM's
training accuracy (it drops the colour). ERM and IRMv1 are paired by seed (same data and
initialization).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import numpy as np
import torch

from occamlab.data import load_data, sized_data_spec
from occamlab.data.colored import environments
from occamlab.experiments.framework import Claim, Context, ExperimentResult, fields_except
from occamlab.experiments.registry import EXPERIMENTS
from occamlab.experiments.stats import compare, exceeds, grouped_mean_std, within
from occamlab.models import model_spec
from occamlab.train import TrainSpec
from occamlab.train.irm import IRMv1

ARJOVSKY = "Arjovsky, Bottou, Gulrajani & Lopez-Paz 2019, arXiv 1907.02893, Sec. 5.2, Table 1"
GEIRHOS = "Geirhos et al. 2020, arXiv 2004.07780"
METHODS = ("erm", "grey", "irm")
LABELS = {"erm": "ERM", "grey": "grey-scale oracle", "irm": "IRMv1"}
#: Table 1 of Arjovsky et al. (mean over 10 runs): training and test accuracy.
PAPER = {"erm": (0.874, 0.171), "grey": (0.735, 0.730), "irm": (0.708, 0.669)}
#: Margins, the same at every setting. ERM's test accuracy must lie below 0.3 (chance 0.5; the
#: colour alone gives 0.1, the paper 0.171); IRMv1 must beat ERM at test by half the paper's gap.
ERM_TEST_BELOW = 0.3
TRAIN_MARGIN = 0.05
ORACLE_TOLERANCE = 0.1
IRM_GAIN = 0.25
CHANCE = 0.5


@EXPERIMENTS.register
@dataclass(frozen=True)
class ShortcutLearning:
    """ERM learns the colour shortcut of coloured digits; a grey-scale oracle and IRMv1 do not.

    Attributes:
        data: ``colored_digits`` (scikit-learn's 8×8 digits) or ``colored_mnist1d``.
        repeats: draws per training digit, each with its own label and colour flips (the paper
            has 25,000 examples per environment; the 1,438 training digits are drawn this many
            times, so the networks cannot memorize the noisy labels from the images).
        num_train: training digits of ``colored_mnist1d`` (before the repeats).
        num_test: test examples of ``colored_mnist1d``.
        test_fraction: digits held out for the test environment (``colored_digits``).
        label_flip: probability that a label disagrees with ``1[digit < 5]`` (the paper: 0.25).
        color_flip_env1: ``e`` of the first training environment (the paper: 0.2).
        color_flip_env2: ``e`` of the second training environment (the paper: 0.1).
        color_flip_test: ``e`` of the test environment (the paper: 0.9).
        width: hidden units per layer of the MLP (the paper: 390).
        depth: hidden layers (the paper: 2).
        steps: full-batch Adam steps (the paper: 501).
        lr: Adam's learning rate.
        l2: weight of the L2 penalty ``Σ ‖θ‖²``, as in the authors' code.
        penalty_weight: IRMv1's λ after the annealing steps.
        anneal_steps: steps with λ = 1 before λ = ``penalty_weight`` (IRMv1 only).
        eval_every: steps between evaluations (the figure's accuracy curves).
        seeds: independent runs (labels, colours and initialization) per method.
    """

    name: ClassVar[str] = "shortcut-learning"
    summary: ClassVar[str] = (
        "Coloured digits: ERM learns the colour shortcut (high training accuracy, far below "
        "chance where the colour flips); a grey-scale oracle and IRMv1 keep to the shape"
    )
    paper: ClassVar[str] = (
        "Arjovsky et al. 2019, arXiv 1907.02893; Geirhos et al. 2020, arXiv 2004.07780"
    )
    scales: ClassVar[dict[str, dict[str, Any]]] = {
        "quick": {},
        "paper": {
            "seeds": 10,
            "repeats": 16,
            "width": 390,
            "steps": 501,
            "lr": 0.00049,
            "l2": 0.0011,
            "penalty_weight": 91257.0,
            "anneal_steps": 190,
        },
    }
    settings: ClassVar[dict[str, dict[str, Any]]] = {"narrow": {"width": 32}}

    data: Literal["colored_digits", "colored_mnist1d"] = "colored_digits"
    repeats: int = 8
    num_train: int = 4000
    num_test: int = 1000
    test_fraction: float = 0.2
    label_flip: float = 0.25
    color_flip_env1: float = 0.2
    color_flip_env2: float = 0.1
    color_flip_test: float = 0.9
    width: int = 64
    depth: int = 2
    steps: int = 500
    lr: float = 1e-3
    l2: float = 1e-3
    penalty_weight: float = 1e4
    anneal_steps: int = 200
    eval_every: int = 25
    seeds: int = 5

    def __post_init__(self) -> None:
        checks = [
            (self.seeds >= 1, "seeds must be >= 1"),
            (self.repeats >= 1 and self.width >= 1 and self.depth >= 0, "bad sizes"),
            (self.steps >= 1 and self.eval_every >= 1, "steps and eval_every must be >= 1"),
            (self.lr > 0 and self.l2 >= 0 and self.penalty_weight >= 0, "bad training options"),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(message)

    def data_spec(self, *, seed: int, grayscale: bool) -> Any:
        """The coloured data set of one seed (its label and colour flips), or its grey copy."""
        sizes = {
            "num_train": self.num_train,
            "num_test": self.num_test,
            "test_fraction": self.test_fraction,
        }
        return sized_data_spec(
            self.data,
            sizes,
            repeats=self.repeats,
            label_flip=self.label_flip,
            color_flip_env1=self.color_flip_env1,
            color_flip_env2=self.color_flip_env2,
            color_flip_test=self.color_flip_test,
            color_seed=seed,
            grayscale=grayscale,
        )

    def run(self, ctx: Context) -> ExperimentResult:
        rows, curves = [], []
        jobs = [(m, s) for s in range(self.seeds) for m in METHODS]
        for method, seed in ctx.track(jobs, "trainings"):
            key = {**fields_except(self, "seeds"), "method": method, "seed": seed}
            part = ctx.cached("train", key, lambda _, m=method, s=seed: self._train(m, s))
            curves += [{"method": method, "seed": seed, **h} for h in part.pop("history")]
            rows.append({"method": method, "seed": seed, **part})
        agreement = [self._agreement(seed) for seed in range(self.seeds)]
        summary = grouped_mean_std(
            rows, ["method"], ["train_accuracy", "test_accuracy", "penalty"], count="seeds"
        )
        for row in summary:
            row["paper_train"], row["paper_test"] = PAPER[row["method"]]
        return ExperimentResult(
            metrics={
                "accuracy": {
                    r["method"]: {"train": r["train_accuracy"], "test": r["test_accuracy"]}
                    for r in summary
                },
                "colour_agreement": grouped_mean_std(
                    agreement, [], ["train_env1", "train_env2", "test"]
                )[0],
            },
            tables={
                "accuracy by method": summary,
                "runs": rows,
                "colour and label agreement": agreement,
                "test accuracy during training": curves,
            },
            figures={"train vs test accuracy": figure(rows, curves, self.anneal_steps)},
            claims=claims(rows),
        )

    def _agreement(self, seed: int) -> dict[str, Any]:
        """How often the colour and the shape's label ``1[digit < 5]`` agree with the label."""
        spec = self.data_spec(seed=seed, grayscale=False)
        data = load_data(spec)
        clean = load_data(dataclasses.replace(spec, label_flip=0.0))  # labels 1[digit < 5]
        out: dict[str, Any] = {"seed": seed}
        env = environments(len(data.train))
        for name, split, clean_split, mask in (
            ("train_env1", data.train, clean.train, env == 0),
            ("train_env2", data.train, clean.train, env == 1),
            ("test", data.test, clean.test, None),
        ):
            y, color = split.y, _colors(split.x)
            shape = clean_split.y
            if mask is not None:
                y, color, shape = y[mask], color[mask], shape[mask]
            out[name] = float((color == y).double().mean())
            out[f"{name}_shape"] = float((shape == y).double().mean())
        return out

    def _train(self, method: str, seed: int) -> dict[str, Any]:
        from occamlab.recipes import make_subject
        from occamlab.train import fit

        subject = make_subject(
            model=model_spec("mlp", width=self.width, depth=self.depth),
            data=self.data_spec(seed=seed, grayscale=method == "grey"),
            seed=seed,
        )
        env = environments(len(subject.data.train))
        irm = IRMv1(
            env,
            penalty_weight=self.penalty_weight if method == "irm" else 0.0,
            anneal_steps=self.anneal_steps if method == "irm" else 0,
            l2=self.l2,
        )
        recipe = TrainSpec(
            optimizer="adam",
            lr=self.lr,
            batch_size=0,
            epochs=0,
            max_steps=self.steps,
            schedule="constant",
            eval_every=self.eval_every,
            seed=seed,
        )
        result = fit(subject, recipe, objective=irm, callbacks=[irm])
        train = subject.data.train
        with subject.eval_mode():
            with torch.no_grad():
                correct = subject.model(train.x).argmax(dim=1) == train.y
            terms = IRMv1(env, penalty_weight=1.0).terms(subject, train.x, train.y)
        final = result.final
        return {
            "train_accuracy": final["train_accuracy"],
            "test_accuracy": final["test_accuracy"],
            "train_env1_accuracy": float(correct[env == 0].double().mean()),
            "train_env2_accuracy": float(correct[env == 1].double().mean()),
            "penalty": float(terms["penalty"].detach()),
            "history": [
                {"step": h["step"], "train": h["train_accuracy"], "test": h["test_accuracy"]}
                for h in result.history
            ],
        }


def _colors(x: torch.Tensor) -> torch.Tensor:
    """Which of the two channels of flattened two-channel inputs holds the digit."""
    halves = x.reshape(len(x), 2, -1).abs().sum(dim=2)
    return (halves[:, 1] > halves[:, 0]).long()


def claims(rows: list[dict[str, Any]]) -> list[Claim]:
    """The paper's findings as tests over seeds (ERM and IRMv1 paired with the oracle by seed)."""

    def values(method: str, key: str) -> list[float]:
        return [r[key] for r in sorted(rows, key=lambda r: r["seed"]) if r["method"] == method]

    train = {m: values(m, "train_accuracy") for m in METHODS}
    test = {m: values(m, "test_accuracy") for m in METHODS}
    mean = {m: (float(np.mean(train[m])), float(np.mean(test[m]))) for m in METHODS}
    seen = "; ".join(
        f"{LABELS[m]}: train {mean[m][0]:.3f}, test {mean[m][1]:.3f} "
        f"(paper {PAPER[m][0]:.3f}, {PAPER[m][1]:.3f})"
        for m in METHODS
    )
    evidence = f"mean accuracy over {len(test['erm'])} seeds — {seen}"
    gap = [t - s for s, t in zip(train["grey"], test["grey"], strict=True)]
    return [
        Claim.tested(
            "ERM fits the training environments better than the shape allows: it uses the colour",
            compare(
                train["erm"],
                train["grey"],
                margin=TRAIN_MARGIN,
                paired=True,
                names=("ERM train", "oracle train"),
                hypothesis=f"ERM train − oracle train > {TRAIN_MARGIN}",
            ),
            evidence,
            ARJOVSKY,
        ),
        Claim.tested(
            "ERM falls far below chance on the test environment, where the colour is flipped",
            exceeds(
                [-v for v in test["erm"]],
                -ERM_TEST_BELOW,
                name="−ERM test",
                hypothesis=f"ERM test accuracy < {ERM_TEST_BELOW} (chance {CHANCE})",
            ),
            evidence,
            f"{ARJOVSKY}; {GEIRHOS}",
        ),
        Claim.tested(
            "the grey-scale oracle is unaffected by the flip: test ≈ training accuracy",
            within(
                gap,
                0.0,
                ORACLE_TOLERANCE,
                name="oracle test − train",
                hypothesis=f"|oracle test − oracle train| < {ORACLE_TOLERANCE}",
            ),
            evidence,
            ARJOVSKY,
        ),
        Claim.tested(
            "IRMv1 beats ERM on the test environment by more than half the paper's gap",
            compare(
                test["irm"],
                test["erm"],
                margin=IRM_GAIN,
                paired=True,
                names=("IRMv1 test", "ERM test"),
                hypothesis=f"IRMv1 test − ERM test > {IRM_GAIN}",
            ),
            evidence,
            ARJOVSKY,
        ),
        Claim.tested(
            "IRMv1 is above chance on the test environment",
            exceeds(
                test["irm"],
                CHANCE,
                name="IRMv1 test",
                hypothesis=f"IRMv1 test accuracy > {CHANCE}",
            ),
            evidence,
            ARJOVSKY,
        ),
        Claim.tested(
            "IRMv1 gives up ERM's training accuracy: it drops the colour",
            compare(
                train["erm"],
                train["irm"],
                margin=TRAIN_MARGIN,
                paired=True,
                names=("ERM train", "IRMv1 train"),
                hypothesis=f"ERM train − IRMv1 train > {TRAIN_MARGIN}",
            ),
            evidence,
            ARJOVSKY,
        ),
    ]


def figure(rows: list[dict[str, Any]], curves: list[dict[str, Any]], anneal_steps: int) -> Any:
    """Left: train and test accuracy per method (seeds as dots, the paper's as crosses). Right:
    test accuracy during training (mean over seeds)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10, 4.2))
    left, right = fig.subplots(1, 2)
    for i, method in enumerate(METHODS):
        for j, (split, colour) in enumerate((("train", "tab:blue"), ("test", "tab:orange"))):
            xs = i + (j - 0.5) * 0.35
            vals = [r[f"{split}_accuracy"] for r in rows if r["method"] == method]
            left.bar(
                xs,
                np.mean(vals),
                width=0.33,
                color=colour,
                alpha=0.6,
                label=split if i == 0 else None,
            )
            left.plot([xs] * len(vals), vals, "k.", ms=4)
            left.plot(
                xs,
                PAPER[method][j],
                "x",
                color="k",
                ms=8,
                label="paper (Table 1)" if i == j == 0 else None,
            )
    left.axhline(CHANCE, color="grey", ls=":", lw=1)
    left.set_xticks(range(len(METHODS)), [LABELS[m] for m in METHODS])
    left.set(ylim=(0, 1), ylabel="accuracy", title="colour shortcut: train vs flipped test")
    left.legend(fontsize=8, loc="upper right")
    for method in METHODS:
        steps = sorted({c["step"] for c in curves if c["method"] == method})
        mean = [
            np.mean([c["test"] for c in curves if c["method"] == method and c["step"] == s])
            for s in steps
        ]
        right.plot(steps, mean, label=LABELS[method])
    right.axvline(anneal_steps, color="grey", ls="--", lw=1, label="IRMv1 penalty on")
    right.axhline(CHANCE, color="grey", ls=":", lw=1)
    right.set(
        xlabel="Adam step",
        ylabel="test accuracy",
        ylim=(0, 1),
        title="test environment (colour flipped)",
    )
    right.legend(fontsize=8)
    fig.tight_layout()
    return fig
