"""Mode connectivity: low-loss curves between two solutions (Garipov et al. 2018, arXiv 1802.10026).

Two independently trained networks θ_a and θ_b are usually separated by a loss barrier on the
straight line between them, yet a simple curve with trained bends joins them at low loss. With
control points θ_0 = θ_a, θ_1 … θ_k (trained), θ_{k+1} = θ_b:

    Bézier (degree k + 1)   θ(t) = Σ_i C(k+1, i) t^i (1 − t)^{k+1−i} θ_i
                            (k = 1: the quadratic (1−t)² θ_a + 2t(1−t) θ_1 + t² θ_b)
    polygonal chain         straight segments through θ_i at t_i = i / (k + 1)

The bends start on the straight line and minimize E_{t ~ U[0,1]} L(θ(t)), one uniform t per
minibatch, with the one training loop: :class:`CurveModule` is an ``nn.Module`` whose only
trainable parameters are the bends and whose ``forward`` evaluates the subject's network
functionally at θ(t) (a fresh t per call in train mode, the fixed ``t`` attribute in eval mode),
so ``occamlab.train.fit`` trains it like any model. Any ``nn.Module`` works; no layer is
rewritten. The user's module is never touched: the curve holds its own copy of the network.

Barriers along the line and along the curve are measured by
:func:`occamlab.probes.connectivity.evaluate_path`; for BatchNorm networks pass
``reestimate_bn=True``: the running statistics of an endpoint are wrong in between (Garipov et al.
re-estimate them at every point; without it the curve's errors are meaningless).
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from typing import Any, Literal

import torch
from torch import nn
from torch.func import functional_call

from occamlab.jsonable import jsonable
from occamlab.linalg.params import flatten, unflatten
from occamlab.probes.connectivity import PathResult, evaluate_path, interpolate
from occamlab.subject import Params, Subject
from occamlab.train import TrainSpec, fit

CurveKind = Literal["bezier", "polychain"]
CURVE_KINDS: tuple[str, ...] = ("bezier", "polychain")


def curve_coefficients(kind: CurveKind, bends: int, t: float) -> list[float]:
    """Weights of the ``bends + 2`` control points at ``t`` (they sum to 1).

    >>> curve_coefficients("bezier", 1, 0.5)
    [0.25, 0.5, 0.25]
    >>> curve_coefficients("polychain", 1, 0.25)
    [0.5, 0.5, 0.0]
    """
    if kind not in CURVE_KINDS:
        raise ValueError(f"kind must be one of {', '.join(CURVE_KINDS)}, got {kind!r}")
    if not 0.0 <= t <= 1.0:
        raise ValueError(f"t must be in [0, 1], got {t}")
    n = bends + 1
    if kind == "bezier":
        return [math.comb(n, i) * t**i * (1.0 - t) ** (n - i) for i in range(n + 1)]
    out = [0.0] * (n + 1)
    segment = min(int(t * n), n - 1)
    s = t * n - segment
    out[segment] = 1.0 - s
    out[segment + 1] = s
    return out


class CurveModule(nn.Module):
    """A curve of parameter sets between two fixed endpoints, as a trainable module.

    Args:
        network: the architecture (copied; the copy's own parameters are frozen and unused,
            its buffers, e.g. BatchNorm statistics, are the curve's).
        start, end: the two endpoint parameter dicts (names of trainable parameters).
        kind: ``"bezier"`` or ``"polychain"``.
        bends: number of trained control points between the endpoints.
        seed: seeds the module's own generator of t (no global random state).

    Attributes:
        bends: the trainable control points, flat vectors (initialized on the straight line).
        t: where ``forward`` evaluates the curve in eval mode.
    """

    def __init__(
        self,
        network: nn.Module,
        start: Params,
        end: Params,
        *,
        kind: CurveKind = "bezier",
        bends: int = 1,
        seed: int = 0,
    ) -> None:
        super().__init__()
        if kind not in CURVE_KINDS:
            raise ValueError(f"kind must be one of {', '.join(CURVE_KINDS)}, got {kind!r}")
        if isinstance(bends, bool) or not isinstance(bends, int) or bends < 1:
            raise ValueError(f"bends must be an integer >= 1, got {bends!r}")
        if set(start) != set(end):
            raise ValueError("start and end must name the same parameters")
        self.network = copy.deepcopy(network)
        for p in self.network.parameters():
            p.requires_grad_(False)
        own = dict(self.network.named_parameters())
        unknown = sorted(set(start) - set(own))
        if unknown:
            raise ValueError(f"unknown parameter names {unknown}")
        self.kind = kind
        self._like = {k: own[k].detach() for k in start}
        a = flatten({k: start[k].detach() for k in start}).clone()
        b = flatten({k: end[k].detach() for k in start}).clone()
        if a.shape != b.shape:
            raise ValueError("start and end parameters differ in shape")
        self.register_buffer("start", a)
        self.register_buffer("end", b)
        n = bends + 1
        self.bends = nn.ParameterList([nn.Parameter(torch.lerp(a, b, i / n)) for i in range(1, n)])
        self.t = 0.5
        self._generator = torch.Generator().manual_seed(seed)

    def control_points(self) -> list[torch.Tensor]:
        return [self.start, *self.bends, self.end]

    def flat_point(self, t: float) -> torch.Tensor:
        """θ(t) as one flat vector (differentiable in the bends)."""
        coefs = curve_coefficients(self.kind, len(self.bends), t)
        point = None
        for c, theta in zip(coefs, self.control_points(), strict=True):
            if c != 0.0:
                point = c * theta if point is None else point + c * theta
        return point

    def point(self, t: float) -> dict[str, torch.Tensor]:
        """θ(t) as a parameter dict (detached copies)."""
        with torch.no_grad():
            return {k: v.clone() for k, v in unflatten(self.flat_point(t), self._like).items()}

    def fill(self, t: float, out: dict[str, torch.Tensor]) -> None:
        """Write θ(t) into ``out`` (the endpoints exactly at t = 0 and t = 1)."""
        coefs = curve_coefficients(self.kind, len(self.bends), t)
        with torch.no_grad():
            for name in self._like:  # parameters not on the curve keep the module's values
                out[name].zero_()
            first = True
            for c, theta in zip(coefs, self.control_points(), strict=True):
                if c == 0.0:
                    continue
                for name, piece in unflatten(theta.detach(), self._like).items():
                    if first and c == 1.0:
                        out[name].copy_(piece)
                    else:
                        out[name].add_(piece, alpha=c)
                first = False

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        t = float(torch.rand((), generator=self._generator)) if self.training else self.t
        params = unflatten(self.flat_point(t), self._like)
        return functional_call(self.network, params, (x,))


@dataclass(frozen=True, eq=False)
class ModeConnectivity:
    """A trained curve between two solutions and the barriers along it and along the line.

    Attributes:
        curve_kind: ``"bezier"`` or ``"polychain"``.
        bends: trained control points.
        line: :class:`~occamlab.probes.connectivity.PathResult` on the straight line.
        curve: the same along the trained curve (``alphas`` are the curve parameter t).
        training: the curve's training summary (steps, seconds, final midpoint metrics).
        module: the trained :class:`CurveModule` (not serialized).
    """

    curve_kind: str
    bends: int
    line: PathResult
    curve: PathResult
    training: dict[str, Any]
    module: CurveModule = field(repr=False)

    def to_dict(self) -> dict[str, Any]:
        return jsonable(
            {
                "curve_kind": self.curve_kind,
                "bends": self.bends,
                "line": self.line.to_dict(),
                "curve": self.curve.to_dict(),
                "training": self.training,
            }
        )

    def plot(self, ax: Any = None) -> Any:
        """Train loss and test error along the line and along the curve."""
        from occamlab.probes.landscape.plots import barriers

        return barriers(self, ax=ax)


def mode_connectivity(
    subject: Subject,
    start: Params,
    end: Params,
    *,
    train: TrainSpec,
    kind: CurveKind = "bezier",
    bends: int = 1,
    num_points: int = 11,
    limit: int | None = None,
    reestimate_bn: bool = False,
    seed: int = 0,
    progress: bool = False,
) -> ModeConnectivity:
    """Train a curve from ``start`` to ``end`` and measure the barriers on it and on the line.

    Args:
        subject: architecture, loss and data (its module is never modified).
        start, end: the two solutions (parameter dicts, e.g. ``subject.params()`` of two runs).
        train: recipe for the bends (Garipov et al.: SGD, the networks' own schedule).
        kind: ``"bezier"`` (default; quadratic with one bend) or ``"polychain"``.
        bends: trained control points between the endpoints.
        num_points: evaluation points on each path, endpoints included.
        limit: examples per split for the path evaluations (None: all).
        reestimate_bn: recompute BatchNorm statistics at every evaluated point.
        seed: seeds the sampling of t during training.
    """
    module = CurveModule(subject.model, start, end, kind=kind, bends=bends, seed=seed)
    curve_subject = Subject(
        model=module,
        data=subject.data,
        loss=subject.loss,
        eval_batch_size=subject.eval_batch_size,
        name=f"{kind} curve · {subject.name}",
    )
    result = fit(curve_subject, train, progress=progress)
    module.eval()
    line = interpolate(
        subject, start, end, num_points=num_points, limit=limit, reestimate_bn=reestimate_bn
    )
    curve = evaluate_path(
        subject, module.fill, num_points=num_points, limit=limit, reestimate_bn=reestimate_bn
    )
    training = {
        "steps": result.steps,
        "seconds": result.seconds,
        "midpoint": {k: v for k, v in result.final.items() if k not in ("epoch", "step", "lr")},
    }
    return ModeConnectivity(
        curve_kind=kind, bends=bends, line=line, curve=curve, training=training, module=module
    )
