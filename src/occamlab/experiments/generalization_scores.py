"""How well a measure predicts generalization across a zoo of models: four scores.

Every score compares, over pairs of models (a, b), the sign of the measure's difference
μ_a − μ_b with the sign of the generalization gap's difference g_a − g_b (gap = test error −
train error). Models are rows with a value per measure, a gap, their hyperparameters and a
cluster label (what the bootstrap resamples). All computations are vectorized over the n × n
pair matrices and over the measures (the measures known on every model are scored together).

* **Kendall τ** (Jiang et al. 2019, eq. 4): τ = Σ_{a≠b} sign(μ_a − μ_b)·sign(g_a − g_b) /
  (n(n − 1)) (τ-a; ties count 0).
* **Granulated Kendall Ψ** (Jiang et al. 2019, eq. 5): for hyperparameter i, ψ_i is the mean,
  over groups of models that agree on every *other* hyperparameter (and the seed), of τ within
  the group; Ψ is the mean of ψ_i over the hyperparameters with at least one such group.
* **Conditional mutual information** (the score of the PGDL competition, Jiang et al. 2020,
  arXiv 2012.07976, after Jiang et al. 2019 §6): for a pair of hyperparameters (h₁, h₂), the
  ordered model pairs (a ≠ b) are split into strata by (h₁(a), h₁(b), h₂(a), h₂(b)); in each
  stratum the mutual information (bits) between 1[g_a > g_b] and 1[μ_a > μ_b] is computed from
  the 2 × 2 table; the score is the mean MI over strata divided by the mean entropy of
  1[g_a > g_b], minimized over all pairs (h₁, h₂) (one hyperparameter if only one varies).
  Pairs whose strata leave the gap's order fully determined (mean entropy 0; e.g. when only
  those two hyperparameters vary) are skipped; with none left the score is undefined (nan).
* **Robust sign-error** (Dziugaite et al. 2020, arXiv 2010.11924): environments are pairs of
  models that differ in exactly one hyperparameter (same seed); a pair counts only if its gaps
  differ by more than the Monte Carlo noise of the test errors, √(g_a(1−g_a)/m + g_b(1−g_b)/m)
  with m test examples. The sign-error of a pair is 1[sign(Δμ) ≠ sign(Δg)] (a tie counts ½).
  Reported: the mean over all counted pairs and the robust (worst-case) value, the largest mean
  over the pairs intervening on one hyperparameter. With several seeds per configuration the
  pairs of one hyperparameter pool over seeds; Dziugaite et al.'s finer environments (one per
  configuration pair) need more seeds than a CPU zoo has.

Bootstrap confidence intervals resample the clusters (a seed, or one star of the star design)
with replacement and recompute every score (percentile intervals). A model drawn twice is one
model with weight two: the pair of its two copies is not a pair of models (it would count as a
tie and pull every score towards 0), so every score runs over pairs of *distinct* models only.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Zoo:
    """Models as arrays: measure values (n × k), gaps (n), hyperparameter codes (n × h).

    ``ids`` names each row's model: a bootstrap resample repeats rows, and pairs of two copies of
    one model are left out of every score.
    """

    measures: tuple[str, ...]
    hyperparameters: tuple[str, ...]
    values: np.ndarray
    gaps: np.ndarray
    test_errors: np.ndarray
    codes: np.ndarray
    seeds: np.ndarray
    clusters: np.ndarray
    test_examples: int
    ids: np.ndarray | None = None

    @classmethod
    def from_rows(
        cls,
        rows: Sequence[dict[str, Any]],
        *,
        measures: Sequence[str],
        hyperparameters: Sequence[str],
        test_examples: int,
    ) -> Zoo:
        codes = []
        for h in hyperparameters:
            levels = {v: i for i, v in enumerate(sorted({repr(r[h]) for r in rows}))}
            codes.append([levels[repr(r[h])] for r in rows])
        values = np.array(
            [[np.nan if r[m] is None else float(r[m]) for m in measures] for r in rows]
        )
        return cls(
            measures=tuple(measures),
            hyperparameters=tuple(hyperparameters),
            values=values.reshape(len(rows), len(measures)),
            gaps=np.array([float(r["gap"]) for r in rows]),
            test_errors=np.array([float(r["test_error"]) for r in rows]),
            codes=np.array(codes, dtype=np.int64).T.reshape(len(rows), len(hyperparameters)),
            seeds=np.array([int(r["seed"]) for r in rows]),
            clusters=np.array([r["cluster"] for r in rows]),
            test_examples=test_examples,
            ids=np.arange(len(rows)),
        )

    def distinct(self) -> np.ndarray:
        """n × n: True for pairs of rows that are different models."""
        ids = np.arange(len(self.gaps)) if self.ids is None else self.ids
        return ids[:, None] != ids[None, :]

    def take(self, index: np.ndarray) -> Zoo:
        return Zoo(
            measures=self.measures,
            hyperparameters=self.hyperparameters,
            values=self.values[index],
            gaps=self.gaps[index],
            test_errors=self.test_errors[index],
            codes=self.codes[index],
            seeds=self.seeds[index],
            clusters=self.clusters[index],
            test_examples=self.test_examples,
            ids=None if self.ids is None else self.ids[index],
        )

    @cached_property
    def groups(self) -> dict[int, list[np.ndarray]]:
        """Per hyperparameter (column): the row sets of Ψ's groups, models that agree on every
        other hyperparameter and the seed and differ in this one (computed once per zoo)."""
        out = {}
        for i in range(len(self.hyperparameters)):
            keys = np.column_stack([np.delete(self.codes, i, axis=1), self.seeds])
            label = np.unique(keys, axis=0, return_inverse=True)[1].reshape(-1)
            order = np.argsort(label, kind="stable")
            split = np.split(order, np.flatnonzero(np.diff(label[order])) + 1)
            out[i] = [rows for rows in split if rows.size and np.ptp(self.codes[rows, i]) > 0]
        return out

    @cached_property
    def strata(self) -> list[np.ndarray]:
        """The CMI's strata of the ordered pairs of distinct models, one labelling per pair of
        varying hyperparameters (one hyperparameter if only one varies; computed once)."""
        off = self.distinct()
        varying = [
            i for i in range(len(self.hyperparameters)) if len(np.unique(self.codes[:, i])) > 1
        ]
        if not varying or not off.any():
            return []
        out = []
        n = len(self.gaps)
        for group in list(itertools.combinations(varying, 2)) or [(varying[0],)]:
            key = np.zeros((n, n), dtype=np.int64)
            for i in group:
                c = self.codes[:, i]
                levels = int(c.max()) + 1
                key = (key * levels + c[:, None]) * levels + c[None, :]
            present = np.zeros(int(key.max()) + 1, dtype=np.int64)
            present[key[off]] = 1
            out.append((np.cumsum(present) - 1)[key[off]])  # numbered 0, 1, … as they occur
        return out


def _signs(x: np.ndarray) -> np.ndarray:
    return np.sign(x[:, None] - x[None, :])


def _measure_signs(zoo: Zoo, columns: Sequence[int]) -> np.ndarray:
    """k × n × n: sign(μ_a − μ_b) of each measure in ``columns``."""
    values = zoo.values[:, list(columns)].T
    return np.sign(values[:, :, None] - values[:, None, :])


def kendall_tau(values: np.ndarray, gaps: np.ndarray, distinct: np.ndarray | None = None) -> float:
    """τ-a between a measure and the gaps over the ordered pairs marked in ``distinct`` (n × n;
    default: every pair a ≠ b); nan without a pair.

    >>> kendall_tau(np.array([1.0, 2.0, 3.0]), np.array([0.1, 0.3, 0.2]))
    0.3333333333333333
    """
    if distinct is None:
        distinct = ~np.eye(len(values), dtype=bool)
    pairs = int(distinct.sum())
    if pairs == 0:
        return math.nan
    return float((_signs(values) * _signs(gaps))[distinct].sum() / pairs)


def _granulated(zoo: Zoo, columns: Sequence[int]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Ψ and {hyperparameter: ψ_i} of every measure in ``columns`` (arrays over the measures)."""
    distinct = zoo.distinct()
    product = _measure_signs(zoo, columns) * (_signs(zoo.gaps) * distinct)
    psi = {}
    for i, name in enumerate(zoo.hyperparameters):
        taus = []
        for index in zoo.groups[i]:
            pairs = int(distinct[np.ix_(index, index)].sum())
            block = product[:, index[:, None], index[None, :]].sum(axis=(1, 2))
            taus.append(block / pairs if pairs else np.full(len(columns), np.nan))
        if taus:
            psi[name] = np.mean(taus, axis=0)
    total = np.mean(list(psi.values()), axis=0) if psi else np.full(len(columns), np.nan)
    return total, psi


def granulated_tau(zoo: Zoo, column: int) -> tuple[float, dict[str, float]]:
    """(Ψ, {hyperparameter: ψ_i}) for measure ``column``."""
    total, psi = _granulated(zoo, [column])
    return float(total[0]), {name: float(v[0]) for name, v in psi.items()}


def _entropy_bits(counts: np.ndarray) -> np.ndarray:
    total = counts.sum(axis=-1, keepdims=True)
    p = np.divide(counts, total, out=np.zeros_like(counts, dtype=float), where=total > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p > 0, -p * np.log2(np.where(p > 0, p, 1.0)), 0.0)
    return terms.sum(axis=-1)


def _cmi(zoo: Zoo, columns: Sequence[int]) -> np.ndarray:
    """The PGDL score of every measure in ``columns``: one 2 × 2 table per (measure, stratum),
    all counted by one ``bincount`` per stratum labelling."""
    k = len(columns)
    if not zoo.strata:
        return np.full(k, np.nan)
    off = zoo.distinct()
    gap_up = (zoo.gaps[:, None] > zoo.gaps[None, :])[off].astype(np.int64)
    values = zoo.values[:, list(columns)]
    measure_up = (values[:, None, :] > values[None, :, :])[off].astype(np.int64)  # pairs × k
    best = np.full(k, np.inf)
    for stratum in zoo.strata:
        size = 4 * (int(stratum.max()) + 1)
        cell = (stratum * 4 + gap_up * 2)[:, None] + measure_up + size * np.arange(k)
        table = np.bincount(cell.reshape(-1), minlength=size * k).reshape(k, -1, 2, 2)
        table = table.astype(float)
        joint_h = _entropy_bits(table.reshape(k, -1, 4))
        h_gap = _entropy_bits(table.sum(axis=3))
        h_measure = _entropy_bits(table.sum(axis=2))
        mean_h = h_gap[0].mean()  # the gap's strata are the same for every measure
        if mean_h > 0:  # else the strata fix the gap's order: nothing left to predict
            best = np.minimum(best, (h_gap + h_measure - joint_h).mean(axis=1) / mean_h)
    return np.where(np.isfinite(best), best, np.nan)


def conditional_mutual_information(zoo: Zoo, column: int) -> float:
    """The PGDL score: min over hyperparameter pairs of mean-MI / mean-entropy over strata."""
    return float(_cmi(zoo, [column])[0])


def _sign_errors(
    zoo: Zoo, columns: Sequence[int]
) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """Mean and robust sign-error, and the mean per hyperparameter, of every measure in
    ``columns`` (arrays over the measures)."""
    k = len(columns)
    gaps, errors, m = zoo.gaps, zoo.test_errors, zoo.test_examples
    differ = (zoo.codes[:, None, :] != zoo.codes[None, :, :]).sum(axis=2)
    same_seed = zoo.seeds[:, None] == zoo.seeds[None, :]
    noise = np.sqrt((errors * (1 - errors))[:, None] / m + (errors * (1 - errors))[None, :] / m)
    dg = gaps[:, None] - gaps[None, :]
    counted = (differ == 1) & same_seed & (np.abs(dg) > noise)
    counted &= np.triu(np.ones_like(counted), k=1)
    dm = _measure_signs(zoo, columns)
    wrong = np.where(dm == 0, 0.5, (dm != np.sign(dg)).astype(float))  # k × n × n
    per_hp = {}
    for i, name in enumerate(zoo.hyperparameters):
        mask = counted & (zoo.codes[:, None, i] != zoo.codes[None, :, i])
        if mask.any():
            per_hp[name] = wrong[:, mask].mean(axis=1)
    if not counted.any():
        return np.full(k, np.nan), np.full(k, np.nan), per_hp
    return wrong[:, counted].mean(axis=1), np.max(list(per_hp.values()), axis=0), per_hp


def sign_errors(zoo: Zoo, column: int) -> tuple[float, float, dict[str, float]]:
    """(mean sign-error, robust sign-error, {hyperparameter: mean sign-error of its pairs})."""
    mean, robust, per_hp = _sign_errors(zoo, [column])
    return float(mean[0]), float(robust[0]), {name: float(v[0]) for name, v in per_hp.items()}


def _score_rows(zoo: Zoo, columns: Sequence[int]) -> list[dict[str, Any]]:
    """Every score of the measures in ``columns``, whose values are finite on every model."""
    signs = _measure_signs(zoo, columns)
    distinct = zoo.distinct()
    pairs = int(distinct.sum())
    taus = (signs * (_signs(zoo.gaps) * distinct)).sum(axis=(1, 2)) / pairs if pairs else None
    psi, per_hp = _granulated(zoo, columns)
    cmi = _cmi(zoo, columns)
    mean_error, robust, _ = _sign_errors(zoo, columns)
    return [
        {
            "measure": zoo.measures[j],
            "models": len(zoo.gaps),
            "tau": math.nan if taus is None else float(taus[c]),
            "psi": float(psi[c]),
            "cmi": float(cmi[c]),
            "sign_error": float(mean_error[c]),
            "robust_sign_error": float(robust[c]),
            **{f"psi_{h}": float(v[c]) for h, v in per_hp.items()},
        }
        for c, j in enumerate(columns)
    ]


def scores(zoo: Zoo) -> list[dict[str, Any]]:
    """Every score of every measure (measures with missing values on some models use the rest);
    the measures known on every model are scored together, vectorized over the measures."""
    finite = np.isfinite(zoo.values)
    complete = [j for j in range(len(zoo.measures)) if finite[:, j].all()]
    rows = dict(zip(complete, _score_rows(zoo, complete), strict=True)) if complete else {}
    for j in range(len(zoo.measures)):
        if j not in rows:
            (rows[j],) = _score_rows(zoo.take(np.flatnonzero(finite[:, j])), [j])
    return [rows[j] for j in range(len(zoo.measures))]


SCORES = ("tau", "psi", "cmi", "sign_error", "robust_sign_error")


def bootstrap_replicates(
    zoo: Zoo, *, replicates: int, seed: int
) -> dict[str, dict[str, np.ndarray]]:
    """Every score of every measure on ``replicates`` resamples of the clusters (with
    replacement): {measure: {score: array of replicates}}, aligned by resample (nan where a
    score is undefined on a resample)."""
    rng = np.random.default_rng(seed)
    clusters = np.unique(zoo.clusters)
    members = {c: np.flatnonzero(zoo.clusters == c) for c in clusters}
    out = {m: {k: np.full(replicates, np.nan) for k in SCORES} for m in zoo.measures}
    for b in range(replicates):
        chosen = rng.choice(clusters, size=len(clusters), replace=True)
        index = np.concatenate([members[c] for c in chosen])
        for row in scores(zoo.take(index)):
            for k in SCORES:
                out[row["measure"]][k][b] = row[k]
    return out


def percentile_intervals(
    samples: dict[str, dict[str, np.ndarray]], *, level: float = 0.95
) -> dict[str, dict[str, tuple[float, float]]]:
    """Percentile intervals of :func:`bootstrap_replicates`'s scores (finite replicates)."""
    lo, hi = 100 * (1 - level) / 2, 100 * (1 + level) / 2
    out = {}
    for measure, by_key in samples.items():
        out[measure] = {}
        for k, v in by_key.items():
            arr = v[np.isfinite(v)]
            out[measure][k] = (
                (float(np.percentile(arr, lo)), float(np.percentile(arr, hi)))
                if arr.size
                else (math.nan, math.nan)
            )
    return out


def bootstrap(
    zoo: Zoo, *, replicates: int, seed: int, level: float = 0.95
) -> dict[str, dict[str, tuple[float, float]]]:
    """Percentile intervals of τ, Ψ, CMI and the sign-errors, resampling clusters."""
    samples = bootstrap_replicates(zoo, replicates=replicates, seed=seed)
    return percentile_intervals(samples, level=level)


__all__ = [
    "Zoo",
    "bootstrap",
    "bootstrap_replicates",
    "conditional_mutual_information",
    "granulated_tau",
    "kendall_tau",
    "percentile_intervals",
    "scores",
    "sign_errors",
]
