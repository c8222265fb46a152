"""Loss landscapes with and without skip connections (Li et al. 2018, arXiv 1712.09913).

Li et al. draw filter-normalized random planes through trained networks and find that depth
alone turns the loss surface of a plain network chaotic and non-convex, while skip connections
keep it smooth and nearly convex around the minimum (their Fig. 5 for ResNet-20/56/110 with and
without shortcuts; Fig. 7 maps |λ_min|/|λ_max| of the Hessian over the plane to show that the
pictures' convexity is real).

Here: the occamlab ``resnet`` (1-D convolutions, BatchNorm) on MNIST-1D, at two depths (1 and 3
basic blocks per stage: 8 and 20 layers) with and without skip connections, trained with SGD and
weight decay. For each network, ``planes`` filter-normalized random planes (biases and BatchNorm
parameters fixed, as Li et al.) of the training loss, and the extreme Hessian eigenvalues on a
small grid around the minimum. The claims are checked on numbers, not on pictures:

* the number of strict local minima of the training loss on the grids (1 for a convex-looking
  surface; a chaotic one has several), summed over the planes;
* the mean of |λ_min|/|λ_max| over a grid near the minimum (0 where the loss is locally convex),
  reported with each network. At these depths (8 and 20 layers) it does not separate the
  networks: measured at quick scale it was 0.04-0.07 for all four over [−0.25, 0.25]² (and
  0.12-0.18 for the 20-layer pair over [−0.5, 0.5]², the ResNet higher), while Li et al.'s maps
  separate ResNet-56 from ResNet-56-noshort; so no claim rests on it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from occamlab.data import data_spec
from occamlab.experiments.framework import Claim, Context, ExperimentResult
from occamlab.experiments.registry import EXPERIMENTS
from occamlab.models import model_spec
from occamlab.train import TrainSpec

SOURCE = "Li et al. 2018, arXiv 1712.09913"


@EXPERIMENTS.register
@dataclass(frozen=True)
class LossLandscape:
    """Filter-normalized loss surfaces of ResNets with and without skips, at two depths.

    Attributes:
        width: channels of the first stage (the ResNet has three stages).
        shallow_blocks: basic blocks per stage of the shallow networks (1: 8 layers).
        deep_blocks: basic blocks per stage of the deep networks (3: 20 layers).
        num_train: MNIST-1D training examples.
        num_test: MNIST-1D test examples.
        epochs: SGD epochs (momentum 0.9, cosine schedule, batch 128).
        lr: peak learning rate.
        weight_decay: L2 penalty (Li et al. use 5e-4).
        planes: random planes per network (seeds 0, 1, ...).
        steps: grid points per axis of each plane (odd).
        span: each plane covers [−span, span]² in filter-normalized units.
        limit: training examples each grid point is evaluated on.
        curvature_steps: grid points per axis of the Hessian map (odd).
        curvature_span: the Hessian map covers [−span, span]² around the minimum.
        curvature_limit: training examples the Hessian is averaged over.
        seed: initialization and data-order seed.
    """

    name: ClassVar[str] = "loss-landscape"
    summary: ClassVar[str] = (
        "Skip connections keep deep loss surfaces smooth; without them they turn chaotic"
    )
    paper: ClassVar[str] = SOURCE
    scales: ClassVar[dict[str, dict[str, Any]]] = {
        "quick": {},
        "paper": {
            "width": 16,
            "deep_blocks": 9,
            "epochs": 60,
            "planes": 4,
            "steps": 51,
            "limit": 4000,
            "curvature_steps": 9,
            "curvature_limit": 1000,
        },
    }

    width: int = 8
    shallow_blocks: int = 1
    deep_blocks: int = 3
    num_train: int = 4000
    num_test: int = 1000
    epochs: int = 15
    lr: float = 0.05
    weight_decay: float = 5e-4
    planes: int = 2
    steps: int = 15
    span: float = 1.0
    limit: int = 500
    curvature_steps: int = 3
    curvature_span: float = 0.25
    curvature_limit: int = 128
    seed: int = 0

    def __post_init__(self) -> None:
        checks = [
            (
                self.width >= 1 and self.num_train >= 10 and self.num_test >= 1,
                "width >= 1, num_train >= 10 and num_test >= 1",
            ),
            (1 <= self.shallow_blocks < self.deep_blocks, "need 1 <= shallow_blocks < deep_blocks"),
            (self.epochs >= 1 and self.planes >= 1, "epochs and planes must be >= 1"),
            (self.steps >= 3 and self.steps % 2 == 1, "steps must be odd and >= 3"),
            (
                self.curvature_steps >= 1 and self.curvature_steps % 2 == 1,
                "curvature_steps must be odd (1: the minimum only)",
            ),
            (self.span > 0 and self.curvature_span > 0, "spans must be positive"),
            (self.limit >= 1 and self.curvature_limit >= 1, "limits must be >= 1"),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(f"loss-landscape: {message}")

    def networks(self) -> list[tuple[str, int, bool]]:
        """``(label, blocks, skip)`` of the four networks."""
        out = []
        for blocks in (self.shallow_blocks, self.deep_blocks):
            depth = 2 + 6 * blocks
            for skip in (True, False):
                out.append((f"ResNet-{depth}{'' if skip else '-noshort'}", blocks, skip))
        return out

    def run(self, ctx: Context) -> ExperimentResult:
        from occamlab.probes.landscape import curvature_map, landscape_plane, random_directions
        from occamlab.probes.landscape.surface import Surface

        data = data_spec("mnist1d", num_train=self.num_train, num_test=self.num_test)
        recipe = TrainSpec(
            epochs=self.epochs,
            lr=self.lr,
            weight_decay=self.weight_decay,
            batch_size=128,
            eval_every=self.epochs,
            seed=self.seed,
        )
        rows, surfaces, maps = [], {}, {}
        for label, blocks, skip in ctx.track(self.networks(), "networks"):
            model = model_spec("resnet", width=self.width, blocks=blocks, skip=skip)
            trained = ctx.train(model=model, data=data, train=recipe, seed=self.seed)
            subject = trained.subject
            key = {
                "train_run": trained.record.id,
                "planes": self.planes,
                "steps": self.steps,
                "span": self.span,
                "limit": self.limit,
                "curvature": [self.curvature_steps, self.curvature_span, self.curvature_limit],
            }

            def compute(directory, subject=subject) -> dict[str, Any]:
                planes = [
                    landscape_plane(
                        subject,
                        steps=self.steps,
                        span=self.span,
                        limit=self.limit,
                        test=False,
                        seed=seed,
                    ).to_dict()
                    for seed in range(self.planes)
                ]
                cmap = curvature_map(
                    subject,
                    random_directions(subject, seed=0),
                    steps=self.curvature_steps,
                    span=self.curvature_span,
                    limit=self.curvature_limit,
                )
                return {"planes": planes, "curvature": cmap.to_dict()}

            part = ctx.cached("surfaces", key, compute)
            planes = [Surface.from_dict(p) for p in part["planes"]]
            surfaces[label], maps[label] = planes, part["curvature"]
            metrics = trained.record.metrics
            rows.append(
                {
                    "network": label,
                    "layers": 2 + 6 * blocks,
                    "skip": skip,
                    "parameters": metrics.get("num_parameters"),
                    "train_accuracy": metrics.get("train_accuracy"),
                    "test_accuracy": metrics.get("test_accuracy"),
                    "train_loss": planes[0].at_center()["train_loss"],
                    "local_minima": sum(len(p.local_minima()) for p in planes),
                    "planes": len(planes),
                    "mean_hessian_ratio": part["curvature"]["mean_ratio"],
                    "max_hessian_ratio": float(np.max(part["curvature"]["ratio"])),
                }
            )
        return ExperimentResult(
            metrics=_metrics(rows),
            tables={"networks": rows},
            figures=_figures(surfaces, rows),
            claims=_claims(rows, self),
        )


def _by(rows: list[dict[str, Any]], layers: int, skip: bool) -> dict[str, Any]:
    return next(r for r in rows if r["layers"] == layers and r["skip"] == skip)


def _metrics(rows: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        r["network"]: {
            k: r[k] for k in ("local_minima", "mean_hessian_ratio", "test_accuracy", "train_loss")
        }
        for r in rows
    }


def _claims(rows: list[dict[str, Any]], spec: LossLandscape) -> list[Claim]:
    shallow, deep = 2 + 6 * spec.shallow_blocks, 2 + 6 * spec.deep_blocks
    res, plain = _by(rows, deep, True), _by(rows, deep, False)
    shallow_plain = _by(rows, shallow, False)
    n = res["planes"]
    return [
        Claim(
            statement=(
                f"without skip connections the {deep}-layer net's surface is chaotic: more local "
                f"minima on the grids than the {deep}-layer ResNet, which has one per plane"
            ),
            passed=bool(plain["local_minima"] > res["local_minima"] == n),
            evidence=(
                f"local minima over {n} planes of {spec.steps}x{spec.steps}: "
                f"{plain['network']} {plain['local_minima']}, {res['network']} "
                f"{res['local_minima']}"
            ),
            source=f"{SOURCE}, Fig. 5",
        ),
        Claim(
            statement=(
                f"depth makes the plain net's surface chaotic: the {deep}-layer net without skips "
                f"has more local minima than the {shallow}-layer one"
            ),
            passed=bool(plain["local_minima"] > shallow_plain["local_minima"]),
            evidence=(
                f"{plain['network']} {plain['local_minima']}, {shallow_plain['network']} "
                f"{shallow_plain['local_minima']} (over {n} planes)"
            ),
            source=f"{SOURCE}, Fig. 5",
        ),
    ]


def _figures(surfaces: dict[str, list[Any]], rows: list[dict[str, Any]]) -> dict[str, Any]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = [r["network"] for r in rows]
    fig, axes = plt.subplots(2, 2, figsize=(10.5, 9))
    for ax, label in zip(axes.ravel(), labels, strict=True):
        surfaces[label][0].plot(ax=ax)
        minima = sum(len(p.local_minima()) for p in surfaces[label])
        ax.set_title(f"{label}: {minima} local minima / {len(surfaces[label])} planes")
    fig.tight_layout()
    fig3d = plt.figure(figsize=(10.5, 9))
    for i, label in enumerate(labels):
        surfaces[label][0].plot(ax=fig3d.add_subplot(2, 2, i + 1, projection="3d"), kind="surface")
        fig3d.axes[-1].set_title(label)
    fig3d.tight_layout()
    bars, (left, right) = plt.subplots(1, 2, figsize=(10, 3.4))
    left.bar(labels, [r["local_minima"] for r in rows], color="tab:blue")
    left.set(ylabel="local minima (all planes)", title="chaos: local minima on the grids")
    right.bar(labels, [r["mean_hessian_ratio"] for r in rows], color="tab:red")
    right.set(ylabel="mean |λ_min| / |λ_max|", title="non-convexity near the minimum")
    for ax in (left, right):
        ax.tick_params(axis="x", rotation=20)
    bars.tight_layout()
    return {
        "contours of the train loss (plane 1)": fig,
        "3-D surfaces (plane 1)": fig3d,
        "local minima and Hessian ratio": bars,
    }
