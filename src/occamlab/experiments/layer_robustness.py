"""Are all layers created equal? (Zhang, Bengio & Singer 2019, arXiv 1902.01996).

An MLP with three hidden layers of 256 units (the ``deep`` setting: four of 128) is trained on
MNIST-1D; then, one layer at a time, its weights
are put back to their initial values (*re-initialization*), to their values after the first
epoch (an early checkpoint), or to a fresh random draw from the initialization distribution
(*re-randomization*), the other layers keeping their trained values, and the test error is
measured. The paper's findings for fully connected networks (its Fig. 1 and 2): the first layer
is *critical* (resetting it destroys the network) while later layers are *robust* to
re-initialization, and re-randomizing a layer hurts more than re-initializing it. Both claims
are t-tests over the seeds (each seed's resets share its trained network), Holm-corrected.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from occamlab.data import data_spec
from occamlab.experiments.framework import Claim, Context, ExperimentResult
from occamlab.experiments.registry import EXPERIMENTS
from occamlab.experiments.stats import compare, exceeds, mean_std
from occamlab.models import build_model, model_spec
from occamlab.probes.compression.finetune import total_steps
from occamlab.probes.compression.lottery import Snapshot
from occamlab.probes.compression.robustness import layer_robustness
from occamlab.recipes import make_subject
from occamlab.train import TrainSpec, fit

SOURCE = "Zhang, Bengio & Singer 2019, arXiv 1902.01996"
FRESH_SEED = 10_000  # re-randomization draws from build_model(seed + FRESH_SEED)
STATES = ("init", "early", "rerandomized")


@EXPERIMENTS.register
@dataclass(frozen=True)
class LayerRobustness:
    """Reset each layer of a trained MLP to its initial, early or re-randomized value.

    Attributes:
        seeds: seeds (initialization and data order); claims are t-tests over them.
        width: hidden width.
        depth: hidden layers.
        epochs: training epochs.
        lr: SGD learning rate (momentum 0.9, cosine schedule).
        batch_size: minibatch size.
        early_epoch: the early checkpoint is taken after this many epochs.
        data: the data set (a registry name, e.g. ``mnist1d`` or ``digits``).
    """

    name: ClassVar[str] = "layer-robustness"
    summary: ClassVar[str] = (
        "First layers are critical, later layers robust to re-initialization; "
        "re-randomizing hurts more than resetting"
    )
    paper: ClassVar[str] = SOURCE
    scales: ClassVar[dict[str, dict[str, Any]]] = {
        "quick": {},
        "paper": {"seeds": 5, "epochs": 100},
    }
    settings: ClassVar[dict[str, dict[str, Any]]] = {"deep": {"depth": 4, "width": 128}}

    seeds: int = 5
    width: int = 256
    depth: int = 3
    epochs: int = 60
    lr: float = 0.05
    batch_size: int = 128
    early_epoch: int = 1
    data: str = "mnist1d"

    def __post_init__(self) -> None:
        if self.seeds < 1 or self.depth < 2 or self.epochs <= self.early_epoch:
            raise ValueError("layer-robustness needs seeds >= 1, depth >= 2, epochs > early_epoch")
        data_spec(self.data)  # an unknown data set fails here, listing the valid ones

    def run(self, ctx: Context) -> ExperimentResult:
        model = model_spec("mlp", width=self.width, depth=self.depth)
        results = []
        for seed in ctx.track(range(self.seeds), "seeds"):

            def compute(_directory, seed=seed) -> dict[str, Any]:
                subject = make_subject(model=model, data=data_spec(self.data), seed=seed)
                init = {k: v.clone() for k, v in subject.params().items()}
                recipe = TrainSpec(
                    lr=self.lr, batch_size=self.batch_size, epochs=self.epochs, seed=seed
                )
                per_epoch = total_steps(recipe, len(subject.data.train)) // self.epochs
                early = Snapshot(self.early_epoch * per_epoch)
                fit(subject, recipe, callbacks=[early])
                fresh = build_model(
                    model,
                    input_shape=subject.data.input_shape,
                    num_outputs=subject.data.num_outputs,
                    seed=seed + FRESH_SEED,
                )
                result = layer_robustness(
                    subject,
                    init=init,
                    checkpoints={"early": early.params},
                    fresh={k: p.detach() for k, p in fresh.named_parameters()},
                )
                return result.to_dict()

            key = {**self.__dict__, "seed": seed}
            key.pop("seeds")
            results.append(ctx.cached("reset", key, compute))
        table = summarize(results)
        baseline, _ = mean_std([r["baseline"] for r in results])
        return ExperimentResult(
            metrics={"baseline_error": baseline, "layers": table},
            tables={"test error with one layer reset (mean over seeds)": table},
            figures={"test error by layer and state": figure(table, baseline)},
            claims=claims(results),
        )


def summarize(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Mean and std over seeds of each layer's error in each state."""
    out = []
    for i, row in enumerate(results[0]["rows"]):
        entry: dict[str, Any] = {"layer": row["layer"], "num_parameters": row["num_parameters"]}
        for state in STATES:
            entry[state], entry[f"{state}_std"] = mean_std([r["rows"][i][state] for r in results])
        out.append(entry)
    return out


def claims(results: list[dict[str, Any]]) -> list[Claim]:
    """Resetting the first half of the layers vs the last half; re-randomizing vs resetting.

    Per seed, the rise of test error over the trained network when a layer is reset, averaged
    over the first and over the last half of the layers; "at least twice as much" is tested as
    rise(first) − 2·max(rise(last), 0) > 0 (a one-sample t-test over the seeds: the last layers'
    rise may be zero or negative, where a ratio is undefined). Re-randomized against
    re-initialized error, averaged over the layers, is a t-test paired by seed.
    """
    table = summarize(results)
    half = len(table) // 2
    baselines = [r["baseline"] for r in results]

    def mean_rise(r: dict[str, Any], rows: list[dict[str, Any]]) -> float:
        return float(np.mean([row["init"] for row in rows])) - r["baseline"]

    rise_first = [mean_rise(r, r["rows"][:half]) for r in results]
    rise_last = [mean_rise(r, r["rows"][-half:]) for r in results]
    lead = [a - 2 * max(b, 0.0) for a, b in zip(rise_first, rise_last, strict=True)]
    rerandomized = [float(np.mean([row["rerandomized"] for row in r["rows"]])) for r in results]
    reinitialized = [float(np.mean([row["init"] for row in r["rows"]])) for r in results]
    baseline = float(np.mean(baselines))

    def rises(rows: list[dict[str, Any]]) -> str:
        return ", ".join(f"{r['layer']} {r['init'] - baseline:+.3f}" for r in rows)

    return [
        Claim.tested(
            "resetting the first layers to their initial values hurts far more (at least twice "
            "as much) than resetting the last ones",
            exceeds(
                lead,
                0.0,
                name="rise(first) − 2·max(rise(last), 0)",
                hypothesis="rise of error (first layers) − 2·max(rise (last layers), 0) > 0",
            ),
            f"mean rise of test error {np.mean(rise_first):+.3f} for the first layers "
            f"({rises(table[:half])}) vs {np.mean(rise_last):+.3f} for the last "
            f"({rises(table[-half:])}); trained {baseline:.3f}, mean of {len(results)} seeds",
            SOURCE + ", Fig. 1 (FCN: first layer critical, later layers robust)",
        ),
        Claim.tested(
            "re-randomizing a layer hurts at least as much as re-initializing it",
            compare(
                rerandomized,
                reinitialized,
                paired=True,
                names=("re-randomized", "re-initialized"),
                hypothesis="error re-randomized − re-initialized (mean over layers) > 0",
            ),
            "re-randomized − re-initialized test error per layer (mean over seeds): "
            + ", ".join(f"{r['layer']} {r['rerandomized'] - r['init']:+.3f}" for r in table),
            SOURCE + ", Fig. 2 (re-randomization)",
        ),
    ]


def figure(table: list[dict[str, Any]], baseline: float) -> Any:
    """Heat map of mean test error, layers × states (as the paper's Fig. 1)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6, 0.9 + 0.5 * len(table)))
    ax = fig.subplots()
    values = [[r[s] for s in STATES] for r in table]
    image = ax.imshow(values, cmap="RdYlGn_r", vmin=0.0, vmax=1.0, aspect="auto")
    for i, line in enumerate(values):
        for j, v in enumerate(line):
            ax.text(j, i, f"{v:.3f}", ha="center", va="center", fontsize=9)
    ax.set_xticks(range(len(STATES)), ["re-initialized", "early checkpoint", "re-randomized"])
    ax.set_yticks(range(len(table)), [r["layer"] for r in table])
    ax.set_title(f"test error with one layer reset (trained: {baseline:.3f})")
    fig.colorbar(image, ax=ax)
    return fig
