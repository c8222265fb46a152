"""Ensembles and bagging (Geiger, Jacot, Spigler, Gabriel, Sagun, d'Ascoli, Biroli, Hongler &
Wyart 2020, arXiv 1901.01608; Bühlmann & Yu 2002, "Analyzing bagging", Ann. Statist. 30(4)).

(a, b) The model-wise double descent of :mod:`~occamlab.experiments.double_descent` (MLPs of
growing width trained to convergence on MNIST-1D with label noise), with every width trained
``members`` times from different initializations on the same training set, and that repeated on
``seeds`` independent replicates (each its own draw of the noisy labels). Geiger et al. trace the
peak of the test error at the interpolation threshold N* to the fluctuations of the output
function over initializations, ``‖f − ⟨f⟩‖²``, which peak there and decay beyond it; averaging
the outputs of many networks (an ensemble) removes them, and the ensemble's test error then
falls with width (their ensemble-averaged curves have no peak). Per replicate and width:

* the output variance over initializations: the variance over the members of their predicted
  class probabilities, summed over classes and averaged over the test set (the diversity of
  :mod:`occamlab.probes.ensembles.decomposition`, made unbiased);
* the mean test error of the single networks and the test error of their ensemble (the argmax of
  the averaged probabilities); the ensemble's squared error (Brier score) equals the members'
  mean minus the diversity, an identity checked on every run.

(c) Bagging (Bühlmann & Yu 2002): on ``bag_sets`` independent training sets of a noisy
one-dimensional regression (``y = sin(π·order·x) + ε``), a decision stump, a fully grown
regression tree (scikit-learn), least squares on ``x`` and a small MLP are fit once and bagged
(averaged over ``bootstraps`` bootstrap resamples, :mod:`occamlab.probes.ensembles.bagging`);
the variance of their predictions over training sets, averaged over a test grid, measures how
unstable each is and how much of that bagging removes. Bühlmann & Yu show bagging smooths hard
decisions: it reduces the variance of unstable predictors (stumps, trees) and does little for
smooth ones (least squares); networks, unstable in their initialization and their data, are
compared with both.

The ``high-noise`` setting doubles both noises (30% label noise, as double descent's setting of
that name; ε of standard deviation 1 in the regression), where the peak and the instability grow
and the claims should hold as well.

Claims are tests over the replicates (see :func:`claims`); the networks of one width train as one
stacked ensemble (:func:`occamlab.train.ensemble.fit_ensemble`), through the one training loop.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import numpy as np
import torch

from occamlab.data import data_spec
from occamlab.data.univariate import univariate
from occamlab.experiments.double_descent import (
    WIDTHS,
    peak_claim,
    rows_by_seed,
    summarize_mlp,
)
from occamlab.experiments.framework import Claim, Context, ExperimentResult
from occamlab.experiments.registry import EXPERIMENTS
from occamlab.experiments.stats import bootstrapped, exceeds, grouped_mean_std
from occamlab.models import model_spec
from occamlab.probes.ensembles import bagged_predict, decompose, member_outputs
from occamlab.train import TrainSpec

GEIGER = "Geiger et al. 2020, arXiv 1901.01608"
BUHLMANN = "Bühlmann & Yu 2002, Ann. Statist. 30(4)"
#: Predictors of the bagging part, from the least to the most stable.
PREDICTORS = ("stump", "tree", "network", "linear")
Predictor = Literal["stump", "tree", "network", "linear"]
#: Bootstrap resamples of the training sets behind each bagging claim's test.
RESAMPLES = 2000


@EXPERIMENTS.register
@dataclass(frozen=True)
class EnsemblesAndBagging:
    """Output variance over seeds peaks at the interpolation threshold, ensembles remove the
    double-descent peak, and bagging reduces the variance of unstable predictors.

    Attributes:
        seeds: replicates of the width sweep: each draws its own noisy labels and trains
            ``members`` networks per width; the network claims are tests over them.
        members: networks per replicate and width (initialization seeds), averaged into one
            ensemble.
        mlp_train: training examples of the width sweep.
        num_test: test examples of the width sweep (8000 measure an error to about ±0.005).
        label_noise: fraction of training labels replaced by random ones.
        depth: hidden layers of the MLPs.
        min_width: smallest hidden width of the sweep.
        max_width: largest hidden width of the sweep.
        lr: Adam learning rate (full-batch training).
        steps: at most this many optimizer steps per MLP.
        target_loss: training loss at which an MLP counts as converged and stops (checked every
            100 steps).
        fit_error: mean training error at or below which a width counts as interpolating.
        rise_margin: the largest rise of the ensemble's test error over the best narrower
            ensemble that still counts as "monotone" (about two standard errors of a test error
            near 0.6 measured on 8000 examples).
        data: the data set of the width sweep (a registry name whose spec has ``num_train``,
            ``label_noise`` and ``corruption_seed``).
        bag_sets: independent training sets of the bagging part (its tests resample them).
        bag_train: training examples per set.
        bag_noise: standard deviation of the regression noise ε.
        bag_order: the target ``sin(π·order·x)`` on [0, 1].
        bag_test: points of the test grid on [0, 1].
        bootstraps: bootstrap resamples a bagged predictor averages.
        bag_width: hidden width of the bagged network (one hidden layer, ReLU).
        bag_steps: full-batch Adam steps of the bagged network.
        bag_lr: Adam learning rate of the bagged network.
    """

    name: ClassVar[str] = "ensembles-and-bagging"
    summary: ClassVar[str] = (
        "Seed variance peaks at the interpolation threshold; ensembles remove the peak; "
        "bagging steadies unstable predictors"
    )
    paper: ClassVar[str] = f"{GEIGER}; {BUHLMANN}"
    scales: ClassVar[dict[str, dict[str, Any]]] = {
        "quick": {},
        "paper": {
            "seeds": 8,
            "members": 20,
            "mlp_train": 1000,
            "max_width": 256,
            "steps": 20000,
            "bag_sets": 50,
            "bootstraps": 50,
            "bag_train": 200,
        },
    }
    settings: ClassVar[dict[str, dict[str, Any]]] = {
        "high-noise": {"label_noise": 0.3, "bag_noise": 1.0},
    }

    seeds: int = 8
    members: int = 4
    mlp_train: int = 1000
    num_test: int = 8000
    label_noise: float = 0.15
    depth: int = 2
    min_width: int = 4
    max_width: int = 64
    lr: float = 3e-3
    steps: int = 3000
    target_loss: float = 1e-3
    fit_error: float = 0.01
    rise_margin: float = 0.01
    data: str = "mnist1d"
    bag_sets: int = 24
    bag_train: int = 100
    bag_noise: float = 0.5
    bag_order: int = 2
    bag_test: int = 200
    bootstraps: int = 8
    bag_width: int = 32
    bag_steps: int = 300
    bag_lr: float = 1e-2

    def __post_init__(self) -> None:
        if self.seeds < 1 or self.members < 2 or not self.widths():
            raise ValueError(
                "ensembles-and-bagging needs seeds >= 1, members >= 2 and a non-empty width sweep"
            )
        if self.bag_sets < 2 or self.bootstraps < 1 or self.bag_train < 2:
            raise ValueError("bagging needs bag_sets >= 2, bootstraps >= 1 and bag_train >= 2")
        self.dataset(0)  # an unknown data set fails here

    def dataset(self, replicate: int) -> Any:
        """The width sweep's data set with the noisy labels of ``replicate``."""
        return data_spec(
            self.data,
            num_train=self.mlp_train,
            num_test=self.num_test,
            label_noise=self.label_noise,
            corruption_seed=replicate,
        )

    def widths(self) -> list[int]:
        return [w for w in WIDTHS if self.min_width <= w <= self.max_width]

    def recipe(self) -> TrainSpec:
        return TrainSpec(
            optimizer="adam",
            lr=self.lr,
            batch_size=0,
            epochs=0,
            max_steps=self.steps,
            schedule="constant",
            target_loss=self.target_loss,
            eval_every=100,  # epochs: steps, with full batches
        )

    def run(self, ctx: Context) -> ExperimentResult:
        rows = self.width_sweep(ctx)
        bagging = self.bagging(ctx)
        sweep = summarize_sweep(rows, fit_error=self.fit_error)
        bag = summarize_bagging(bagging)
        return ExperimentResult(
            metrics={"width_sweep": sweep["summary"], "bagging": bag},
            tables={
                "width sweep (mean over replicates)": sweep["curve"],
                "bagging (variance over training sets)": bag,
            },
            figures={"ensembles and bagging": figure(sweep, bag, bagging, self)},
            claims=claims(rows, bagging, fit_error=self.fit_error, rise_margin=self.rise_margin),
        )

    # -- (a, b) width sweep: members × replicates per width, one stacked ensemble ------------
    def width_sweep(self, ctx: Context) -> list[dict[str, Any]]:
        recipe = self.recipe()
        rows = []
        for width in ctx.track(self.widths(), "width sweep"):
            model = model_spec("mlp", width=width, depth=self.depth)
            key = {
                "model": model,
                "data": [self.dataset(r) for r in range(self.seeds)],
                "train": recipe,
                "members": self.members,
            }
            out = ctx.cached(
                "width", key, lambda _d, model=model: {"replicates": self.train_width(model)}
            )
            rows += [{"width": width, **r} for r in out["replicates"]]
        return rows

    def train_width(self, model: Any) -> list[dict[str, Any]]:
        """Train ``members`` networks per replicate (all replicates at once: they share the
        inputs and differ in labels and initialization) and decompose each replicate's ensemble
        on the test set."""
        from occamlab.recipes import make_subject
        from occamlab.train.ensemble import fit_ensemble

        k = self.members
        subjects = [
            make_subject(model=model, data=self.dataset(r), seed=r * k + i)
            for r in range(self.seeds)
            for i in range(k)
        ]
        recipe = self.recipe()
        results = fit_ensemble(subjects, [recipe] * len(subjects), method="stacked")
        test = subjects[0].data.test
        onehot = torch.nn.functional.one_hot(test.y, subjects[0].data.num_outputs)
        rows = []
        for r in range(self.seeds):
            group = slice(r * k, (r + 1) * k)
            d = decompose(member_outputs(subjects[group]), onehot, labels=test.y)
            train = [1.0 - res.final["train_accuracy"] for res in results[group]]
            rows.append(
                {
                    "seed": r,
                    "parameters": subjects[0].num_parameters,
                    "train_error": float(np.mean(train)),
                    "test_error": d.mean_member_error,  # the single networks' mean
                    "ensemble_error": d.ensemble_error,
                    "member_errors": list(d.member_errors),
                    "variance": d.output_variance,
                    "mean_member_loss": d.mean_member_loss,
                    "ensemble_loss": d.ensemble_loss,
                    "diversity": d.diversity,
                    "steps": float(np.mean([res.steps for res in results[group]])),
                }
            )
        return rows

    # -- (c) bagging --------------------------------------------------------------------------
    def regression_set(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        """Training set ``index``: x ~ Uniform[0, 1], y = sin(π·order·x) + ε."""
        g = np.random.default_rng([index, 7919])
        x = g.uniform(size=(self.bag_train, 1))
        y = univariate(x, "sine", self.bag_order)[:, 0] + self.bag_noise * g.standard_normal(
            self.bag_train
        )
        return x, y

    def test_grid(self) -> np.ndarray:
        return np.linspace(0.0, 1.0, self.bag_test).reshape(-1, 1)

    def bagging(self, ctx: Context) -> dict[str, Any]:
        """Per predictor, its single and bagged predictions on the test grid, one row per
        training set, and the target there."""
        fields = {
            f.name: getattr(self, f.name) for f in dataclasses.fields(self) if "bag" in f.name
        }
        out: dict[str, Any] = {"target": univariate(self.test_grid(), "sine", self.bag_order)[:, 0]}
        for predictor in ctx.track(PREDICTORS, "bagging"):
            key = {"predictor": predictor, "bootstraps": self.bootstraps, **fields}
            out[predictor] = ctx.cached("bagging", key, lambda _d, p=predictor: self.fit_bagging(p))
        out["target"] = out["target"].tolist()
        return out

    def fit_bagging(self, predictor: Predictor) -> dict[str, list[list[float]]]:
        grid = self.test_grid()
        single, bagged = [], []
        for s in range(self.bag_sets):
            x, y = self.regression_set(s)
            fit = self.fit_predict(predictor, first_seed=s * (self.bootstraps + 1))
            single.append(fit(x, y, grid).tolist())
            bagged.append(
                bagged_predict(fit, x, y, grid, bootstraps=self.bootstraps, seed=s).tolist()
            )
        return {"single": single, "bagged": bagged}

    def fit_predict(self, predictor: Predictor, *, first_seed: int):
        """A function ``(x, y, x_test) -> predictions`` fitting ``predictor``; networks take
        consecutive initialization seeds from ``first_seed`` on, one per fit."""
        from sklearn.linear_model import LinearRegression
        from sklearn.tree import DecisionTreeRegressor

        if predictor == "stump":
            return lambda x, y, t: DecisionTreeRegressor(max_depth=1).fit(x, y).predict(t)
        if predictor == "tree":
            return lambda x, y, t: DecisionTreeRegressor(random_state=0).fit(x, y).predict(t)
        if predictor == "linear":
            return lambda x, y, t: LinearRegression().fit(x, y).predict(t)
        seeds = iter(range(first_seed, first_seed + self.bootstraps + 1))
        return lambda x, y, t: self.fit_network(x, y, t, seed=next(seeds))

    def fit_network(self, x: np.ndarray, y: np.ndarray, t: np.ndarray, *, seed: int) -> np.ndarray:
        """A one-hidden-layer MLP fit to (x, y) by full-batch Adam; its predictions at t."""
        from occamlab.data.base import Data, Split
        from occamlab.models import build_model
        from occamlab.subject import Subject
        from occamlab.train import fit

        def split(inputs: np.ndarray, targets: np.ndarray) -> Split:
            return Split(
                torch.tensor(inputs, dtype=torch.float32),
                torch.tensor(targets, dtype=torch.float32).reshape(-1, 1),
            )

        data = Data("noisy-sine", split(x, y), split(t, np.zeros(len(t))), "regression", 1)
        model = build_model(
            model_spec("mlp", width=self.bag_width, depth=1),
            input_shape=(1,),
            num_outputs=1,
            seed=seed,
        )
        recipe = TrainSpec(
            optimizer="adam",
            lr=self.bag_lr,
            batch_size=0,
            epochs=0,
            max_steps=self.bag_steps,
            schedule="constant",
            eval_every=self.bag_steps,
        )
        subject = Subject(model=model, data=data)
        fit(subject, recipe)
        with torch.no_grad(), subject.eval_mode():
            return model(data.test.x).double().numpy()[:, 0]


# -- summaries ------------------------------------------------------------------------------
SWEEP_KEYS = (
    "train_error",
    "test_error",
    "ensemble_error",
    "variance",
    "mean_member_loss",
    "ensemble_loss",
    "diversity",
    "steps",
)


def summarize_sweep(rows: list[dict[str, Any]], *, fit_error: float) -> dict[str, Any]:
    """Mean curves over replicates; the interpolation width (double descent's: the first width
    whose mean training error is at most ``fit_error``), and the peaks of the curves."""
    curve = grouped_mean_std(rows, ("width", "parameters"), SWEEP_KEYS)
    curve.sort(key=lambda r: r["width"])
    labelled = [{**r, "label_noise": 0.0} for r in rows]
    threshold = next(iter(summarize_mlp(labelled, fit_error=fit_error)["summary"].values()))
    top = {k: max(curve, key=lambda r: r[k])["width"] for k in ("test_error", "variance")}
    return {
        "curve": curve,
        "summary": {
            "interpolation_width": threshold["interpolation_width"],
            "single_peak_width": top["test_error"],
            "variance_peak_width": top["variance"],
            "widest_single_error": curve[-1]["test_error"],
            "widest_ensemble_error": curve[-1]["ensemble_error"],
            "largest_ensemble_rise": _rise([r["ensemble_error"] for r in curve]),
            "largest_single_rise": _rise([r["test_error"] for r in curve]),
        },
    }


def _rise(values: list[float]) -> float:
    """The largest amount by which a value exceeds the smallest before it (0 for a curve that
    never rises): how far a curve is from non-increasing."""
    best, rise = float("inf"), 0.0
    for v in values:
        rise = max(rise, v - best)
        best = min(best, v)
    return rise


def _variance(predictions: np.ndarray) -> np.ndarray:
    """Variance over training sets (axis −2, ddof 1), averaged over the test grid; leading
    axes are resamples."""
    return predictions.var(axis=-2, ddof=1).mean(axis=-1)


def _reductions(bagging: dict[str, Any], sets: np.ndarray) -> dict[str, np.ndarray]:
    """Per predictor, 1 − Var(bagged)/Var(single) over the training sets ``sets`` (an index
    array whose leading axes are resamples)."""
    out = {}
    for p in PREDICTORS:
        single = np.asarray(bagging[p]["single"])[sets]
        bagged = np.asarray(bagging[p]["bagged"])[sets]
        with np.errstate(invalid="ignore", divide="ignore"):  # a resample of one set: NaN
            out[p] = 1.0 - _variance(bagged) / _variance(single)
    return out


def summarize_bagging(bagging: dict[str, Any]) -> list[dict[str, Any]]:
    """Per predictor: the variance over training sets of its single and bagged predictions,
    the relative reduction, and each one's squared bias and mean squared error on the grid."""
    target = np.asarray(bagging["target"])
    rows = []
    for p in PREDICTORS:
        row: dict[str, Any] = {"predictor": p}
        for kind in ("single", "bagged"):
            pred = np.asarray(bagging[p][kind])
            row[f"variance_{kind}"] = float(_variance(pred))
            row[f"bias2_{kind}"] = float(((pred.mean(0) - target) ** 2).mean())
            row[f"mse_{kind}"] = float(((pred - target) ** 2).mean())
        row["reduction"] = 1.0 - row["variance_bagged"] / row["variance_single"]
        rows.append(row)
    return rows


# -- claims ---------------------------------------------------------------------------------
def claims(
    rows: list[dict[str, Any]],
    bagging: dict[str, Any],
    *,
    fit_error: float,
    rise_margin: float,
    resamples: int = RESAMPLES,
) -> list[Claim]:
    """Geiger et al.'s and Bühlmann & Yu's findings as tests over replicates.

    "Peaks near the interpolation threshold" is double descent's test (:func:`~occamlab.
    experiments.double_descent.peak_claim`): per replicate, the largest value at widths within
    ×2 of the interpolation width stands above the smallest at a narrower width and every value
    at a wider one; a one-sample t-test of these gaps over the replicates. "The ensemble's error
    is monotone" is a one-sample t-test that the largest rise of each replicate's ensemble curve
    (how far its error exceeds the best narrower ensemble) is below ``rise_margin``. The
    squared-loss decomposition is an identity: a check.

    Bagging's variance reductions 1 − Var(bagged)/Var(single) are statistics of all training
    sets together; they are decided by bootstrap tests that resample the training sets (the
    same resample for every predictor, so comparisons are paired).
    """
    summary = summarize_sweep(rows, fit_error=fit_error)["summary"]
    threshold = summary["interpolation_width"]
    by_replicate = rows_by_seed(rows, "width")
    replicates = len(by_replicate)
    gap = max(abs(r["ensemble_loss"] - (r["mean_member_loss"] - r["diversity"])) for r in rows)
    out = [
        Claim(
            "ensemble squared error = mean member squared error − diversity (an identity)",
            passed=bool(gap < 1e-9),
            evidence=f"largest |Brier(ensemble) − (mean Brier(member) − diversity)| over widths "
            f"and replicates: {gap:.1e}",
            source="Krogh & Vedelsby 1995; " + GEIGER,
        )
    ]
    single = "single networks: the test error peaks near the interpolation threshold"
    variance = "the output variance over initializations peaks near the interpolation threshold"
    if threshold is None:
        missing = f"no width fits the training set (mean train error ≤ {fit_error})"
        out += [Claim(single, False, missing, GEIGER), Claim(variance, False, missing, GEIGER)]
    else:
        where = f"train error first ≤ {fit_error} at width {threshold}"
        out.append(
            peak_claim(
                single,
                by_replicate,
                "test_error",
                center=threshold,
                factor=2.0,
                what="mean single-network error",
                size="width",
                where=f"the mean curve peaks at width {summary['single_peak_width']}; {where}",
                source=GEIGER,
            )
        )
        out.append(
            peak_claim(
                variance,
                by_replicate,
                "variance",
                center=threshold,
                factor=2.0,
                what="output variance",
                size="width",
                where=f"the mean curve peaks at width {summary['variance_peak_width']}; {where}",
                source=GEIGER,
            )
        )
    rises = [
        _rise([runs[w]["ensemble_error"] for w in sorted(runs)])
        for _, runs in sorted(by_replicate.items())
    ]
    singles = [
        _rise([runs[w]["test_error"] for w in sorted(runs)])
        for _, runs in sorted(by_replicate.items())
    ]
    out.append(
        Claim.tested(
            "an ensemble of the seeds removes the peak: its test error does not rise with width",
            exceeds(
                [-v for v in rises],
                -rise_margin,
                name="−largest rise of the ensemble's error",
                hypothesis=f"largest rise of the ensemble error with width < {rise_margin:g}",
            ),
            f"per replicate ({replicates}), the ensemble's error rises above the best narrower "
            "ensemble by at most " + ", ".join(f"{v:.3f}" for v in rises) + " (the single "
            "networks' mean error by " + ", ".join(f"{v:.3f}" for v in singles) + "); error "
            f"at the widest width {summary['widest_ensemble_error']:.3f} (ensemble) vs "
            f"{summary['widest_single_error']:.3f} (single)",
            GEIGER,
        )
    )

    # bagging: bootstrap over training sets, the same resample for every predictor
    sets = len(bagging[PREDICTORS[0]]["single"])
    index = np.random.default_rng(0).integers(0, sets, size=(resamples, sets))
    estimate = _reductions(bagging, np.arange(sets))
    boot = _reductions(bagging, index)
    table = {r["predictor"]: r for r in summarize_bagging(bagging)}

    def evidence(*predictors: str) -> str:
        return (
            "; ".join(
                f"{p}: variance {table[p]['variance_single']:.4f} → "
                f"{table[p]['variance_bagged']:.4f} bagged (reduction {estimate[p]:.2f})"
                for p in predictors
            )
            + f"; {sets} training sets, bootstrap over them"
        )

    for p, statement in (
        ("stump", "bagging reduces the variance of decision stumps (unstable)"),
        ("tree", "bagging reduces the variance of fully grown trees (unstable)"),
        ("network", "bagging reduces the variance of networks"),
    ):
        out.append(
            Claim.tested(
                statement,
                bootstrapped(
                    boot[p],
                    float(estimate[p]),
                    0.0,
                    units=sets,
                    name=f"variance reduction of the {p}",
                    hypothesis=f"1 − Var(bagged {p}) / Var({p}) > 0",
                ),
                evidence(p),
                BUHLMANN,
            )
        )
    unstable = np.minimum(boot["stump"], boot["tree"]) - boot["linear"]
    out.append(
        Claim.tested(
            "bagging helps unstable predictors more than a stable one (least squares)",
            bootstrapped(
                unstable,
                float(min(estimate["stump"], estimate["tree"]) - estimate["linear"]),
                0.0,
                units=sets,
                name="reduction (stump, tree) − reduction (least squares)",
                hypothesis="min(reduction stump, reduction tree) − reduction least squares > 0",
            ),
            evidence("stump", "tree", "linear"),
            BUHLMANN,
        )
    )
    return out


# -- figure -----------------------------------------------------------------------------------
def figure(
    sweep: dict[str, Any], bag: list[dict[str, Any]], bagging: dict[str, Any], spec: Any
) -> Any:
    """(a) single vs ensemble test error against width; (b) output variance against width;
    (c) variance over training sets of single and bagged predictors."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(15, 4), layout="constrained")
    ax1, ax2, ax3 = fig.subplots(1, 3)
    c = sweep["curve"]
    widths = [r["width"] for r in c]
    threshold = sweep["summary"]["interpolation_width"]
    for key, label, color in (
        ("test_error", "single networks (mean)", "C3"),
        ("ensemble_error", f"ensemble of {spec.members}", "C0"),
    ):
        ax1.errorbar(
            widths,
            [r[key] for r in c],
            yerr=[r[f"{key}_std"] for r in c],
            marker="o",
            capsize=3,
            color=color,
            label=f"test, {label}",
        )
    ax1.plot(widths, [r["train_error"] for r in c], "C3--", label="train (single)")
    ax2.errorbar(
        widths,
        [r["variance"] for r in c],
        yerr=[r["variance_std"] for r in c],
        marker="o",
        capsize=3,
        color="C2",
        label="output variance over seeds",
    )
    for ax in (ax1, ax2):
        if threshold is not None:
            ax.axvline(threshold, color="k", ls=":", lw=1)
        ax.set(xscale="log", xlabel="hidden width (dotted: first width that fits the train set)")
        ax.legend(fontsize=8)
    ax1.set(
        ylabel="zero-one error",
        title=f"(a) {spec.data}, n={spec.mlp_train}, label noise {spec.label_noise:g}",
    )
    ax2.set(ylabel="E‖p − ⟨p⟩‖² (class probabilities)", title="(b) variance over initializations")
    x = np.arange(len(bag))
    ax3.bar(x - 0.2, [r["variance_single"] for r in bag], 0.4, label="single fit")
    ax3.bar(x + 0.2, [r["variance_bagged"] for r in bag], 0.4, label=f"bagged ({spec.bootstraps})")
    ax3.set_xticks(x, [r["predictor"] for r in bag])
    ax3.set(
        yscale="log",
        ylabel="variance over training sets",
        title=f"(c) bagging, {len(bagging['stump']['single'])} sets of n={spec.bag_train}",
    )
    ax3.legend(fontsize=8)
    return fig
