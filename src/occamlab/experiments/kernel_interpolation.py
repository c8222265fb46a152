"""Interpolating kernel machines, 1-NN and networks under label noise (Belkin, Ma & Mandal 2018,
arXiv 1802.01396, "To understand deep learning we need to understand kernel learning").

Three classifiers that fit noisy training labels exactly, on the same data and the same noisy
labels: a network trained to 100% training accuracy (:meth:`Context.train_many`), the
minimum-norm kernel interpolant ``α = K⁺ Y`` (float64; the Laplacian kernel, or the network's own
analytic NTK) and the 1-nearest neighbour
(:mod:`occamlab.probes.kernels.interpolation`). Belkin et al. found that interpolating kernel
machines, like interpolating networks, keep generalizing as the label noise grows: their test
error rises with the noise and stays near the Bayes-optimal error, far below chance.

The noise model is the data registry's ``label_noise``: each training label is replaced, with
probability ``p``, by a class drawn uniformly from all ``C`` (it may draw its own class), so a
label is wrong with probability ``q = p (C − 1)/C``. On labels drawn so, a classifier whose error
on clean labels is ``e`` errs with probability exactly (:func:`noisy_label_error`)

    err_p(e) = (1 − p) e + p (C − 1)/C,

and since the noise maps the class posterior ``η`` to ``(1 − p) η + p/C`` (same argmax), the
Bayes-optimal classifier is the clean one: the Bayes error on noisy labels is ``err_p(B₀)``, at
least ``q`` (``B₀``, the clean task's Bayes error, is about 0 for digits and taken as 0, which
only makes the claims below harder). The registry's test labels stay clean; every error here is
measured on them and also reported on noisy test labels as ``err_p`` of it (the expectation over
the test-label noise, exact; Belkin et al. put the noise on both splits).

The 1-NN rule predicts its nearest training input's noisy label, and the nearest neighbour does
not depend on the labels, so with ``e₀`` its noise-free error its error on noisy labels is exactly
(in expectation) ``(1 − p)² e₀ + (1 − (1 − p)²)(C − 1)/C`` (:func:`nearest_neighbour_error`) —
the Cover–Hart limit ``R*(2 − C R*/(C − 1))`` at ``R* = q`` (:func:`cover_hart_bound`; at most
``2R*``) plus the finite-sample term ``(1 − p)² e₀``.

The claims (see :func:`claims`) are tests over the seeds (a seed draws the noisy labels and the
network's initialization and data order).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import numpy as np

from occamlab.data import data_spec, load_data
from occamlab.experiments.framework import Claim, Context, ExperimentResult
from occamlab.experiments.registry import EXPERIMENTS
from occamlab.experiments.stats import exceeds, grouped_mean_std, trend, within
from occamlab.models import model_spec
from occamlab.train import TrainSpec

SOURCE = "Belkin, Ma & Mandal 2018, arXiv 1802.01396"
COVER_HART = "Cover & Hart 1967, IEEE Trans. Inf. Theory 13(1)"
KERNELS = ("laplacian", "ntk")
METHODS = ("kernel", "network", "nearest_neighbour")
KernelName = Literal["laplacian", "ntk"]


def noisy_label_error(clean_error: float, p: float, num_classes: int) -> float:
    """Error on labels with noise ``p`` (each replaced with probability ``p`` by a uniform class)
    of a classifier with error ``clean_error`` on the clean labels: ``(1 − p) e + p (C − 1)/C``.
    At the clean Bayes error it is the Bayes error of the noisy task.

    >>> round(noisy_label_error(0.0, 0.5, 10), 12)
    0.45
    """
    _check(p, num_classes)
    return (1.0 - p) * clean_error + p * (num_classes - 1) / num_classes


def cover_hart_bound(bayes: float, num_classes: int) -> float:
    """Cover & Hart's limit of the 1-NN error, ``R*(2 − C R*/(C − 1))`` (≤ 2R*).

    >>> round(cover_hart_bound(0.1, 2), 12)
    0.18
    """
    _check(0.0, num_classes)
    return bayes * (2.0 - num_classes * bayes / (num_classes - 1))


def nearest_neighbour_error(clean_error: float, p: float, num_classes: int) -> float:
    """Expected error on noisy test labels of the 1-NN rule on noisy training labels, both with
    noise ``p``, when its error without noise is ``e₀``:
    ``(1 − p)² e₀ + (1 − (1 − p)²)(C − 1)/C`` (right only if both labels are kept; a replaced
    one matches the other with probability 1/C).

    >>> round(nearest_neighbour_error(0.0, 0.5, 10), 12)  # = cover_hart_bound(0.45, 10)
    0.675
    """
    _check(p, num_classes)
    kept = (1.0 - p) ** 2
    return kept * clean_error + (1.0 - kept) * (num_classes - 1) / num_classes


def _check(p: float, num_classes: int) -> None:
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"label noise p must lie in [0, 1], got {p!r}")
    if num_classes < 2:
        raise ValueError(f"need at least 2 classes, got {num_classes!r}")


@EXPERIMENTS.register
@dataclass(frozen=True)
class KernelInterpolation:
    """An interpolating kernel machine, 1-NN and an interpolating network under label noise.

    Attributes:
        seeds: seeds per noise level (the noisy labels, the network's initialization and data
            order); the claims are tests over them.
        data: the classification data set (a registry name; ``digits`` or ``mnist1d``).
        num_train: training examples (0: the data set's own split, as for ``digits``).
        max_noise: the largest label noise p; the levels run evenly from 0 to it.
        num_levels: noise levels (at least 3).
        kernel: the kernel the claims use: ``laplacian`` (Belkin et al.'s) or ``ntk`` (the
            network's analytic NTK); both are always measured.
        bandwidth: the Laplacian kernel's σ, as a multiple of the median distance between
            training inputs.
        width: hidden width of the MLP.
        depth: hidden layers of the MLP (and of its NTK).
        lr: Adam learning rate.
        batch_size: minibatch size.
        max_epochs: give up after this many epochs (a network that does not fit fails a claim).
        tolerance: the kernel's and the network's test errors (on noisy labels, mean over the
            levels) are "alike" within this.
    """

    name: ClassVar[str] = "kernel-interpolation"
    summary: ClassVar[str] = (
        "Interpolating kernel machines and 1-NN under label noise: error rises with the noise, "
        "stays far below chance, against the Bayes error and the Cover–Hart bound"
    )
    paper: ClassVar[str] = SOURCE
    scales: ClassVar[dict[str, dict[str, Any]]] = {
        "quick": {},
        "paper": {
            "seeds": 5,
            "data": "mnist1d",
            "num_train": 4000,
            "num_levels": 6,
            "width": 512,
        },
    }
    settings: ClassVar[dict[str, dict[str, Any]]] = {
        # the claims on the network's own infinite-width kernel instead of the Laplacian
        "ntk": {"kernel": "ntk"},
    }

    seeds: int = 5
    data: str = "digits"
    num_train: int = 0
    max_noise: float = 0.5
    num_levels: int = 5
    kernel: KernelName = "laplacian"
    bandwidth: float = 1.0
    width: int = 256
    depth: int = 2
    lr: float = 1e-3
    batch_size: int = 128
    max_epochs: int = 1000
    tolerance: float = 0.05

    def __post_init__(self) -> None:
        if self.seeds < 1 or self.num_levels < 3 or not 0.0 < self.max_noise < 1.0:
            raise ValueError(
                "kernel-interpolation needs seeds >= 1, num_levels >= 3 and 0 < max_noise < 1"
            )
        if self.kernel not in KERNELS:
            raise ValueError(f"kernel must be one of {', '.join(KERNELS)}, got {self.kernel!r}")
        if not self.bandwidth > 0 or not self.tolerance > 0:
            raise ValueError("bandwidth and tolerance must be positive")
        self.dataset(), model_spec("mlp", width=self.width, depth=self.depth)

    def dataset(self, **corruption: Any) -> Any:
        """The data set's spec with this label noise (``num_train`` 0: the data set's own)."""
        sizes = {"num_train": self.num_train} if self.num_train else {}
        return data_spec(self.data, **sizes, **corruption)

    def levels(self) -> list[float]:
        return [round(float(p), 6) for p in np.linspace(0.0, self.max_noise, self.num_levels)]

    def run(self, ctx: Context) -> ExperimentResult:
        from occamlab.runs import TrainJob

        model = model_spec("mlp", width=self.width, depth=self.depth)
        recipe = dict(
            optimizer="adam",
            lr=self.lr,
            batch_size=self.batch_size,
            epochs=self.max_epochs,
            schedule="constant",
            target_accuracy=1.0,
            eval_every=5,
        )
        runs = [(p, s) for p in self.levels() for s in range(self.seeds)]
        # the noise levels of a seed share inputs and data order: one vectorized ensemble
        jobs = [
            TrainJob(
                model=model,
                data=self.dataset(label_noise=p, corruption_seed=seed),
                train=TrainSpec(**recipe, seed=seed),
                seed=seed,
            )
            for p, seed in runs
        ]
        trained = ctx.train_many(jobs)
        rows = []
        for (p, seed), t in zip(ctx.track(runs, "kernels and 1-NN"), trained, strict=True):
            key = {
                "data": self.dataset(label_noise=p, corruption_seed=seed),
                "bandwidth": self.bandwidth,
                "depth": self.depth,
            }
            classical = ctx.cached(
                "kernels",
                key,
                lambda _d, data=key["data"]: classical_errors(
                    data, bandwidth=self.bandwidth, depth=self.depth
                ),
            )
            m = t.record.metrics
            rows.append(
                {
                    "label_noise": p,
                    "seed": seed,
                    "network_train_accuracy": m["train_accuracy"],
                    "network_error": 1.0 - m["test_accuracy"],
                    "network_steps": m["steps"],
                    **classical,
                }
            )
        num_classes = trained[0].subject.data.num_outputs
        rows = with_noisy_errors(rows, kernel=self.kernel, num_classes=num_classes)
        summary = summarize(rows, num_classes=num_classes)
        return ExperimentResult(
            metrics=summary,
            tables={"by noise level": summary["by_level"], "runs": rows},
            figures={"test error vs label noise": figure(summary, self, num_classes)},
            claims=claims(rows, num_classes=num_classes, tolerance=self.tolerance),
        )


def classical_errors(data_spec_: Any, *, bandwidth: float, depth: int) -> dict[str, float]:
    """Test errors (clean test labels) of the minimum-norm interpolants of the Laplacian kernel
    and of the analytic NTK of a ReLU MLP with ``depth`` hidden layers, and of 1-NN, fitted to
    the (noisy) training labels of ``data_spec_``; with their training errors."""
    from occamlab.probes.kernels.analytic import analytic_ntk
    from occamlab.probes.kernels.interpolation import (
        interpolate,
        laplacian_kernel,
        median_distance,
        nearest_neighbour,
    )

    data = load_data(data_spec_)
    x, y = data.train.x.double().flatten(1), data.train.y
    xt, yt = data.test.x.double().flatten(1), data.test.y
    sigma = bandwidth * median_distance(x)
    out: dict[str, float] = {"bandwidth": sigma}
    kernels = {
        "laplacian": (
            laplacian_kernel(x, bandwidth=sigma),
            laplacian_kernel(xt, x, bandwidth=sigma),
        ),
        "ntk": tuple(
            analytic_ntk(a, x, depth=depth, weight_std=math.sqrt(2.0)).ntk for a in (x, xt)
        ),
    }
    for name, (k, kt) in kernels.items():
        fit = interpolate(k, y, kt, num_classes=data.num_outputs)
        out[f"{name}_error"] = fit.error(yt)
        out[f"{name}_train_error"] = fit.train_error
        out[f"{name}_max_residual"] = fit.max_residual
    out["nearest_neighbour_error"] = float((nearest_neighbour(x, y, xt) != yt).double().mean())
    out["nearest_neighbour_train_error"] = float((nearest_neighbour(x, y, x) != y).double().mean())
    return out


def with_noisy_errors(
    rows: list[dict[str, Any]], *, kernel: str, num_classes: int
) -> list[dict[str, Any]]:
    """Each run with the claims' kernel as ``kernel_*``, each method's error on noisy test labels
    (``*_noisy_error``, :func:`noisy_label_error`), the Bayes error on noisy labels with a clean
    Bayes error of 0 (``bayes_error``), the Cover–Hart limit at it, and the 1-NN error the
    noise model predicts from the same seed's noise-free 1-NN error."""
    clean_nn = {r["seed"]: r["nearest_neighbour_error"] for r in rows if r["label_noise"] == 0.0}
    out = []
    for r in rows:
        p = r["label_noise"]
        row = dict(r)
        row["kernel_error"] = r[f"{kernel}_error"]
        row["kernel_train_error"] = r[f"{kernel}_train_error"]
        for method in (*METHODS, *KERNELS):
            row[f"{method}_noisy_error"] = noisy_label_error(row[f"{method}_error"], p, num_classes)
        row["bayes_error"] = noisy_label_error(0.0, p, num_classes)
        row["cover_hart"] = cover_hart_bound(row["bayes_error"], num_classes)
        if r["seed"] in clean_nn:
            row["nearest_neighbour_predicted"] = nearest_neighbour_error(
                clean_nn[r["seed"]], p, num_classes
            )
        out.append(row)
    return out


def summarize(rows: list[dict[str, Any]], *, num_classes: int) -> dict[str, Any]:
    """Mean ± std over seeds per noise level of every error."""
    keys = [f"{m}_{kind}" for m in (*METHODS, *KERNELS) for kind in ("error", "noisy_error")] + [
        "bayes_error",
        "cover_hart",
        "nearest_neighbour_predicted",
        "network_train_accuracy",
    ]
    ordered = sorted(rows, key=lambda r: (r["label_noise"], r["seed"]))
    by_level = grouped_mean_std(ordered, ["label_noise"], keys, count="seeds")
    return {
        "by_level": by_level,
        "chance_error": 1.0 - 1.0 / num_classes,
        "lowest_network_train_accuracy": min(r["network_train_accuracy"] for r in rows),
    }


def _per_seed(rows: list[dict[str, Any]], key: str) -> dict[int, dict[float, float]]:
    out: dict[int, dict[float, float]] = {}
    for r in rows:
        out.setdefault(r["seed"], {})[r["label_noise"]] = r[key]
    return out


def claims(rows: list[dict[str, Any]], *, num_classes: int, tolerance: float) -> list[Claim]:
    """Belkin et al.'s findings (and Cover & Hart's bound) as tests over the seeds.

    Errors are on noisy test labels (:func:`with_noisy_errors`) but for the rise. That all three
    interpolate is checked run by run. The rise of the kernel's and the network's error on clean
    test labels with the noise (on noisy ones the Bayes error alone rises) are slope t-tests over
    every (p, seed) run. "Far below chance" at the largest noise: per seed the worse
    of the two stays less than halfway from the Bayes error to chance (one-sample t-test). The
    kernel against the network: per seed the mean over the levels of network − kernel, at least
    −0.02 (the kernel generalizes at least as well) and within ``tolerance`` of 0 (alike),
    one-sample t-tests. 1-NN: 2·Bayes − its error > 0 at the largest noise, and its error within
    0.02 (about the standard error of one error on 400 test examples) of the noise model's
    prediction from the seed's noise-free 1-NN error (mean over the noisy levels, two one-sided
    t-tests).
    """
    levels = sorted({r["label_noise"] for r in rows})
    top = levels[-1]
    chance = 1.0 - 1.0 / num_classes
    seeds = sorted({r["seed"] for r in rows})
    at_top = {r["seed"]: r for r in rows if r["label_noise"] == top}
    bayes_top = noisy_label_error(0.0, top, num_classes)
    halfway = (bayes_top + chance) / 2
    mean_at = {
        (key, p): float(np.mean([r[key] for r in rows if r["label_noise"] == p]))
        for method in METHODS
        for key in (f"{method}_error", f"{method}_noisy_error")
        for p in levels
    }

    def curve(key: str) -> str:
        return ", ".join(f"{p:g}: {mean_at[(key, p)]:.3f}" for p in levels)

    worst_fit = min(r["network_train_accuracy"] for r in rows)
    worst_kernel = max(r["kernel_train_error"] for r in rows)
    worst_nn = max(r["nearest_neighbour_train_error"] for r in rows)
    fit = Claim(
        "the network, the kernel machine and 1-NN all interpolate the noisy training labels",
        worst_fit >= 1.0 and worst_kernel == 0.0 and worst_nn == 0.0,
        f"lowest network training accuracy {worst_fit:.4f}, highest training error of the "
        f"kernel interpolant {worst_kernel:.4f} and of 1-NN {worst_nn:.4f} over {len(rows)} runs",
        SOURCE + ", §3",
    )

    def rise(method: str, label: str) -> Claim:
        # on clean test labels: on noisy ones the Bayes error alone rises with p
        key = f"{method}_error"
        return Claim.tested(
            f"the {label}'s test error (clean test labels) rises with the label noise",
            trend(
                [r["label_noise"] for r in rows],
                [r[key] for r in rows],
                name=f"{label} error",
                hypothesis=f"slope of the {label}'s clean test error against p > 0",
            ),
            f"mean error by p on clean test labels: {curve(key)}; on noisy ones: "
            f"{curve(method + '_noisy_error')} (Bayes: "
            + ", ".join(f"{noisy_label_error(0.0, p, num_classes):.3f}" for p in levels)
            + ")",
            SOURCE + ", Fig. 3",
        )

    worse = [max(at_top[s]["kernel_noisy_error"], at_top[s]["network_noisy_error"]) for s in seeds]
    below = Claim.tested(
        f"at p={top:g} both stay far below chance: less than halfway from the Bayes error "
        f"({bayes_top:.3f}) to chance ({chance:.3f})",
        exceeds(
            [-v for v in worse],
            -halfway,
            name="−worse error",
            hypothesis=f"max(kernel, network) test error at p={top:g} < {halfway:.3f}",
        ),
        f"at p={top:g}: kernel {mean_at[('kernel_noisy_error', top)]:.3f}, network "
        f"{mean_at[('network_noisy_error', top)]:.3f} (halfway {halfway:.3f}, {len(seeds)} seeds)",
        SOURCE + ", Fig. 3",
    )
    gap = _per_seed(rows, "network_noisy_error")
    kern = _per_seed(rows, "kernel_noisy_error")
    gaps = [float(np.mean([gap[s][p] - kern[s][p] for p in gap[s]])) for s in seeds]
    gap_text = (
        f"network − kernel error, mean over the {len(levels)} levels: "
        + ", ".join(f"{g:+.3f}" for g in gaps)
        + " per seed"
    )
    as_good = Claim.tested(
        "the interpolating kernel machine generalizes at least as well as the interpolating "
        "network (network − kernel > −0.02)",
        exceeds(gaps, -0.02, name="network − kernel", hypothesis="network − kernel error > −0.02"),
        gap_text,
        SOURCE + ", §3–4",
    )
    alike = Claim.tested(
        f"the interpolating kernel machine and network generalize alike (within {tolerance:g})",
        within(
            gaps,
            0.0,
            tolerance,
            name="network − kernel",
            hypothesis=f"|network − kernel error| < {tolerance:g}",
        ),
        gap_text,
        SOURCE + ", §3–4",
    )
    nn_top = [at_top[s]["nearest_neighbour_noisy_error"] for s in seeds]
    twice = Claim.tested(
        f"at p={top:g} 1-NN's test error is at most twice the Bayes error (Cover–Hart)",
        exceeds(
            [2 * bayes_top - v for v in nn_top],
            0.0,
            name="2·Bayes − 1-NN error",
            hypothesis=f"1-NN test error at p={top:g} < 2 × {bayes_top:.3f}",
        ),
        f"1-NN error by p: {curve('nearest_neighbour_noisy_error')}; at p={top:g} "
        f"{float(np.mean(nn_top)):.3f} vs 2·Bayes {2 * bayes_top:.3f} and the Cover–Hart limit "
        f"{cover_hart_bound(bayes_top, num_classes):.3f}",
        COVER_HART + "; " + SOURCE + ", §3",
    )
    noisy = [p for p in levels if p > 0]
    predicted = _per_seed(
        [r for r in rows if "nearest_neighbour_predicted" in r], "nearest_neighbour_predicted"
    )
    measured = _per_seed(rows, "nearest_neighbour_noisy_error")
    misses = [
        float(np.mean([measured[s][p] - predicted[s][p] for p in noisy]))
        for s in seeds
        if s in predicted
    ]
    follows = Claim.tested(
        "1-NN's error is the Cover–Hart limit plus its noise-free finite-sample error × (1 − p)² "
        "(within 0.02)",
        within(
            misses,
            0.0,
            0.02,
            name="measured − predicted",
            hypothesis="|1-NN error − ((1 − p)² e₀ + (1 − (1 − p)²)(C − 1)/C)| < 0.02",
        ),
        "measured − predicted 1-NN error, mean over p > 0: "
        + ", ".join(f"{m:+.4f}" for m in misses)
        + " per seed",
        COVER_HART,
    )
    return [
        fit,
        rise("kernel", "kernel machine"),
        rise("network", "network"),
        below,
        as_good,
        alike,
        twice,
        follows,
    ]


def figure(summary: dict[str, Any], spec: KernelInterpolation, num_classes: int) -> Any:
    """Test error against label noise on noisy and on clean test labels: the interpolating
    network, kernel machines and 1-NN, with the Bayes error, the Cover–Hart limit and chance."""
    from matplotlib.figure import Figure

    rows = summary["by_level"]
    ps = [r["label_noise"] for r in rows]
    fig = Figure(figsize=(10, 4))
    axes = fig.subplots(1, 2)
    curves = [
        ("network", "network (MLP)", "C0", "o"),
        ("laplacian", "Laplacian kernel", "C1", "s"),
        ("ntk", "NTK kernel", "C2", "^"),
        ("nearest_neighbour", "1-NN", "C3", "v"),
    ]
    for ax, kind in zip(axes, ("noisy_error", "error"), strict=True):
        for key, label, color, marker in curves:
            std = [r[f"{key}_{kind}_std"] for r in rows]
            ax.errorbar(
                ps,
                [r[f"{key}_{kind}"] for r in rows],
                yerr=std,
                marker=marker,
                color=color,
                capsize=3,
                label=label,
            )
        ax.axhline(summary["chance_error"], color="k", ls=":", lw=1, label="chance")
    grid = np.linspace(0.0, max(ps), 50)
    bayes = [noisy_label_error(0.0, p, num_classes) for p in grid]
    axes[0].plot(grid, bayes, "k-", lw=1, label="Bayes (p(C−1)/C)")
    axes[0].plot(
        grid,
        [cover_hart_bound(b, num_classes) for b in bayes],
        "k--",
        lw=1,
        label="Cover–Hart limit",
    )
    axes[0].set(xlabel="label noise p", ylabel="test error", title="noisy test labels")
    axes[1].plot(
        grid,
        [p * (num_classes - 1) / num_classes for p in grid],
        "k-.",
        lw=1,
        label="wrong training labels q",
    )
    axes[1].set(xlabel="label noise p", ylabel="test error", title="clean test labels")
    for ax in axes:
        ax.legend(fontsize=7)
    fig.suptitle(f"{spec.data}: interpolating classifiers under label noise", fontsize=10)
    return fig
