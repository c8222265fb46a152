"""Curvature of the loss at a trained subject: Hessian spectrum, trace, density, per-layer view.

One probe, :func:`hessian_spectrum`, composes the operators of :mod:`occamlab.linalg` (Hessian,
GGN or empirical-Fisher products of the full-data mean loss, streamed over batches, in eval mode)
with its solvers (Lanczos with full reorthogonalization and a residual stopping rule; exact trace
from the diagonal where the architecture allows, Hutch++ otherwise; stochastic Lanczos
quadrature for the density). :class:`SharpnessMonitor` tracks λ_max during training (the edge of
stability, Cohen et al. 2021) with warm-started Lanczos.

Examples:
    >>> from occamlab import make_subject
    >>> from occamlab.probes.curvature import hessian_spectrum
    >>> s = make_subject(model="mlp", data="gaussian_mixture", model_options={"width": 8})
    >>> report = hessian_spectrum(s, k=2, trace=False)
    >>> report.converged and len(report.eigenvalues) == 2
    True
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Literal

import torch
from torch import nn

from occamlab.jsonable import jsonable
from occamlab.linalg.density import SpectralDensity, slq
from occamlab.linalg.diagonal import ggn_diagonal, hessian_diagonal_is_ggn_diagonal
from occamlab.linalg.fisher import EmpiricalFisherOperator
from occamlab.linalg.ggn import GGNOperator
from occamlab.linalg.hessian import HessianOperator
from occamlab.linalg.lanczos import eigsh
from occamlab.linalg.trace import TraceResult, hutchpp
from occamlab.notebook import HtmlRepr
from occamlab.specs import make_spec
from occamlab.subject import Subject
from occamlab.train.loop import Callback, TrainState

Matrix = Literal["hessian", "ggn", "fisher"]
_OPERATORS = {"hessian": HessianOperator, "ggn": GGNOperator, "fisher": EmpiricalFisherOperator}


@dataclass(frozen=True)
class HessianSpec:
    """Options of :func:`hessian_spectrum` (and the flags of ``occam probe hessian``).

    Attributes:
        matrix: curvature matrix: the loss Hessian, the Gauss-Newton matrix (GGN) or the
            empirical Fisher.
        k: number of eigenpairs.
        which: LA largest, SA smallest (negative curvature at saddles), LM largest magnitude.
        tol: Lanczos stops when every wanted pair has residual ‖Hv − λv‖ <= tol·|λ| (float32
            products bottom out near 1e-6; eigenvalue errors are about the residual squared).
        max_matvecs: budget of matrix-vector products for the eigensolver.
        trace: also compute the trace.
        trace_matvecs: Hutch++ budget when the trace cannot be read off the diagonal exactly.
        density: also estimate the spectral density by stochastic Lanczos quadrature.
        density_probes: SLQ random probes.
        density_steps: Lanczos steps per SLQ probe.
        per_layer: also the top eigenvalue and trace of each layer's diagonal block.
        split: which data the loss is averaged over.
        limit: use the first this many examples (0: all of the split).
        dtype: arithmetic precision of the products.
        seed: seeds every random start and probe.
    """

    matrix: Matrix = "hessian"
    k: int = 5
    which: Literal["LA", "SA", "LM"] = "LA"
    tol: float = 1e-5
    max_matvecs: int = 300
    trace: bool = True
    trace_matvecs: int = 150
    density: bool = False
    density_probes: int = 4
    density_steps: int = 60
    per_layer: bool = False
    split: Literal["train", "test"] = "train"
    limit: int = 1000
    dtype: Literal["float32", "float64"] = "float32"
    seed: int = 0

    def __post_init__(self) -> None:
        checks = [
            (self.k >= 1, f"k must be >= 1, got {self.k}"),
            (0 < self.tol < 1, f"tol must be in (0, 1), got {self.tol}"),
            (self.max_matvecs >= self.k, "max_matvecs must be at least k"),
            (self.trace_matvecs >= 3, "trace_matvecs must be >= 3 (Hutch++ needs three parts)"),
            (
                self.density_probes >= 1 and self.density_steps >= 2,
                "density needs probes >= 1 and steps >= 2",
            ),
            (self.limit >= 0, f"limit must be >= 0 (0: all examples), got {self.limit}"),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(message)


@dataclass(frozen=True)
class LayerCurvature:
    """Top eigenvalue and trace of one layer's diagonal block."""

    block: str
    num_parameters: int
    top_eigenvalue: float
    trace: float
    trace_method: str


@dataclass(frozen=True)
class HessianReport(HtmlRepr):
    """What :func:`hessian_spectrum` measured, with the cost and accuracy of each number."""

    spec: HessianSpec
    eigenvalues: list[float]
    relative_residuals: list[float]
    converged: bool
    eigen_matvecs: int
    trace: float | None
    trace_standard_error: float | None
    trace_method: str | None
    trace_matvecs: int
    density: SpectralDensity | None
    layers: list[LayerCurvature]
    operator: dict[str, Any]
    num_parameters: int
    seconds: float
    eigenvectors: torch.Tensor | None = field(default=None, repr=False, compare=False)

    @property
    def lambda_max(self) -> float:
        """Largest eigenvalue found (meaningful for ``which="LA"``)."""
        return max(self.eigenvalues)

    @property
    def max_stable_lr(self) -> float | None:
        """2/λ_max: the largest step at which GD is stable on the local quadratic model."""
        return 2.0 / self.lambda_max if self.lambda_max > 0 else None

    def to_dict(self) -> dict[str, Any]:
        return jsonable(
            {
                "spec": self.spec,
                "eigenvalues": self.eigenvalues,
                "relative_residuals": self.relative_residuals,
                "converged": self.converged,
                "eigen_matvecs": self.eigen_matvecs,
                "lambda_max": self.lambda_max,
                "max_stable_lr": self.max_stable_lr,
                "trace": self.trace,
                "trace_standard_error": self.trace_standard_error,
                "trace_method": self.trace_method,
                "trace_matvecs": self.trace_matvecs,
                "density": None if self.density is None else self.density.to_dict(),
                "layers": self.layers,
                "operator": self.operator,
                "num_parameters": self.num_parameters,
                "seconds": self.seconds,
            }
        )

    def plot(self, ax=None):
        """The SLQ density (log scale) with the top eigenvalues marked; eigenvalues alone if
        no density was computed."""
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(6, 3.2))
        if self.density is not None:
            self.density.plot(ax=ax)
        for value in self.eigenvalues:
            ax.axvline(value, color="tab:red", alpha=0.5, lw=1)
        ax.set_xlabel("eigenvalue")
        ax.set_title(f"{self.spec.matrix} spectrum (red: top {len(self.eigenvalues)})")
        return ax


def _operator(subject: Subject, spec: HessianSpec, *, block=None):
    cls = _OPERATORS[spec.matrix]
    dtype = torch.float64 if spec.dtype == "float64" else torch.float32
    return cls(subject, split=spec.split, limit=spec.limit or None, dtype=dtype, block=block)


def _exact_diagonal(subject: Subject, spec: HessianSpec) -> torch.Tensor | None:
    """The exact diagonal when the trace can be read off it: always for the GGN, and for the
    Hessian of piecewise-linear networks (where diag H = diag GGN); None otherwise."""
    exact = spec.matrix == "ggn" or (
        spec.matrix == "hessian" and hessian_diagonal_is_ggn_diagonal(subject.model)[0]
    )
    if not exact:
        return None
    dtype = torch.float64 if spec.dtype == "float64" else torch.float32
    return ggn_diagonal(subject, split=spec.split, limit=spec.limit or None, dtype=dtype)


def _trace(op, diagonal: torch.Tensor | None, spec: HessianSpec, *, seed: int):
    """(trace, standard error, method, matvecs): the diagonal's sum restricted to the operator's
    parameters when exact, else Hutch++."""
    if diagonal is not None:
        names = list(op.subject.params())
        sizes = [p.numel() for p in op.subject.params().values()]
        parts = dict(zip(names, torch.split(diagonal, sizes), strict=True))
        value = sum(float(parts[name].sum()) for name in op.param_names)
        return value, 0.0, "exact (diagonal)", 0
    before = op.num_matvecs
    result: TraceResult = hutchpp(
        op, num_matvecs=spec.trace_matvecs, generator=torch.Generator().manual_seed(seed)
    )
    return result.estimate, result.standard_error, "hutch++", op.num_matvecs - before


def layer_blocks(model: nn.Module) -> list[str]:
    """Names of the modules that own parameters directly (one block per layer)."""
    return [
        name
        for name, module in model.named_modules()
        if name and any(True for _ in module.parameters(recurse=False))
    ]


def hessian_spectrum(
    subject: Subject, *, spec: HessianSpec | None = None, **options: Any
) -> HessianReport:
    """Top (or bottom) eigenvalues, trace, density and per-layer curvature of ``subject``'s loss.

    Options are the fields of :class:`HessianSpec` (given as ``spec`` and/or keywords, which
    override it), validated with messages that name the valid values.

    The loss is the mean over the first ``limit`` examples of ``split``, evaluated in eval mode
    (BatchNorm uses running statistics, dropout is off: the report's ``operator`` says so and lists
    the affected layers). Eigenvalues are accurate to the reported relative residuals; a run that
    exhausts ``max_matvecs`` says ``converged=False`` rather than claiming ``tol``.
    """
    spec = make_spec(HessianSpec, {**(spec.__dict__ if spec else {}), **options})
    subject.check_finite()
    started = time.perf_counter()
    op = _operator(subject, spec)
    gen = torch.Generator().manual_seed(spec.seed)
    eig = eigsh(
        op, k=spec.k, which=spec.which, tol=spec.tol, max_matvecs=spec.max_matvecs, generator=gen
    )
    eigen_matvecs = op.num_matvecs
    diagonal = _exact_diagonal(subject, spec) if spec.trace or spec.per_layer else None
    trace = trace_se = trace_method = None
    trace_matvecs = 0
    if spec.trace:
        trace, trace_se, trace_method, trace_matvecs = _trace(
            op, diagonal, spec, seed=spec.seed + 1
        )
    density = None
    if spec.density:
        density = slq(
            op,
            num_probes=spec.density_probes,
            lanczos_steps=spec.density_steps,
            deflate=True,
            generator=torch.Generator().manual_seed(spec.seed + 2),
        )
    layers = []
    if spec.per_layer:
        for block in layer_blocks(subject.model):
            block_op = _operator(subject, spec, block=block)
            top = eigsh(
                block_op,
                k=1,
                which="LA",
                tol=spec.tol,
                max_matvecs=spec.max_matvecs,
                generator=torch.Generator().manual_seed(spec.seed + 3),
            )
            value, _, method, _ = _trace(block_op, diagonal, spec, seed=spec.seed + 4)
            layers.append(
                LayerCurvature(block, block_op.n, float(top.eigenvalues[0]), value, method)
            )
    values = eig.eigenvalues.tolist()
    return HessianReport(
        spec=spec,
        eigenvalues=values,
        relative_residuals=[float(r) for r in eig.residuals.tolist()],
        converged=bool(eig.converged),
        eigen_matvecs=eigen_matvecs,
        trace=trace,
        trace_standard_error=trace_se,
        trace_method=trace_method,
        trace_matvecs=trace_matvecs,
        density=density,
        layers=layers,
        operator=op.describe(),
        num_parameters=op.n,
        seconds=time.perf_counter() - started,
        eigenvectors=eig.eigenvectors,
    )


class SharpnessMonitor(Callback):
    """Track λ_max of the training loss every ``every`` steps (edge of stability).

    Each estimate is a Lanczos run warm-started from the previous top eigenvector, so after the
    first it typically needs a handful of Hessian-vector products. ``records`` holds
    ``{"step", "lambda_max", "two_over_lr", "relative_residual", "matvecs"}``; with GD at step
    size η, Cohen et al. (2021) find λ_max rising to 2/η and hovering there.

    Args:
        every: steps between estimates.
        limit: examples of the training split the loss is averaged over (0: all).
        tol: relative residual at which each estimate stops.
    """

    def __init__(self, *, every: int = 10, limit: int = 1000, tol: float = 1e-3, seed: int = 0):
        if every < 1:
            raise ValueError(f"every must be >= 1, got {every}")
        self.every, self.limit, self.tol, self.seed = every, limit, tol, seed
        self.records: list[dict[str, float]] = []
        self._v0: torch.Tensor | None = None

    def _estimate(self, state: TrainState) -> None:
        op = HessianOperator(state.subject, limit=self.limit or None)
        result = eigsh(
            op,
            k=1,
            which="LA",
            tol=self.tol,
            v0=self._v0,
            max_matvecs=200,
            generator=torch.Generator().manual_seed(self.seed + state.step),
        )
        self._v0 = result.eigenvectors[:, 0]
        value = float(result.eigenvalues[0])
        self.records.append(
            {
                "step": state.step,
                "lambda_max": value,
                "two_over_lr": 2.0 / state.lr if state.lr else float("inf"),
                "relative_residual": float(result.residual_norms[0]) / max(abs(value), 1e-300),
                "matvecs": result.num_matvecs,
            }
        )

    def on_train_begin(self, state: TrainState) -> None:
        self._estimate(state)

    def on_step_end(self, state: TrainState) -> None:
        if state.step % self.every == 0:
            self._estimate(state)
