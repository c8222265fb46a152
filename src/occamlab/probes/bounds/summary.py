"""Every error bound of a subject at once, next to its test error: "Can I know a decent bound?"

:func:`error_bounds` is what ``occam probe bounds`` and ``occam diagnose`` call. Its default
:class:`BoundsSpec` is the quick budget (about 15 s of CPU for the default MNIST-1D subject): a
PAC-Bayes certificate with a data-dependent prior (a network trained from the initialization on
70% of the training set, the bound on the other 30%) and a posterior optimized on the f_quad
objective, post-training compression over a small grid, and the norm bounds. The
data-independent prior at the initialization (``prior="init"``), longer optimization and
quantization-aware fine-tuning are flags.

Each bound certifies a different predictor (the network itself, the Gibbs classifier of a
posterior around it, a compressed copy); the report gives each one's own test error beside it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Literal

from occamlab.jsonable import jsonable
from occamlab.probes.bounds.certificate import (
    PacBayesBound,
    PacBayesSpec,
    has_statistics,
    pacbayes_bound,
)
from occamlab.probes.bounds.compression import CompressionBound, compression_bound
from occamlab.probes.bounds.norms import NormBounds, norm_bounds
from occamlab.probes.bounds.subspace import SubspaceBound, subspace_bound
from occamlab.probes.bounds.testset import TestSetBound, testset_bound
from occamlab.probes.measures.layers import chain_refusal
from occamlab.specs import make_spec
from occamlab.subject import Params, Subject
from occamlab.train import TrainSpec


def _floats(text: str, name: str) -> tuple[float, ...]:
    try:
        values = tuple(float(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise ValueError(f"{name} must be comma-separated numbers, got {text!r}") from None
    if not values:
        raise ValueError(f"{name} needs at least one value")
    return values


@dataclass(frozen=True)
class BoundsSpec:
    """Options of :func:`error_bounds` (and the flags of ``occam probe bounds``).

    Attributes:
        delta: failure probability of each bound (the PAC-Bayes one splits it: 80% for the
            PAC-Bayes statement, 20% for its Monte Carlo estimate).
        pacbayes: compute the PAC-Bayes bound.
        prior: ``data`` (prior trained from the initialization on part of the training set,
            the bound on the rest; falls back to ``init`` when the initialization is unknown) or
            ``init`` (data-independent prior at the initialization).
        prior_fraction: share of the training set a data-dependent prior is trained on.
        prior_epochs: epochs of training the data-dependent prior.
        prior_lr: learning rate of that training (SGD, momentum 0.9, cosine schedule).
        objective: the posterior's training objective: ``quad``, ``lambda`` or ``classic``.
        posterior_epochs: epochs of posterior optimization (0: isotropic posterior).
        posterior_lr: Adam learning rate of the posterior means (10× for the log-scales).
        max_seconds: CPU seconds after which the posterior optimization stops (0: no limit).
        mc_trials: Monte Carlo trials of the Gibbs error (0: each bound example once).
        compression: compute the compression bound.
        sparsities: comma-separated fractions of weights pruned, searched.
        levels: comma-separated numbers of quantization levels, searched.
        finetune_epochs: quantization-aware fine-tuning epochs per setting (0: none).
        subspace_dims: comma-separated dimensions of random subspaces to retrain the
            architecture in for the subspace compression bound (empty: not computed).
        subspace_epochs: epochs of training the subspace coordinates (Adam, cosine schedule).
        subspace_lr: their learning rate.
        norms: report Bartlett et al.'s and Neyshabur et al.'s bounds (usually vacuous).
        seed: seeds every random step.
    """

    delta: float = 0.05
    pacbayes: bool = True
    prior: Literal["init", "data"] = "data"
    prior_fraction: float = 0.7
    prior_epochs: int = 60
    prior_lr: float = 0.1
    objective: Literal["quad", "lambda", "classic"] = "quad"
    posterior_epochs: int = 20
    posterior_lr: float = 1e-3
    max_seconds: float = 0.0
    mc_trials: int = 20_000
    compression: bool = True
    sparsities: str = "0.5,0.8,0.9"
    levels: str = "4,16"
    finetune_epochs: int = 0
    subspace_dims: str = ""
    subspace_epochs: int = 10
    subspace_lr: float = 0.05
    norms: bool = True
    seed: int = 0

    def __post_init__(self) -> None:
        if not 0 < self.delta < 1:
            raise ValueError(f"delta must lie in (0, 1), got {self.delta!r}")
        _floats(self.sparsities, "sparsities")
        _floats(self.levels, "levels")
        if self.finetune_epochs < 0:
            raise ValueError("finetune_epochs must be >= 0")
        if self.subspace_dims.strip():
            dims = _floats(self.subspace_dims, "subspace_dims")
            if any(d != int(d) or d < 1 for d in dims):
                raise ValueError(
                    f"subspace_dims must be positive integers, got {self.subspace_dims!r}"
                )
        if self.subspace_epochs < 1 or self.subspace_lr <= 0:
            raise ValueError("subspace_epochs must be >= 1 and subspace_lr > 0")

    def finetune_spec(self) -> TrainSpec | None:
        """Quantization-aware fine-tuning of compressed networks (None: none)."""
        if not self.finetune_epochs:
            return None
        return TrainSpec(
            optimizer="adam",
            lr=1e-3,
            epochs=self.finetune_epochs,
            batch_size=256,
            seed=self.seed,
            eval_every=self.finetune_epochs,
        )

    def pacbayes_spec(self, *, prior: Literal["init", "data"] | None = None) -> PacBayesSpec:
        return PacBayesSpec(
            prior=prior or self.prior,
            prior_fraction=self.prior_fraction,
            prior_epochs=self.prior_epochs,
            prior_lr=self.prior_lr,
            posterior_epochs=self.posterior_epochs,
            posterior_lr=self.posterior_lr,
            objective=self.objective,
            max_seconds=self.max_seconds,
            mc_trials=self.mc_trials,
            delta=0.8 * self.delta,
            mc_delta=0.2 * self.delta,
            seed=self.seed,
        )


@dataclass(frozen=True)
class BoundsReport:
    """The bounds of one subject and the test errors to read them against.

    Attributes:
        test_error: the network's error on its test split.
        train_error: its error on the training split.
        testset: Langford's test-set bound (uses the test split).
        pacbayes: the PAC-Bayes certificate (None if not computed).
        compression: the compression bound (None if not computed).
        subspace: the subspace compression bound of the retrained architecture (None if not
            computed).
        norms: the norm-based bounds (None if not computed).
        rows: one row per bound: name, bound, the certified predictor and its test error,
            ratio to the network's test error, whether it beats guessing, seconds.
        guessing_error: 1 − 1/C, the error of guessing among C classes.
        seconds: total wall time.
        skipped: bounds that do not apply to this network, with the reason.
    """

    test_error: float
    train_error: float
    testset: TestSetBound
    pacbayes: PacBayesBound | None
    compression: CompressionBound | None
    norms: NormBounds | None
    subspace: SubspaceBound | None
    rows: tuple[dict[str, Any], ...]
    guessing_error: float
    seconds: float
    skipped: dict[str, str]

    def to_dict(self) -> dict[str, Any]:
        return jsonable(self.__dict__)


def _row(name, bound, predictor, predictor_error, test_error, guess, seconds, kind="certificate"):
    return {
        "bound": name,
        "value": bound,
        "kind": kind,
        "certifies": predictor,
        "its_test_error": predictor_error,
        "network_test_error": test_error,
        "ratio_to_test_error": bound / test_error if test_error > 0 else None,
        "non_vacuous": bool(bound < guess),
        "seconds": seconds,
    }


def error_bounds(
    subject: Subject,
    *,
    init: Params | None = None,
    spec: BoundsSpec | None = None,
    progress: bool = False,
    **options,
) -> BoundsReport:
    """Test-set, PAC-Bayes, compression and norm bounds of ``subject``, each beside test errors.

    Args:
        subject: a trained classifier (never modified; evaluated in eval mode).
        init: its initial parameters (the PAC-Bayes prior's centre). None: the initialization of
            a subject made from registry specs (:func:`occamlab.recipes.initial_params`);
            without one the prior is centred at zero and a data-dependent prior is unavailable.
        spec: options and budget; keyword ``options`` override its fields.
        progress: a progress bar of the posterior optimization on stderr.
    """
    spec = make_spec(BoundsSpec, {**(spec.__dict__ if spec else {}), **options})
    if subject.data.task != "classification":
        raise ValueError("error bounds need a classification task")
    started = time.perf_counter()
    if init is None:
        from occamlab.recipes import initial_params

        init = initial_params(subject)
    guess = 1.0 - 1.0 / subject.data.num_outputs
    train_error = subject.evaluate(split="train").error
    clock = time.perf_counter()
    testset = testset_bound(subject, delta=spec.delta)
    test_error = testset.test_error
    rows = [
        _row(
            "test-set (Langford 2005)",
            testset.bound,
            testset.predictor,
            test_error,
            test_error,
            guess,
            time.perf_counter() - clock,
        )
    ]
    pacbayes = compression = norms = subspace = None
    skipped: dict[str, str] = {}
    fallback = spec.pacbayes and spec.prior == "data" and init is None
    prior = "init" if fallback else spec.prior
    if spec.pacbayes and has_statistics(subject) and prior != "data":
        skipped["pacbayes"] = (
            "the network has data-dependent buffers (BatchNorm statistics), which only a prior "
            "trained on part of the data can recompute apart from the bound examples"
            + (" (pass --init-weights to train one)" if init is None else " (--prior data)")
        )
    elif spec.pacbayes:
        if fallback:
            skipped["data-dependent prior"] = (
                "the initialization is unknown, so the prior could not be trained from it; "
                "the prior is centred at zero instead"
            )
        clock = time.perf_counter()
        pacbayes = pacbayes_bound(
            subject, init=init, spec=spec.pacbayes_spec(prior=prior), progress=progress
        )
        rows.append(
            _row(
                f"PAC-Bayes-kl (prior: {pacbayes.prior})",
                pacbayes.bound,
                pacbayes.predictor,
                pacbayes.posterior_test_error,
                test_error,
                guess,
                time.perf_counter() - clock,
            )
        )
        one = pacbayes.deterministic
        if one is not None:
            rows.append(
                _row(
                    f"disintegrated PAC-Bayes (prior: {pacbayes.prior})",
                    one.bound,
                    one.predictor,
                    one.test_error,
                    test_error,
                    guess,
                    0.0,  # one more pass over the bound examples, counted above
                )
            )
    if spec.compression:
        clock = time.perf_counter()
        compression = compression_bound(
            subject,
            sparsities=_floats(spec.sparsities, "sparsities"),
            levels=tuple(int(k) for k in _floats(spec.levels, "levels")),
            delta=spec.delta,
            finetune=spec.finetune_spec(),
        )
        rows.append(
            _row(
                "compression (Occam)",
                compression.bound,
                compression.predictor,
                compression.compressed_test_error,
                test_error,
                guess,
                time.perf_counter() - clock,
            )
        )
    if spec.subspace_dims.strip() and has_statistics(subject):
        skipped["subspace"] = (
            "the network has data-dependent buffers (BatchNorm statistics), which a subspace of "
            "its parameters does not describe"
        )
    elif spec.subspace_dims.strip():
        clock = time.perf_counter()
        subspace = subspace_bound(
            subject,
            dims=tuple(int(d) for d in _floats(spec.subspace_dims, "subspace_dims")),
            recipe=TrainSpec(
                optimizer="adam",
                lr=spec.subspace_lr,
                epochs=spec.subspace_epochs,
                schedule="cosine",
                seed=spec.seed,
                eval_every=spec.subspace_epochs,
            ),
            origin=init,
            levels=tuple(int(k) for k in _floats(spec.levels, "levels")),
            finetune=spec.finetune_spec(),
            delta=spec.delta,
            seed=spec.seed,
        )
        rows.append(
            _row(
                f"subspace compression (d = {subspace.compression.num_parameters:,})",
                subspace.bound,
                subspace.predictor,
                subspace.compression.compressed_test_error,
                test_error,
                guess,
                time.perf_counter() - clock,
            )
        )
    refusal = chain_refusal(subject.model) if spec.norms else None
    if refusal is not None:
        skipped["norms"] = refusal
    elif spec.norms:
        clock = time.perf_counter()
        norms = norm_bounds(subject, init=init, delta=spec.delta)
        for name, value in (
            ("Bartlett et al. 2017 (shape)", norms.bartlett),
            ("Neyshabur et al. 2018 (shape)", norms.neyshabur),
        ):
            rows.append(
                _row(
                    name,
                    value,
                    "the network",
                    test_error,
                    test_error,
                    guess,
                    time.perf_counter() - clock,
                    kind="measure (usually vacuous)",
                )
            )
    return BoundsReport(
        test_error=test_error,
        train_error=train_error,
        testset=testset,
        pacbayes=pacbayes,
        compression=compression,
        norms=norms,
        subspace=subspace,
        rows=tuple(rows),
        guessing_error=guess,
        seconds=time.perf_counter() - started,
        skipped=skipped,
    )


__all__ = ["BoundsReport", "BoundsSpec", "error_bounds"]
