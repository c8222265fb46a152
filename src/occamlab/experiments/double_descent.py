"""Double descent (Belkin, Hsu, Ma & Mandal 2019, arXiv 1812.11118; Nakkiran, Kaplun, Bansal,
Yang, Barak & Sutskever 2019, arXiv 1912.02292).

(a) Random Fourier features with minimum-norm least squares on ``n`` MNIST-1D examples (the data
set is the spec field ``data``), the number of features ``N`` swept through ``n`` (Belkin et
al., Fig. 2): the fit interpolates from ``N = n`` on; test error and the norm of the solution
peak there and fall again beyond it, to below the best under-parameterized error.

(b) MLPs of growing width trained to convergence on MNIST-1D with 15% label noise (Nakkiran et
al., Fig. 1; model-wise double descent): the test error peaks near the interpolation threshold
(the smallest width that fits the training set) and falls again for wider networks; without label
noise the peak shrinks (their Fig. 4).

The ``high-noise`` setting doubles the label noise of the MLP sweep to 30%: the peak at the
interpolation threshold grows with label noise (Nakkiran et al., Fig. 4), so it and its absence
without noise should stand out more clearly. (Halving n instead does not sharpen the contrast: on
500 MNIST-1D examples the clean MLP curve bumps about as much as the noisy one, the small hard
training set acting like label noise itself.)

The claims are tests over the seeds (see :func:`claims`); a seed shares its feature draw,
initialization and noisy labels across model sizes, so comparisons of sizes are paired by seed.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import torch

from occamlab.data import Data, data_spec, load_data
from occamlab.experiments.framework import Claim, Context, ExperimentResult
from occamlab.experiments.registry import EXPERIMENTS
from occamlab.experiments.stats import compare, exceeds, grouped_mean_std
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
        seeds: seeds per model size (feature draw; initialization, data order, label noise); the
            claims are tests over them (with one seed the tested claims are inconclusive).
        rff_train: training examples n of the random-features fit.
        rff_max_ratio: largest N/n of the random-features sweep.
        bandwidth: σ of the Gaussian kernel the random features approximate (inputs have unit
            scale and 40 dimensions).
        mlp_train: training examples of the MLP sweep.
        num_test: test examples of both parts (a large test set measures each model's error to
            about ±0.005, so that seed-to-seed differences are the models', not the test set's).
        label_noise: label noise of the MLP sweep (a control runs without).
        depth: hidden layers of the MLPs.
        min_width: smallest hidden width of the sweep.
        max_width: largest hidden width of the sweep.
        lr: Adam learning rate.
        batch_size: minibatch size (0: full batch).
        steps: at most this many optimizer steps per MLP (training to convergence, no early
            stopping on the test set).
        target_loss: training loss at which an MLP counts as converged and stops (checked every
            100 steps; 0: always train ``steps``).
        fit_error: training error at or below which a network counts as interpolating.
        data: the data set of both parts (a registry name whose spec has ``num_train``, e.g.
            ``mnist1d``).
    """

    name: ClassVar[str] = "double-descent"
    summary: ClassVar[str] = (
        "Test error peaks at the interpolation threshold and falls again (features, width)"
    )
    paper: ClassVar[str] = f"{BELKIN}; {NAKKIRAN}"
    scales: ClassVar[dict[str, dict[str, Any]]] = {
        "quick": {},
        "paper": {
            "seeds": 8,
            "rff_train": 4000,
            "mlp_train": 4000,
            "max_width": 1024,
            "steps": 20000,
        },
    }
    settings: ClassVar[dict[str, dict[str, Any]]] = {
        "high-noise": {"label_noise": 0.3},
    }

    seeds: int = 8
    rff_train: int = 1000
    rff_max_ratio: float = 8.0
    bandwidth: float = 5.0
    mlp_train: int = 1000
    num_test: int = 8000
    label_noise: float = 0.15
    depth: int = 2
    min_width: int = 4
    max_width: int = 64
    lr: float = 3e-3
    batch_size: int = 0
    steps: int = 3000
    target_loss: float = 1e-3
    fit_error: float = 0.01
    data: str = "mnist1d"

    def __post_init__(self) -> None:
        if self.seeds < 1 or not self.widths() or not self.ratios():
            raise ValueError("double-descent needs seeds >= 1 and a non-empty width/feature sweep")
        self.dataset(self.rff_train)  # an unknown data set fails here

    def dataset(self, num_train: int, **corruption: Any) -> Any:
        """The data set with ``num_train`` training and ``num_test`` test examples."""
        return data_spec(self.data, num_train=num_train, num_test=self.num_test, **corruption)

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
            claims=claims(rff_rows, mlp_rows, n=self.rff_train, fit_error=self.fit_error),
        )

    # -- (a) random Fourier features ---------------------------------------------------------
    def random_features(self, ctx: Context) -> list[dict[str, Any]]:
        spec = self.dataset(self.rff_train)
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
        recipe = TrainSpec(
            optimizer="adam",
            lr=self.lr,
            batch_size=self.batch_size,
            epochs=0,
            max_steps=self.steps,
            schedule="constant",
            target_loss=self.target_loss,
            eval_every=100,  # epochs: steps, with full batches
        )
        members = [(noise, seed) for noise in (self.label_noise, 0.0) for seed in range(self.seeds)]
        rows = []
        for width in ctx.track(self.widths(), "MLP width sweep"):
            model = model_spec("mlp", width=width, depth=self.depth)
            key = {
                "model": model,
                "data": self.dataset(self.mlp_train),
                "train": recipe,
                "members": members,
            }
            out = ctx.cached(
                "mlp",
                key,
                lambda _d, model=model: {"runs": self.train_width(model, recipe, members)},
            )
            rows += [{"width": width, **r} for r in out["runs"]]
        return rows

    def train_width(
        self, model: Any, recipe: TrainSpec, members: list[tuple[float, int]]
    ) -> list[dict[str, Any]]:
        """Train one MLP per (label noise, seed) and return their final errors.

        Full-batch training has no data order, so the members train as one stacked ensemble
        (:func:`occamlab.train.ensemble.fit_ensemble`); with minibatches each seed has its own
        order and they train one after the other. Nothing is checkpointed: with full batches
        every step ends an epoch, and saving each member's weights every epoch would cost more
        than the training. Only the numbers are kept.
        """
        from occamlab.recipes import make_subject
        from occamlab.train.ensemble import fit_ensemble

        subjects = [
            make_subject(
                model=model,
                data=self.dataset(self.mlp_train, label_noise=noise, corruption_seed=seed),
                seed=seed,
            )
            for noise, seed in members
        ]
        specs = [
            dataclasses.replace(recipe, seed=seed if self.batch_size else 0) for _, seed in members
        ]
        method = "sequential" if self.batch_size or len(members) < 2 else "stacked"
        results = fit_ensemble(subjects, specs, method=method)
        return [
            {
                "label_noise": noise,
                "seed": seed,
                "parameters": subject.num_parameters,
                "steps": result.steps,
                "train_error": 1.0 - result.final["train_accuracy"],
                "test_error": 1.0 - result.final["test_accuracy"],
                "test_loss": result.final["test_loss"],
            }
            for (noise, seed), subject, result in zip(members, subjects, results, strict=True)
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
    fitted = train @ theta
    # the test set in chunks: its features at N = 8n would fill half a gigabyte
    predicted = torch.cat([phi(x) @ theta for x in d.test.x.split(1000)])
    test_onehot = torch.nn.functional.one_hot(d.test.y, d.num_outputs).to(torch.float64)
    return {
        "train_error": float((fitted.argmax(1) != d.train.y).double().mean()),
        "test_error": float((predicted.argmax(1) != d.test.y).double().mean()),
        "train_mse": float((fitted - onehot).pow(2).sum(1).mean()),
        "test_mse": float((predicted - test_onehot).pow(2).sum(1).mean()),
        "norm": float(theta.norm()),
    }


def summarize_rff(rows: list[dict[str, Any]], *, n: int) -> dict[str, Any]:
    """Mean curves over seeds; the peak, the best under- and the last over-parameterized error."""
    curve = grouped_mean_std(
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
    curve = grouped_mean_std(
        rows, ("label_noise", "width", "parameters"), ("train_error", "test_error", "test_loss")
    )
    curve.sort(key=lambda r: (-r["label_noise"], r["width"]))
    summary: dict[str, Any] = {}
    for noise in sorted({r["label_noise"] for r in curve}, reverse=True):
        c = [r for r in curve if r["label_noise"] == noise]
        threshold = next((r["width"] for r in c if r["train_error"] <= fit_error), None)
        top = max(range(len(c)), key=lambda i: c[i]["test_error"])
        summary[f"noise={noise}"] = {
            "interpolation_width": threshold,
            "peak_width": c[top]["width"],
            "peak_error": c[top]["test_error"],
            "peak_error_std": c[top]["test_error_std"],
            "widest_width": c[-1]["width"],
            "widest_error": c[-1]["test_error"],
            "widest_error_std": c[-1]["test_error_std"],
            "peak_height": _peak_height({r["width"]: r["test_error"] for r in c}, threshold),
        }
    return {"curve": curve, "summary": summary}


def _peak(values: dict[Any, float], center: float, factor: float) -> tuple[float, ...] | None:
    """The largest value at sizes within ``factor`` of ``center``, the smallest at a smaller
    size and the largest at a larger one (None without sizes on both sides of the window)."""
    sizes = sorted(values)
    inside = _inside(sizes, center, factor)
    below = [m for m in sizes if inside and m < inside[0]]
    above = [m for m in sizes if inside and m > inside[-1]]
    if not below or not above:
        return None
    top = max(values[m] for m in inside)
    return top, min(values[m] for m in below), max(values[m] for m in above)


def _inside(sizes: list[Any], center: float, factor: float) -> list[Any]:
    return [m for m in sizes if max(m, center) <= factor * min(m, center)]


def _peak_height(errors: dict[int, float], threshold: int | None) -> float | None:
    """How far the test error rises from the best network narrower than ×2 of the interpolation
    width to the highest within it (0 if it does not rise; None without an interpolation width
    or widths on both sides of the window): the peak at the threshold, not the narrowest nets."""
    peak = None if threshold is None else _peak(errors, threshold, 2.0)
    return None if peak is None else max(0.0, peak[0] - peak[1])


def rows_by_seed(rows: list[dict[str, Any]], size: str) -> dict[int, dict[Any, dict[str, Any]]]:
    """rows by seed, then by model size."""
    out: dict[int, dict[Any, dict[str, Any]]] = {}
    for r in rows:
        out.setdefault(r["seed"], {})[r[size]] = r
    return out


def _window(
    by_seed: dict[int, dict[Any, dict[str, Any]]],
    key: str,
    center: float,
    factor: float,
    *,
    log: bool = False,
) -> tuple[list[float], list[Any]]:
    """Per seed, how far the largest ``key`` at sizes within ``factor`` of ``center`` stands
    above both the smallest value at a smaller size (the curve rose into the window) and every
    value at a larger size (it falls beyond it), of log₁₀ values if ``log``; and the sizes in
    the window. No gaps without sizes on both sides of the window."""
    f = (lambda v: float(np.log10(v))) if log else float
    gaps = []
    for _, runs in sorted(by_seed.items()):
        peak = _peak({m: f(r[key]) for m, r in runs.items()}, center, factor)
        if peak is None:
            return [], []
        gaps.append(peak[0] - max(peak[1], peak[2]))
    return gaps, _inside(sorted(next(iter(by_seed.values()))), center, factor)


def _span(sizes: list[Any]) -> str:
    return f"{sizes[0]}–{sizes[-1]}" if len(sizes) > 1 else str(sizes[0])


def peak_claim(
    statement: str,
    by_seed: dict[int, dict[Any, dict[str, Any]]],
    key: str,
    *,
    center: float,
    factor: float,
    what: str,
    size: str,
    where: str,
    source: str,
    log: bool = False,
) -> Claim:
    """ "``key`` peaks within ``factor`` of the size ``center``": a one-sample t-test of the
    per-seed gaps of :func:`_window` (untested and failed without sizes on both sides)."""
    gaps, inside = _window(by_seed, key, center, factor, log=log)
    if not gaps:
        return Claim(statement, False, f"{where}; no {size} on both sides of ×{factor:g}", source)
    test = exceeds(
        gaps,
        0.0,
        name=f"{what}: peak within ×{factor:g} − rim",
        hypothesis=f"max {what} at {size} {_span(inside)} − max(min below, max above) > 0",
    )
    return Claim.tested(
        statement,
        test,
        f"{where}; per seed, the highest {what} within ×{factor:g} of {size} {center:g} stands "
        f"above the lowest at a smaller {size} and the highest at a larger {size} by "
        + ", ".join(f"{g:+.3f}" for g in gaps),
        source,
    )


def claims(
    rff_rows: list[dict[str, Any]], mlp_rows: list[dict[str, Any]], *, n: int, fit_error: float
) -> list[Claim]:
    """Belkin et al.'s and Nakkiran et al.'s findings as tests over the per-seed runs.

    "Peaks at (or near) a size" is a one-sample t-test that, per seed, the largest value at the
    sizes within the paper's factor of it (1.25 around N = n; 2 around the interpolation width)
    stands above the smallest value at a smaller size and every value at a larger size: the
    curve first improves, then gets worse up to the threshold and improves again beyond it
    (Nakkiran et al.); a peak need not top the narrowest models, which may do worse still (the
    under-fitting end of the classical U). "Falls below" and "falls again"
    are paired t-tests between two sizes; the error falls again from the interpolation width
    (chosen by the train error, so the test error is not selected on) to the widest network by
    at least 0.01. "The peak shrinks without label noise" pairs each seed's peak height with and
    without noise: how far the error rises from the best network narrower than ×2 of the
    interpolation width (each curve's own) to the highest within it, the peak at the threshold
    that label noise amplifies (Nakkiran et al., Fig. 4), not a rise to the narrowest networks.
    That the random features interpolate from N = n on is a check of the fit (exact linear
    algebra), untested.
    """
    rff = summarize_rff(rff_rows, n=n)["summary"]
    mlp_summary = summarize_mlp(mlp_rows, fit_error=fit_error)
    mlp = mlp_summary["summary"]
    noisy_key = next(k for k in mlp if k != "noise=0.0")
    noisy_noise = float(noisy_key.removeprefix("noise="))
    noisy, clean = mlp[noisy_key], mlp["noise=0.0"]
    features = rows_by_seed(rff_rows, "features")
    noisy_runs = rows_by_seed([r for r in mlp_rows if r["label_noise"] == noisy_noise], "width")
    clean_runs = rows_by_seed([r for r in mlp_rows if r["label_noise"] == 0.0], "width")
    out = [
        Claim(
            "random features: the fit interpolates (training MSE 0) exactly from N = n on",
            passed=bool(rff["interpolates_from_n"]),
            evidence=f"training MSE below 1e-6 at every N ≥ n = {n} and above it at every N < n: "
            + ("yes" if rff["interpolates_from_n"] else "no"),
            source=BELKIN + ", Fig. 2",
        )
    ]

    # random features: the test error and the norm peak within a factor 1.25 of N = n
    for key, statement, log, what in (
        ("test_error", "the test error peaks at the interpolation threshold N = n", False, "error"),
        ("norm", "the norm of the minimum-norm solution peaks at N = n", True, "log₁₀ ‖θ‖"),
    ):
        peak = rff["peak_features"] if key == "test_error" else rff["norm_peak_features"]
        out.append(
            peak_claim(
                f"random features: {statement}",
                features,
                key,
                center=n,
                factor=1.25,
                log=log,
                what=what,
                size="N",
                where=f"the mean curve peaks at N = {peak} (n = {n})",
                source=BELKIN + (", Fig. 2" if key == "test_error" else ", Fig. 2 (middle)"),
            )
        )

    statement = (
        "random features: beyond the peak the error falls below the best under-parameterized"
    )
    best, last = rff["best_under_features"], rff["last_features"]
    if best is None:
        out.append(Claim(statement, False, f"no N < n = {n} in the sweep", BELKIN + ", Fig. 2"))
    else:
        seeds = sorted(features)
        a = [features[s][best]["test_error"] for s in seeds]
        b = [features[s][last]["test_error"] for s in seeds]
        out.append(
            Claim.tested(
                statement,
                compare(
                    a,
                    b,
                    paired=True,
                    names=(f"N = {best}", f"N = {last}"),
                    hypothesis=f"test error at N = {best} − at N = {last} > 0",
                ),
                f"test error {np.mean(b):.3f} at N = {last} vs {np.mean(a):.3f} at N = {best} "
                f"(the best N < n) and {rff['peak_error']:.3f} at the peak (N = "
                f"{rff['peak_features']}), mean of {len(seeds)} seeds",
                BELKIN + ", Fig. 2",
            )
        )

    # MLPs with label noise: the peak near the interpolation width, and the fall beyond it
    threshold = noisy["interpolation_width"]
    near = "MLP with label noise: the test error peaks near the interpolation threshold width"
    falls = "MLP with label noise: the test error falls again for wider networks"
    peak = f"the mean curve peaks at width {noisy['peak_width']} ({noisy['peak_error']:.3f})"
    if threshold is None:
        missing = f"{peak}; no width fits the training set (train error ≤ {fit_error})"
        out += [
            Claim(near, False, missing, NAKKIRAN + ", Fig. 1"),
            Claim(falls, False, missing, NAKKIRAN + ", Fig. 1"),
        ]
    else:
        where = f"{peak}; train error first ≤ {fit_error} at width {threshold}"
        out.append(
            peak_claim(
                near,
                noisy_runs,
                "test_error",
                center=threshold,
                factor=2.0,
                what="error",
                size="width",
                where=where,
                source=NAKKIRAN + ", Fig. 1",
            )
        )
        widest = noisy["widest_width"]
        seeds = sorted(noisy_runs)
        a = [noisy_runs[s][threshold]["test_error"] for s in seeds]
        b = [noisy_runs[s][widest]["test_error"] for s in seeds]
        out.append(
            Claim(falls, False, f"the interpolation width {threshold} is the widest", NAKKIRAN)
            if widest == threshold
            else Claim.tested(
                falls,
                compare(
                    a,
                    b,
                    margin=0.01,
                    paired=True,
                    names=(f"width {threshold}", f"width {widest}"),
                    hypothesis=f"test error at width {threshold} − at width {widest} > 0.01",
                ),
                f"test error {np.mean(b):.3f} at width {widest} vs {np.mean(a):.3f} at the "
                f"interpolation width {threshold} (mean of {len(seeds)} seeds; {peak})",
                NAKKIRAN + ", Fig. 1",
            )
        )

    shrinks = "without label noise the peak shrinks"
    seeds = sorted(set(noisy_runs) & set(clean_runs))
    thresholds = (threshold, clean["interpolation_width"])
    heights = [
        [_peak_height({w: r["test_error"] for w, r in runs[s].items()}, t) for s in seeds]
        for runs, t in zip((noisy_runs, clean_runs), thresholds, strict=True)
    ]
    if any(h is None for hs in heights for h in hs):
        out.append(
            Claim(
                shrinks,
                False,
                f"interpolation widths {thresholds[0]} with and {thresholds[1]} without label "
                "noise: no peak height without widths on both sides of ×2 of each",
                NAKKIRAN + ", Fig. 4",
            )
        )
        return out
    h_noisy, h_clean = heights
    out.append(
        Claim.tested(
            shrinks,
            compare(
                h_noisy,
                h_clean,
                paired=True,
                names=(f"label noise {noisy_noise:g}", "no label noise"),
                hypothesis="peak height with label noise − without > 0",
            ),
            "rise of the test error from its best network narrower than ×2 of the interpolation "
            f"width ({thresholds[0]} with label noise, {thresholds[1]} without) to the highest "
            "within it, per seed: "
            + ", ".join(f"{v:.3f}" for v in h_noisy)
            + f" with {noisy_noise:g} label noise vs "
            + ", ".join(f"{v:.3f}" for v in h_clean)
            + f" without (mean curves: {noisy['peak_height']:.3f} vs {clean['peak_height']:.3f})",
            NAKKIRAN + ", Fig. 4",
        )
    )
    return out


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
        title=f"(b) MLP width sweep, {spec.data} n={spec.mlp_train}",
    )
    ax2.legend(fontsize=8)
    return fig
