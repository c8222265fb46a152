"""PAC-Bayes bounds for a Gaussian posterior over a network's parameters.

For a prior P fixed before the m bound examples S are drawn, with probability ≥ 1 − δ over S,
simultaneously for every posterior Q (Seeger 2002; Maurer 2004, valid for m ≥ 8):

    kl(ê_S(Q) ‖ e(Q)) ≤ (KL(Q‖P) + ln(2√m/δ)) / m,

where e(Q) = E_{h~Q} e(h) is the true 0-1 error of the Gibbs classifier (draw h ~ Q, predict with
it) and ê_S(Q) its empirical error. Inverting the binary kl (:func:`kl_inverse_upper`) gives the
tightest form ("kl"); Pinsker's inequality gives McAllester's ê + √(complexity/2); Catoni's bound
(Catoni 2007, Thm 1.2.6) for a fixed C > 0 reads

    e(Q) ≤ (1 − exp(−C ê − (KL + ln(1/δ))/m)) / (1 − exp(−C)),

reported here as the best C of a fixed grid, paid with a union bound (δ/|grid|).

ê_S(Q) is an expectation over Q and cannot be computed exactly: it is estimated by Monte Carlo
with every trial getting its own independently drawn network (each example of S once, or n
examples drawn uniformly from S), so the n outcomes are independent Bernoulli draws whose mean
is ê_S(Q) in expectation. Hoeffding's
Chernoff bound (it holds for independent, not identically distributed [0, 1] variables) gives,
with probability ≥ 1 − δ′, ê_S(Q) ≤ kl⁻¹(k/n, ln(1/δ′)/n) (the sample-convergence bound of
Langford & Caruana 2001 used by Pérez-Ortiz et al. 2021). The final certificate plugs that upper
bound into the PAC-Bayes inversion and holds with probability ≥ 1 − δ − δ′.

Per-example networks: for networks whose parameters all sit in ``nn.Linear`` layers (MLPs), the
local reparametrization (Kingma et al. 2015) samples each layer's pre-activations exactly —
given its input a, a Gaussian linear layer outputs N(μ_W a + μ_b, σ²_W a² + σ²_b) coordinatewise
independently, and layers are independent — at the cost of two matrix products per layer. Any
other network (convolutions share weights across positions, so that shortcut is not exact)
draws a full parameter vector per example and evaluates them with ``torch.func.vmap``.

KL between diagonal Gaussians Q = N(μ_q, diag s_q²) and P = N(μ_p, diag s_p²), in float64:

    KL(Q‖P) = ½ Σ_i [s_q,i²/s_p,i² + (μ_q,i − μ_p,i)²/s_p,i² − 1 + ln(s_p,i²/s_q,i²)].

References:
    M. Seeger (2002), PAC-Bayesian generalisation error bounds for Gaussian process
    classification. JMLR 3. — A. Maurer (2004), arXiv cs/0411099. — O. Catoni (2007),
    PAC-Bayesian supervised classification. IMS Lecture Notes 56. — J. Langford & R. Caruana
    (2001), (Not) bounding the true error. NeurIPS. — G. K. Dziugaite & D. M. Roy (2017),
    arXiv 1703.11008. — M. Pérez-Ortiz, O. Rivasplata, J. Shawe-Taylor & C. Szepesvári (2021),
    Tighter risk certificates for neural networks. JMLR 22, arXiv 2007.12911.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import torch
from torch import nn
from torch.func import functional_call, vmap

from occamlab.data.base import Split
from occamlab.probes.bounds.kl import kl_inverse_upper
from occamlab.subject import Subject

#: Catoni's C values searched (a union bound over them is paid).
CATONI_GRID: tuple[float, ...] = tuple(2.0**k for k in range(-3, 7))
# Entries of one per-example parameter batch (float32: 16 MB).
_SAMPLE_BUDGET = 1 << 22


def _check(risk: float, kl: float, m: int, delta: float) -> None:
    if not 0.0 <= risk <= 1.0:
        raise ValueError(f"the empirical risk must lie in [0, 1], got {risk!r}")
    if not kl >= 0.0:
        raise ValueError(f"KL(Q||P) must be >= 0, got {kl!r}")
    if int(m) != m or m < 8:
        raise ValueError(f"PAC-Bayes-kl bounds need m >= 8 examples, got {m!r}")
    if not 0.0 < delta < 1.0:
        raise ValueError(f"delta must lie in (0, 1), got {delta!r}")


def pac_bayes_complexity(kl: float, m: int, delta: float) -> float:
    """(KL + ln(2√m/δ)) / m, the right-hand side of the PAC-Bayes-kl inequality."""
    return (kl + math.log(2.0 * math.sqrt(m) / delta)) / m


def pac_bayes_kl_bound(risk: float, kl: float, m: int, delta: float) -> float:
    """kl⁻¹(ê, (KL + ln(2√m/δ))/m): the Seeger/Maurer bound on e(Q).

    >>> round(pac_bayes_kl_bound(0.0, 0.0, 10_000, 0.05), 5)  # 1 − (δ/(2√m))^(1/m)
    0.00083
    """
    _check(risk, kl, m, delta)
    return kl_inverse_upper(risk, pac_bayes_complexity(kl, m, delta))


def mcallester_bound(risk: float, kl: float, m: int, delta: float) -> float:
    """ê + √((KL + ln(2√m/δ))/(2m)), capped at 1 (Pinsker applied to the kl form)."""
    _check(risk, kl, m, delta)
    return min(1.0, risk + math.sqrt(pac_bayes_complexity(kl, m, delta) / 2.0))


def catoni_bound(risk: float, kl: float, m: int, delta: float, *, c: float) -> float:
    """Catoni's (1 − exp(−Cê − (KL + ln(1/δ))/m)) / (1 − exp(−C)) for one fixed C > 0."""
    _check(risk, kl, m, delta)
    if not c > 0.0:
        raise ValueError(f"Catoni's C must be > 0, got {c!r}")
    exponent = -c * risk - (kl + math.log(1.0 / delta)) / m
    return min(1.0, -math.expm1(exponent) / -math.expm1(-c))


def catoni_grid_bound(
    risk: float, kl: float, m: int, delta: float, *, grid: tuple[float, ...] = CATONI_GRID
) -> tuple[float, float]:
    """(bound, C): the smallest Catoni bound over ``grid``, each at δ/|grid| (union bound)."""
    values = [(catoni_bound(risk, kl, m, delta / len(grid), c=c), c) for c in grid]
    return min(values)


# -- Gaussians over named parameters ---------------------------------------------------------
@dataclass(frozen=True, eq=False)
class Gaussian:
    """A diagonal Gaussian over a network's named parameters (``mean`` and ``std`` per name)."""

    mean: dict[str, torch.Tensor]
    std: dict[str, torch.Tensor]

    def __post_init__(self) -> None:
        if set(self.mean) != set(self.std):
            raise ValueError("mean and std must name the same parameters")
        for name, value in self.std.items():
            if value.shape != self.mean[name].shape:
                raise ValueError(f"std of {name!r} has the wrong shape")
            if not bool((value > 0).all()) or not bool(torch.isfinite(value).all()):
                raise ValueError(f"std of {name!r} must be positive and finite")

    @classmethod
    def isotropic(cls, mean: Mapping[str, torch.Tensor], std: float) -> Gaussian:
        mean = {k: v.detach() for k, v in mean.items()}
        return cls(mean, {k: torch.full_like(v, float(std)) for k, v in mean.items()})

    @property
    def num_parameters(self) -> int:
        return sum(v.numel() for v in self.mean.values())

    def std_summary(self) -> dict[str, float]:
        flat = torch.cat([v.reshape(-1).double() for v in self.std.values()])
        return {"min": float(flat.min()), "median": float(flat.median()), "max": float(flat.max())}


def gaussian_kl(q: Gaussian, p: Gaussian) -> float:
    """KL(Q‖P) between diagonal Gaussians over the same parameters, in float64."""
    if set(q.mean) != set(p.mean):
        raise ValueError("KL needs Gaussians over the same parameter names")
    total = 0.0
    for name in q.mean:
        sq, sp = q.std[name].double(), p.std[name].double()
        diff = q.mean[name].double() - p.mean[name].double()
        ratio = (sq / sp) ** 2
        total += 0.5 * float((ratio + (diff / sp) ** 2 - 1.0 - torch.log(ratio)).sum())
    return max(total, 0.0)


def distance(q: Gaussian, p: Gaussian) -> float:
    """‖μ_Q − μ_P‖₂."""
    squares = (float((q.mean[k].double() - p.mean[k].double()).pow(2).sum()) for k in q.mean)
    return math.sqrt(sum(squares))


# -- Monte Carlo risk of the Gibbs classifier ------------------------------------------------
def _linear_only(model: nn.Module, names: set[str]) -> bool:
    owned = set()
    for prefix, module in model.named_modules():
        own = {f"{prefix}.{n}" if prefix else n for n, _ in module.named_parameters(recurse=False)}
        if own and not isinstance(module, nn.Linear):
            return False
        owned |= own
    return owned == names


def _lrt_predictions(
    model: nn.Module, q: Gaussian, buffers: dict, x: torch.Tensor, generator: torch.Generator
) -> torch.Tensor:
    """Argmax predictions of one independent network per example (local reparametrization)."""
    hooks = []
    for prefix, module in model.named_modules():
        if not isinstance(module, nn.Linear):
            continue
        dot = f"{prefix}." if prefix else ""
        var_w = q.std[f"{dot}weight"].pow(2)
        var_b = q.std[f"{dot}bias"].pow(2) if module.bias is not None else None

        def hook(_module, args, output, var_w=var_w, var_b=var_b):
            variance = nn.functional.linear(args[0].pow(2), var_w, var_b)
            noise = torch.randn(output.shape, generator=generator, dtype=output.dtype)
            return output + variance.clamp_min(0).sqrt() * noise

        hooks.append(module.register_forward_hook(hook))
    try:
        return functional_call(model, (q.mean, buffers), (x,)).argmax(dim=-1)
    finally:
        for handle in hooks:
            handle.remove()


def _vmap_predictions(
    model: nn.Module, q: Gaussian, buffers: dict, x: torch.Tensor, generator: torch.Generator
) -> torch.Tensor:
    """Argmax predictions of one independent network per example (a parameter draw each)."""
    b = x.shape[0]
    params = {
        k: q.mean[k] + q.std[k] * torch.randn((b, *v.shape), generator=generator, dtype=v.dtype)
        for k, v in q.mean.items()
    }

    def one(p: dict, xi: torch.Tensor) -> torch.Tensor:
        return functional_call(model, (p, buffers), (xi.unsqueeze(0),)).squeeze(0)

    return vmap(one)(params, x).argmax(dim=-1)


def sampled_errors(
    subject: Subject,
    q: Gaussian,
    data: Split,
    *,
    trials: int | None = None,
    generator: torch.Generator,
    method: Literal["auto", "lrt", "vmap"] = "auto",
) -> tuple[int, int]:
    """(errors, trials) of the Gibbs classifier on ``data``, one fresh network per trial.

    Args:
        subject: gives the architecture (evaluated in eval mode on a private copy).
        q: the posterior over the subject's trainable parameters.
        data: the examples S (e.g. the bound set).
        trials: None: every example once (n = |S|, stratified); an integer n: n examples drawn
            uniformly with replacement. Either way each outcome is an independent Bernoulli
            draw and the mean over trials is ê_S(Q) in expectation.
        generator: source of every draw (example indices and networks).
        method: ``"auto"`` (local reparametrization when every parameter is in an
            ``nn.Linear``, else ``"vmap"``), ``"lrt"`` or ``"vmap"``.
    """
    model = subject.clone().model
    model.eval()
    buffers = {k: b.detach() for k, b in model.named_buffers()}
    names = set(q.mean)
    if names != {k for k, p in model.named_parameters() if p.requires_grad}:
        raise ValueError("the posterior must cover exactly the subject's trainable parameters")
    if method == "auto":
        method = "lrt" if _linear_only(model, names) else "vmap"
    if method == "lrt":
        size, predict = max(subject.eval_batch_size, 1), _lrt_predictions
    elif method == "vmap":
        size, predict = max(1, min(1024, _SAMPLE_BUDGET // q.num_parameters)), _vmap_predictions
    else:
        raise ValueError(f"method must be 'auto', 'lrt' or 'vmap', got {method!r}")
    if trials is None:
        index = torch.arange(len(data))
    else:
        if isinstance(trials, bool) or int(trials) != trials or trials < 1:
            raise ValueError(f"trials must be a positive integer, got {trials!r}")
        index = torch.randint(0, len(data), (int(trials),), generator=generator)
    errors = 0
    with torch.no_grad():
        for start in range(0, len(index), size):
            chunk = index[start : start + size]
            predictions = predict(model, q, buffers, data.x[chunk], generator)
            errors += int((predictions != data.y[chunk]).sum())
    return errors, len(index)


def monte_carlo_risk_bound(errors: int, trials: int, delta: float) -> float:
    """kl⁻¹(k/n, ln(1/δ′)/n): an upper bound on ê_S(Q) holding with probability ≥ 1 − δ′."""
    if trials < 1 or not 0 <= errors <= trials:
        raise ValueError(f"need 0 <= errors <= trials and trials >= 1, got {errors}/{trials}")
    if not 0.0 < delta < 1.0:
        raise ValueError(f"delta must lie in (0, 1), got {delta!r}")
    return kl_inverse_upper(errors / trials, math.log(1.0 / delta) / trials)


__all__ = [
    "CATONI_GRID",
    "Gaussian",
    "catoni_bound",
    "catoni_grid_bound",
    "distance",
    "gaussian_kl",
    "mcallester_bound",
    "monte_carlo_risk_bound",
    "pac_bayes_complexity",
    "pac_bayes_kl_bound",
    "sampled_errors",
]
