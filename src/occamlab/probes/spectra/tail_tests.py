"""How much to trust a power-law tail: bootstrap interval, goodness of fit, rival tails.

- Bootstrap interval (nonparametric): resample all values with replacement, redo the whole fit
  (x_min search included), take percentiles of α̂.
- Goodness of fit (Clauset, Shalizi & Newman 2009, §4.1): semi-parametric bootstrap. Each
  synthetic sample keeps the size of the data; each value comes, with probability n_tail/N, from
  the fitted power law above x_min and otherwise is drawn from the observed values below x_min.
  Each sample is refitted with its own x_min; ``p`` is the fraction of samples whose KS distance
  is at least the observed one (p < 0.1 rules the power law out).
- Likelihood-ratio tests (Vuong 1989; Clauset et al. §5) of the power law against an exponential
  and a log-normal tail on the same x ≥ x_min: ``R`` is the summed log-likelihood ratio (positive
  favours the power law), ``p`` the two-sided significance of its sign from the normalized ratio
  ``R/(σ√n)``.

All replicates are fitted in one batched call (:func:`occamlab.probes.spectra.powerlaw.fit_sorted`).
Randomness comes only from the ``torch.Generator`` passed in.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from occamlab.probes.spectra.powerlaw import PowerLawFit, _check, fit_sorted, sample_power_law


def _uniforms(shape: tuple[int, ...], generator: torch.Generator | None) -> np.ndarray:
    return torch.rand(shape, generator=generator, dtype=torch.float64).numpy()


def _batched(samples: np.ndarray, *, min_tail: int, max_candidates: int | None, chunk: int):
    alphas, dists = [], []
    for start in range(0, samples.shape[0], chunk):
        a, _, d, _ = fit_sorted(
            np.sort(samples[start : start + chunk], axis=1),
            min_tail=min_tail,
            max_candidates=max_candidates,
        )
        alphas.append(a)
        dists.append(d)
    return np.concatenate(alphas), np.concatenate(dists)


def bootstrap_alpha(
    values: np.ndarray,
    *,
    num_samples: int = 200,
    level: float = 0.95,
    min_tail: int = 10,
    max_candidates: int | None = None,
    generator: torch.Generator | None = None,
) -> tuple[float, float]:
    """Percentile bootstrap interval of α̂ (x_min re-chosen in every resample)."""
    x = _check(values)
    if num_samples < 2:
        raise ValueError(f"num_samples must be >= 2, got {num_samples}")
    picks = (_uniforms((num_samples, x.size), generator) * x.size).astype(np.int64)
    chunk = max(1, (1 << 22) // (x.size * x.size))
    alphas, _ = _batched(x[picks], min_tail=min_tail, max_candidates=max_candidates, chunk=chunk)
    alphas = alphas[np.isfinite(alphas)]
    lo, hi = np.quantile(alphas, [(1 - level) / 2, (1 + level) / 2])
    return float(lo), float(hi)


def goodness_of_fit(
    values: np.ndarray,
    fit: PowerLawFit,
    *,
    num_samples: int = 100,
    min_tail: int = 10,
    max_candidates: int | None = None,
    generator: torch.Generator | None = None,
) -> float:
    """Clauset's semi-parametric bootstrap p-value of the power-law hypothesis."""
    x = _check(values)
    if num_samples < 1:
        raise ValueError(f"num_samples must be >= 1, got {num_samples}")
    body = x[x < fit.xmin]
    u = _uniforms((num_samples, x.size, 2), generator)
    from_tail = (u[..., 0] < fit.num_tail / x.size) | (body.size == 0)
    synthetic = sample_power_law(u[..., 1], alpha=fit.alpha, xmin=fit.xmin)
    if body.size:
        body_pick = body[np.minimum((u[..., 1] * body.size).astype(np.int64), body.size - 1)]
        synthetic = np.where(from_tail, synthetic, body_pick)
    chunk = max(1, (1 << 22) // (x.size * x.size))
    _, dists = _batched(synthetic, min_tail=min_tail, max_candidates=max_candidates, chunk=chunk)
    return float(np.mean(dists >= fit.ks_distance))


@dataclass(frozen=True)
class TailComparison:
    """Vuong likelihood-ratio test of the power law against one alternative tail.

    Attributes:
        alternative: ``"exponential"`` or ``"lognormal"``.
        log_likelihood_ratio: ``R = Σ (ln p_pl − ln p_alt)`` over the tail (> 0: power law).
        normalized_ratio: ``R / (σ √n)``, asymptotically standard normal when both fit equally.
        p_value: two-sided significance of the sign of ``R``.
        parameters: the alternative's fitted parameters.
    """

    alternative: str
    log_likelihood_ratio: float
    normalized_ratio: float
    p_value: float
    parameters: dict[str, float]

    @property
    def favours(self) -> str:
        """``"power_law"``, the alternative's name, or ``"neither"`` (p ≥ 0.1)."""
        if self.p_value >= 0.1:
            return "neither"
        return "power_law" if self.log_likelihood_ratio > 0 else self.alternative

    def to_dict(self) -> dict:
        return {
            "alternative": self.alternative,
            "log_likelihood_ratio": self.log_likelihood_ratio,
            "normalized_ratio": self.normalized_ratio,
            "p_value": self.p_value,
            "favours": self.favours,
            "parameters": self.parameters,
        }


def _power_law_loglik(tail: np.ndarray, alpha: float, xmin: float) -> np.ndarray:
    return np.log(alpha - 1) - np.log(xmin) - alpha * np.log(tail / xmin)


def _exponential(tail: np.ndarray, xmin: float) -> tuple[np.ndarray, dict[str, float]]:
    rate = 1.0 / max(float(np.mean(tail)) - xmin, np.finfo(float).tiny)
    return np.log(rate) - rate * (tail - xmin), {"rate": rate}


def _lognormal(tail: np.ndarray, xmin: float) -> tuple[np.ndarray, dict[str, float]]:
    """Log-normal truncated to x ≥ x_min, fitted by maximum likelihood (L-BFGS-B)."""
    from scipy.optimize import minimize
    from scipy.special import log_ndtr

    logs = np.log(tail)
    log_xmin = np.log(xmin)

    def per_point(mu: float, s: float) -> np.ndarray:
        z = (logs - mu) / s
        return (
            -logs
            - np.log(s)
            - 0.5 * np.log(2 * np.pi)
            - 0.5 * z * z
            - log_ndtr(-(log_xmin - mu) / s)
        )

    def objective(theta: np.ndarray) -> float:
        return -float(np.sum(per_point(theta[0], np.exp(theta[1]))))

    start = np.array([float(np.mean(logs)), np.log(max(float(np.std(logs)), 1e-3))])
    result = minimize(objective, start, method="L-BFGS-B", bounds=[(None, None), (-10, 5)])
    mu, s = float(result.x[0]), float(np.exp(result.x[1]))
    return per_point(mu, s), {"mu": mu, "sigma": s}


_ALTERNATIVES = {"exponential": _exponential, "lognormal": _lognormal}


def compare_tails(values: np.ndarray, fit: PowerLawFit) -> tuple[TailComparison, ...]:
    """Likelihood-ratio tests of ``fit`` against exponential and log-normal tails."""
    from scipy.special import erfc

    x = _check(values)
    tail = x[x >= fit.xmin]
    pl = _power_law_loglik(tail, fit.alpha, fit.xmin)
    out = []
    for name, alternative in _ALTERNATIVES.items():
        alt, params = alternative(tail, fit.xmin)
        diff = pl - alt
        r = float(np.sum(diff))
        spread = float(np.std(diff))
        z = r / (spread * np.sqrt(tail.size)) if spread > 0 else 0.0
        p = float(erfc(abs(z) / np.sqrt(2)))
        out.append(TailComparison(name, r, float(z), p, params))
    return tuple(out)
