"""The PAC-Bayes certificate of a trained network: prior, posterior, Monte Carlo, bound.

:func:`pacbayes_bound` turns a subject into a risk certificate in four steps.

1. **Prior mean.** ``prior="init"``: the network's initialization (data-independent; without
   one, zero). ``prior="data"``: a copy of the network trained from its initialization on a
   random ``prior_fraction`` of the training set (Pérez-Ortiz et al. 2021; Dziugaite et al. 2021);
   the certificate then uses only the other examples (m = the rest).
2. **Posterior.** With ``posterior_epochs > 0``: a diagonal Gaussian optimized on the whole
   training set (:func:`optimize_posterior`), started at the trained weights (``"init"``) or at
   the prior mean (``"data"``). With ``posterior_epochs = 0``: Q = N(w, s²I) at the trained
   weights and P = N(μ_P, s²I), s chosen from the prior grid by a quick Monte Carlo estimate.
3. **Prior scales.** With the prior at the initialization, each parameter tensor's prior
   standard deviation is the grid value (:func:`prior_std_grid`) that minimizes its KL term; the
   union bound over the J^T combinations (T tensors) costs T·log₂ J bits, paid as δ/J^T (small
   next to the KL of a data-independent prior). With a data-dependent prior, whose KL is small,
   one scale is shared by all tensors (log₂ J bits). The rule is fixed before seeing data.
4. **Certificate.** The Gibbs error on the m bound examples is estimated with ``mc_trials``
   fresh networks (kl-inverted at ``mc_delta``) and plugged into the PAC-Bayes-kl inversion at
   ``delta``; McAllester's and Catoni's forms are reported beside it. The whole statement holds
   with probability ≥ 1 − delta − mc_delta.

Networks with floating-point buffers (BatchNorm running statistics): the trained network's
statistics come from every training example, so a prior over the parameters alone would not be
a prior over the functions. With ``prior="data"`` the statistics are recomputed from scratch
(reset, then accumulated while the prior trains) on the prior's split alone, and every network
the certificate evaluates (Q's draws, its mean, the disintegrated draw) uses those statistics:
the hypotheses (weights, statistics of the prior split) are fixed before the bound examples are
seen. With ``prior="init"`` such networks are refused.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import torch

from occamlab.data import split_train
from occamlab.data.base import Data, Split
from occamlab.jsonable import jsonable
from occamlab.probes.bounds.disintegrated import DisintegratedBound, disintegrated_bound
from occamlab.probes.bounds.pacbayes import (
    Gaussian,
    catoni_grid_bound,
    distance,
    gaussian_kl,
    mcallester_bound,
    monte_carlo_risk_bound,
    pac_bayes_kl_bound,
    sampled_errors,
)
from occamlab.probes.bounds.posterior import (
    ObjectiveName,
    grid_resolution,
    optimize_posterior,
    prior_std_grid,
)
from occamlab.probes.bounds.testset import count_errors
from occamlab.subject import Params, Subject
from occamlab.train import TrainSpec, fit


@dataclass(frozen=True)
class PacBayesSpec:
    """Options of :func:`pacbayes_bound` (the budget sets how tight and how slow).

    Attributes:
        prior: ``init`` (prior centred at the initialization) or ``data`` (centred at a network
            trained on part of the training set; the bound uses the rest).
        prior_fraction: share of the training set the data-dependent prior is trained on.
        prior_epochs: epochs of training the data-dependent prior (SGD, momentum 0.9, cosine).
        prior_lr: learning rate of that training.
        objective: the training objective of the posterior, ``quad``, ``lambda`` or ``classic``
            (:mod:`occamlab.probes.bounds.posterior`).
        posterior_epochs: epochs of posterior optimization (0: isotropic posterior, no training).
        posterior_lr: Adam learning rate of the posterior means.
        posterior_schedule: ``constant`` learning rate, or ``cosine`` decay to 0 over the
            epochs (the last steps then average out the noise of the sampled objective).
        std_rate: the log standard deviations' learning rate is this × ``posterior_lr``.
        posterior_std: initial posterior standard deviation.
        train_mean: optimize the posterior means (False: Q stays centred where it starts).
        max_seconds: CPU seconds after which the optimization stops (0: no limit).
        p_min: floor of the bounded cross-entropy surrogate used in training.
        batch_size: minibatch size of the posterior optimization.
        grid_octaves: the prior scales searched span 2^−grid_octaves..1, at a resolution per
            octave set by each block's size (:func:`grid_resolution`).
        mc_trials: Monte Carlo trials for the Gibbs error (0: each bound example once).
        delta: failure probability of the PAC-Bayes statement.
        mc_delta: failure probability of the Monte Carlo estimate.
        seed: seeds the split, the prior training, the optimization and every draw.
    """

    prior: Literal["init", "data"] = "init"
    prior_fraction: float = 0.5
    prior_epochs: int = 20
    prior_lr: float = 0.1
    objective: ObjectiveName = "quad"
    posterior_epochs: int = 100
    posterior_lr: float = 1e-3
    posterior_schedule: Literal["constant", "cosine"] = "constant"
    std_rate: float = 10.0
    posterior_std: float = 0.01
    train_mean: bool = True
    max_seconds: float = 0.0
    p_min: float = 0.01
    batch_size: int = 256
    grid_octaves: int = 16
    mc_trials: int = 50_000
    delta: float = 0.04
    mc_delta: float = 0.01
    seed: int = 0

    def __post_init__(self) -> None:
        checks = [
            (self.prior in ("init", "data"), f"prior must be init or data, got {self.prior!r}"),
            (
                self.objective in ("quad", "lambda", "classic"),
                f"objective must be quad, lambda or classic, got {self.objective!r}",
            ),
            (0 < self.prior_fraction < 1, "prior_fraction must lie in (0, 1)"),
            (self.prior_epochs >= 1, "prior_epochs must be >= 1"),
            (self.posterior_epochs >= 0, "posterior_epochs must be >= 0"),
            (
                self.posterior_schedule in ("constant", "cosine"),
                f"posterior_schedule must be constant or cosine, got {self.posterior_schedule!r}",
            ),
            (min(self.prior_lr, self.posterior_lr, self.std_rate) > 0, "rates must be > 0"),
            (self.posterior_std > 0, "posterior_std must be > 0"),
            (self.max_seconds >= 0, "max_seconds must be >= 0 (0: no limit)"),
            (0 < self.p_min < 1, "p_min must lie in (0, 1)"),
            (self.batch_size >= 1 and self.grid_octaves >= 1, "batch_size, grid_octaves >= 1"),
            (self.mc_trials >= 0, "mc_trials must be >= 0 (0: every bound example once)"),
            (0 < self.delta < 1 and 0 < self.mc_delta < 1, "delta, mc_delta must lie in (0, 1)"),
            (self.delta + self.mc_delta < 1, "delta + mc_delta must be < 1"),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(message)


@dataclass(frozen=True)
class PacBayesBound:
    """A PAC-Bayes risk certificate and its ingredients.

    Attributes:
        bound: kl⁻¹(ê⁺, (KL + ln(2√m/δ′′))/m) with ê⁺ the Monte Carlo upper bound and
            δ′′ = delta/J^T: the certified error of the Gibbs classifier.
        mcallester, catoni, catoni_c: the same certificate in McAllester's and Catoni's forms.
        empirical_error: errors/trials of the Monte Carlo estimate on the bound examples.
        empirical_error_upper: ê⁺ = kl⁻¹(errors/trials, ln(1/mc_delta)/trials).
        mc_errors, mc_trials: the Monte Carlo counts.
        kl: KL(Q‖P) at the chosen prior scales (nats).
        m: examples the certificate uses; delta, mc_delta, total_delta: failure probabilities.
        prior: ``init``, ``zero`` (no initialization known) or ``data``.
        prior_examples: training examples used by a data-dependent prior (0 otherwise).
        prior_stds: the chosen prior standard deviation per parameter tensor.
        search_bits: T·log₂ J, the bits paid for choosing the prior scales.
        distance_to_prior: ‖μ_Q − μ_P‖₂.
        posterior_std: min/median/max of the posterior standard deviations.
        posterior_test_error: Gibbs error on the test split (one fresh network per example).
        mean_test_error: test error of the posterior mean network.
        optimization: steps, seconds and the loop's history of the posterior optimization.
        predictor: what is certified.
        deterministic: the disintegrated bound of one network drawn once from Q
            (:mod:`~occamlab.probes.bounds.disintegrated`), at the same δ′′ and P.
        posterior: Q itself (tensors; left out of ``to_dict``).
        statistics: the buffers every certified network uses (the prior split's BatchNorm
            statistics for a data-dependent prior; left out of ``to_dict``).
    """

    bound: float
    mcallester: float
    catoni: float
    catoni_c: float
    empirical_error: float
    empirical_error_upper: float
    mc_errors: int
    mc_trials: int
    kl: float
    m: int
    delta: float
    mc_delta: float
    total_delta: float
    prior: str
    prior_examples: int
    prior_stds: dict[str, float]
    search_bits: float
    distance_to_prior: float
    posterior_std: dict[str, float]
    posterior_test_error: float
    mean_test_error: float
    optimization: dict[str, Any]
    predictor: str = "the Gibbs classifier of Q (a fresh network from Q for every prediction)"
    deterministic: DisintegratedBound | None = None
    posterior: Gaussian | None = field(default=None, repr=False, compare=False)
    statistics: dict[str, torch.Tensor] | None = field(default=None, repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        hidden = ("posterior", "deterministic", "statistics")
        out = {k: v for k, v in self.__dict__.items() if k not in hidden}
        if self.deterministic is not None:
            out["deterministic"] = self.deterministic.to_dict()
        return jsonable(out)


def has_statistics(subject: Subject) -> bool:
    """Whether the network has floating-point buffers (BatchNorm running statistics)."""
    return any(b.is_floating_point() for b in subject.buffers().values())


def _prior_mean(
    subject: Subject, init: Params | None, spec: PacBayesSpec
) -> tuple[dict[str, torch.Tensor], str, Data, dict[str, torch.Tensor]]:
    """(prior mean, prior kind, the data whose training split the certificate uses, the
    buffers every certified network uses: the prior's, for a data-dependent prior)."""
    params = subject.params()
    if spec.prior == "init":
        buffers = subject.buffers()
        if init is None:
            zero = {k: torch.zeros_like(v) for k, v in params.items()}
            return zero, "zero", subject.data, buffers
        return {k: init[k].detach().clone() for k in params}, "init", subject.data, buffers
    if init is None:
        raise ValueError(
            "a data-dependent prior is trained from the network's initialization, which is "
            "unknown here: pass --init-weights FILE (or init= / Subject.init)"
        )
    prior_data, bound_data = split_train(subject.data, fraction=spec.prior_fraction, seed=spec.seed)
    start = subject.clone({k: init[k] for k in params}, data=prior_data)
    for module in start.model.modules():  # statistics from the prior's split alone
        if isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
            module.reset_running_stats()
    recipe = TrainSpec(
        lr=spec.prior_lr,
        epochs=spec.prior_epochs,
        batch_size=128,
        seed=spec.seed,
        eval_every=spec.prior_epochs,
    )
    fit(start, recipe)
    return start.params(), "data", bound_data, start.buffers()


def _best_prior_stds(
    q: Gaussian, prior_mean: Mapping[str, torch.Tensor], *, octaves: int, shared: bool
) -> tuple[float, dict[str, float], float]:
    """The grid scale of each prior block (a tensor, or the whole network if ``shared``).

    Each block of n parameters gets its own grid, 2^(−j/k) for j < octaves·k with
    k = :func:`grid_resolution` (n) fixed in advance, and the scale minimizing
    KL = ½ Σ [(s_i² + (μ_i − μ_P,i)²)/σ² − 1 + ln(σ²/s_i²)] over it.

    Returns (KL at the chosen scales in float64, scale per tensor, ln of the number of prior
    combinations the union bound covers).
    """
    blocks = [list(q.mean)] if shared else [[name] for name in q.mean]
    scales: dict[str, float] = {}
    log_combinations = 0.0
    for names in blocks:
        n = sum(q.mean[k].numel() for k in names)
        a = sum(
            float(
                (q.std[k].double() ** 2 + (q.mean[k].double() - prior_mean[k].double()) ** 2).sum()
            )
            for k in names
        )
        log_det = sum(float(torch.log(q.std[k].double() ** 2).sum()) for k in names)
        grid = torch.tensor(
            prior_std_grid(octaves=octaves, per_octave=grid_resolution(n)), dtype=torch.float64
        )
        values = 0.5 * (a / grid**2 - n + n * torch.log(grid**2) - log_det)
        best = float(grid[int(values.argmin())])
        scales.update(dict.fromkeys(names, best))
        log_combinations += math.log(len(grid))
    prior = Gaussian(
        {k: prior_mean[k] for k in q.mean},
        {k: torch.full_like(q.mean[k], scales[k]) for k in q.mean},
    )
    return gaussian_kl(q, prior), scales, log_combinations


def _isotropic_posterior(
    subject: Subject, prior_mean, bound: Split, spec: PacBayesSpec, grid, generator
) -> tuple[Gaussian, dict[str, Any]]:
    """Q = N(w, s²I), P = N(μ_P, s²I): choose s on the grid by a quick Monte Carlo estimate."""
    w = subject.params()
    m = len(bound)
    dist2 = sum(float((w[k].double() - prior_mean[k].double()).pow(2).sum()) for k in w)
    best = None
    for s in grid:
        q = Gaussian.isotropic(w, s)
        errors, trials = sampled_errors(subject, q, bound, trials=2000, generator=generator)
        value = pac_bayes_kl_bound(errors / trials, dist2 / (2 * s * s), m, spec.delta)
        if best is None or value < best[0]:
            best = (value, q)
    return best[1], {"steps": 0, "seconds": 0.0, "history": []}


GIBBS = "the Gibbs classifier of a Gaussian posterior (a fresh network from Q per prediction)"
ONE_DRAW = "one deterministic network drawn once from a Gaussian posterior Q (fixed weights)"


def _predictor(
    prior_kind: str,
    spec: PacBayesSpec,
    prior_examples: int,
    *,
    gibbs: str = GIBBS,
    statistics: bool = False,
) -> str:
    """What the certificate is about, in words (``gibbs``: how the predictor uses Q;
    ``statistics``: the networks use BatchNorm statistics of the prior's examples)."""
    if prior_kind == "data":
        return (
            f"{gibbs} started at a network trained on {prior_examples:,} of the training "
            "examples (the prior's centre"
            + (", whose BatchNorm statistics every drawn network uses" if statistics else "")
            + "), not the trained network itself"
        )
    if spec.posterior_epochs == 0 or not spec.train_mean:
        return f"{gibbs} centred at the trained network's weights"
    return f"{gibbs} whose mean was optimized starting from the trained network's weights"


def pacbayes_bound(
    subject: Subject,
    *,
    init: Params | None = None,
    spec: PacBayesSpec | None = None,
    progress: bool = False,
) -> PacBayesBound:
    """A PAC-Bayes certificate for ``subject`` (see the module docstring for the steps).

    Args:
        subject: a trained classifier (never modified; evaluated in eval mode).
        init: its initial parameters (the prior's centre; required for ``prior="data"``).
        spec: options and budget (:class:`PacBayesSpec`).
        progress: a progress bar of the posterior optimization on stderr.
    """
    spec = spec or PacBayesSpec()
    if subject.data.task != "classification":
        raise ValueError("PAC-Bayes error bounds need a classification task")
    if has_statistics(subject) and spec.prior != "data":
        raise ValueError(
            "the network has floating-point buffers (e.g. BatchNorm running statistics) computed "
            "from the training data, so a prior over the parameters alone would depend on the "
            "data: use prior='data' (--prior data), which recomputes them on the prior's split"
        )
    generator = torch.Generator().manual_seed(spec.seed)
    prior_mean, prior_kind, bound_data, buffers = _prior_mean(subject, init, spec)
    if has_statistics(subject):
        subject = subject.clone()  # the certified networks use the prior split's statistics
        subject.model.load_state_dict(buffers, strict=False)
    bound = bound_data.train
    m = len(bound)
    grid = prior_std_grid(octaves=spec.grid_octaves)
    if spec.posterior_epochs > 0:
        start = subject.params() if prior_kind != "data" else prior_mean
        fitted = optimize_posterior(
            subject,
            data=subject.data,
            mean=start,
            prior_mean=prior_mean,
            std=spec.posterior_std,
            m=m,
            delta=spec.delta,
            objective=spec.objective,
            shared_prior_scale=prior_kind == "data",
            train_mean=spec.train_mean,
            std_rate=spec.std_rate,
            p_min=spec.p_min,
            max_seconds=spec.max_seconds,
            progress=progress,
            seed=spec.seed,
            train=TrainSpec(
                optimizer="adam",
                lr=spec.posterior_lr,
                batch_size=spec.batch_size,
                epochs=spec.posterior_epochs,
                schedule=spec.posterior_schedule,
                seed=spec.seed,
                eval_every=spec.posterior_epochs,
            ),
        )
        q = fitted.posterior
        optimization = {
            "steps": fitted.steps,
            "seconds": fitted.seconds,
            "stop_reason": fitted.stop_reason,
            "objective": spec.objective,
            "history": fitted.history,
        }
    else:
        q, optimization = _isotropic_posterior(subject, prior_mean, bound, spec, grid, generator)
    kl, prior_stds, log_combinations = _best_prior_stds(
        q, prior_mean, octaves=spec.grid_octaves, shared=prior_kind == "data"
    )
    delta = math.exp(math.log(spec.delta) - log_combinations)
    trials = spec.mc_trials or None
    errors, n = sampled_errors(subject, q, bound, trials=trials, generator=generator)
    upper = monte_carlo_risk_bound(errors, n, spec.mc_delta)
    catoni, c = catoni_grid_bound(upper, kl, m, delta)
    test_errors, test_n = sampled_errors(subject, q, subject.data.test, generator=generator)
    mean_errors, mean_n = count_errors(subject, q.mean, split="test")
    prior = Gaussian(
        {k: prior_mean[k] for k in q.mean},
        {k: torch.full_like(q.mean[k], prior_stds[k]) for k in q.mean},
    )
    deterministic = disintegrated_bound(
        subject,
        q,
        prior,
        bound,
        delta=delta,
        generator=generator,
        predictor=_predictor(
            prior_kind,
            spec,
            len(subject.data.train) - m,
            gibbs=ONE_DRAW,
            statistics=has_statistics(subject),
        ),
    )
    return PacBayesBound(
        predictor=_predictor(
            prior_kind, spec, len(subject.data.train) - m, statistics=has_statistics(subject)
        ),
        bound=pac_bayes_kl_bound(upper, kl, m, delta),
        mcallester=mcallester_bound(upper, kl, m, delta),
        catoni=catoni,
        catoni_c=c,
        empirical_error=errors / n,
        empirical_error_upper=upper,
        mc_errors=errors,
        mc_trials=n,
        kl=kl,
        m=m,
        delta=spec.delta,
        mc_delta=spec.mc_delta,
        total_delta=spec.delta + spec.mc_delta,
        prior=prior_kind,
        prior_examples=len(subject.data.train) - m,
        prior_stds=prior_stds,
        search_bits=log_combinations / math.log(2.0),
        distance_to_prior=distance(q, prior),
        posterior_std=q.std_summary(),
        posterior_test_error=test_errors / test_n,
        mean_test_error=mean_errors / mean_n,
        optimization=optimization,
        deterministic=deterministic,
        posterior=q,
        statistics=subject.buffers(),
    )


__all__ = ["PacBayesBound", "PacBayesSpec", "pacbayes_bound"]
