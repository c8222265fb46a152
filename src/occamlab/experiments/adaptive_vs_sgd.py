"""Adaptive methods vs SGD (Wilson, Roelofs, Stern, Srebro & Recht 2017, arXiv 1705.08292).

(a) The paper's separable least-squares problem (Section 3.3;
:mod:`~occamlab.experiments.adaptive_vs_sgd_problem`): a linear model trained from w = 0 by the
training loop (:func:`occamlab.train.fit`, float64) with full-batch GD, minibatch SGD, AdaGrad,
RMSProp and Adam. Lemma 3.1: every adaptive iterate is a multiple of sign(Xᵀy), so they
converge to sign(Xᵀy)/4, which calls every new example positive (test error 1 − p, near 1/2);
GD and SGD converge to the minimum-norm interpolant Xᵀ(XXᵀ)⁻¹y, whose test error is 0. Each is
compared with its closed form. The ray of sign(Xᵀy) is exact in exact arithmetic but stable in
floating point only while the preconditioned step across it stays below 2/curvature: the
adaptive rates are small and decay (cosine) so that rounding errors off the ray mostly shrink;
where they grow (larger or constant rates, now and then RMSProp even so) the iterate settles on
another interpolant near the ray, with the same test error.

(b) The same comparison on a network: an MLP on MNIST-1D trained with SGD (heavy-ball momentum)
and with Adam, each at the learning rate of a half-decade grid that minimizes the error on a
validation split held out of the training set (never the test set), then trained on the full
training set for several seeds (the vectorized ensemble trainer, ``ctx.train_many``). The
paper: with tuned rates, adaptive methods generalize worse (its Fig. 1-3).

Claims are tests over seeds (Holm-corrected together): (a) over independent draws of the problem
(the largest relative distance to the closed form per draw below 1e-6; the adaptive test error
within 0.05 of 1 − p; GD's and SGD's below 0.01), (b) a paired t-test over seeds of Adam's
minus SGD's test error (a seed shares its initialization and data order).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import torch

from occamlab.data import data_spec, load_data, split_train
from occamlab.data.base import Data, Split
from occamlab.experiments.adaptive_vs_sgd_problem import (
    adaptive_solution,
    direction_error,
    min_norm_solution,
    relative_distance,
    separable_problem,
    sign_error,
)
from occamlab.experiments.framework import Claim, Context, ExperimentResult, fields_except
from occamlab.experiments.registry import EXPERIMENTS
from occamlab.experiments.stats import compare, exceeds, mean_std, within
from occamlab.models import build_model, model_spec
from occamlab.subject import Subject
from occamlab.train import NonFiniteLossError, PeriodicCallback, TrainSpec, TrainState, fit

SOURCE = "Wilson et al. 2017, arXiv 1705.08292"
ADAPTIVE = ("adagrad", "rmsprop", "adam")
NON_ADAPTIVE = ("gd", "sgd")
TOLERANCE = 1e-6  # relative distance to a closed form that counts as reaching it
ERROR_TOLERANCE = 0.05  # adaptive test error within this of 1 − p
ZERO_ERROR = 0.01  # a test error below this counts as 0


@EXPERIMENTS.register
@dataclass(frozen=True)
class AdaptiveVsSGD:
    """AdaGrad/RMSProp/Adam vs GD/SGD: the separable linear problem and MNIST-1D nets.

    Attributes:
        problem_seeds: independent draws of the linear problem.
        linear_train: training examples n of the linear problem.
        linear_test: test examples of the linear problem.
        positive_rate: p = P(y = +1) (> 1/2); the adaptive test error is 1 − p in expectation.
        linear_steps: optimizer steps of every method on the linear problem.
        gd_lr: full-batch GD's rate (constant).
        sgd_lr: minibatch SGD's rate on the linear problem (constant).
        sgd_batch: its batch size.
        adagrad_lr: AdaGrad's peak rate (cosine decay, as for RMSProp and Adam).
        rmsprop_lr: RMSProp's peak rate (smoothing 0.99, no momentum).
        adam_lr: Adam's peak rate on the linear problem (β = 0.9, 0.999).
        adaptive_eps: ε of the adaptive methods (Lemma 3.1 has none; a tiny one keeps
            features no example has at exactly 0).
        seeds: network seeds (initialization and data order) per optimizer at its tuned rate.
        tune_seeds: seeds per grid point when tuning the rates.
        data: the network's data set (a registry name).
        data_seed: the data set's generation seed.
        num_train: its training examples (the test split is the data set's own).
        validation_fraction: share of the training examples held out to tune the rates.
        model: the network (a registry model with ``width`` and ``depth``).
        width: hidden width.
        depth: hidden layers.
        epochs: training epochs (cosine schedule).
        batch_size: minibatch size.
        sgd_momentum: SGD's heavy-ball momentum.
        sgd_lr_max: largest SGD rate of the grid.
        adam_lr_max: largest Adam rate of the grid.
        grid_size: rates per optimizer, half a decade apart downwards from the largest.
    """

    name: ClassVar[str] = "adaptive-vs-sgd"
    summary: ClassVar[str] = (
        "AdaGrad/RMSProp/Adam converge to sign(Xᵀy)/4 (test error ≈ 1/2) where GD/SGD reach the "
        "minimum-norm solution (test error 0); with tuned rates Adam generalizes worse than SGD"
    )
    paper: ClassVar[str] = "Wilson, Roelofs, Stern, Srebro & Recht 2017, arXiv 1705.08292"
    scales: ClassVar[dict[str, dict[str, Any]]] = {
        "quick": {},
        "paper": {
            "problem_seeds": 20,
            "linear_train": 200,
            "linear_steps": 10_000,
            "seeds": 20,
            "tune_seeds": 3,
            "num_train": 8000,
            "width": 256,
            "epochs": 200,
            "grid_size": 6,
        },
    }
    settings: ClassVar[dict[str, dict[str, Any]]] = {
        # another draw of each: 80 examples with p = 0.6, a freshly generated MNIST-1D
        "other-draw": {"linear_train": 80, "positive_rate": 0.6, "data_seed": 7},
    }

    problem_seeds: int = 6
    linear_train: int = 50
    linear_test: int = 1000
    positive_rate: float = 0.55
    linear_steps: int = 3000
    gd_lr: float = 0.25
    sgd_lr: float = 0.2
    sgd_batch: int = 10
    adagrad_lr: float = 0.01
    rmsprop_lr: float = 1e-3
    adam_lr: float = 3e-3
    adaptive_eps: float = 1e-16
    seeds: int = 8
    tune_seeds: int = 2
    data: str = "mnist1d"
    data_seed: int = 42
    num_train: int = 4000
    validation_fraction: float = 0.2
    model: str = "mlp"
    width: int = 100
    depth: int = 2
    epochs: int = 60
    batch_size: int = 128
    sgd_momentum: float = 0.9
    sgd_lr_max: float = 1.0
    adam_lr_max: float = 0.03
    grid_size: int = 4

    def __post_init__(self) -> None:
        if not 0.5 < self.positive_rate < 1.0:
            raise ValueError(f"positive_rate must lie in (1/2, 1), got {self.positive_rate}")
        if min(self.problem_seeds, self.seeds, self.tune_seeds, self.grid_size) < 1:
            raise ValueError("problem_seeds, seeds, tune_seeds and grid_size must be >= 1")
        if not 0 < self.sgd_batch < self.linear_train:
            raise ValueError("sgd_batch must lie between 0 and linear_train (minibatches)")
        self.network(), self.dataset()

    # -- (a) the linear problem --------------------------------------------------------------
    def linear_recipe(self, method: str) -> TrainSpec:
        """The training recipe of ``method`` on the linear problem (from w = 0)."""
        common = dict(epochs=0, max_steps=self.linear_steps, eval_every=10**9)
        # GD and SGD at a constant rate; the adaptive methods' rate decays (cosine): RMSProp's
        # and Adam's second moments forget the early gradients, so at a constant rate their
        # step across the ray of sign(Xᵀy) grows as the gradient vanishes, until rounding
        # errors off the ray grow instead of shrinking
        plain = dict(momentum=0.0, schedule="constant", **common)
        adaptive = dict(batch_size=0, eps=self.adaptive_eps, schedule="cosine", **common)
        return {
            "gd": TrainSpec(optimizer="sgd", lr=self.gd_lr, batch_size=0, **plain),
            "sgd": TrainSpec(optimizer="sgd", lr=self.sgd_lr, batch_size=self.sgd_batch, **plain),
            "adagrad": TrainSpec(optimizer="adagrad", lr=self.adagrad_lr, **adaptive),
            "rmsprop": TrainSpec(
                optimizer="rmsprop", lr=self.rmsprop_lr, momentum=0.0, beta2=0.99, **adaptive
            ),
            "adam": TrainSpec(optimizer="adam", lr=self.adam_lr, **adaptive),
        }[method]

    def linear_part(self, seed: int) -> dict[str, Any]:
        """Train every method on draw ``seed`` of the problem; distances to the closed forms."""
        problem = separable_problem(
            self.linear_train, self.linear_test, self.positive_rate, seed=seed
        )
        w_adaptive, c = adaptive_solution(problem.x_train, problem.y_train)
        w_min_norm = min_norm_solution(problem.x_train, problem.y_train)
        data = linear_data(problem)
        rows, curves = [], {}
        for method in (*NON_ADAPTIVE, *ADAPTIVE):
            target = w_adaptive if method in ADAPTIVE else w_min_norm
            subject = linear_subject(data)
            track = DistanceTracker(target, every=max(1, self.linear_steps // 60))
            result = fit(subject, self.linear_recipe(method), callbacks=[track])
            w = linear_weights(subject)
            rows.append(
                {
                    "seed": seed,
                    "method": method,
                    "closed_form": "sign(Xᵀy)/c" if method in ADAPTIVE else "min-norm",
                    "distance": relative_distance(w, target),
                    "direction": direction_error(w, target),
                    "distance_other": relative_distance(
                        w, w_min_norm if method in ADAPTIVE else w_adaptive
                    ),
                    "train_loss": result.final["train_loss"],
                    "test_error": sign_error(w, problem.x_test, problem.y_test),
                    "negative_share": float(np.mean(problem.y_test < 0)),
                }
            )
            curves[method] = {"steps": track.steps, "distance": track.distances}
        return {
            "rows": rows,
            "curves": curves,
            "c": c,
            "positives": problem.num_positive,
            "negatives": problem.num_negative,
        }

    # -- (b) networks on MNIST-1D -----------------------------------------------------------
    def network(self) -> Any:
        return model_spec(self.model, width=self.width, depth=self.depth)

    def dataset(self) -> Any:
        return data_spec(self.data, seed=self.data_seed, num_train=self.num_train)

    def grid(self, optimizer: str) -> list[float]:
        """The rates tried: half a decade apart, down from the largest."""
        top = self.sgd_lr_max if optimizer == "sgd" else self.adam_lr_max
        return [float(f"{top * 10 ** (-k / 2):.3g}") for k in range(self.grid_size)]

    def net_recipe(self, optimizer: str, lr: float, seed: int) -> TrainSpec:
        return TrainSpec(
            optimizer=optimizer,
            lr=lr,
            momentum=self.sgd_momentum if optimizer == "sgd" else 0.9,
            batch_size=self.batch_size,
            epochs=self.epochs,
            schedule="cosine",
            eval_every=self.epochs,
            seed=seed,
        )

    def tuning_part(self, optimizer: str) -> list[dict[str, Any]]:
        """Validation error of every (rate, seed) of the grid: trained on the training split
        minus the held-out part, evaluated on that part (the test split is not used)."""
        from occamlab.train.ensemble import fit_ensemble

        full = load_data(self.dataset())
        fit_part, held_out = split_train(
            full, fraction=1.0 - self.validation_fraction, seed=self.data_seed
        )
        tuning = dataclasses.replace(fit_part, test=held_out.train)
        runs = [(lr, s) for lr in self.grid(optimizer) for s in range(self.tune_seeds)]
        subjects = [self.net_subject(tuning, seed) for _, seed in runs]
        specs = [self.net_recipe(optimizer, lr, seed) for lr, seed in runs]
        try:
            results = [r.final for r in fit_ensemble(subjects, specs)]
        except NonFiniteLossError:  # a rate diverged: one by one, a diverged run scores 1
            results = [
                _fit_or_diverged(self.net_subject(tuning, seed), spec)
                for (_, seed), spec in zip(runs, specs, strict=True)
            ]
        return [
            {
                "optimizer": optimizer,
                "lr": lr,
                "seed": seed,
                "train_accuracy": r["train_accuracy"],
                "validation_error": 1.0 - r["test_accuracy"],
            }
            for (lr, seed), r in zip(runs, results, strict=True)
        ]

    def net_subject(self, data: Data, seed: int) -> Subject:
        """The network initialized from ``seed`` (as ``make_subject`` does) on ``data``."""
        model = build_model(
            self.network(), input_shape=data.input_shape, num_outputs=data.num_outputs, seed=seed
        )
        return Subject(model=model, data=data, name="tuning")

    def run(self, ctx: Context) -> ExperimentResult:
        from occamlab.runs import TrainJob

        linear_key = {k: getattr(self, k) for k in LINEAR_FIELDS}
        parts = [
            ctx.cached(
                f"linear seed {seed}",
                {**linear_key, "seed": seed},
                lambda _dir, seed=seed: self.linear_part(seed),
            )
            for seed in ctx.track(range(self.problem_seeds), "linear problem")
        ]
        # the tuning depends on neither the linear problem nor the number of final seeds
        net_key = {
            k: v
            for k, v in fields_except(self, "seeds", "problem_seeds").items()
            if k not in LINEAR_FIELDS
        }
        tuning = []
        for optimizer in ("sgd", "adam"):
            part = ctx.cached(
                f"tuning {optimizer}",
                {**net_key, "optimizer": optimizer},
                lambda _dir, o=optimizer: {"rows": self.tuning_part(o)},
            )
            tuning += part["rows"]
        chosen = best_rates(tuning)
        runs = [(o, s) for o in ("sgd", "adam") for s in range(self.seeds)]
        trained = ctx.train_many(
            [
                TrainJob(
                    model=self.network(),
                    data=self.dataset(),
                    train=self.net_recipe(o, chosen[o], s),
                    seed=s,
                )
                for o, s in runs
            ]
        )
        net_rows = [
            {
                "optimizer": o,
                "lr": chosen[o],
                "seed": s,
                "train_accuracy": t.record.metrics["train_accuracy"],
                "train_loss": t.record.metrics["train_loss"],
                "test_error": 1.0 - t.record.metrics["test_accuracy"],
            }
            for (o, s), t in zip(runs, trained, strict=True)
        ]
        linear_rows = [r for p in parts for r in p["rows"]]
        summary = summarize(linear_rows, tuning, net_rows, chosen)
        return ExperimentResult(
            metrics=summary,
            tables={
                "linear problem": linear_rows,
                "linear problem by method": summary["linear_by_method"],
                "rate tuning (validation split)": tuning,
                "networks at the tuned rates": net_rows,
            },
            figures={"adaptive vs sgd": figure(parts, tuning, net_rows, chosen)},
            claims=claims(linear_rows, net_rows, chosen, positive_rate=self.positive_rate),
        )


#: the spec fields the linear problem depends on (its parts are keyed by these only)
LINEAR_FIELDS = (
    "linear_train",
    "linear_test",
    "positive_rate",
    "linear_steps",
    "gd_lr",
    "sgd_lr",
    "sgd_batch",
    "adagrad_lr",
    "rmsprop_lr",
    "adam_lr",
    "adaptive_eps",
)


def linear_data(problem: Any) -> Data:
    """The problem as a float64 regression data set (targets ±1)."""
    split = lambda x, y: Split(torch.from_numpy(x), torch.from_numpy(y)[:, None])  # noqa: E731
    return Data(
        name="wilson-separable",
        train=split(problem.x_train, problem.y_train),
        test=split(problem.x_test, problem.y_test),
        task="regression",
        num_outputs=1,
    )


def linear_subject(data: Data) -> Subject:
    """A bias-free linear model (the registry's ``mlp`` with no hidden layer) in float64, at 0,
    with the squared loss."""
    model = build_model(
        model_spec("mlp", depth=0, bias=False),
        input_shape=data.input_shape,
        num_outputs=1,
        seed=0,
    ).double()
    with torch.no_grad():
        for p in model.parameters():
            p.zero_()
    return Subject(model=model, data=data, loss="mse", name="linear model")


def linear_weights(subject: Subject) -> np.ndarray:
    (w,) = subject.params().values()
    return w.reshape(-1).numpy().copy()


class DistanceTracker(PeriodicCallback):
    """Relative distance of the linear model's weights to ``target`` during training."""

    def __init__(self, target: np.ndarray, *, every: int) -> None:
        super().__init__(every=every)
        self.target = target
        self.distances: list[float] = []

    def measure(self, state: TrainState) -> None:
        self.distances.append(relative_distance(linear_weights(state.subject), self.target))


def _fit_or_diverged(subject: Subject, spec: TrainSpec) -> dict[str, Any]:
    try:
        return fit(subject, spec).final
    except NonFiniteLossError:
        return {"train_accuracy": 0.0, "test_accuracy": 0.0}


def best_rates(tuning: list[dict[str, Any]]) -> dict[str, float]:
    """Per optimizer, the rate with the lowest mean validation error (the smaller on ties)."""
    out = {}
    for optimizer in sorted({r["optimizer"] for r in tuning}):
        errors: dict[float, list[float]] = {}
        for r in tuning:
            if r["optimizer"] == optimizer:
                errors.setdefault(r["lr"], []).append(r["validation_error"])
        out[optimizer] = min(sorted(errors), key=lambda lr: float(np.mean(errors[lr])))
    return out


def summarize(
    linear_rows: list[dict[str, Any]],
    tuning: list[dict[str, Any]],
    net_rows: list[dict[str, Any]],
    chosen: dict[str, float],
) -> dict[str, Any]:
    by_method = []
    for method in (*NON_ADAPTIVE, *ADAPTIVE):
        rs = [r for r in linear_rows if r["method"] == method]
        err, err_sd = mean_std([r["test_error"] for r in rs])
        by_method.append(
            {
                "method": method,
                "closed_form": rs[0]["closed_form"],
                "max_distance": max(r["distance"] for r in rs),
                "max_direction_error": max(r["direction"] for r in rs),
                "min_distance_other": min(r["distance_other"] for r in rs),
                "test_error": err,
                "test_error_std": err_sd,
                "negative_share": float(np.mean([r["negative_share"] for r in rs])),
            }
        )
    nets = {}
    for optimizer in ("sgd", "adam"):
        rs = [r for r in net_rows if r["optimizer"] == optimizer]
        err, err_sd = mean_std([r["test_error"] for r in rs])
        nets[optimizer] = {
            "lr": chosen[optimizer],
            "test_error": err,
            "test_error_std": err_sd,
            "train_accuracy": float(np.mean([r["train_accuracy"] for r in rs])),
        }
    return {"linear_by_method": by_method, "networks": nets, "tuned_lr": chosen}


def _mean(values) -> float:
    return float(np.mean(list(values)))


def _per_seed(rows: list[dict[str, Any]], methods: tuple[str, ...], key: str, reduce=max):
    seeds = sorted({r["seed"] for r in rows})
    return [
        reduce(r[key] for r in rows if r["seed"] == s and r["method"] in methods) for s in seeds
    ]


def claims(
    linear_rows: list[dict[str, Any]],
    net_rows: list[dict[str, Any]],
    chosen: dict[str, float],
    *,
    positive_rate: float,
) -> list[Claim]:
    """The paper's findings as tests over the problem draws and network seeds."""
    far_adaptive = _per_seed(linear_rows, ADAPTIVE, "direction")
    far_plain = _per_seed(linear_rows, NON_ADAPTIVE, "distance")
    adaptive_distance = _per_seed(linear_rows, ADAPTIVE, "distance")
    err_adaptive = _per_seed(linear_rows, ADAPTIVE, "test_error", reduce=_mean)
    err_plain = _per_seed(linear_rows, NON_ADAPTIVE, "test_error")
    worst_adaptive = _per_seed(linear_rows, ADAPTIVE, "test_error", reduce=min)
    draws = len(far_adaptive)
    sgd = {r["seed"]: r["test_error"] for r in net_rows if r["optimizer"] == "sgd"}
    adam = {r["seed"]: r["test_error"] for r in net_rows if r["optimizer"] == "adam"}
    seeds = sorted(set(sgd) & set(adam))
    a, s = [adam[k] for k in seeds], [sgd[k] for k in seeds]
    share = [r["negative_share"] for r in linear_rows if r["method"] == "adam"]
    return [
        Claim.tested(
            "AdaGrad, RMSProp and Adam converge to a solution ∝ sign(Xᵀy) (Lemma 3.1)",
            exceeds(
                [-math.log10(max(d, 1e-300)) for d in far_adaptive],
                -math.log10(TOLERANCE),
                name="−log10 direction error",
                hypothesis="largest ‖w/‖w‖ − sign(Xᵀy)/‖sign(Xᵀy)‖‖ per draw < 1e-6",
            ),
            f"largest direction error {max(far_adaptive):.1e} over {draws} draws × 3 methods "
            f"(relative distance to sign(Xᵀy)/4 at most {max(adaptive_distance):.1e})",
            SOURCE + ", Lemma 3.1 and Section 3.3",
        ),
        Claim.tested(
            "GD and SGD converge to the minimum-norm interpolant Xᵀ(XXᵀ)⁻¹y (closed form)",
            exceeds(
                [-math.log10(max(d, 1e-300)) for d in far_plain],
                -math.log10(TOLERANCE),
                name="−log10 distance",
                hypothesis="largest relative distance to the minimum-norm solution per draw < 1e-6",
            ),
            f"largest relative distance {max(far_plain):.1e} over {draws} draws × 2 methods",
            SOURCE + ", Section 3.3",
        ),
        Claim.tested(
            f"the adaptive solutions' test error is 1 − p = {1 - positive_rate:.2f} "
            f"(within {ERROR_TOLERANCE}): they call every new example positive",
            within(
                err_adaptive,
                1.0 - positive_rate,
                ERROR_TOLERANCE,
                name="adaptive test error",
                hypothesis=f"|mean adaptive test error − {1 - positive_rate:.2f}| < "
                f"{ERROR_TOLERANCE}",
            ),
            f"test error {np.mean(err_adaptive):.3f} (AdaGrad, RMSProp, Adam; {draws} draws; "
            f"lowest per draw {min(worst_adaptive):.3f}); share of negative test examples "
            f"{np.mean(share):.3f}",
            SOURCE + ", Section 3.3",
        ),
        Claim.tested(
            f"GD's and SGD's test error is 0 (below {ZERO_ERROR})",
            exceeds(
                [-e for e in err_plain],
                -ZERO_ERROR,
                name="−test error",
                hypothesis=f"largest GD/SGD test error per draw < {ZERO_ERROR}",
            ),
            f"largest test error {max(err_plain):.3f} over {draws} draws",
            SOURCE + ", Section 3.3",
        ),
        Claim.tested(
            "with tuned rates, Adam's test error on MNIST-1D exceeds SGD's",
            compare(
                a,
                s,
                paired=True,
                names=("Adam", "SGD"),
                hypothesis="test error: Adam − SGD > 0 (paired by seed)",
            ),
            f"test error {np.mean(a):.3f} (Adam, lr {chosen['adam']:g}) vs {np.mean(s):.3f} "
            f"(SGD, lr {chosen['sgd']:g}), mean of {len(seeds)} seeds; rates tuned on a "
            "validation split of the training set",
            SOURCE + ", Section 4 and Figs. 1-3",
        ),
    ]


def figure(
    parts: list[dict[str, Any]],
    tuning: list[dict[str, Any]],
    net_rows: list[dict[str, Any]],
    chosen: dict[str, float],
) -> Any:
    """(a) relative distance to each method's closed form during training (first draw);
    (b) validation error over the rate grid; (c) test error per seed at the tuned rates."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(13, 4))
    ax_lin, ax_tune, ax_net = fig.subplots(1, 3)
    labels = {"gd": "GD", "sgd": "SGD", "adagrad": "AdaGrad", "rmsprop": "RMSProp", "adam": "Adam"}
    for method, curve in parts[0]["curves"].items():
        target = "sign(Xᵀy)/4" if method in ADAPTIVE else "min-norm"
        dist = np.maximum(np.asarray(curve["distance"]), 1e-17)
        ax_lin.semilogy(curve["steps"], dist, label=f"{labels[method]} → {target}")
    ax_lin.axhline(TOLERANCE, color="k", ls=":", lw=1)
    ax_lin.set(
        xlabel="step",
        ylabel="‖w − closed form‖ / ‖closed form‖",
        title="(a) separable problem (draw 0)",
    )
    ax_lin.legend(fontsize=7)
    for optimizer, color in (("sgd", "C0"), ("adam", "C3")):
        rs = [r for r in tuning if r["optimizer"] == optimizer]
        lrs = sorted({r["lr"] for r in rs})
        mean = [np.mean([r["validation_error"] for r in rs if r["lr"] == lr]) for lr in lrs]
        ax_tune.semilogx(lrs, mean, "o-", color=color, label=labels[optimizer])
        ax_tune.axvline(chosen[optimizer], color=color, ls=":", lw=1)
    ax_tune.set(
        xlabel="learning rate", ylabel="validation error", title="(b) MNIST-1D: tuning", ylim=(0, 1)
    )
    ax_tune.legend(fontsize=8)
    sgd = {r["seed"]: r["test_error"] for r in net_rows if r["optimizer"] == "sgd"}
    adam = {r["seed"]: r["test_error"] for r in net_rows if r["optimizer"] == "adam"}
    for seed in sorted(set(sgd) & set(adam)):
        ax_net.plot([0, 1], [sgd[seed], adam[seed]], "o-", color="0.5", alpha=0.6)
    ax_net.set_xticks([0, 1], [f"SGD (lr {chosen['sgd']:g})", f"Adam (lr {chosen['adam']:g})"])
    ax_net.set(ylabel="test error", title="(c) MNIST-1D: tuned rates, per seed")
    ax_net.set_xlim(-0.3, 1.3)
    fig.tight_layout()
    return fig
