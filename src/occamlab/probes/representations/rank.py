"""Effective dimensionality of a representation, from its covariance spectrum.

For a representation ``X`` ``(n, d)`` with centred covariance eigenvalues ``λ₁ ≥ … ≥ λ_d``:

- participation ratio ``PR = (Σλ)² / Σλ²`` (Gao et al. 2017; 1 for one direction, d for
  isotropic data);
- entropy effective rank ``exp(−Σ pᵢ ln pᵢ)``, ``pᵢ = λᵢ/Σλ`` (Roy & Vetterli 2007);
- numerical rank: singular values above ``σ_max · max(n, d) · ε`` (ε of float32, the precision
  activations are computed in), of the centred matrix and of the raw (uncentred) activation
  matrix — for a ReLU layer, the rank of its activation matrix (Pennington & Worah 2017 study
  its spectrum); and the fraction of dead units (zero on every example).

Everything is read off :class:`FeatureStats`, so it streams.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from occamlab.probes.representations.feature_stats import FeatureStats

_EPS32 = float(torch.finfo(torch.float32).eps)


@dataclass(frozen=True)
class EffectiveRank:
    """Dimensionality of one representation.

    Attributes:
        features: d.
        examples: n.
        participation_ratio: ``(Σλ)²/Σλ²`` of the covariance.
        entropy_rank: ``exp`` of the spectral entropy.
        numerical_rank: numerical rank of the centred activations.
        activation_rank: numerical rank of the raw activation matrix.
        dead_fraction: fraction of features that are zero on every example.
    """

    features: int
    examples: int
    participation_ratio: float
    entropy_rank: float
    numerical_rank: int
    activation_rank: int
    dead_fraction: float

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def _numerical_rank(second_moment: torch.Tensor, n: int, lam: torch.Tensor | None = None) -> int:
    """Rank of the features from their second moment; ``lam``: its clamped eigenvalues when
    already computed."""
    if lam is None:
        lam = torch.linalg.eigvalsh(second_moment).clamp(min=0)
    sigma = lam.sqrt()
    if sigma.numel() == 0 or float(sigma.max()) == 0:
        return 0
    tol = float(sigma.max()) * max(n, second_moment.shape[0]) * _EPS32
    return int((sigma > tol).sum())


def effective_rank_from_stats(stats: FeatureStats, i: int) -> EffectiveRank:
    """Effective dimensionality of representation ``i`` held by ``stats``."""
    cov = stats.centred_cross(i, i)
    lam = torch.linalg.eigvalsh(cov).clamp(min=0)
    total = float(lam.sum())
    if total <= 0:
        pr = entropy_rank = 0.0
    else:
        pr = total**2 / float((lam**2).sum())
        p = lam[lam > 0] / total
        entropy_rank = float(torch.exp(-(p * p.log()).sum()))
    raw = stats.second_moment(i)
    return EffectiveRank(
        features=stats.dims[i],
        examples=stats.n,
        participation_ratio=pr,
        entropy_rank=entropy_rank,
        numerical_rank=_numerical_rank(cov, stats.n, lam),
        activation_rank=_numerical_rank(raw, stats.n),
        dead_fraction=float((torch.diagonal(raw) <= 0).double().mean()),
    )


def effective_rank(x: torch.Tensor, *, chunk: int = 4096) -> EffectiveRank:
    """Effective dimensionality of ``x`` ``(n, d)`` (extra dims flattened)."""
    x = x.reshape(x.shape[0], -1)
    stats = FeatureStats([x.shape[1]], dtype="float64")
    for start in range(0, x.shape[0], chunk):
        stats.update([x[start : start + chunk]])
    return effective_rank_from_stats(stats, 0)
