"""Double descent (Belkin, Hsu, Ma & Mandal 2019, arXiv 1812.11118; Nakkiran, Kaplun, Bansal,
Yang, Barak & Sutskever 2019, arXiv 1912.02292).

(a) Random Fourier features with minimum-norm least squares on ``n`` MNIST-1D examples, the
number of features ``N`` swept through ``n`` (Belkin et al., Fig. 2): the fit interpolates from
``N = n`` on; test error and the norm of the solution peak there and fall again beyond it, to
below the best under-parameterized error.

(b) MLPs of growing width trained to convergence on MNIST-1D with 15% label noise (Nakkiran et
al., Fig. 1; model-wise double descent): the test error peaks near the interpolation threshold
(the smallest width that fits the training set) and falls again for wider networks; without label
noise the peak shrinks (their Fig. 4).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import torch

from occamlab.data import Data, data_spec, load_data
from occamlab.experiments.framework import Claim, Context, ExperimentResult
from occamlab.experiments.registry import EXPERIMENTS
from occamlab.experiments.stats import mean_std
from occamlab.models import model_spec
from occamlab.train import TrainSpec

BELKIN = "Belkin et al. 2019, arXiv 1812.11118"
NAKKIRAN = "Nakkiran et al. 2019, arXiv 1912.02292"
#: Features per training example N/n of the random-features sweep (dense around 1).
FEATURE_RATIOS = (0.1, 0.2, 0.4, 0.6, 0.8, 0.9, 1.0, 1.1, 1.25, 1.5, 2.0, 4.0, 8.0, 16.0)
#: Hidden widths of the MLP sweep.
WIDTHS = (2, 4, 8, 12, 16, 24, 32, 64, 128, 256, 512, 1024)


@EXPERIMENTS.register
@dataclass(frozen=True)
class DoubleDescent:
    """Test error against model size peaks at the interpolation threshold and falls again.

    Attributes:
        seeds: seeds per model size (feature draw; initialization, data order, label noise).
        rff_train: training examples n of the random-features fit.
        rff_max_ratio: largest N/n of the random-features sweep.
        bandwidth: σ of the Gaussian kernel the random features approximate (inputs have unit
            scale and 40 dimensions).
        mlp_train: training examples of the MLP sweep.
        label_noise: label noise of the MLP sweep (a control runs without).
        depth: hidden layers of the MLPs.
        min_width: smallest hidden width of the sweep.
        max_width: largest hidden width of the sweep.
        lr: Adam learning rate.
        batch_size: minibatch size (0: full batch).
        steps: optimizer steps per MLP (training to convergence, no early stopping).
        fit_error: training error at or below which a network counts as interpolating.
    """

    name: ClassVar[str] = "double-descent"
    summary: ClassVar[str] = (
        "Test error peaks at the interpolation threshold and falls again (features, width)"
    )
    paper: ClassVar[str] = f"{BELKIN}; {NAKKIRAN}"
    scales: ClassVar[dict[str, dict[str, Any]]] = {
        "quick": {},
        "paper": {
            "seeds": 5,
            "rff_train": 4000,
            "mlp_train": 4000,
            "max_width": 1024,
            "steps": 20000,
        },
    }

    seeds: int = 3
    rff_train: int = 1000
    rff_max_ratio: float = 8.0
    bandwidth: float = 5.0
    mlp_train: int = 1000
    label_noise: float = 0.15
    depth: int = 2
    min_width: int = 4
    max_width: int = 128
    lr: float = 3e-3
    batch_size: int = 0
    steps: int = 3000
    fit_error: float = 0.01

    def __post_init__(self) -> None:
        if self.seeds < 1 or not self.widths() or not self.ratios():
            raise ValueError("double-descent needs seeds >= 1 and a non-empty width/feature sweep")

    def ratios(self) -> list[float]:
        return [r for r in FEATURE_RATIOS if r <= self.rff_max_ratio]

    def widths(self) -> list[int]:
        return [w for w in WIDTHS if self.min_width <= w <= self.max_width]

    def run(self, ctx: Context) -> ExperimentResult:
        rff_rows = self.random_features(ctx)
        mlp_rows = self.width_sweep(ctx)
        rff = summarize_rff(rff_rows, n=self.rff_train)
        mlp = summarize_mlp(mlp_rows, fit_error=self.fit_error)
        return ExperimentResult(
            metrics={"random_features": rff["summary"], "mlp": mlp["summary"]},
            tables={
                "random features (mean over seeds)": rff["curve"],
                "MLP width sweep (mean over seeds)": mlp["curve"],
            },
            figures={"double descent": figure(rff, mlp, self)},
            claims=claims(rff["summary"], mlp["summary"], n=self.rff_train),
        )

    # -- (a) random Fourier features ---------------------------------------------------------
    def random_features(self, ctx: Context) -> list[dict[str, Any]]:
        spec = data_spec("mnist1d", num_train=self.rff_train)
        data = load_data(spec)
        grid = [(r, s) for r in self.ratios() for s in range(self.seeds)]
        rows = []
        for ratio, seed in ctx.track(grid, "random features"):
            features = max(1, round(ratio * self.rff_train))
            key = {"data": spec, "features": features, "bandwidth": self.bandwidth, "seed": seed}
            out = ctx.cached(
                "rff",
                key,
                lambda _d, features=features, seed=seed: rff_fit(
                    data, features=features, bandwidth=self.bandwidth, seed=seed
                ),
            )
            rows.append({"ratio": ratio, "features": features, "seed": seed, **out})
        return rows

    # -- (b) MLP width sweep -----------------------------------------------------------------
    def width_sweep(self, ctx: Context) -> list[dict[str, Any]]:
        from occamlab.runs import TrainJob

        recipe = {
            "optimizer": "adam",
            "lr": self.lr,
            "batch_size": self.batch_size,
            "epochs": 0,
            "max_steps": self.steps,
            "schedule": "constant",
            "eval_every": 10**9,  # evaluate once, at the end
        }
        runs = [
            (noise, width, seed)
            for noise in (self.label_noise, 0.0)
            for width in self.widths()
            for seed in range(self.seeds)
        ]
        # Full-batch training has no data order: one recipe seed lets the seeds (and both noise
        # levels) of a width train together as one vectorized ensemble.
        jobs = [
            TrainJob(
                model=model_spec("mlp", width=width, depth=self.depth),
                data=data_spec(
                    "mnist1d", num_train=self.mlp_train, label_noise=noise, corruption_seed=seed
                ),
                train=TrainSpec(**recipe, seed=seed if self.batch_size else 0),
                seed=seed,
            )
            for noise, width, seed in runs
        ]
        metrics = [dict(t.record.metrics) for t in ctx.train_many(jobs)]
        return [
            {
                "label_noise": noise,
                "width": width,
                "seed": seed,
                "parameters": m["num_parameters"],
                "train_error": 1.0 - m["train_accuracy"],
                "test_error": 1.0 - m["test_accuracy"],
                "test_loss": m["test_loss"],
            }
            for (noise, width, seed), m in zip(runs, metrics, strict=True)
        ]


def rff_fit(d: Data, *, features: int, bandwidth: float, seed: int) -> dict[str, float]:
    """Fit one-hot targets by minimum-norm least squares on random Fourier features."""
    from occamlab.experiments.rff import RandomFourierFeatures, min_norm_least_squares

    phi = RandomFourierFeatures.sample(
        input_dim=d.train.x[0].numel(),
        num_features=features,
        bandwidth=bandwidth,
        generator=torch.Generator().manual_seed(seed),
    )
    train = phi(d.train.x)
    onehot = torch.nn.functional.one_hot(d.train.y, d.num_outputs).to(torch.float64)
    theta = min_norm_least_squares(train, onehot)
    fitted, predicted = train @ theta, phi(d.test.x) @ theta
    test_onehot = torch.nn.functional.one_hot(d.test.y, d.num_outputs).to(torch.float64)
    return {
        "train_error": float((fitted.argmax(1) != d.train.y).double().mean()),
        "test_error": float((predicted.argmax(1) != d.test.y).double().mean()),
        "train_mse": float((fitted - onehot).pow(2).sum(1).mean()),
        "test_mse": float((predicted - test_onehot).pow(2).sum(1).mean()),
        "norm": float(theta.norm()),
    }


def _curve(rows: list[dict[str, Any]], by: tuple[str, ...], keys: tuple[str, ...]) -> list[dict]:
    groups: dict[tuple, list[dict[str, Any]]] = {}
    for r in rows:
        groups.setdefault(tuple(r[k] for k in by), []).append(r)
    out = []
    for group, rs in groups.items():
        row = dict(zip(by, group, strict=True))
        for key in keys:
            row[key], row[f"{key}_std"] = mean_std([r[key] for r in rs])
        out.append(row)
    return out


def summarize_rff(rows: list[dict[str, Any]], *, n: int) -> dict[str, Any]:
    """Mean curves over seeds; the peak, the best under- and the last over-parameterized error."""
    curve = _curve(
        rows,
        ("ratio", "features"),
        ("train_error", "test_error", "train_mse", "test_mse", "norm"),
    )
    curve.sort(key=lambda r: r["features"])
    peak = max(curve, key=lambda r: r["test_error"])
    top_norm = max(curve, key=lambda r: r["norm"])
    under = [r for r in curve if r["features"] < n]
    over = [r for r in curve if r["features"] >= n]
    best_under = min(under, key=lambda r: r["test_error"]) if under else None
    return {
        "curve": curve,
        "summary": {
            "peak_features": peak["features"],
            "peak_error": peak["test_error"],
            "peak_error_std": peak["test_error_std"],
            "norm_peak_features": top_norm["features"],
            "best_under_features": None if best_under is None else best_under["features"],
            "best_under_error": None if best_under is None else best_under["test_error"],
            "last_features": curve[-1]["features"],
            "last_error": curve[-1]["test_error"],
            "last_error_std": curve[-1]["test_error_std"],
            "interpolates_from_n": all(r["train_mse"] < 1e-6 for r in over)
            and all(r["train_mse"] > 1e-6 for r in under),
        },
    }


def summarize_mlp(rows: list[dict[str, Any]], *, fit_error: float) -> dict[str, Any]:
    """Per noise level: the interpolation threshold, the peak, and the error of the widest net."""
    curve = _curve(
        rows, ("label_noise", "width", "parameters"), ("train_error", "test_error", "test_loss")
    )
    curve.sort(key=lambda r: (-r["label_noise"], r["width"]))
    summary: dict[str, Any] = {}
    for noise in sorted({r["label_noise"] for r in curve}, reverse=True):
        c = [r for r in curve if r["label_noise"] == noise]
        threshold = next((r["width"] for r in c if r["train_error"] <= fit_error), None)
        top = max(range(len(c)), key=lambda i: c[i]["test_error"])
        # The peak height: how far the error climbs from its best narrower network to the peak
        # (0 when the narrowest network is the worst: no first ascent).
        base = min(r["test_error"] for r in c[: top + 1])
        summary[f"noise={noise}"] = {
            "interpolation_width": threshold,
            "peak_width": c[top]["width"],
            "peak_error": c[top]["test_error"],
            "peak_error_std": c[top]["test_error_std"],
            "widest_width": c[-1]["width"],
            "widest_error": c[-1]["test_error"],
            "widest_error_std": c[-1]["test_error_std"],
            "peak_height": c[top]["test_error"] - base,
        }
    return {"curve": curve, "summary": summary}


def _within_factor(a: float | None, b: float | None, factor: float) -> bool:
    return a is not None and b is not None and max(a, b) <= factor * min(a, b)


def claims(rff: dict[str, Any], mlp: dict[str, Any], *, n: int) -> list[Claim]:
    """Belkin et al.'s and Nakkiran et al.'s findings, checked on the summaries."""
    noisy_key = next(k for k in mlp if k != "noise=0.0")
    noisy, clean = mlp[noisy_key], mlp["noise=0.0"]
    falls = noisy["widest_error"] < noisy["peak_error"] - max(
        2 * noisy["widest_error_std"], 2 * noisy["peak_error_std"], 0.01
    )
    return [
        Claim(
            "random features: the test error peaks at the interpolation threshold N = n",
            passed=bool(
                rff["interpolates_from_n"] and _within_factor(rff["peak_features"], n, 1.25)
            ),
            evidence=f"peak test error {rff['peak_error']:.3f} ± {rff['peak_error_std']:.3f} at "
            f"N = {rff['peak_features']} (n = {n}); training MSE is 0 exactly from N = n on: "
            f"{rff['interpolates_from_n']}",
            source=BELKIN + ", Fig. 2",
        ),
        Claim(
            "random features: beyond the peak the error falls below the best under-parameterized",
            passed=bool(
                rff["best_under_error"] is not None
                and rff["last_error"] < rff["best_under_error"]
                and rff["last_error"] < rff["peak_error"]
            ),
            evidence=f"test error {rff['last_error']:.3f} ± {rff['last_error_std']:.3f} at N = "
            f"{rff['last_features']} vs best {rff['best_under_error']:.3f} for N < n (at N = "
            f"{rff['best_under_features']}) and {rff['peak_error']:.3f} at the peak",
            source=BELKIN + ", Fig. 2",
        ),
        Claim(
            "random features: the norm of the minimum-norm solution peaks at N = n",
            passed=bool(_within_factor(rff["norm_peak_features"], n, 1.25)),
            evidence=f"largest ‖θ‖ at N = {rff['norm_peak_features']} (n = {n})",
            source=BELKIN + ", Fig. 2 (middle)",
        ),
        Claim(
            "MLP with label noise: the test error peaks near the interpolation threshold width",
            passed=bool(_within_factor(noisy["peak_width"], noisy["interpolation_width"], 2.0)),
            evidence=f"peak test error {noisy['peak_error']:.3f} ± {noisy['peak_error_std']:.3f} "
            f"at width {noisy['peak_width']}; train error first ≤ fit threshold at width "
            f"{noisy['interpolation_width']} (within a factor 2 counts as near)",
            source=NAKKIRAN + ", Fig. 1",
        ),
        Claim(
            "MLP with label noise: the test error falls again for wider networks",
            passed=bool(falls),
            evidence=f"test error {noisy['widest_error']:.3f} ± {noisy['widest_error_std']:.3f} "
            f"at width {noisy['widest_width']} vs {noisy['peak_error']:.3f} at the peak "
            "(must drop by more than twice the seed spread)",
            source=NAKKIRAN + ", Fig. 1",
        ),
        Claim(
            "without label noise the peak shrinks",
            passed=bool(clean["peak_height"] < noisy["peak_height"]),
            evidence=f"rise of the test error from its best narrower network to the peak: "
            f"{noisy['peak_height']:.3f} with "
            f"{noisy_key.removeprefix('noise=')} label noise vs {clean['peak_height']:.3f} "
            "without",
            source=NAKKIRAN + ", Fig. 4",
        ),
    ]


def figure(rff: dict[str, Any], mlp: dict[str, Any], spec: DoubleDescent) -> Any:
    """(a) test/train error and norm against N/n; (b) test/train error against width."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(12, 4), layout="constrained")
    ax1, ax2 = fig.subplots(1, 2)
    curve = rff["curve"]
    ratios = [r["features"] / spec.rff_train for r in curve]
    ax1.errorbar(
        ratios,
        [r["test_error"] for r in curve],
        yerr=[r["test_error_std"] for r in curve],
        marker="o",
        capsize=3,
        label="test error",
    )
    ax1.plot(ratios, [r["train_error"] for r in curve], "C0--", label="train error")
    ax1.axvline(1.0, color="k", ls=":", lw=1)
    ax1.set(
        xscale="log",
        xlabel="random features per training example N/n",
        ylabel="zero-one error",
        title=f"(a) random Fourier features, min-norm fit, n={spec.rff_train}",
    )
    norm_ax = ax1.twinx()
    norm_ax.plot(ratios, [r["norm"] for r in curve], "C2:", label="‖θ‖")
    norm_ax.set(yscale="log", ylabel="‖θ‖ (dotted)")
    ax1.legend(fontsize=8, loc="upper right")
    for i, noise in enumerate(sorted({r["label_noise"] for r in mlp["curve"]}, reverse=True)):
        c = [r for r in mlp["curve"] if r["label_noise"] == noise]
        widths = [r["width"] for r in c]
        ax2.errorbar(
            widths,
            [r["test_error"] for r in c],
            yerr=[r["test_error_std"] for r in c],
            marker="o",
            capsize=3,
            color=f"C{3 * i}",
            label=f"test, label noise {noise:g}",
        )
        ax2.plot(
            widths,
            [r["train_error"] for r in c],
            f"C{3 * i}--",
            label=f"train, label noise {noise:g}",
        )
        width = mlp["summary"][f"noise={noise}"]["interpolation_width"]
        if width is not None:
            ax2.axvline(width, color=f"C{3 * i}", ls=":", lw=1)
    ax2.set(
        xscale="log",
        xlabel="hidden width (dotted: first width that fits the train set)",
        ylabel="zero-one error",
        title=f"(b) MLP width sweep, MNIST-1D n={spec.mlp_train}",
    )
    ax2.legend(fontsize=8)
    return fig
