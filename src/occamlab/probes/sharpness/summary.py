"""All sharpness measures of a subject at once: what ``occam probe sharpness`` reports."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from occamlab.jsonable import jsonable
from occamlab.probes.curvature import HessianReport, hessian_spectrum
from occamlab.probes.sharpness.ascent import adaptive_sharpness, filter_normalized_sharpness
from occamlab.probes.sharpness.keskar import keskar_sharpness
from occamlab.probes.sharpness.pacbayes import pacbayes_sigma
from occamlab.specs import make_spec
from occamlab.subject import Subject


@dataclass(frozen=True)
class SharpnessSpec:
    """Options of :func:`sharpness_summary` (and the flags of ``occam probe sharpness``).

    Attributes:
        epsilon: Keskar et al.'s box size ε (also evaluated at ε/2).
        subspace_dim: dimension of Keskar's random subspace, at most the number of parameters (a
            network with fewer uses them all; the result states the dimension used; 0: skip the
            subspace variant).
        rho: radius of the adaptive and filter-normalized balls.
        target_deviation: PAC-Bayes σ: largest σ whose expected train error (regression: loss)
            rises by at most this.
        search_depth: log-space bisection steps of the PAC-Bayes σ search: σ is found within a
            factor 10^(1/2^depth) (depth 8: 0.9%) of the bracket it ends in.
        split: which data the loss is averaged over.
        limit: use the first this many examples (0: all of the split).
        seed: seeds every random start, subspace and Monte Carlo draw.
    """

    epsilon: float = 1e-3
    subspace_dim: int = 100
    rho: float = 0.05
    target_deviation: float = 0.1
    search_depth: int = 15
    split: Literal["train", "test"] = "train"
    limit: int = 1000
    seed: int = 0


def sharpness_summary(
    subject: Subject,
    *,
    spec: SharpnessSpec | None = None,
    hessian: HessianReport | None = None,
    **options: Any,
) -> dict[str, Any]:
    """λ_max and 2/λ_max, Hessian trace, Keskar φ_ε (full space at ε and ε/2, random subspace),
    adaptive and filter-normalized sharpness, and Jiang et al.'s PAC-Bayes σ, as one JSON-safe
    dict (each entry is the probe's own ``to_dict()``).

    ``hessian``: a report of :func:`~occamlab.probes.curvature.hessian_spectrum` of the same
    loss (the Hessian of the same split and limit, with its trace), whose λ_max and trace are
    used instead of computing them again; None: a top-1 Lanczos run and the trace here.
    """
    spec = make_spec(SharpnessSpec, {**(spec.__dict__ if spec else {}), **options})
    subject.check_finite()
    common = {"split": spec.split, "limit": spec.limit or None, "seed": spec.seed}
    if hessian is None:
        hessian = hessian_spectrum(subject, k=1, split=spec.split, limit=spec.limit, seed=spec.seed)
    else:
        given = (hessian.spec.matrix, hessian.spec.split, hessian.spec.limit, hessian.spec.trace)
        if given != ("hessian", spec.split, spec.limit, True):
            raise ValueError(
                f"the hessian report is of matrix {given[0]!r}, split {given[1]!r}, limit "
                f"{given[2]} (trace {given[3]}); sharpness needs the Hessian of split "
                f"{spec.split!r}, limit {spec.limit}, with its trace: run hessian_spectrum with "
                "those options, or pass hessian=None"
            )
    out: dict[str, Any] = {
        "spec": spec,
        "lambda_max": hessian.lambda_max,
        "max_stable_lr": hessian.max_stable_lr,
        "hessian_trace": hessian.trace,
        "hessian_trace_method": hessian.trace_method,
        "keskar": keskar_sharpness(subject, epsilon=spec.epsilon, **common),
        "keskar_half_epsilon": keskar_sharpness(subject, epsilon=spec.epsilon / 2, **common),
        "adaptive": adaptive_sharpness(subject, rho=spec.rho, **common),
        "filter_normalized": filter_normalized_sharpness(subject, rho=spec.rho, **common),
        "pacbayes": pacbayes_sigma(
            subject,
            target_deviation=spec.target_deviation,
            # Jiang et al. perturb until the training error rises; regression has only a loss.
            measure="error" if subject.data.task == "classification" else "loss",
            search_depth=spec.search_depth,
            **common,
        ),
    }
    if spec.subspace_dim:
        out["keskar_subspace"] = keskar_sharpness(
            subject,
            epsilon=spec.epsilon,
            subspace_dim=min(spec.subspace_dim, subject.num_parameters),
            **common,
        )
    return jsonable(out)
