"""Learning without end-to-end backpropagation: the HSIC bottleneck (Ma, Lewis & Kleijn 2019,
arXiv 1908.01580), equilibrium propagation (Scellier & Bengio 2017, arXiv 1602.05179) and Fenchel
lifted networks (Gu et al. 2018, arXiv 1805.01532) against backpropagation at an equal budget on
MNIST-1D.

Every learner trains a network of the same layer widths (``depth`` hidden layers of ``width``
units, 40 inputs, 10 outputs) for the same number of epochs at the same minibatch size, through
the one training loop (:func:`occamlab.train.fit`) with its own ``objective``:

* **backprop**: the ReLU MLP on the cross-entropy (Adam, ``lr``);
* **HSIC bottleneck** (:mod:`occamlab.probes.information.bottleneck`): each hidden layer of the
  same MLP minimizes ``nHSIC(Z_l, X) − β nHSIC(Z_l, Y)`` with its input detached (Adam, ``lr``),
  then the paper's format step trains the output layer alone on the frozen hidden layers
  (Adam, ``format_lr``, ``format_epochs``). The control (**random features**) is the same
  format step on the untrained hidden layers: what the HSIC layers add;
* **equilibrium propagation** (:mod:`occamlab.train.equilibrium`): the layered hard-sigmoid
  energy network of the same widths, free phase ``ep_free_steps`` and nudged phase
  ``ep_nudged_steps`` relaxation steps of size ε, update ``−(∂E/∂θ(s^β) − ∂E/∂θ(s⁰))/β`` by
  plain SGD (``ep_lr``), as in the paper;
* **lifted** (:mod:`occamlab.train.lifted`): the same ReLU MLP with its activations as free
  variables, the Fenchel–Young gap as the layer penalty (``lifted_penalty``), block-coordinate
  steps (``lifted_steps`` projected-gradient sweeps of the activations, then a weight step,
  Adam ``lr``); it predicts as the feedforward MLP.

EP's gradient check: at each seed's initialization, in float64, on ``check_examples`` training
examples, the EP estimate at β = 10⁻¹ … 10^−``check_betas`` (one-sided and symmetric ±β) against
the true gradient of the equilibrium loss ``L(θ) = C(s⁰(θ))``, computed by implicit
differentiation at the converged free phase (:func:`~occamlab.train.equilibrium.implicit_gradient`;
the tests check it against backpropagation through a long relaxation).

The claims are t-tests over seeds (each seed: one initialization per learner, one data order,
one gradient-check batch), Holm-corrected together; the thresholds are the same at every
setting (module constants):

* each learner **learns**: mean test accuracy above twice chance (0.2);
* each learner is **comparable to backprop**, as each paper reports: its test accuracy at most
  ``COMPARABLE`` (10 points) below backprop's (paired by seed);
* the HSIC-trained layers beat the random-features control (paired);
* EP's estimate aligns with the true gradient as β → 0: ``1 − cos < 10⁻⁶`` at the smallest β,
  a positive slope of ``−log10(1 − cos)`` on ``−log10 β``, and symmetric nudging's relative error
  at the smallest β more than 100× below the one-sided one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import torch

from occamlab.data import data_spec, load_data
from occamlab.experiments.framework import Claim, Context, ExperimentResult, fields_except
from occamlab.experiments.registry import EXPERIMENTS
from occamlab.experiments.stats import compare, exceeds, grouped_mean_std, trend
from occamlab.models import model_spec
from occamlab.probes.information.bottleneck import format_objective, hsic_bottleneck_objective
from occamlab.subject import Subject
from occamlab.train import TrainSpec, fit
from occamlab.train.equilibrium import (
    EnergyNetwork,
    ep_gradient,
    ep_objective,
    exact_equilibrium,
    fixed_point_residual,
    implicit_gradient,
)
from occamlab.train.lifted import lifted_objective

MA = "Ma, Lewis & Kleijn 2019, arXiv 1908.01580"
SCELLIER = "Scellier & Bengio 2017, arXiv 1602.05179"
GU = "Gu et al. 2018, arXiv 1805.01532"
ERNOULT = "Scellier & Bengio 2017, Theorem 1; Ernoult et al. 2019, arXiv 1905.13633"
LAMBORIEUX = "Laborieux et al. 2021, arXiv 2006.03824 (symmetric nudging)"

LEARNERS = ("backprop", "hsic", "equilibrium", "lifted", "random_features")
ALTERNATIVES = ("hsic", "equilibrium", "lifted")
LABELS = {
    "backprop": "backprop",
    "hsic": "HSIC bottleneck",
    "equilibrium": "equilibrium propagation",
    "lifted": "Fenchel lifted",
    "random_features": "random features (control)",
}
SOURCES = {"hsic": MA, "equilibrium": SCELLIER, "lifted": GU}
CHANCE = 0.1  # ten classes
LEARNS = 2 * CHANCE  # "well above chance": twice chance
COMPARABLE = 0.10  # "comparable to backprop": at most 10 points below
ALIGNED = 1e-6  # 1 − cos at the smallest β
SYMMETRIC_GAIN = 2.0  # log10 of the error ratio one-sided / symmetric at the smallest β


@EXPERIMENTS.register
@dataclass(frozen=True)
class AlternativeTraining:
    """Three learners without end-to-end backpropagation against backprop at an equal budget.

    Attributes:
        width: units per hidden layer (every learner).
        depth: hidden layers (every learner).
        num_train: MNIST-1D training examples.
        num_test: MNIST-1D test examples.
        epochs: passes over the training set (every learner; the HSIC layers' phase).
        batch_size: minibatch size (every learner).
        lr: Adam's step for backprop, the HSIC layers and the lifted network's weights.
        hsic_beta: β of the HSIC bottleneck (weight of nHSIC(Z, Y)).
        format_epochs: epochs of the HSIC network's format step (its output layer alone).
        format_lr: Adam's step of the format step.
        ep_lr: SGD step of equilibrium propagation.
        ep_beta: EP's nudging strength β in training.
        ep_step_size: the relaxation's step ε.
        ep_free_steps: free-phase relaxation steps (training and prediction).
        ep_nudged_steps: nudged-phase relaxation steps.
        lifted_penalty: λ, the weight of the Fenchel–Young layer penalties.
        lifted_steps: projected-gradient sweeps over the activations per minibatch.
        lifted_step_size: the activations' step size.
        check_examples: training examples in EP's gradient check.
        check_betas: the check's β are 10⁻¹, 10⁻², …, 10^−check_betas.
        check_free_steps: free-phase steps of the check (converged, float64).
        check_nudged_steps: nudged-phase steps of the check.
        seeds: independent runs (initializations, data orders, check batches).
    """

    name: ClassVar[str] = "alternative-training"
    summary: ClassVar[str] = (
        "The HSIC bottleneck, equilibrium propagation and Fenchel lifted networks train an MLP "
        "on MNIST-1D without end-to-end backprop; accuracy against backprop at equal budget, "
        "and EP's update converges to the true gradient as β → 0"
    )
    paper: ClassVar[str] = f"{MA}; {SCELLIER}; {GU}"
    scales: ClassVar[dict[str, dict[str, Any]]] = {
        "quick": {},
        "paper": {"width": 500, "epochs": 60, "format_epochs": 60, "batch_size": 20, "seeds": 10},
    }
    settings: ClassVar[dict[str, dict[str, Any]]] = {
        "wide": {"width": 300},
    }

    width: int = 100
    depth: int = 1
    num_train: int = 4000
    num_test: int = 1000
    epochs: int = 10
    batch_size: int = 50
    lr: float = 1e-3
    hsic_beta: float = 100.0
    format_epochs: int = 30
    format_lr: float = 3e-3
    ep_lr: float = 0.5
    ep_beta: float = 1.0
    ep_step_size: float = 0.5
    ep_free_steps: int = 20
    ep_nudged_steps: int = 4
    lifted_penalty: float = 1.0
    lifted_steps: int = 3
    lifted_step_size: float = 0.1
    check_examples: int = 32
    check_betas: int = 5
    check_free_steps: int = 1000
    check_nudged_steps: int = 200
    seeds: int = 5

    def __post_init__(self) -> None:
        positive = {
            "width": self.width,
            "depth": self.depth,
            "num_train": self.num_train,
            "num_test": self.num_test,
            "epochs": self.epochs,
            "batch_size": self.batch_size,
            "format_epochs": self.format_epochs,
            "ep_free_steps": self.ep_free_steps,
            "ep_nudged_steps": self.ep_nudged_steps,
            "check_examples": self.check_examples,
            "check_free_steps": self.check_free_steps,
            "check_nudged_steps": self.check_nudged_steps,
            "seeds": self.seeds,
        }
        bad = [k for k, v in positive.items() if v < 1]
        if bad:
            raise ValueError(f"{', '.join(bad)} must be >= 1")
        rates = {
            "lr": self.lr,
            "hsic_beta": self.hsic_beta,
            "format_lr": self.format_lr,
            "ep_lr": self.ep_lr,
            "ep_beta": self.ep_beta,
            "lifted_penalty": self.lifted_penalty,
            "lifted_step_size": self.lifted_step_size,
        }
        bad = [k for k, v in rates.items() if not (math.isfinite(v) and v > 0)]
        if bad:
            raise ValueError(f"{', '.join(bad)} must be positive and finite")
        if not 0 < self.ep_step_size <= 1:
            raise ValueError(f"ep_step_size must be in (0, 1], got {self.ep_step_size}")
        if self.lifted_steps < 0:
            raise ValueError(f"lifted_steps must be >= 0, got {self.lifted_steps}")
        if self.check_betas < 3:
            raise ValueError(f"check_betas must be >= 3 (a trend to test), got {self.check_betas}")
        if self.check_examples > self.num_train:
            raise ValueError("check_examples must not exceed num_train")

    # --- parts ---------------------------------------------------------------------------

    def data(self):
        return load_data(data_spec("mnist1d", num_train=self.num_train, num_test=self.num_test))

    def recipe(self, seed: int, *, optimizer: str, lr: float, epochs: int) -> TrainSpec:
        """The equal budget: ``epochs`` at ``batch_size``, constant step, evaluated each epoch."""
        return TrainSpec(
            optimizer=optimizer,
            lr=lr,
            momentum=0.0 if optimizer == "sgd" else 0.9,
            batch_size=self.batch_size,
            epochs=epochs,
            schedule="constant",
            eval_every=1,
            seed=seed,
        )

    def mlp(self, seed: int) -> Subject:
        """The seed's ReLU MLP on MNIST-1D (backprop, HSIC, lifted and the control share it)."""
        from occamlab.recipes import make_subject

        return make_subject(
            model=model_spec("mlp", width=self.width, depth=self.depth, activation="relu"),
            data=data_spec("mnist1d", num_train=self.num_train, num_test=self.num_test),
            seed=seed,
        )

    def energy_network(self, seed: int, dtype: torch.dtype = torch.float32) -> EnergyNetwork:
        return EnergyNetwork(
            [40, *([self.width] * self.depth), 10],
            step_size=self.ep_step_size,
            free_steps=self.ep_free_steps,
            nudged_steps=self.ep_nudged_steps,
            generator=torch.Generator().manual_seed(seed),
            dtype=dtype,
        )

    def train(self, learner: str, seed: int) -> dict[str, Any]:
        """Train one learner at one seed; its test accuracy after every epoch and at the end."""
        adam = {"optimizer": "adam", "lr": self.lr, "epochs": self.epochs}
        fmt = {"optimizer": "adam", "lr": self.format_lr, "epochs": self.format_epochs}
        if learner == "backprop":
            subject = self.mlp(seed)
            result = fit(subject, self.recipe(seed, **adam))
        elif learner == "hsic":
            subject = self.mlp(seed)
            objective = hsic_bottleneck_objective(beta=self.hsic_beta)
            fit(subject, self.recipe(seed, **adam), objective=objective)
            result = fit(subject, self.recipe(seed, **fmt), objective=format_objective)
        elif learner == "random_features":
            subject = self.mlp(seed)
            result = fit(subject, self.recipe(seed, **fmt), objective=format_objective)
        elif learner == "lifted":
            subject = self.mlp(seed)
            objective = lifted_objective(
                penalty=self.lifted_penalty,
                steps=self.lifted_steps,
                step_size=self.lifted_step_size,
            )
            result = fit(subject, self.recipe(seed, **adam), objective=objective)
        elif learner == "equilibrium":
            subject = Subject(self.energy_network(seed), self.data(), loss="mse")
            recipe = self.recipe(seed, optimizer="sgd", lr=self.ep_lr, epochs=self.epochs)
            result = fit(subject, recipe, objective=ep_objective(beta=self.ep_beta))
        else:
            raise ValueError(f"unknown learner {learner!r}; valid: {', '.join(LEARNERS)}")
        return {
            "learner": learner,
            "seed": seed,
            "train_accuracy": result.final["train_accuracy"],
            "test_accuracy": result.final["test_accuracy"],
            "curve": [h["test_accuracy"] for h in result.history],
        }

    def gradient_check(self, seed: int) -> dict[str, Any]:
        """EP's estimate against the implicit-differentiation gradient at initialization."""
        data = self.data()
        pick = torch.randperm(len(data.train), generator=torch.Generator().manual_seed(seed))
        idx = pick[: self.check_examples]
        x, y = data.train.x[idx].double(), data.train.y[idx]
        net = self.energy_network(seed, torch.float64)
        with torch.no_grad():
            relaxed = net.relax(x, steps=self.check_free_steps)
            free = exact_equilibrium(net, x, relaxed)
            residual = fixed_point_residual(net, x, free)
            moved = max(float((a - b).abs().max()) for a, b in zip(free, relaxed, strict=True))
        true = implicit_gradient(net, x, y, free)
        rows = []
        for k in range(1, self.check_betas + 1):
            beta = 10.0**-k
            for symmetric in (False, True):
                estimate = ep_gradient(
                    net,
                    x,
                    y,
                    beta=beta,
                    symmetric=symmetric,
                    free=free,
                    nudged_steps=self.check_nudged_steps,
                    exact=True,
                )
                cos = float(estimate @ true / (estimate.norm() * true.norm()))
                rows.append(
                    {
                        "seed": seed,
                        "beta": beta,
                        "nudging": "symmetric" if symmetric else "one-sided",
                        "cosine": cos,
                        "misalignment": max(1.0 - cos, 0.0),
                        "relative_error": float((estimate - true).norm() / true.norm()),
                    }
                )
        return {
            "rows": rows,
            "residual": residual,
            "relaxation_gap": moved,
            "gradient_norm": float(true.norm()),
        }

    def run(self, ctx: Context) -> ExperimentResult:
        common = fields_except(self, "seeds")
        jobs = [(learner, s) for s in range(self.seeds) for learner in LEARNERS]
        runs = []
        for learner, seed in ctx.track(jobs, "learners and seeds"):
            key = {**common, "learner": learner, "seed": seed}
            runs.append(ctx.cached("train", key, lambda _d, a=learner, s=seed: self.train(a, s)))
        checks = []
        for seed in ctx.track(range(self.seeds), "EP gradient checks", total=self.seeds):
            key = {**common, "seed": seed}
            checks.append(ctx.cached("ep-check", key, lambda _d, s=seed: self.gradient_check(s)))
        final = [
            {k: r[k] for k in ("learner", "seed", "train_accuracy", "test_accuracy")} for r in runs
        ]
        alignment = [row for c in checks for row in c["rows"]]
        summary = grouped_mean_std(
            final, ["learner"], ["train_accuracy", "test_accuracy"], count="seeds"
        )
        by_beta = grouped_mean_std(
            alignment,
            ["nudging", "beta"],
            ["cosine", "misalignment", "relative_error"],
            count="seeds",
        )
        residuals = [c["residual"] for c in checks]
        return ExperimentResult(
            metrics={
                "accuracy": summary,
                "runs": final,
                "curves": [{k: r[k] for k in ("learner", "seed", "curve")} for r in runs],
                "alignment": alignment,
                "check_residual_max": max(residuals),
                "check_relaxation_gap_max": max(c["relaxation_gap"] for c in checks),
            },
            tables={
                "test accuracy per learner (mean ± std over seeds)": summary,
                "EP estimate against the true gradient, per β (mean ± std over seeds)": by_beta,
                "per learner and seed": final,
            },
            figures={"alternative learners against backprop": figure(runs, alignment)},
            claims=claims(final, alignment),
        )


def _values(rows: list[dict[str, Any]], learner: str) -> list[float]:
    return [
        r["test_accuracy"] for r in sorted(rows, key=lambda r: r["seed"]) if r["learner"] == learner
    ]


def _listed(values: list[float], spec: str = ".3f") -> str:
    return ", ".join(format(v, spec) for v in values)


def claims(final: list[dict[str, Any]], alignment: list[dict[str, Any]]) -> list[Claim]:
    """The papers' findings as tests over the seeds (module docstring)."""
    bp = _values(final, "backprop")
    out = []
    for learner in ALTERNATIVES:
        acc = _values(final, learner)
        out.append(
            Claim.tested(
                f"{LABELS[learner]} learns: test accuracy well above chance (> {LEARNS:g}, "
                f"twice chance)",
                exceeds(acc, LEARNS, name=f"{learner} test accuracy"),
                f"test accuracy per seed: {_listed(acc)}",
                SOURCES[learner],
            )
        )
    for learner in ALTERNATIVES:
        acc = _values(final, learner)
        out.append(
            Claim.tested(
                f"{LABELS[learner]} is comparable to backprop at equal budget: test accuracy at "
                f"most {COMPARABLE:g} below backprop's",
                compare(
                    acc,
                    bp,
                    margin=-COMPARABLE,
                    paired=True,
                    names=(learner, "backprop"),
                    hypothesis=f"{learner} − backprop > −{COMPARABLE:g}",
                ),
                f"test accuracy per seed: {learner} {_listed(acc)}; backprop {_listed(bp)}",
                SOURCES[learner],
            )
        )
    hsic, control = _values(final, "hsic"), _values(final, "random_features")
    out.append(
        Claim.tested(
            "the HSIC-trained hidden layers beat untrained ones under the same format training",
            compare(
                hsic,
                control,
                paired=True,
                names=("hsic", "random features"),
                hypothesis="hsic − random features > 0",
            ),
            f"test accuracy per seed: HSIC {_listed(hsic)}; random features {_listed(control)}",
            MA,
        )
    )
    one = [r for r in alignment if r["nudging"] == "one-sided"]
    sym = [r for r in alignment if r["nudging"] == "symmetric"]
    smallest = min(r["beta"] for r in alignment)

    def at_smallest(rows: list[dict[str, Any]], key: str) -> list[float]:
        picked = [r for r in rows if r["beta"] == smallest]
        return [r[key] for r in sorted(picked, key=lambda r: r["seed"])]

    def neglog(values: list[float]) -> list[float]:
        return [-math.log10(max(v, 1e-300)) for v in values]

    mis = at_smallest(one, "misalignment")
    out.append(
        Claim.tested(
            f"EP's update converges to the gradient of the equilibrium loss: at β = {smallest:g}, "
            f"1 − cos(EP, gradient) < {ALIGNED:g}",
            exceeds(
                neglog(mis),
                -math.log10(ALIGNED),
                name="−log10(1 − cos)",
                hypothesis=f"mean log10(1 − cos) < {math.log10(ALIGNED):g}",
            ),
            f"1 − cos at β = {smallest:g} per seed: {_listed(mis, '.2e')}",
            ERNOULT,
        )
    )
    out.append(
        Claim.tested(
            "EP's alignment with the true gradient rises toward 1 as β shrinks",
            trend(
                neglog([r["beta"] for r in one]),
                neglog([r["misalignment"] for r in one]),
                name="−log10(1 − cos)",
                hypothesis="slope of −log10(1 − cos) on −log10 β > 0",
            ),
            "mean 1 − cos per β: "
            + ", ".join(
                f"{b:g}: {np.mean([r['misalignment'] for r in one if r['beta'] == b]):.2e}"
                for b in sorted({r["beta"] for r in one}, reverse=True)
            ),
            ERNOULT,
        )
    )
    e1, e2 = at_smallest(one, "relative_error"), at_smallest(sym, "relative_error")
    out.append(
        Claim.tested(
            f"symmetric nudging (±β) removes the O(β) bias: at β = {smallest:g} its relative "
            f"error is more than {10**SYMMETRIC_GAIN:g}x below the one-sided one",
            compare(
                neglog(e2),
                neglog(e1),
                margin=SYMMETRIC_GAIN,
                paired=True,
                names=("−log10 error symmetric", "−log10 error one-sided"),
                hypothesis=f"log10(one-sided / symmetric error) > {SYMMETRIC_GAIN:g}",
            ),
            f"relative error at β = {smallest:g} per seed: one-sided {_listed(e1, '.2e')}; "
            f"symmetric {_listed(e2, '.2e')}",
            LAMBORIEUX,
        )
    )
    return out


def figure(runs: list[dict[str, Any]], alignment: list[dict[str, Any]]):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    colors = {
        "backprop": "k",
        "hsic": "tab:green",
        "equilibrium": "tab:blue",
        "lifted": "tab:red",
        "random_features": "tab:gray",
    }
    ax = axes[0]
    for learner in LEARNERS:
        curves = [r["curve"] for r in runs if r["learner"] == learner]
        mean = np.mean(np.asarray(curves, dtype=float), axis=0)
        label = LABELS[learner] + (
            " (format step)" if learner in ("hsic", "random_features") else ""
        )
        ax.plot(range(1, len(mean) + 1), mean, "o-", ms=3, color=colors[learner], label=label)
    ax.axhline(CHANCE, color="k", ls=":", lw=1)
    ax.set(xlabel="epoch", ylabel="test accuracy (mean over seeds)")
    ax.set_title("learning curves at equal budget")
    ax.legend(fontsize=7)

    ax = axes[1]
    for i, learner in enumerate(LEARNERS):
        acc = [r["test_accuracy"] for r in runs if r["learner"] == learner]
        ax.plot([i] * len(acc), acc, "o", color=colors[learner], alpha=0.7)
        ax.plot([i - 0.25, i + 0.25], [np.mean(acc)] * 2, "-", color=colors[learner], lw=2)
    ax.axhline(CHANCE, color="k", ls=":", lw=1)
    ax.set_xticks(range(len(LEARNERS)), [LABELS[k].split(" (")[0] for k in LEARNERS], rotation=20)
    ax.set(ylabel="final test accuracy")
    ax.set_title("per seed (bar: mean)")

    ax = axes[2]
    for nudging, marker in (("one-sided", "o-"), ("symmetric", "s--")):
        for seed in sorted({r["seed"] for r in alignment}):
            rs = sorted(
                (r for r in alignment if r["nudging"] == nudging and r["seed"] == seed),
                key=lambda r: r["beta"],
            )
            ax.loglog(
                [r["beta"] for r in rs],
                [max(r["relative_error"], 1e-16) for r in rs],
                marker,
                color="tab:blue" if nudging == "one-sided" else "tab:orange",
                alpha=0.6,
                ms=3,
                label=nudging if seed == 0 else None,
            )
    ax.set(xlabel="β", ylabel="‖EP − ∇L‖ / ‖∇L‖")
    ax.set_title("EP estimate vs the true gradient (float64)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
