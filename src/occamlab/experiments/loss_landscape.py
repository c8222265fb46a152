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
small grid around the minimum (optional). The claims are checked on numbers, not on pictures:

* the non-convex share of the planes: the fraction of interior grid points where the surface
  curves downward in some direction (the 2 x 2 Hessian of the plotted surface, from central
  differences on the grid, has a negative eigenvalue); 0 for a convex bowl. Li et al. (Sec. 6)
  note that non-convex features of a 2-D plot are non-convexity of the full loss (the plane's
  Hessian is the full Hessian restricted to it), and quantify non-convexity by negative
  curvature (|λ_min|/|λ_max|). This is the measure of chaos that the comparisons test: a count
  of local minima on a coarse grid is an integer, 1 on most planes, and moves only when the
  surface breaks into separate basins, so at quick scale it could not tell the networks apart
  (ResNet-20-noshort 1-5 minima per plane, the others 1; about 12 seeds needed), while the
  non-convex share measures the same non-convexity on every grid point;
* the number of strict local minima of the training loss on the grids (1 for a convex-looking
  surface; a chaotic one has several), summed over the planes: the deep ResNet's is tested to
  be one per plane;
* with ``curvature_steps`` >= 1, the mean of |λ_min|/|λ_max| of the full Hessian over a grid near
  the minimum (0 where the loss is locally convex). At these depths (8 and 20 layers) it does not
  separate the networks: at the minimum it was 0.008-0.011 for all four, on a 3x3 map
  0.04-0.07 over [−0.25, 0.25]² (and 0.12-0.18 for the 20-layer pair over [−0.5, 0.5]², the
  ResNet higher), while Li et al.'s maps separate ResNet-56 from ResNet-56-noshort; so it is off
  at quick scale and no claim rests on it.

Each seed trains the four networks anew (initialization and data order) and draws its own
planes; the claims are t-tests over the seeds (Holm-corrected together): comparisons of two
networks are paired t-tests of the non-convex share (a seed's networks share its data order and
plane seeds), "one minimum per plane" a two-one-sided test that the mean count of local minima
per plane rounds to 1 (within 0.5 of it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import numpy as np

from occamlab.data import data_spec
from occamlab.experiments.framework import Claim, Context, ExperimentResult
from occamlab.experiments.registry import EXPERIMENTS
from occamlab.experiments.stats import compare, grouped_mean_std, within
from occamlab.models import model_spec
from occamlab.runs import TrainJob
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
        dataset: ``"mnist1d"`` (1-D signals, 1-D convolutions) or ``"digits"`` (scikit-learn's
            8x8 digit images with its 80/20 split, 2-D convolutions).
        num_train: MNIST-1D training examples (digits: unused).
        num_test: MNIST-1D test examples (digits: unused).
        epochs: SGD epochs (momentum 0.9, cosine schedule).
        batch_size: minibatch size.
        lr: peak learning rate.
        weight_decay: L2 penalty (Li et al. use 5e-4).
        planes: random planes per network (direction seeds 0, 1, ...).
        steps: grid points per axis of each plane (odd).
        span: each plane covers [−span, span]² in filter-normalized units.
        limit: training examples each grid point is evaluated on.
        curvature_steps: grid points per axis of the Hessian map (odd; 0: no map).
        curvature_span: the Hessian map covers [−span, span]² around the minimum.
        curvature_limit: training examples the Hessian is averaged over.
        seeds: independent trainings of the four networks (initialization and data order);
            the claims are t-tests over them.
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
            "num_train": 4000,
            "curvature_limit": 1000,
        },
    }
    settings: ClassVar[dict[str, dict[str, Any]]] = {"digits": {"dataset": "digits"}}

    width: int = 8
    shallow_blocks: int = 1
    deep_blocks: int = 3
    dataset: Literal["mnist1d", "digits"] = "mnist1d"
    num_train: int = 2000
    num_test: int = 1000
    epochs: int = 15
    batch_size: int = 128
    lr: float = 0.05
    weight_decay: float = 5e-4
    planes: int = 2
    steps: int = 15
    span: float = 1.0
    limit: int = 500
    curvature_steps: int = 0
    curvature_span: float = 0.25
    curvature_limit: int = 128
    seeds: int = 7

    def __post_init__(self) -> None:
        checks = [
            (
                self.width >= 1 and self.num_train >= 10 and self.num_test >= 1,
                "width >= 1, num_train >= 10 and num_test >= 1",
            ),
            (1 <= self.shallow_blocks < self.deep_blocks, "need 1 <= shallow_blocks < deep_blocks"),
            (
                min(self.epochs, self.planes, self.seeds, self.batch_size) >= 1,
                "epochs, planes, seeds and batch_size must be >= 1",
            ),
            (self.steps >= 3 and self.steps % 2 == 1, "steps must be odd and >= 3"),
            (
                self.curvature_steps == 0
                or (self.curvature_steps > 0 and self.curvature_steps % 2 == 1),
                "curvature_steps must be 0 (no map) or odd (1: the minimum only)",
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

    def data(self):
        """The dataset spec (digits as 8x8 images, for 2-D convolutions)."""
        if self.dataset == "digits":
            return data_spec("digits", flatten=False)
        return data_spec("mnist1d", num_train=self.num_train, num_test=self.num_test)

    def run(self, ctx: Context) -> ExperimentResult:
        from occamlab.probes.landscape import curvature_map, landscape_plane, random_directions
        from occamlab.probes.landscape.surface import Surface

        data = self.data()
        runs = [(net, seed) for seed in range(self.seeds) for net in self.networks()]
        jobs = [
            TrainJob(
                model=model_spec("resnet", width=self.width, blocks=blocks, skip=skip),
                data=data,
                train=TrainSpec(
                    epochs=self.epochs,
                    lr=self.lr,
                    weight_decay=self.weight_decay,
                    batch_size=self.batch_size,
                    eval_every=self.epochs,
                    seed=seed,
                ),
                seed=seed,
            )
            for (_, blocks, skip), seed in runs
        ]
        rows, surfaces = [], {}
        for ((label, blocks, skip), seed), trained in zip(
            runs, ctx.track(ctx.train_many(jobs), "surfaces", total=len(jobs)), strict=True
        ):
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
                        seed=plane,
                    ).to_dict()
                    for plane in range(self.planes)
                ]
                if not self.curvature_steps:
                    return {"planes": planes}
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
            if seed == 0:
                surfaces[label] = planes
            metrics = trained.record.metrics
            row = {
                "network": label,
                "seed": seed,
                "layers": 2 + 6 * blocks,
                "skip": skip,
                "parameters": metrics.get("num_parameters"),
                "train_accuracy": metrics.get("train_accuracy"),
                "test_accuracy": metrics.get("test_accuracy"),
                "train_loss": planes[0].at_center()["train_loss"],
                "non_convex": float(np.mean([p.non_convex_fraction() for p in planes])),
                "local_minima": sum(len(p.local_minima()) for p in planes),
                "planes": len(planes),
            }
            if "curvature" in part:
                row["mean_hessian_ratio"] = part["curvature"]["mean_ratio"]
                row["max_hessian_ratio"] = float(np.max(part["curvature"]["ratio"]))
            rows.append(row)
        summary = summarize(rows)
        return ExperimentResult(
            metrics={"networks": summary, "runs": rows},
            tables={"networks (mean ± std over seeds)": summary, "per seed": rows},
            figures=_figures(surfaces, summary),
            claims=_claims(rows, self),
        )


SUMMARIZED = ("test_accuracy", "train_loss", "non_convex", "local_minima", "mean_hessian_ratio")


def summarize(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Mean and standard deviation over seeds of each network's numbers, in network order."""
    return grouped_mean_std(
        rows, ("network", "layers", "skip", "planes"), SUMMARIZED, count="seeds"
    )


def _per_seed(rows: list[dict[str, Any]], layers: int, skip: bool, key: str) -> list[float]:
    """``key`` of one network, per seed (in seed order); local minima per plane."""
    chosen = sorted(
        (r for r in rows if r["layers"] == layers and r["skip"] == skip), key=lambda r: r["seed"]
    )
    return [r[key] / r["planes"] if key == "local_minima" else r[key] for r in chosen]


def _claims(rows: list[dict[str, Any]], spec: LossLandscape) -> list[Claim]:
    shallow, deep = 2 + 6 * spec.shallow_blocks, 2 + 6 * spec.deep_blocks
    plain, res, shallow_plain = (
        _per_seed(rows, layers, skip, "non_convex")
        for layers, skip in ((deep, False), (deep, True), (shallow, False))
    )
    res_minima = _per_seed(rows, deep, True, "local_minima")
    planes = f"{spec.planes} planes of {spec.steps}x{spec.steps}"
    share = f"non-convex share of the planes (interior points of {planes}), per seed"

    def listed(values: list[float], form: str = ".2f") -> str:
        return ", ".join(format(v, form) for v in values)

    def non_convex(names: tuple[str, str], a: list[float], b: list[float]) -> Any:
        return compare(
            a,
            b,
            paired=True,
            names=names,
            hypothesis=f"mean non-convex share, {names[0]} − {names[1]} > 0",
        )

    deep_names = (f"ResNet-{deep}-noshort", f"ResNet-{deep}")
    depth_names = (f"ResNet-{deep}-noshort", f"ResNet-{shallow}-noshort")
    return [
        Claim.tested(
            f"without skip connections the {deep}-layer net's surface is chaotic: more of the "
            f"planes is non-convex (curves downward) than for the {deep}-layer ResNet",
            non_convex(deep_names, plain, res),
            f"{share}: {deep_names[0]} {listed(plain)}; {deep_names[1]} {listed(res)}",
            f"{SOURCE}, Fig. 5 and Sec. 6",
        ),
        Claim.tested(
            f"with skip connections the {deep}-layer net's surface looks convex: one local "
            "minimum per plane",
            within(
                res_minima,
                1.0,
                0.5,
                name=f"ResNet-{deep} local minima per plane",
                hypothesis=f"mean local minima per plane of ResNet-{deep} rounds to 1 "
                "(|mean − 1| < 0.5)",
            ),
            f"local minima per plane ({planes}), per seed: ResNet-{deep} {listed(res_minima, 'g')}",
            f"{SOURCE}, Fig. 5",
        ),
        Claim.tested(
            f"depth makes the plain net's surface chaotic: more of the planes of the {deep}-layer "
            f"net without skips is non-convex than of the {shallow}-layer one",
            non_convex(depth_names, plain, shallow_plain),
            f"{share}: {depth_names[0]} {listed(plain)}; {depth_names[1]} {listed(shallow_plain)}",
            f"{SOURCE}, Fig. 5 and Sec. 6",
        ),
    ]


def _figures(surfaces: dict[str, list[Any]], rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Contours and 3-D surfaces of seed 0's first plane; bars of the means over seeds."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = [r["network"] for r in rows]
    fig, axes = plt.subplots(2, 2, figsize=(10.5, 9))
    for ax, label in zip(axes.ravel(), labels, strict=True):
        surfaces[label][0].plot(ax=ax)
        plane = surfaces[label][0]
        ax.set_title(
            f"{label} (seed 0): {plane.non_convex_fraction():.0%} non-convex, "
            f"{len(plane.local_minima())} local minima"
        )
    fig.tight_layout()
    fig3d = plt.figure(figsize=(10.5, 9))
    for i, label in enumerate(labels):
        surfaces[label][0].plot(ax=fig3d.add_subplot(2, 2, i + 1, projection="3d"), kind="surface")
        fig3d.axes[-1].set_title(label)
    fig3d.tight_layout()
    panels = [
        ("non_convex", "non-convex share of the planes", "chaos: negative curvature"),
        ("local_minima", "local minima (all planes)", "chaos: local minima"),
        ("mean_hessian_ratio", "mean |λ_min| / |λ_max|", "Hessian near the minimum"),
    ]
    panels = [p for p in panels if p[0] in rows[0]]
    bars, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 3.4))
    for ax, (key, ylabel, title) in zip(np.atleast_1d(axes), panels, strict=True):
        ax.bar(labels, [r[key] for r in rows], yerr=[r[f"{key}_std"] for r in rows])
        ax.set(ylabel=f"{ylabel}, mean over seeds", title=title)
        ax.tick_params(axis="x", rotation=20)
    bars.tight_layout()
    return {
        "contours of the train loss (seed 0, plane 1)": fig,
        "3-D surfaces (seed 0, plane 1)": fig3d,
        "non-convexity and local minima": bars,
    }
