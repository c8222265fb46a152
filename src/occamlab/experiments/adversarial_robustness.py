"""Adversarial robustness: PGD training buys robust accuracy and costs standard accuracy
(Madry et al. 2018, arXiv 1706.06083; Tsipras et al. 2019, arXiv 1805.12152).

Two parts, both trained by :func:`occamlab.train.fit` (PGD adversarial training is its
``objective``: :func:`occamlab.probes.robustness.adversarial_fit`), every run a cached part.

**Tsipras's distribution** (:class:`occamlab.data.tsipras.TsiprasSpec`): ``y = ±1``, ``x₁ = y``
with probability p, ``x₂ … x_{d+1} ~ N(η y, 1)``, η = eta_scale/√d. Linear classifiers (an MLP
of depth 0) are trained with ℓ∞ PGD at radii ε_train evenly spaced on [0, 2η] and evaluated on
fresh test examples, clean and under a 2η ℓ∞ PGD attack. The paper's closed forms
(:mod:`occamlab.probes.robustness.tsipras`): the best standard accuracy is the Bayes accuracy; a
classifier robust at 2η can only use x₁, so its standard and robust accuracy are p; and any
classifier with standard accuracy 1 − δ has robust accuracy at most p δ / (1 − p) (Theorem 2.1).
For a linear classifier the worst-case accuracy of its own weights is also in closed form: the
attack's measured accuracy is reported beside it.

**MNIST-1D**: MLPs trained with PGD at ε_train evenly spaced on [0, train_eps] (``norm``: ℓ∞,
or ℓ2 in the ``l2`` setting), each evaluated by PGD at radii on [0, train_eps]
(:func:`occamlab.probes.robustness.robustness_curve`): accuracy against ε per training radius.

Claims, each a test over seeds (seed s: the Tsipras data sample and every initialization and
batch order; MNIST-1D keeps its data set and varies initialization and order):

* Tsipras: standard training reaches the Bayes accuracy (TOST within ``tolerance``); training at
  2η lowers standard accuracy to p and raises robust accuracy to p (TOST within ``tolerance``);
  the standard classifier's robust accuracy lies below Theorem 2.1's bound (one-sample t-test);
  across ε_train, standard accuracy falls and robust accuracy rises (slope t-tests).
* MNIST-1D: the net trained at the largest radius is more accurate under attack at that radius
  than the standard net (paired t-test) and less accurate on clean inputs (paired t-test).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import torch

from occamlab.data import data_spec
from occamlab.experiments.framework import Claim, Context, ExperimentResult, fields_except
from occamlab.experiments.registry import EXPERIMENTS
from occamlab.experiments.stats import compare, exceeds, grouped_mean_std, trend, within
from occamlab.models import model_spec
from occamlab.probes.robustness import (
    NORMS,
    Norm,
    PGDSpec,
    adversarial_fit,
    attacked_accuracy,
    bayes_accuracy,
    linear_accuracy,
    robustness_curve,
    tradeoff_bound,
)
from occamlab.train import TrainSpec

MADRY = "Madry et al. 2018, arXiv 1706.06083"
TSIPRAS = "Tsipras et al. 2019, arXiv 1805.12152"

TSIPRAS_FIELDS = ("p", "dim", "eta_scale", "tsipras_train", "tsipras_test", "tsipras_points")
TSIPRAS_FIELDS += ("tsipras_epochs", "tsipras_lr", "tsipras_steps")


@EXPERIMENTS.register
@dataclass(frozen=True)
class AdversarialRobustness:
    """PGD adversarial training on Tsipras's distribution (against the closed forms) and on
    MNIST-1D (accuracy against ε), standard vs adversarially trained, over seeds.

    Attributes:
        seeds: independent runs per training radius (the sample of every claim's test).
        p: probability that Tsipras's robust feature x₁ agrees with the label.
        dim: number d of Tsipras's weak Gaussian features.
        eta_scale: η √d (the Gaussian features' total signal; 3 gives > 99% accuracy).
        tsipras_train: Tsipras training examples per seed.
        tsipras_test: Tsipras test examples per seed.
        tsipras_points: training radii evenly spaced on [0, 2η].
        tsipras_epochs: epochs of the linear classifiers (Adam, batch 100, cosine schedule).
        tsipras_lr: their learning rate.
        tsipras_steps: PGD steps in training and evaluation on Tsipras's data.
        width: hidden width of the MNIST-1D MLPs.
        depth: hidden layers of the MNIST-1D MLPs.
        num_train: MNIST-1D training examples.
        num_test: MNIST-1D test examples (all attacked).
        norm: the MNIST-1D attack's norm, ``linf`` or ``l2``.
        train_eps: the largest MNIST-1D training radius (and the evaluation grid's end).
        train_points: MNIST-1D training radii evenly spaced on [0, train_eps].
        eval_points: MNIST-1D evaluation radii evenly spaced on [0, train_eps].
        train_steps: PGD steps per minibatch in adversarial training (MNIST-1D).
        eval_steps: PGD steps in the MNIST-1D evaluation.
        epochs: MNIST-1D training epochs (Adam, cosine schedule).
        lr: MNIST-1D learning rate.
        batch_size: MNIST-1D minibatch size.
        tolerance: how close a measured accuracy must be to a closed form (TOST margin).
    """

    name: ClassVar[str] = "adversarial-robustness"
    summary: ClassVar[str] = (
        "PGD adversarial training buys robust accuracy and costs standard accuracy: on "
        "Tsipras's distribution down to the closed-form p, on MNIST-1D across ε"
    )
    paper: ClassVar[str] = f"{MADRY}; {TSIPRAS}"
    scales: ClassVar[dict[str, dict[str, Any]]] = {
        "quick": {},
        "paper": {
            "seeds": 10,
            "dim": 400,
            "tsipras_train": 10000,
            "tsipras_points": 9,
            "num_train": 8000,
            "train_points": 5,
            "eval_points": 17,
            "train_steps": 10,
            "eval_steps": 50,
            "epochs": 60,
        },
    }
    settings: ClassVar[dict[str, dict[str, Any]]] = {
        "l2": {"norm": "l2", "train_eps": 1.5, "p": 0.9, "dim": 200},
    }

    seeds: int = 5
    p: float = 0.95
    dim: int = 100
    eta_scale: float = 3.0
    tsipras_train: int = 2000
    tsipras_test: int = 10000
    tsipras_points: int = 5
    tsipras_epochs: int = 20
    tsipras_lr: float = 0.01
    tsipras_steps: int = 5
    width: int = 100
    depth: int = 2
    num_train: int = 4000
    num_test: int = 1000
    norm: Norm = "linf"
    train_eps: float = 0.4
    train_points: int = 3
    eval_points: int = 9
    train_steps: int = 7
    eval_steps: int = 20
    epochs: int = 30
    lr: float = 3e-3
    batch_size: int = 128
    tolerance: float = 0.01

    def __post_init__(self) -> None:
        if self.seeds < 1:
            raise ValueError(f"seeds must be >= 1, got {self.seeds}")
        if self.tsipras_points < 3 or self.train_points < 2 or self.eval_points < 2:
            raise ValueError("need tsipras_points >= 3, train_points >= 2, eval_points >= 2")
        if self.norm not in NORMS:
            raise ValueError(f"norm must be one of {', '.join(NORMS)}, got {self.norm!r}")
        if not self.train_eps > 0 or not self.tolerance > 0:
            raise ValueError("train_eps and tolerance must be > 0")

    @property
    def eta(self) -> float:
        return self.eta_scale / math.sqrt(self.dim)

    def tsipras_radii(self) -> list[float]:
        """Training radii on [0, 2η]."""
        n = self.tsipras_points - 1
        return [2 * self.eta * i / n for i in range(n + 1)]

    def train_radii(self) -> list[float]:
        """MNIST-1D training radii on [0, train_eps]."""
        n = self.train_points - 1
        return [self.train_eps * i / n for i in range(n + 1)]

    def run(self, ctx: Context) -> ExperimentResult:
        tsipras_key = {k: getattr(self, k) for k in TSIPRAS_FIELDS}
        mnist_key = fields_except(self, "seeds", "tolerance", *TSIPRAS_FIELDS)
        linear = [
            ctx.cached(
                "tsipras",
                {**tsipras_key, "seed": seed, "eps": eps},
                lambda _, seed=seed, eps=eps: self._tsipras(seed, eps),
            )
            for seed, eps in ctx.track(
                [(s, e) for s in range(self.seeds) for e in self.tsipras_radii()], "Tsipras"
            )
        ]
        nets = [
            ctx.cached(
                "mnist1d",
                {**mnist_key, "seed": seed, "eps": eps},
                lambda _, seed=seed, eps=eps: self._mnist1d(seed, eps),
            )
            for seed, eps in ctx.track(
                [(s, e) for s in range(self.seeds) for e in self.train_radii()], "MNIST-1D"
            )
        ]
        forms = self.closed_forms()
        summary = summarize(linear, nets, forms)
        curves = [
            {"seed": n["seed"], "train_eps": n["eps"], "eps": e, "accuracy": a}
            for n in nets
            for e, a in zip(n["curve_eps"], n["curve_accuracy"], strict=True)
        ]
        return ExperimentResult(
            metrics=summary,
            tables={
                "tsipras": linear,
                "tsipras mean": grouped_mean_std(
                    linear, ["eps"], ["standard", "robust", "standard_closed", "robust_closed"]
                ),
                "mnist1d": [
                    {k: v for k, v in n.items() if not k.startswith("curve")} for n in nets
                ],
                "mnist1d curves": grouped_mean_std(curves, ["train_eps", "eps"], ["accuracy"]),
            },
            figures={"robustness trade-off": figure(linear, curves, forms, self.norm)},
            claims=claims(summary, linear, nets, forms, tolerance=self.tolerance),
        )

    def closed_forms(self) -> dict[str, float]:
        """The paper's numbers at this spec: Bayes accuracy, p, the 2η attack radius."""
        return {
            "p": self.p,
            "eta": self.eta,
            "attack_eps": 2 * self.eta,
            "bayes": bayes_accuracy(p=self.p, eta=self.eta, dim=self.dim),
        }

    def _tsipras(self, seed: int, eps: float) -> dict[str, Any]:
        """A linear classifier trained with ℓ∞ PGD at ``eps`` on Tsipras's data (seed ``seed``):
        its test accuracy, clean and under a 2η attack, beside its weights' closed forms."""
        from occamlab.recipes import make_subject

        data = data_spec(
            "tsipras",
            p=self.p,
            dim=self.dim,
            eta_scale=self.eta_scale,
            num_train=self.tsipras_train,
            num_test=self.tsipras_test,
            seed=seed,
        )
        subject = make_subject(model=model_spec("mlp", depth=0), data=data, seed=seed)
        recipe = TrainSpec(
            optimizer="adam",
            lr=self.tsipras_lr,
            batch_size=100,
            epochs=self.tsipras_epochs,
            schedule="cosine",
            eval_every=self.tsipras_epochs,
            seed=seed,
        )
        attack = PGDSpec(eps=eps, steps=self.tsipras_steps)
        adversarial_fit(subject, recipe, attack)
        test = PGDSpec(eps=2 * self.eta, steps=self.tsipras_steps)
        robust = attacked_accuracy(
            subject, test, batch_size=2000, generator=torch.Generator().manual_seed(seed)
        )
        weight, bias = subject.model.head.weight.detach(), subject.model.head.bias.detach()
        w = (weight[1] - weight[0]).double().numpy()  # class 1 is y = +1
        b = float(bias[1] - bias[0])
        forms = {"p": self.p, "eta": self.eta}
        return {
            "seed": seed,
            "eps": eps,
            "eps_over_eta": eps / self.eta,
            "standard": subject.evaluate(split="test").accuracy,
            "robust": robust,
            "standard_closed": linear_accuracy(w[0], w[1:], b, **forms),
            "robust_closed": linear_accuracy(w[0], w[1:], b, eps=2 * self.eta, **forms),
            "w1": float(w[0]),
            "weak_weight_norm": float(np.linalg.norm(w[1:])),
            "weak_weight_sum": float(w[1:].sum()),
        }

    def _mnist1d(self, seed: int, eps: float) -> dict[str, Any]:
        """An MLP trained with PGD at ``eps`` on MNIST-1D; its accuracy against ε."""
        from occamlab.recipes import make_subject

        subject = make_subject(
            model=model_spec("mlp", width=self.width, depth=self.depth),
            data=data_spec("mnist1d", num_train=self.num_train, num_test=self.num_test),
            seed=seed,
        )
        recipe = TrainSpec(
            optimizer="adam",
            lr=self.lr,
            batch_size=self.batch_size,
            epochs=self.epochs,
            schedule="cosine",
            eval_every=self.epochs,
            seed=seed,
        )
        attack = PGDSpec(eps=eps, norm=self.norm, steps=self.train_steps)
        result = adversarial_fit(subject, recipe, attack)
        curve = robustness_curve(
            subject,
            norm=self.norm,
            eps_max=self.train_eps,
            points=self.eval_points,
            steps=self.eval_steps,
            limit=0,
            seed=seed,
        )
        return {
            "seed": seed,
            "eps": eps,
            "train_accuracy": result.final["train_accuracy"],
            "standard": curve.accuracy[0],
            "robust": curve.accuracy[-1],
            "curve_eps": curve.eps,
            "curve_accuracy": curve.accuracy,
        }


def summarize(
    linear: list[dict[str, Any]], nets: list[dict[str, Any]], forms: dict[str, float]
) -> dict[str, Any]:
    """Mean standard and robust accuracies per training radius, and the largest gap between
    the attack's measured accuracy and the closed form of the linear classifiers' weights."""
    by_eps = grouped_mean_std(linear, ["eps"], ["standard", "robust"])
    mnist = grouped_mean_std(nets, ["eps"], ["standard", "robust"])
    return {
        "closed_forms": forms,
        "tsipras": by_eps,
        "mnist1d": mnist,
        "attack_vs_closed_form": max(abs(r["robust"] - r["robust_closed"]) for r in linear),
        "clean_vs_closed_form": max(abs(r["standard"] - r["standard_closed"]) for r in linear),
    }


def _at(rows: list[dict[str, Any]], eps: float, key: str) -> list[float]:
    """``key`` of the rows at radius ``eps``, in seed order."""
    return [r[key] for r in sorted(rows, key=lambda r: r["seed"]) if r["eps"] == eps]


def claims(
    s: dict[str, Any],
    linear: list[dict[str, Any]],
    nets: list[dict[str, Any]],
    forms: dict[str, float],
    *,
    tolerance: float,
) -> list[Claim]:
    """The papers' findings as tests over seeds (module docstring)."""
    p, bayes = forms["p"], forms["bayes"]
    radii = sorted({r["eps"] for r in linear})
    zero, top = radii[0], radii[-1]
    standard0, robust0 = _at(linear, zero, "standard"), _at(linear, zero, "robust")
    standard2, robust2 = _at(linear, top, "standard"), _at(linear, top, "robust")
    bounds = [tradeoff_bound(p=p, standard_accuracy=a) for a in standard0]
    tsip = f"{TSIPRAS}, §2.1"

    def mean(v: list[float]) -> str:
        return f"{np.mean(v):.4f}"

    evidence_t = (
        f"linear classifiers, {len(standard0)} seeds; standard training: clean {mean(standard0)}"
        f", robust at 2η {mean(robust0)}; trained at 2η = {top:.3f}: clean {mean(standard2)}, "
        f"robust {mean(robust2)}; closed forms: Bayes {bayes:.4f}, p = {p}; attack vs its "
        f"weights' closed form: max |Δ| {s['attack_vs_closed_form']:.4f}"
    )
    train_radii = sorted({n["eps"] for n in nets})
    n0, n1 = train_radii[0], train_radii[-1]
    std_std, std_adv = _at(nets, n0, "standard"), _at(nets, n1, "standard")
    rob_std, rob_adv = _at(nets, n0, "robust"), _at(nets, n1, "robust")
    evidence_m = (
        f"MNIST-1D MLPs, {len(std_std)} seeds; at ε = {n1:g}: standard net {mean(rob_std)}, "
        f"trained at ε = {n1:g}: {mean(rob_adv)}; clean: {mean(std_std)} vs {mean(std_adv)}"
    )
    return [
        Claim.tested(
            "standard training on Tsipras's distribution reaches the Bayes accuracy",
            within(standard0, bayes, tolerance, name="clean accuracy, standard training"),
            evidence_t,
            tsip,
        ),
        Claim.tested(
            "adversarial training at ε = 2η lowers standard accuracy to p (the robust feature's)",
            within(standard2, p, tolerance, name="clean accuracy, trained at 2η"),
            evidence_t,
            f"{tsip}, Theorem 2.2",
        ),
        Claim.tested(
            "… and raises robust accuracy at ε = 2η to p",
            within(robust2, p, tolerance, name="robust accuracy at 2η, trained at 2η"),
            evidence_t,
            f"{tsip}, Theorem 2.2",
        ),
        Claim.tested(
            "the standard classifier's robust accuracy at 2η lies below p·δ/(1−p) (δ its error)",
            exceeds(
                [b - r for b, r in zip(bounds, robust0, strict=True)],
                0.0,
                name="bound − robust accuracy",
                hypothesis="mean(p·δ/(1−p) − robust accuracy at 2η) > 0",
            ),
            evidence_t + f"; bound {np.mean(bounds):.4f}",
            f"{tsip}, Theorem 2.1",
        ),
        Claim.tested(
            "standard accuracy falls as the training radius grows",
            trend(
                [r["eps_over_eta"] for r in linear],
                [-r["standard"] for r in linear],
                name="−clean accuracy",
                hypothesis="slope of clean accuracy against ε_train/η < 0",
            ),
            evidence_t,
            tsip,
        ),
        Claim.tested(
            "… while robust accuracy at 2η rises",
            trend(
                [r["eps_over_eta"] for r in linear],
                [r["robust"] for r in linear],
                name="robust accuracy at 2η",
                hypothesis="slope of robust accuracy at 2η against ε_train/η > 0",
            ),
            evidence_t,
            tsip,
        ),
        Claim.tested(
            "MNIST-1D: PGD training makes the net more accurate under attack at its radius",
            compare(
                rob_adv,
                rob_std,
                paired=True,
                names=("adversarially trained", "standard"),
                hypothesis=f"robust accuracy at ε = {n1:g}: adversarial − standard > 0",
            ),
            evidence_m,
            f"{MADRY}, Fig. 4",
        ),
        Claim.tested(
            "MNIST-1D: … and less accurate on clean inputs",
            compare(
                std_std,
                std_adv,
                paired=True,
                names=("standard", "adversarially trained"),
                hypothesis="clean accuracy: standard − adversarially trained > 0",
            ),
            evidence_m,
            f"{TSIPRAS}, §3",
        ),
    ]


def figure(
    linear: list[dict[str, Any]], curves: list[dict[str, Any]], forms: dict[str, float], norm: str
) -> Any:
    """Left: Tsipras's trade-off against ε_train with the closed forms; right: MNIST-1D accuracy
    against ε, one curve per training radius (mean ± sd over seeds)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(11, 4.2))
    left, right = fig.subplots(1, 2)
    rows = grouped_mean_std(linear, ["eps_over_eta"], ["standard", "robust"])
    x = [r["eps_over_eta"] for r in rows]
    for key, label in (("standard", "clean"), ("robust", "under ℓ∞ PGD at 2η")):
        left.errorbar(x, [r[key] for r in rows], [r[f"{key}_std"] for r in rows], marker="o",
                      capsize=3, label=label)  # fmt: skip
    left.axhline(forms["bayes"], ls="--", c="k", lw=1, label=f"Bayes {forms['bayes']:.4f}")
    left.axhline(forms["p"], ls=":", c="k", lw=1, label=f"p = {forms['p']}")
    left.set(xlabel="training radius ε_train / η", ylabel="test accuracy",
             title="Tsipras et al.: linear classifiers")  # fmt: skip
    left.legend(fontsize=8)
    rows = grouped_mean_std(curves, ["train_eps", "eps"], ["accuracy"])
    for train_eps in sorted({r["train_eps"] for r in rows}):
        rs = [r for r in rows if r["train_eps"] == train_eps]
        label = "standard" if train_eps == 0 else f"PGD-trained, ε = {train_eps:g}"
        right.errorbar([r["eps"] for r in rs], [r["accuracy"] for r in rs],
                       [r["accuracy_std"] for r in rs], marker="o", ms=3, capsize=2,
                       label=label)  # fmt: skip
    name = "ℓ∞" if norm == "linf" else "ℓ2"
    right.set(xlabel=f"{name} attack radius ε", ylabel="test accuracy under PGD",
              title="MNIST-1D MLPs", ylim=(0, 1))  # fmt: skip
    right.legend(fontsize=8)
    fig.tight_layout()
    return fig
