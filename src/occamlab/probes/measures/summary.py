"""Every generalization measure of a subject at once: what ``occam probe measures`` reports."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from occamlab.jsonable import jsonable
from occamlab.probes.measures.norms import norm_measures
from occamlab.probes.measures.optimization import optimization_measures
from occamlab.probes.measures.output import output_measures
from occamlab.probes.measures.sharpness import SharpnessBudget, sharpness_measures
from occamlab.probes.measures.size import size_measures
from occamlab.specs import make_spec
from occamlab.subject import Params, Subject

#: name → (family, definition). Every measure is a complexity: larger should mean a larger gap.
CATALOG: dict[str, tuple[str, str]] = {
    "num_parameters": ("size", "number of parameters ω"),
    "vc_dimension": ("size", "ω·d·log₂ω, the order of the VC bound of ReLU networks"),
    "cross_entropy": ("output", "training cross-entropy"),
    "inverse_margin": ("output", "1/γ², γ = 10th percentile of training margins"),
    "output_entropy": ("output", "mean entropy of the softmax outputs on training data"),
    "log_prod_spectral": ("spectral", "Σ ln ‖A_i‖²_σ (exact operator norms)"),
    "log_sum_spectral": ("spectral", "ln d + mean ln ‖A_i‖²_σ"),
    "log_prod_spectral_over_margin": ("spectral", "ln(Π ‖A_i‖²_σ / γ²)"),
    "log_sum_spectral_over_margin": ("spectral", "ln d + ln(Π ‖A_i‖²_σ / γ²)/d"),
    "distance_spectral": ("spectral", "Σ ‖A_i − A_i⁰‖²_σ"),
    "frobenius_over_spectral": ("spectral", "Σ ‖A_i‖²_F/‖A_i‖²_σ (stable ranks)"),
    "log_prod_frobenius": ("frobenius", "Σ ln ‖W_i‖²_F"),
    "log_sum_frobenius": ("frobenius", "ln d + mean ln ‖W_i‖²_F"),
    "log_prod_frobenius_over_margin": ("frobenius", "ln(Π ‖W_i‖²_F / γ²)"),
    "log_sum_frobenius_over_margin": ("frobenius", "ln d + ln(Π ‖W_i‖²_F / γ²)/d"),
    "distance_frobenius": ("frobenius", "Σ ‖W_i − W_i⁰‖²_F"),
    "parameter_norm": ("parameters", "‖w‖²₂"),
    "distance_l2": ("parameters", "‖w − w⁰‖²₂"),
    "path_norm": ("path", "Σ f_{w²}(𝟙)"),
    "path_norm_over_margin": ("path", "path-norm / γ²"),
    "pacbayes_flatness": ("sharpness", "1/σ² (PAC-Bayes, train error +0.1)"),
    "pacbayes_init": ("sharpness", "‖w − w⁰‖²/(4σ²) + ln(m/σ) + 10"),
    "pacbayes_orig": ("sharpness", "‖w‖²/(4σ²) + ln(m/σ) + 10"),
    "pacbayes_mag_flatness": ("sharpness", "1/σ′² (magnitude-aware PAC-Bayes)"),
    "pacbayes_mag_init": ("sharpness", "magnitude-aware PAC-Bayes bound form, from init"),
    "pacbayes_mag_orig": ("sharpness", "magnitude-aware PAC-Bayes bound form, from origin"),
    "sharpness_flatness": ("sharpness", "1/α² (worst case in the box |u_i| ≤ α)"),
    "sharpness_init": ("sharpness", "‖w − w⁰‖² ln(2ω)/(4α²) + ln(m/α) + 10"),
    "sharpness_orig": ("sharpness", "‖w‖² ln(2ω)/(4α²) + ln(m/α) + 10"),
    "sharpness_mag_flatness": ("sharpness", "1/α′² (worst case in |u_i| ≤ α′|w_i| + ε)"),
    "steps_to_loss_0.1": ("optimization", "steps until training cross-entropy 0.1"),
    "steps_0.1_to_0.01": ("optimization", "steps from cross-entropy 0.1 to 0.01"),
    "gradient_noise": ("optimization", "per-example gradient variance at the end"),
}


@dataclass(frozen=True)
class MeasuresSpec:
    """Options of :func:`generalization_measures` (and the flags of ``occam probe measures``).

    Attributes:
        sharpness: compute the sharpness/flatness measures (the slow part).
        num_samples: Monte Carlo draws per σ tried.
        search_depth: log-space bisection steps of the σ and α searches.
        ascent_steps: gradient-ascent steps per α tried.
        target_deviation: allowed rise of the training error in the σ and α searches.
        limit: use the first this many training examples for sharpness and gradient noise
            (0: all).
        seed: seeds every random draw.
    """

    sharpness: bool = True
    num_samples: int = 16
    search_depth: int = 10
    ascent_steps: int = 10
    target_deviation: float = 0.1
    limit: int = 0
    seed: int = 0


@dataclass(frozen=True)
class MeasuresReport:
    """The measures of one subject.

    Attributes:
        values: measure name → value (None where undefined: no initialization, no history,
            γ ≤ 0, a non-ReLU network for the path-norm, or sharpness switched off).
        ingredients: γ, σ, σ′, α, α′.
        train_error, test_error, generalization_gap: the quantities the measures try to predict
            (gap = test error − train error).
        seconds: wall time per family.
        eval_mode: always True.
        notes: what could not be measured, and why.
    """

    values: dict[str, float | None]
    ingredients: dict[str, float | None]
    train_error: float
    test_error: float
    generalization_gap: float
    seconds: dict[str, float]
    eval_mode: bool = True
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        out = jsonable(self.__dict__)
        out["catalog"] = {k: {"family": f, "definition": d} for k, (f, d) in CATALOG.items()}
        return out


_INGREDIENTS = ("margin", "sigma", "sigma_magnitude", "alpha", "alpha_magnitude")


def generalization_measures(
    subject: Subject,
    *,
    init: Params | None = None,
    history: Sequence[dict[str, Any]] | None = None,
    initial_loss: float | None = None,
    spec: MeasuresSpec | None = None,
    **options: Any,
) -> MeasuresReport:
    """Every measure of :data:`CATALOG` for ``subject``.

    Args:
        subject: a trained classifier (never modified; evaluated in eval mode).
        init: its initial parameters (for distances and the "init" bound forms).
        history: the training loop's evaluations (for the step counts).
        initial_loss: the training loss at step 0 (for the step counts).
        spec: options; keyword ``options`` override its fields.
    """
    spec = make_spec(MeasuresSpec, {**(spec.__dict__ if spec else {}), **options})
    if subject.data.task != "classification":
        raise ValueError("generalization measures need a classification task")
    seconds: dict[str, float] = {}
    values: dict[str, float | None] = {}

    def timed(family: str, fn):
        start = time.perf_counter()
        values.update(fn())
        seconds[family] = time.perf_counter() - start

    timed("size", lambda: size_measures(subject))
    timed("output", lambda: output_measures(subject))
    timed("norms", lambda: norm_measures(subject, init=init, margin=values["margin"]))
    limit = spec.limit or None
    if spec.sharpness:
        budget = SharpnessBudget(
            num_samples=spec.num_samples,
            search_depth=spec.search_depth,
            ascent_steps=spec.ascent_steps,
            target_deviation=spec.target_deviation,
            limit=limit,
            seed=spec.seed,
        )
        timed("sharpness", lambda: sharpness_measures(subject, init=init, budget=budget))
    timed(
        "optimization",
        lambda: optimization_measures(
            subject, history=history, initial_loss=initial_loss, limit=limit
        ),
    )
    train = subject.evaluate(split="train")
    test = subject.evaluate(split="test")
    notes = []
    if init is None:
        notes.append(
            "distances from the initialization and the measures built on them are not measured: "
            "the initial weights are unknown (pass --init-weights FILE, or set Subject.init)"
        )
    if history is None:
        notes.append(
            "the optimization measures (steps to a training loss) need the training history, "
            "which only occamlab's own training runs record"
        )
    return MeasuresReport(
        values={k: values.get(k) for k in CATALOG},
        ingredients={k: values.get(k) for k in _INGREDIENTS},
        train_error=train.error,
        test_error=test.error,
        generalization_gap=test.error - train.error,
        seconds=seconds,
        notes=tuple(notes),
    )


__all__ = ["CATALOG", "MeasuresReport", "MeasuresSpec", "generalization_measures"]
