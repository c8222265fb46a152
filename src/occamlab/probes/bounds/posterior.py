"""Posterior optimization: choose the Gaussian posterior (and prior scale) that minimizes the bound.

Dziugaite & Roy (2017) turned a vacuous PAC-Bayes bound into a non-vacuous one by optimizing the
bound itself over a diagonal Gaussian posterior Q = N(μ, diag s²) started at the trained weights,
with a prior P = N(μ_P, λ I) whose scale λ is optimized too and then paid for with a union bound
over a grid. Pérez-Ortiz et al. (2021) train with the "f_quad" objective

    f(Q) = (√(ℓ̂(Q) + B/2) + √(B/2))²,    B = (KL(Q‖P) + ln(2√m/δ)) / m,

an upper bound of the kl-inverse, with ℓ̂ a [0, 1]-bounded surrogate of the 0-1 loss, here the
bounded cross-entropy −ln(p_min + (1 − p_min)·p_y) / ln(1/p_min) (``PacBayesSpec.p_min``, 0.01 by
default; ``P_MIN`` = 1e-4 when these functions are called directly) of one network drawn
from Q per minibatch (reparametrization w = μ + s ⊙ ε, so gradients reach μ and ln s).

Training goes through the one training loop (:func:`occamlab.train.fit` with an ``objective``):
:class:`PosteriorNetwork` is a module whose parameters are μ, ln s and ln σ_P (σ_P² = λ); in
train mode its forward draws a network from Q, in eval mode it is the mean network μ (what the
loop's evaluations report). The underlying network is a frozen private copy kept in eval mode
(BatchNorm running statistics, no dropout), so the posterior is over one fixed function's
parameters.

Prior-scale grid: σ_P ∈ {σ_max·2^(−j/4) : j = 0, …, J − 1}; the certificate evaluates the bound at
every grid point with δ/J each and keeps the smallest (a union bound, log₂ J bits of search).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping
from dataclasses import dataclass

import torch
from torch import nn
from torch.func import functional_call

from occamlab.data.base import Data
from occamlab.probes.bounds.pacbayes import Gaussian
from occamlab.subject import Subject
from occamlab.train import TrainSpec, fit

P_MIN = 1e-4


def prior_std_grid(*, maximum: float = 1.0, size: int = 64) -> tuple[float, ...]:
    """σ_max·2^(−j/4), j = 0..size−1: the prior scales a union bound is paid over.

    >>> prior_std_grid(size=5)
    (1.0, 0.8408964152537145, 0.7071067811865476, 0.5946035575013605, 0.5)
    """
    if not maximum > 0 or size < 1:
        raise ValueError("the prior grid needs maximum > 0 and size >= 1")
    return tuple(maximum * 2.0 ** (-j / 4.0) for j in range(size))


class PosteriorNetwork(nn.Module):
    """A diagonal Gaussian posterior over a network's parameters, trainable with ``fit``.

    Args:
        base: the network (copied; the copy is frozen and always in eval mode).
        mean: initial posterior means by parameter name (every trainable parameter of ``base``).
        std: initial posterior standard deviation (one number for all parameters).
        prior_mean: the prior's means by name (fixed).
        prior_std: initial prior standard deviation σ_P of every parameter tensor (each tensor's
            ln σ_P is trained; the certificate rounds each to the grid).
        std_rate: ln s and ln σ_P are ``std_rate`` × a raw parameter, so with Adam they move
            ``std_rate`` times faster than the means.
        seed: seeds the per-minibatch draws.
    """

    def __init__(
        self,
        base: nn.Module,
        *,
        mean: Mapping[str, torch.Tensor],
        std: float,
        prior_mean: Mapping[str, torch.Tensor],
        prior_std: float,
        std_rate: float = 1.0,
        seed: int = 0,
    ) -> None:
        super().__init__()
        self.names = [k for k, p in base.named_parameters() if p.requires_grad]
        self.base = copy.deepcopy(base).requires_grad_(False).eval()
        if set(self.names) != set(mean) or set(self.names) != set(prior_mean):
            raise ValueError("mean and prior_mean must name every trainable parameter")
        if not std > 0 or not prior_std > 0 or not std_rate > 0:
            raise ValueError("std, prior_std and std_rate must be positive")
        self.std_rate = float(std_rate)
        self.mean = nn.ParameterList([nn.Parameter(mean[k].detach().clone()) for k in self.names])
        # ln s = rate · raw: with Adam, the log-scales move `rate` times faster than the means
        self.raw_log_std = nn.ParameterList(
            [nn.Parameter(torch.full_like(mean[k], math.log(std) / std_rate)) for k in self.names]
        )
        self.raw_log_prior_std = nn.ParameterList(
            [nn.Parameter(torch.tensor(math.log(prior_std) / std_rate)) for _ in self.names]
        )
        for i, k in enumerate(self.names):
            self.register_buffer(f"prior_mean_{i}", prior_mean[k].detach().clone())
        self.generator = torch.Generator().manual_seed(seed)
        self.buffers_of_base = dict(self.base.named_buffers())

    def train(self, mode: bool = True) -> PosteriorNetwork:
        super().train(mode)
        self.base.eval()  # the posterior is over the eval-mode function's parameters
        return self

    def _log_std(self) -> list[torch.Tensor]:
        return [raw * self.std_rate for raw in self.raw_log_std]

    def _params(self, sample: bool) -> dict[str, torch.Tensor]:
        if not sample:
            return dict(zip(self.names, self.mean, strict=True))
        out = {}
        for k, mu, log_std in zip(self.names, self.mean, self._log_std(), strict=True):
            noise = torch.randn(mu.shape, generator=self.generator, dtype=mu.dtype)
            out[k] = mu + log_std.exp() * noise
        return out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        params = self._params(sample=self.training)
        return functional_call(self.base, (params, self.buffers_of_base), (x,))

    def kl(self) -> torch.Tensor:
        """KL(Q‖P), differentiable (float32; the certificate recomputes it in float64)."""
        total = torch.zeros(())
        for i, (mu, log_s, raw_sp) in enumerate(
            zip(self.mean, self._log_std(), self.raw_log_prior_std, strict=True)
        ):
            log_sp = raw_sp * self.std_rate
            var_p = (2.0 * log_sp).exp()
            prior_mean = getattr(self, f"prior_mean_{i}")
            terms = (2.0 * log_s).exp() / var_p + (mu - prior_mean).pow(2) / var_p
            total = total + 0.5 * (terms - 1.0 + 2.0 * log_sp - 2.0 * log_s).sum()
        return total

    def posterior(self) -> Gaussian:
        """The current Q as a detached :class:`Gaussian`."""
        return Gaussian(
            {k: mu.detach().clone() for k, mu in zip(self.names, self.mean, strict=True)},
            {k: s.detach().exp() for k, s in zip(self.names, self._log_std(), strict=True)},
        )

    @property
    def prior_stds(self) -> dict[str, float]:
        """The trained prior standard deviation of every parameter tensor."""
        return {
            k: math.exp(float(raw.detach()) * self.std_rate)
            for k, raw in zip(self.names, self.raw_log_prior_std, strict=True)
        }


def bounded_cross_entropy(
    logits: torch.Tensor, y: torch.Tensor, *, p_min: float = P_MIN
) -> torch.Tensor:
    """−ln(p_min + (1 − p_min)·p_y) / ln(1/p_min): a smooth [0, 1] surrogate of the 0-1 loss."""
    p_y = torch.softmax(logits, dim=-1).gather(1, y.unsqueeze(1)).squeeze(1)
    return (-(p_min + (1.0 - p_min) * p_y).log() / math.log(1.0 / p_min)).mean()


def quad_objective(*, m: int, delta: float, p_min: float = P_MIN):
    """The f_quad objective of Pérez-Ortiz et al. for a bound on ``m`` examples at ``delta``."""
    log_term = math.log(2.0 * math.sqrt(m) / delta)

    def objective(subject: Subject, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        network: PosteriorNetwork = subject.model  # type: ignore[assignment]
        risk = bounded_cross_entropy(network(x), y, p_min=p_min)
        half = (network.kl() + log_term) / (2.0 * m)
        return ((risk + half).sqrt() + half.sqrt()).pow(2)

    return objective


@dataclass(frozen=True)
class PosteriorFit:
    """An optimized posterior: Q, the trained (unrounded) prior scale, and the loop's history."""

    posterior: Gaussian
    prior_stds: dict[str, float]
    history: list
    steps: int
    seconds: float


def optimize_posterior(
    subject: Subject,
    *,
    data: Data,
    mean: Mapping[str, torch.Tensor],
    prior_mean: Mapping[str, torch.Tensor],
    std: float,
    prior_std: float,
    m: int,
    delta: float,
    train: TrainSpec,
    std_rate: float = 1.0,
    p_min: float = P_MIN,
    seed: int = 0,
) -> PosteriorFit:
    """Minimize f_quad over Q = N(μ, diag s²) and σ_P, starting at μ = ``mean``, s = ``std``.

    Args:
        subject: gives the network (never modified).
        data: the examples the objective is trained on (the posterior may use any data).
        mean, prior_mean: initial posterior means and the fixed prior means, by name.
        std, prior_std: initial posterior and prior standard deviations.
        m, delta: the size of the bound set and δ the objective is written for.
        train: optimizer, learning rate, batch size and epochs of the optimization.
        seed: seeds the minibatch draws of networks.
    """
    network = PosteriorNetwork(
        subject.model,
        mean=mean,
        std=std,
        prior_mean=prior_mean,
        prior_std=prior_std,
        std_rate=std_rate,
        seed=seed,
    )
    wrapped = Subject(model=network, data=data, loss="cross_entropy", name="posterior")
    result = fit(wrapped, train, objective=quad_objective(m=m, delta=delta, p_min=p_min))
    return PosteriorFit(
        posterior=network.posterior(),
        prior_stds=network.prior_stds,
        history=result.history,
        steps=result.steps,
        seconds=result.seconds,
    )


__all__ = [
    "P_MIN",
    "PosteriorFit",
    "PosteriorNetwork",
    "bounded_cross_entropy",
    "optimize_posterior",
    "prior_std_grid",
    "quad_objective",
]
