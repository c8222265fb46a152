"""Loss surfaces: train/test loss and accuracy on a line or a plane through parameter space.

A surface is the subject evaluated at every grid point::

    θ(a)    = θ₀ + a·d₁                      (a line)
    θ(a, b) = θ₀ + a·d₁ + b·d₂               (a plane; Li et al. 2018, arXiv 1712.09913)

each computed afresh from θ₀ (never by walking in place). The default grid is symmetric with an
odd number of steps, so its middle coordinate is exactly 0 and the center of the surface is θ₀
itself: its values equal ``subject.evaluate()`` to the bit. Explicit coordinates must contain 0
for the same reason. Evaluation streams the data in eval mode through the functional view, never
writes the user's module, and is spread over torch.distributed ranks when they exist (see
:mod:`.evaluate`).

:func:`landscape_plane` is the one-call default: a filter-normalized random plane (biases and
BatchNorm parameters held fixed) of 21 × 21 points over [−1, 1]², on the first 1,000 examples of
each split — a second or two for the default MNIST-1D MLP on one CPU thread.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import torch

from occamlab.jsonable import jsonable
from occamlab.probes.landscape.directions import (
    Direction,
    direction_norm,
    hessian_directions,
    random_directions,
)
from occamlab.probes.landscape.evaluate import SPLITS, PointEvaluator
from occamlab.specs import make_spec
from occamlab.subject import Params, Subject


def symmetric_grid(steps: int, span: float) -> np.ndarray:
    """``steps`` (odd) coordinates ``span·(i − m)/m`` on [−span, span]; the middle one is 0.0.

    >>> symmetric_grid(5, 1.0).tolist()
    [-1.0, -0.5, 0.0, 0.5, 1.0]
    >>> symmetric_grid(1, 1.0).tolist()
    [0.0]
    """
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1 or steps % 2 == 0:
        raise ValueError(
            f"steps must be an odd positive integer so the grid contains its center, got {steps!r}"
        )
    if not (isinstance(span, (int, float)) and np.isfinite(span) and span > 0):
        raise ValueError(f"span must be a positive finite number, got {span!r}")
    m = (steps - 1) // 2
    return np.array([float(span) * (i - m) / m if m else 0.0 for i in range(steps)])


def _check_axis(coords: Sequence[float]) -> np.ndarray:
    axis = np.asarray(coords, dtype=np.float64)
    if axis.ndim != 1 or len(axis) < 2 or not np.all(np.isfinite(axis)):
        raise ValueError("coordinates must be a 1-D sequence of at least 2 finite numbers")
    if not np.all(np.diff(axis) > 0):
        raise ValueError("coordinates must be strictly increasing")
    if not np.any(axis == 0.0):
        raise ValueError("coordinates must contain 0.0 exactly (the center point)")
    return axis


@dataclass(frozen=True, eq=False)
class Surface:
    """Values of a subject on a 1-D or 2-D grid around θ₀.

    Attributes:
        axes: grid coordinates along each direction (one array per direction).
        values: ``"train_loss"``, ``"train_accuracy"``, ``"test_loss"``, ``"test_accuracy"``
            (those evaluated) as arrays of shape ``(len(axes[0]),)`` or
            ``(len(axes[0]), len(axes[1]))``: ``values[m][i, j]`` is at θ₀ + a_i·d₁ + b_j·d₂.
        center: grid index of θ₀ (where every coordinate is 0).
        directions: how the directions were made, with their norms relative to ‖θ₀‖.
        num_examples: examples per evaluated split.
        limit: the example limit per split (None: all).
        reestimate_bn: whether BatchNorm statistics were recomputed at every point.
        points_per_pass: grid points per forward pass.
        stochastic_layers: layers whose train and eval behaviour differ (evaluated in eval mode).
        seconds: wall time of the evaluation.
    """

    axes: tuple[np.ndarray, ...]
    values: dict[str, np.ndarray]
    center: tuple[int, ...]
    directions: dict[str, Any]
    num_examples: dict[str, int]
    limit: int | None
    reestimate_bn: bool
    points_per_pass: int
    stochastic_layers: list[str]
    seconds: float
    eval_mode: bool = True
    extras: dict[str, Any] = field(default_factory=dict)

    @property
    def ndim(self) -> int:
        return len(self.axes)

    @property
    def num_points(self) -> int:
        return int(np.prod([len(a) for a in self.axes]))

    def at_center(self) -> dict[str, float]:
        """Every metric at θ₀."""
        return {k: float(v[self.center]) for k, v in self.values.items()}

    def local_minima(self, metric: str = "train_loss") -> list[tuple[int, ...]]:
        """Grid points strictly below every neighbour (8-neighbourhood on planes; grid edges have
        fewer neighbours). Non-finite values never count as minima.

        A convex surface has exactly one; Li et al. (2018) find chaotic, many-minima surfaces for
        deep networks without skip connections.
        """
        v = np.asarray(self.values[metric], dtype=np.float64)
        padded = np.pad(np.where(np.isfinite(v), v, np.inf), 1, constant_values=np.inf)
        offsets = [o for o in np.ndindex(*(3,) * v.ndim) if any(x != 1 for x in o)]
        is_min = np.isfinite(v)
        for off in offsets:
            sl = tuple(slice(o, o + n) for o, n in zip(off, v.shape, strict=True))
            is_min &= v < padded[sl]
        return [tuple(int(i) for i in idx) for idx in np.argwhere(is_min)]

    def curvature(self, metric: str = "train_loss") -> np.ndarray:
        """Eigenvalues (ascending, last axis) of the surface's Hessian in the grid coordinates at
        every interior grid point, from central differences (three-point stencils, exact for
        quadratics also on uneven grids); NaN where a stencil touches a non-finite value.

        On a plane this is the network's Hessian restricted to the plane (in the coordinates
        a, b): a negative eigenvalue there is negative curvature of the full loss too, and its
        sign does not depend on how the directions are scaled (Sylvester's law of inertia).
        """
        v = np.asarray(self.values[metric], dtype=np.float64)
        if min(v.shape) < 3:
            raise ValueError("curvature needs at least 3 grid points along every axis")
        n = v.ndim

        def at(step: dict[int, int]) -> np.ndarray:
            return v[
                tuple(slice(1 + step.get(k, 0), v.shape[k] - 1 + step.get(k, 0)) for k in range(n))
            ]

        def spacing(k: int, side: int) -> np.ndarray:
            h = np.diff(self.axes[k])[1:] if side > 0 else np.diff(self.axes[k])[:-1]
            return h.reshape([-1 if j == k else 1 for j in range(n)])

        hessian = np.empty((*at({}).shape, n, n))
        for k in range(n):
            low, high = spacing(k, -1), spacing(k, 1)
            hessian[..., k, k] = (
                2 * (low * at({k: 1}) - (low + high) * at({}) + high * at({k: -1}))
            ) / (low * high * (low + high))
            for j in range(k):
                width = (low + high) * (spacing(j, -1) + spacing(j, 1))
                corners = at({k: 1, j: 1}) - at({k: 1, j: -1}) - at({k: -1, j: 1})
                hessian[..., k, j] = hessian[..., j, k] = (corners + at({k: -1, j: -1})) / width
        finite = np.isfinite(hessian).all(axis=(-2, -1))
        eigenvalues = np.linalg.eigvalsh(np.where(finite[..., None, None], hessian, 0.0))
        return np.where(finite[..., None], eigenvalues, np.nan)

    def non_convex_fraction(self, metric: str = "train_loss") -> float:
        """Share of the interior grid points where the surface curves downward in some direction
        (its Hessian has a negative eigenvalue, see :meth:`curvature`), over the points where it
        is finite: 0 for a convex bowl; Li et al. (2018) find deep networks without skip
        connections non-convex over much of the plane, ResNets nearly convex."""
        lowest = self.curvature(metric)[..., 0]
        finite = np.isfinite(lowest)
        return float(np.mean(lowest[finite] < 0)) if finite.any() else float("nan")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Surface:
        """Rebuild a surface from :meth:`to_dict` output (e.g. a stored run), for plotting."""
        values = {
            k: np.array([[np.nan if x is None else x for x in row] for row in v], dtype=float)
            if v and isinstance(v[0], list)
            else np.array([np.nan if x is None else x for x in v], dtype=float)
            for k, v in data["values"].items()
        }
        return cls(
            axes=tuple(np.asarray(a, dtype=float) for a in data["axes"]),
            values=values,
            center=tuple(data["center"]),
            directions=dict(data["directions"]),
            num_examples=dict(data["num_examples"]),
            limit=data["limit"],
            reestimate_bn=bool(data["reestimate_bn"]),
            points_per_pass=int(data["points_per_pass"]),
            stochastic_layers=list(data["stochastic_layers"]),
            seconds=float(data["seconds"]),
        )

    def to_dict(self) -> dict[str, Any]:
        return jsonable(
            {
                "axes": [a.tolist() for a in self.axes],
                "values": {k: v.tolist() for k, v in self.values.items()},
                "center": list(self.center),
                "at_center": self.at_center(),
                "local_minima": len(self.local_minima()),
                "directions": self.directions,
                "num_examples": self.num_examples,
                "limit": self.limit,
                "reestimate_bn": self.reestimate_bn,
                "points_per_pass": self.points_per_pass,
                "stochastic_layers": self.stochastic_layers,
                "eval_mode": self.eval_mode,
                "seconds": self.seconds,
                **self.extras,
            }
        )

    def plot(
        self,
        ax: Any = None,
        *,
        metric: str = "train_loss",
        kind: Literal["contour", "surface"] = "contour",
    ) -> Any:
        """Contour plot with labelled levels (planes), a 3-D surface, or a curve (lines)."""
        from occamlab.probes.landscape.plots import contour, line, surface_3d

        if self.ndim == 1:
            return line(self, ax=ax, metric=metric)
        if kind == "surface":
            return surface_3d(self, ax=ax, metric=metric)
        return contour(self, ax=ax, metric=metric)


def loss_surface(
    subject: Subject,
    directions: Sequence[Mapping[str, torch.Tensor]],
    *,
    center: Params | None = None,
    steps: int = 21,
    span: float = 1.0,
    coordinates: Sequence[Sequence[float]] | None = None,
    splits: Sequence[str] = SPLITS,
    limit: int | None = None,
    reestimate_bn: bool = False,
    points_per_pass: int = 0,
    accuracy: bool = True,
    description: Mapping[str, Any] | None = None,
    progress: bool = False,
) -> Surface:
    """Evaluate ``subject`` on the line or plane θ₀ + Σ_k c_k·d_k (see the module docstring).

    Args:
        subject: architecture, loss and data; its module is never modified.
        directions: one or two directions (dicts shaped like ``subject.params()``).
        center: θ₀ (default: the subject's parameters).
        steps: points of the symmetric grid on [−span, span] along every direction (odd).
        span: half-width of the grid.
        coordinates: explicit coordinates per direction instead (each must contain 0.0).
        splits: which splits to evaluate.
        limit: use the first ``limit`` examples of each split (None: all).
        reestimate_bn: recompute BatchNorm statistics at every point from the training split.
        points_per_pass: grid points per vmapped forward pass (0: automatic, see
            :mod:`.evaluate`).
        accuracy: also compute accuracies (classification).
        description: stored as ``directions`` in the result (how they were made).
        progress: show a progress bar on stderr.
    """
    started = time.perf_counter()
    if len(directions) not in (1, 2):
        raise ValueError(f"give one direction (a line) or two (a plane), got {len(directions)}")
    theta = {k: v.detach() for k, v in (subject.params() if center is None else center).items()}
    if set(theta) != set(subject.params()):
        raise ValueError("center must name the same parameters as subject.params()")
    dirs: list[Direction] = []
    for d in directions:
        if set(d) != set(theta):
            raise ValueError("every direction must name the same parameters as subject.params()")
        for k, v in d.items():
            if v.shape != theta[k].shape:
                raise ValueError(f"direction {k!r} has shape {tuple(v.shape)}")
            if not torch.isfinite(v).all():
                raise ValueError(f"direction {k!r} has non-finite entries")
        dirs.append({k: d[k].detach().to(theta[k].dtype) for k in theta})
    if coordinates is None:
        if steps < 3:
            raise ValueError(f"steps must be odd and >= 3 for a surface, got {steps}")
        axes = tuple(symmetric_grid(steps, span) for _ in dirs)
    else:
        if len(coordinates) != len(dirs):
            raise ValueError("give one coordinate sequence per direction")
        axes = tuple(_check_axis(c) for c in coordinates)
    evaluator = PointEvaluator(
        subject,
        splits=splits,
        limit=limit,
        reestimate_bn=reestimate_bn,
        points_per_pass=points_per_pass,
        accuracy=accuracy,
    )
    shape = tuple(len(a) for a in axes)
    center_index = tuple(int(np.flatnonzero(a == 0.0)[0]) for a in axes)
    names = list(theta)

    # θ₀ + a·d₁ is computed once per row of the grid (points arrive row by row), then each
    # point is one fused add: (θ₀ + a·d₁) + b·d₂, the same arithmetic as two adds per point.
    row = {"a": None, "base": theta}

    def fill(i: int, out: dict[str, torch.Tensor]) -> None:
        index = np.unravel_index(i, shape)
        a = float(axes[0][index[0]])
        b = float(axes[1][index[1]]) if len(axes) == 2 else 0.0
        if row["a"] != a:
            row["a"] = a
            row["base"] = (
                theta if a == 0.0 else {k: torch.add(theta[k], dirs[0][k], alpha=a) for k in names}
            )
        base = row["base"]
        for name in names:
            if b == 0.0:
                out[name].copy_(base[name])
            else:
                torch.add(base[name], dirs[1][name], alpha=b, out=out[name])

    bar = _progress_bar(progress, int(np.prod(shape)))
    try:
        flat = evaluator.run(
            fill,
            int(np.prod(shape)),
            exact=[int(np.ravel_multi_index(center_index, shape))],
            progress=None if bar is None else (lambda done: bar[0].update(bar[1], completed=done)),
        )
    finally:
        if bar is not None:
            bar[0].stop()
    values = {}
    for j, column in enumerate(evaluator.columns):
        if column.endswith("accuracy") and not evaluator.accuracy:
            continue
        values[column] = flat[:, j].reshape(shape)
    theta_norm = direction_norm(theta)
    info = dict(description or {})
    info["relative_norms"] = [direction_norm(d) / theta_norm if theta_norm else None for d in dirs]
    return Surface(
        axes=axes,
        values=values,
        center=center_index,
        directions=info,
        num_examples=dict(evaluator.num_examples),
        limit=limit,
        reestimate_bn=evaluator.reestimate_bn,
        points_per_pass=evaluator.points_per_pass,
        stochastic_layers=subject.stochastic_layers,
        seconds=time.perf_counter() - started,
    )


def _progress_bar(enabled: bool, total: int):
    if not enabled:
        return None
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    bar = Progress(
        TextColumn("landscape"),
        BarColumn(),
        MofNCompleteColumn(),
        console=Console(stderr=True),
        transient=True,
    )
    bar.start()
    return bar, bar.add_task("", total=total)


DirectionKind = Literal["filter", "layer", "model", "hessian"]


@dataclass(frozen=True)
class LandscapeSpec:
    """Options of :func:`landscape_plane` (and the flags of ``occam probe landscape``).

    Attributes:
        directions: ``filter`` (Gaussian, filter-normalized: Li et al. 2018), ``layer``
            (normalized per tensor), ``model`` (scaled to ‖θ‖ as a whole) or ``hessian`` (the
            top Hessian eigenvectors, unit norm: span is then an absolute distance).
        vectors: biases and BatchNorm parameters (tensors with one axis): ``ignore`` holds them
            fixed, ``normalize`` moves them, each scaled to its own norm.
        dims: 1 (a line) or 2 (a plane).
        steps: grid points per axis (odd, so the trained point is on the grid).
        span: the grid covers [−span, span] along each direction.
        limit: examples per split (0: all).
        test: also evaluate the test split.
        reestimate_bn: recompute BatchNorm statistics at every point (one more pass over the
            training examples per point).
        points_per_pass: grid points per vmapped forward pass (0: automatic; 1 on CPU except
            for tiny models).
        seed: seed of the random directions (and of Lanczos for ``hessian``).
    """

    directions: DirectionKind = "filter"
    vectors: Literal["ignore", "normalize"] = "ignore"
    dims: int = 2
    steps: int = 21
    span: float = 1.0
    limit: int = 1000
    test: bool = True
    reestimate_bn: bool = False
    points_per_pass: int = 0
    seed: int = 0

    def __post_init__(self) -> None:
        checks = [
            (self.dims in (1, 2), f"dims must be 1 or 2, got {self.dims}"),
            (
                self.steps >= 3 and self.steps % 2 == 1,
                f"steps must be odd and >= 3 (the center must be on the grid), got {self.steps}",
            ),
            (self.span > 0 and np.isfinite(self.span), f"span must be positive, got {self.span}"),
            (self.limit >= 0, f"limit must be >= 0 (0: all examples), got {self.limit}"),
            (self.points_per_pass >= 0, "points_per_pass must be >= 0 (0: automatic)"),
            (self.seed >= 0, f"seed must be >= 0, got {self.seed}"),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(message)


def plane_directions(
    subject: Subject, spec: LandscapeSpec
) -> tuple[list[Direction], dict[str, Any]]:
    """The directions a :class:`LandscapeSpec` asks for, and their description."""
    info: dict[str, Any] = {"kind": spec.directions, "vectors": spec.vectors, "seed": spec.seed}
    if spec.directions == "hessian":
        dirs, eigenvalues = hessian_directions(
            subject, count=spec.dims, limit=spec.limit or 1000, seed=spec.seed
        )
        info["eigenvalues"] = eigenvalues
        info.pop("vectors")
        return dirs, info
    dirs = random_directions(
        subject,
        count=spec.dims,
        normalization=spec.directions,
        vectors=spec.vectors,
        seed=spec.seed,
    )
    return dirs, info


def landscape_plane(
    subject: Subject, *, spec: LandscapeSpec | None = None, progress: bool = False, **options: Any
) -> Surface:
    """The default loss-landscape picture of ``subject``: a filter-normalized random plane.

    Options are the fields of :class:`LandscapeSpec` (as ``spec`` and/or keywords). The result
    has ``plot()`` (contour with labelled levels; ``kind="surface"`` for 3-D) and ``to_dict()``.

    Examples:
        >>> from occamlab import make_subject
        >>> s = make_subject(model="mlp", data="gaussian_mixture", model_options={"width": 8})
        >>> surface = landscape_plane(s, steps=5, limit=100)
        >>> surface.at_center()["train_loss"] == s.evaluate(split="train", limit=100).loss
        True
    """
    spec = make_spec(LandscapeSpec, {**(spec.__dict__ if spec else {}), **options})
    dirs, info = plane_directions(subject, spec)
    return loss_surface(
        subject,
        dirs,
        steps=spec.steps,
        span=spec.span,
        splits=("train", "test") if spec.test else ("train",),
        limit=spec.limit or None,
        reestimate_bn=spec.reestimate_bn,
        points_per_pass=spec.points_per_pass,
        description=info,
        progress=progress,
    )
