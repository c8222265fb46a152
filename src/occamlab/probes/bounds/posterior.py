"""Posterior optimization: choose the Gaussian posterior that minimizes a PAC-Bayes bound.

Dziugaite & Roy (2017) turned a vacuous PAC-Bayes bound into a non-vacuous one by optimizing the
bound itself over a diagonal Gaussian posterior Q = N(μ, diag s²), with a prior P = N(μ_P, σ_P² I)
whose scale is chosen too and then paid for with a union bound over a grid. Pérez-Ortiz et al.
(2021) compare three training objectives, each an upper bound of the kl-inverse form, written
with B = (KL(Q‖P) + ln(2√m/δ)) / m:

    f_quad    = (√(ℓ̂(Q) + B/2) + √(B/2))²
    f_lambda  = ℓ̂(Q) / (1 − λ/2) + B / (λ(1 − λ/2)),   λ ∈ (0, 1) at its optimum
                λ* = 2 / (√(2ℓ̂/B + 1) + 1) (Thiemann et al. 2017), re-set at every step
    f_classic = ℓ̂(Q) + √(B/2)

with ℓ̂ a [0, 1]-bounded surrogate of the 0-1 loss, here the bounded cross-entropy
−ln(p_min + (1 − p_min)·p_y) / ln(1/p_min) of a network drawn from Q (reparametrization
w = μ + s ⊙ ε, so gradients reach μ and ln s).

**Prior scale.** For a prior N(μ_P, σ² I) over a block of n parameters, KL(Q‖P) is minimized
in closed form by σ² = (Σ s_i² + Σ (μ_i − μ_P,i)²) / n, where it equals

    ½ (n ln σ² − Σ ln s_i²),

so training uses that minimum (one block per tensor, or one block for the whole network) and
the certificate rounds each block's σ to a grid fixed in advance (:func:`prior_std_grid`), paying
for the choice with a union bound.

**Sampling.** For networks whose parameters all sit in ``nn.Linear`` layers, the training draws
use the local reparametrization (Kingma et al. 2015): each layer's pre-activations are sampled
exactly, N(μ_W a + μ_b, s_W² a² + s_b²), independently per example, which gives gradients of
much lower variance than one weight draw per minibatch at the cost of a second matrix product.
Other networks draw one parameter vector per minibatch.

Training goes through the one training loop (:func:`occamlab.train.fit` with an ``objective``):
:class:`PosteriorNetwork` is a module whose parameters are μ and ln s; in train mode its forward
draws from Q, in eval mode it is the mean network μ (what the loop's evaluations report). The
underlying network is a frozen private copy kept in eval mode, so the posterior is over one
fixed function's parameters.

References:
    G. K. Dziugaite & D. M. Roy (2017), arXiv 1703.11008. — M. Pérez-Ortiz, O. Rivasplata,
    J. Shawe-Taylor & C. Szepesvári (2021), arXiv 2007.12911. — N. Thiemann, C. Igel,
    O. Wintenberger & Y. Seldin (2017), arXiv 1608.05610. — D. P. Kingma, T. Salimans &
    M. Welling (2015), arXiv 1506.02557.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import torch
from torch import nn
from torch.func import functional_call

from occamlab.data.base import Data
from occamlab.probes.bounds.pacbayes import Gaussian
from occamlab.subject import Subject
from occamlab.train import TrainSpec, fit
from occamlab.train.loop import Callback, TrainState

P_MIN = 1e-4

ObjectiveName = Literal["quad", "lambda", "classic"]
Sampling = Literal["auto", "lrt", "weights"]


def grid_resolution(n: int) -> int:
    """Grid points per octave for a block of ``n`` parameters: max(4, ⌈ln 2 · √(n/2)⌉).

    Rounding σ² by a factor x costs n/2·(x − 1 − ln x) ≈ n/4·(ln x)² nats of KL; at this
    resolution the worst case (half a step) costs at most ½ nat, while the grid's size adds only
    a logarithm to the union bound.

    >>> grid_resolution(10), grid_resolution(65_792)
    (4, 126)
    """
    if n < 1:
        raise ValueError(f"a block needs n >= 1 parameters, got {n}")
    return max(4, math.ceil(math.log(2.0) * math.sqrt(n / 2.0)))


def prior_std_grid(
    *, maximum: float = 1.0, octaves: int = 16, per_octave: int = 4
) -> tuple[float, ...]:
    """σ_max·2^(−j/k), j = 0..octaves·k − 1: the prior scales a union bound is paid over.

    >>> prior_std_grid(octaves=1, per_octave=4)
    (1.0, 0.8408964152537145, 0.7071067811865476, 0.5946035575013605)
    """
    if not maximum > 0 or octaves < 1 or per_octave < 1:
        raise ValueError("the prior grid needs maximum > 0, octaves >= 1 and per_octave >= 1")
    return tuple(maximum * 2.0 ** (-j / per_octave) for j in range(octaves * per_octave))


def _linear_layers(model: nn.Module, names: list[str]) -> dict[str, nn.Linear] | None:
    """The network's ``nn.Linear`` layers by prefix, if they hold every parameter; else None."""
    layers, owned = {}, set()
    for prefix, module in model.named_modules():
        own = {f"{prefix}.{n}" if prefix else n for n, _ in module.named_parameters(recurse=False)}
        if own and not isinstance(module, nn.Linear):
            return None
        if isinstance(module, nn.Linear):
            layers[prefix] = module
        owned |= own
    return layers if owned == set(names) else None


class PosteriorNetwork(nn.Module):
    """A diagonal Gaussian posterior over a network's parameters, trainable with ``fit``.

    Args:
        base: the network (copied; the copy is frozen and always in eval mode).
        mean: initial posterior means by parameter name (every trainable parameter of ``base``).
        std: initial posterior standard deviation: one number, or one per parameter name.
        prior_mean: the prior's means by name (fixed).
        shared_prior_scale: one prior scale for the whole network (else one per tensor).
        train_mean: optimize the means too (False: only the standard deviations move).
        sampling: ``auto`` (local reparametrization when every parameter is in an
            ``nn.Linear``), ``lrt`` or ``weights`` (one parameter draw per minibatch).
        seed: seeds the draws.
    """

    def __init__(
        self,
        base: nn.Module,
        *,
        mean: Mapping[str, torch.Tensor],
        std: float | Mapping[str, float],
        prior_mean: Mapping[str, torch.Tensor],
        shared_prior_scale: bool = False,
        train_mean: bool = True,
        sampling: Sampling = "auto",
        seed: int = 0,
    ) -> None:
        super().__init__()
        self.names = [k for k, p in base.named_parameters() if p.requires_grad]
        self.base = copy.deepcopy(base).requires_grad_(False).eval()
        if set(self.names) != set(mean) or set(self.names) != set(prior_mean):
            raise ValueError("mean and prior_mean must name every trainable parameter")
        stds = std if isinstance(std, Mapping) else dict.fromkeys(self.names, std)
        if set(stds) != set(self.names) or not all(float(s) > 0 for s in stds.values()):
            raise ValueError("std must be positive, one number or one per parameter name")
        if sampling not in ("auto", "lrt", "weights"):
            raise ValueError(f"sampling must be auto, lrt or weights, got {sampling!r}")
        self.layers = _linear_layers(self.base, self.names) if sampling != "weights" else None
        if sampling == "lrt" and self.layers is None:
            raise ValueError("the local reparametrization needs every parameter in an nn.Linear")
        self.shared_prior_scale = bool(shared_prior_scale)
        self.mean = nn.ParameterList(
            [nn.Parameter(mean[k].detach().clone(), requires_grad=train_mean) for k in self.names]
        )
        self.log_std = nn.ParameterList(
            [nn.Parameter(torch.full_like(mean[k], math.log(float(stds[k])))) for k in self.names]
        )
        for i, k in enumerate(self.names):
            self.register_buffer(f"prior_mean_{i}", prior_mean[k].detach().clone())
        self.generator = torch.Generator().manual_seed(seed)
        self.buffers_of_base = dict(self.base.named_buffers())

    def train(self, mode: bool = True) -> PosteriorNetwork:
        super().train(mode)
        self.base.eval()  # the posterior is over the eval-mode function's parameters
        return self

    def _noise(self, shape: torch.Size, dtype: torch.dtype) -> torch.Tensor:
        return torch.randn(shape, generator=self.generator, dtype=dtype)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        means = dict(zip(self.names, self.mean, strict=True))
        if not self.training:
            return functional_call(self.base, (means, self.buffers_of_base), (x,))
        stds = {k: s.exp() for k, s in zip(self.names, self.log_std, strict=True)}
        if self.layers is None:
            params = {
                k: means[k] + stds[k] * self._noise(means[k].shape, means[k].dtype) for k in means
            }
            return functional_call(self.base, (params, self.buffers_of_base), (x,))
        hooks = []
        for prefix, module in self.layers.items():
            dot = f"{prefix}." if prefix else ""
            var_w = stds[f"{dot}weight"].pow(2)
            var_b = stds[f"{dot}bias"].pow(2) if module.bias is not None else None

            def hook(_module, args, output, var_w=var_w, var_b=var_b):
                variance = nn.functional.linear(args[0].pow(2), var_w, var_b)
                noise = self._noise(output.shape, output.dtype)
                return output + (variance + 1e-16).sqrt() * noise

            hooks.append(module.register_forward_hook(hook))
        try:
            return functional_call(self.base, (means, self.buffers_of_base), (x,))
        finally:
            for handle in hooks:
                handle.remove()

    def _blocks(self) -> list[tuple[torch.Tensor, torch.Tensor, int]]:
        """(Σ s² + Σ (μ − μ_P)², Σ ln s², n) per prior block."""
        out = []
        for i, (mu, log_s) in enumerate(zip(self.mean, self.log_std, strict=True)):
            diff = mu - getattr(self, f"prior_mean_{i}")
            out.append(
                ((2.0 * log_s).exp().sum() + diff.pow(2).sum(), 2.0 * log_s.sum(), mu.numel())
            )
        if self.shared_prior_scale:
            a, b, n = zip(*out, strict=True)
            return [(sum(a), sum(b), sum(n))]
        return out

    def kl(self) -> torch.Tensor:
        """min over the prior scales of KL(Q‖P), differentiable: Σ_blocks ½(n ln(A/n) − Σ ln s²)."""
        total = torch.zeros(())
        for a, log_det, n in self._blocks():
            total = total + 0.5 * (n * (a / n).log() - log_det)
        return total

    def prior_scales(self) -> list[float]:
        """The prior standard deviation of each block at the closed-form optimum."""
        return [math.sqrt(float(a.detach()) / n) for a, _, n in self._blocks()]

    def posterior(self) -> Gaussian:
        """The current Q as a detached :class:`Gaussian`."""
        return Gaussian(
            {k: mu.detach().clone() for k, mu in zip(self.names, self.mean, strict=True)},
            {k: s.detach().exp() for k, s in zip(self.names, self.log_std, strict=True)},
        )


def bounded_cross_entropy(
    logits: torch.Tensor, y: torch.Tensor, *, p_min: float = P_MIN
) -> torch.Tensor:
    """−ln(p_min + (1 − p_min)·p_y) / ln(1/p_min): a smooth [0, 1] surrogate of the 0-1 loss."""
    p_y = torch.softmax(logits, dim=-1).gather(1, y.unsqueeze(1)).squeeze(1)
    return (-(p_min + (1.0 - p_min) * p_y).log() / math.log(1.0 / p_min)).mean()


def bound_objective(name: ObjectiveName, *, m: int, delta: float, p_min: float = P_MIN):
    """The f_quad, f_lambda or f_classic objective for a bound on ``m`` examples at ``delta``."""
    if name not in ("quad", "lambda", "classic"):
        raise ValueError(f"objective must be quad, lambda or classic, got {name!r}")
    log_term = math.log(2.0 * math.sqrt(m) / delta)

    def objective(subject: Subject, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        network: PosteriorNetwork = subject.model  # type: ignore[assignment]
        risk = bounded_cross_entropy(network(x), y, p_min=p_min)
        b = (network.kl() + log_term) / m
        if name == "quad":
            return ((risk + b / 2).sqrt() + (b / 2).sqrt()).pow(2)
        if name == "classic":
            return risk + (b / 2).sqrt()
        ratio = float(risk.detach()) / max(float(b.detach()), 1e-12)
        lam = 2.0 / (math.sqrt(2.0 * ratio + 1.0) + 1.0)
        return risk / (1.0 - lam / 2.0) + b / (lam * (1.0 - lam / 2.0))

    return objective


def quad_objective(*, m: int, delta: float, p_min: float = P_MIN):
    """The f_quad objective of Pérez-Ortiz et al. for a bound on ``m`` examples at ``delta``."""
    return bound_objective("quad", m=m, delta=delta, p_min=p_min)


class CpuBudget(Callback):
    """Stops training once it has used ``seconds`` of CPU time (``time.process_time``)."""

    def __init__(self, seconds: float) -> None:
        if not seconds > 0:
            raise ValueError(f"a CPU budget must be > 0 seconds, got {seconds!r}")
        self.seconds = float(seconds)
        self.started = 0.0

    def on_train_begin(self, state: TrainState) -> None:
        self.started = time.process_time()

    def on_step_end(self, state: TrainState) -> None:
        if time.process_time() - self.started > self.seconds:
            state.request_stop(f"CPU budget of {self.seconds:g} s used")


class _PosteriorSubject(Subject):
    """The posterior as a subject whose standard deviations learn ``std_rate`` times faster."""

    std_lr: float = 1e-3  # set by optimize_posterior

    def optimizer_groups(self) -> list[dict]:
        network: PosteriorNetwork = self.model  # type: ignore[assignment]
        means = [p for p in network.mean if p.requires_grad]
        groups = [{"params": list(network.log_std), "lr": self.std_lr}]
        return ([{"params": means}] if means else []) + groups


@dataclass(frozen=True)
class PosteriorFit:
    """An optimized posterior, the prior scales at the end, and the loop's record."""

    posterior: Gaussian
    prior_stds: list[float]
    history: list
    steps: int
    seconds: float
    stop_reason: str


def optimize_posterior(
    subject: Subject,
    *,
    data: Data,
    mean: Mapping[str, torch.Tensor],
    prior_mean: Mapping[str, torch.Tensor],
    std: float | Mapping[str, float],
    m: int,
    delta: float,
    train: TrainSpec,
    objective: ObjectiveName = "quad",
    shared_prior_scale: bool = False,
    train_mean: bool = True,
    std_rate: float = 1.0,
    p_min: float = P_MIN,
    max_seconds: float = 0.0,
    progress: bool = False,
    seed: int = 0,
) -> PosteriorFit:
    """Minimize a bound objective over Q = N(μ, diag s²), starting at μ = ``mean``, s = ``std``.

    Args:
        subject: gives the network (never modified).
        data: the examples the objective is trained on (the posterior may use any data).
        mean, prior_mean: initial posterior means and the fixed prior means, by name.
        std: initial posterior standard deviation (one number or one per name).
        m, delta: the size of the bound set and δ the objective is written for.
        train: optimizer, learning rate, batch size and epochs of the optimization.
        objective: ``quad``, ``lambda`` or ``classic`` (module docstring).
        shared_prior_scale: one prior scale for the network (else one per tensor).
        train_mean: optimize the means (False: Q stays centred at ``mean``).
        std_rate: the log standard deviations' learning rate is ``std_rate`` × ``train.lr``.
        max_seconds: stop after this much CPU time (0: no limit).
        progress: a progress bar on stderr.
        seed: seeds the draws of networks.
    """
    network = PosteriorNetwork(
        subject.model,
        mean=mean,
        std=std,
        prior_mean=prior_mean,
        shared_prior_scale=shared_prior_scale,
        train_mean=train_mean,
        seed=seed,
    )
    if not std_rate > 0:
        raise ValueError(f"std_rate must be > 0, got {std_rate!r}")
    wrapped = _PosteriorSubject(model=network, data=data, loss="cross_entropy", name="posterior")
    wrapped.std_lr = float(std_rate) * train.lr
    callbacks = [CpuBudget(max_seconds)] if max_seconds > 0 else []
    result = fit(
        wrapped,
        train,
        callbacks=callbacks,
        progress=progress,
        objective=bound_objective(objective, m=m, delta=delta, p_min=p_min),
    )
    return PosteriorFit(
        posterior=network.posterior(),
        prior_stds=network.prior_scales(),
        history=result.history,
        steps=result.steps,
        seconds=result.seconds,
        stop_reason=result.stop_reason,
    )


__all__ = [
    "P_MIN",
    "CpuBudget",
    "ObjectiveName",
    "PosteriorFit",
    "PosteriorNetwork",
    "bound_objective",
    "bounded_cross_entropy",
    "grid_resolution",
    "optimize_posterior",
    "prior_std_grid",
    "quad_objective",
]
