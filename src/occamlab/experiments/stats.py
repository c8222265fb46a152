"""Statistics the experiments report: mean ± spread over seeds, least-squares lines, and the
tests that decide each claim (:class:`ClaimTest`: Welch, paired, one-sample, slope, permutation
and bootstrap tests, bootstrap intervals, Holm's correction, the seeds a decision would need)."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from scipy import stats


def mean_std(values: Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (ddof=1; 0 for a single value).

    >>> mean_std([1.0, 2.0, 3.0])
    (2.0, 1.0)
    """
    v = np.asarray(values, dtype=np.float64)
    if v.size == 0:
        raise ValueError("no values")
    return float(v.mean()), float(v.std(ddof=1)) if v.size > 1 else 0.0


def grouped_mean_std(
    rows: Sequence[dict[str, Any]],
    by: Sequence[str],
    keys: Sequence[str],
    *,
    count: str | None = None,
) -> list[dict[str, Any]]:
    """One row per distinct value of the ``by`` fields of ``rows`` (in order of first
    appearance): those fields, the group's size as ``count`` (if named), and the mean and
    standard deviation (:func:`mean_std`) of each of ``keys`` as ``key`` and ``key_std`` (keys
    absent from a group's first row are skipped).

    >>> grouped_mean_std([{"b": 1, "x": 1.0}, {"b": 2, "x": 5.0}, {"b": 1, "x": 3.0}], ["b"], ["x"])
    [{'b': 1, 'x': 2.0, 'x_std': 1.4142135623730951}, {'b': 2, 'x': 5.0, 'x_std': 0.0}]
    """
    groups: dict[tuple, list[dict[str, Any]]] = {}
    for r in rows:
        groups.setdefault(tuple(r[k] for k in by), []).append(r)
    out = []
    for group, rs in groups.items():
        row: dict[str, Any] = dict(zip(by, group, strict=True))
        if count:
            row[count] = len(rs)
        for key in keys:
            if key in rs[0]:
                row[key], row[f"{key}_std"] = mean_std([r[key] for r in rs])
        out.append(row)
    return out


def linear_fit(x: Sequence[float], y: Sequence[float]) -> tuple[float, float, float]:
    """Least-squares line y ≈ a·x + b; returns (a, b, R²).

    >>> a, b, r2 = linear_fit([0, 1, 2], [1, 3, 5])
    >>> round(a, 12), round(b, 12), round(r2, 12)
    (2.0, 1.0, 1.0)
    """
    xs, ys = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if xs.shape != ys.shape or xs.size < 2:
        raise ValueError("need two equally long sequences of at least 2 values")
    a, b = np.polyfit(xs, ys, 1)
    resid = ys - (a * xs + b)
    total = float(((ys - ys.mean()) ** 2).sum())
    r2 = 1.0 - float((resid**2).sum()) / total if total > 0 else 1.0
    return float(a), float(b), r2


# --- claims as statistical tests ----------------------------------------------------------------
#
# A claim "the effect exceeds a margin" is decided from per-seed values: two one-sided tests,
# H₀: effect ≤ margin (its p-value small: the claim holds) and H₀′: effect ≥ margin (small: the
# claim is ruled out). Within an experiment the p-values of all its claims are Holm-corrected
# (:func:`holm`), each family separately; a claim is "passed" when its corrected p ≤ α,
# "failed" when its corrected p′ ≤ α, else "inconclusive" — with the number of seeds a power
# computation says would decide it, at the observed effect and spread.

Decision = Literal["passed", "failed", "inconclusive"]


@dataclass(frozen=True)
class ClaimTest:
    """The statistical test behind a claim.

    Attributes:
        hypothesis: the claim as an inequality on the effect ("ticket − random mask < −0.005").
        method: ``Welch t-test``, ``paired t-test``, ``one-sample t-test``, ``slope t-test``,
            ``permutation test`` or ``bootstrap test``.
        estimate: the effect measured (difference of means, mean, or slope).
        interval: its two-sided (1 − α) confidence interval.
        margin: the threshold the effect must clear.
        p_value: one-sided p of H₀: the effect does not clear the margin.
        p_against: one-sided p of H₀′: the effect does clear it.
        alpha: the level.
        seeds: independent runs per condition.
        points: the per-seed values, by condition.
        seeds_needed: seeds per condition at which a test at the observed effect and spread
            would decide with power 0.8 (None: the effect sits on the margin, or no spread).
        p_adjusted, p_against_adjusted: Holm-corrected within the experiment (as computed
            alone until :func:`holm_decisions` is applied).
    """

    hypothesis: str
    method: str
    estimate: float
    interval: tuple[float, float]
    margin: float
    p_value: float
    p_against: float
    alpha: float
    seeds: int
    points: dict[str, list[float]]
    seeds_needed: int | None
    p_adjusted: float | None = None
    p_against_adjusted: float | None = None

    @property
    def decision(self) -> Decision:
        p = self.p_value if self.p_adjusted is None else self.p_adjusted
        q = self.p_against if self.p_against_adjusted is None else self.p_against_adjusted
        if p <= self.alpha:
            return "passed"
        if q <= self.alpha:
            return "failed"
        return "inconclusive"

    def to_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["interval"] = list(self.interval)
        out["decision"] = self.decision
        return out


def _values(name: str, values: Sequence[float]) -> np.ndarray:
    v = np.asarray(values, dtype=np.float64).reshape(-1)
    if v.size == 0 or not np.isfinite(v).all():
        raise ValueError(f"{name} needs finite values, got {list(values)!r}")
    return v


# one value: no spread to test with, so neither side can be decided
_UNTESTED = (1.0, 1.0, (float("-inf"), float("inf")))


def _sample(name: str, values: Sequence[float]) -> tuple[np.ndarray, float, float]:
    """The values, their mean and their sample standard deviation (NaN for one value)."""
    v = _values(name, values)
    return v, float(v.mean()), float(v.std(ddof=1)) if v.size > 1 else float("nan")


def _t_test(
    effect: float, se: float, df: float, margin: float, alpha: float
) -> tuple[float, float, tuple[float, float]]:
    """One-sided p-values of effect > margin and effect < margin, and the (1 − α) interval."""
    if se == 0.0:  # no spread: the effect is exact
        above, below = float(effect > margin), float(effect < margin)
        return 1.0 - above, 1.0 - below, (effect, effect)
    t = (effect - margin) / se
    half = float(stats.t.ppf(1 - alpha / 2, df)) * se
    return float(stats.t.sf(t, df)), float(stats.t.cdf(t, df)), (effect - half, effect + half)


def _seeds_needed(
    gap: float, sd: float, alpha: float, *, groups: int, power: float = 0.8
) -> int | None:
    """Fewest seeds per condition for a one-sided t-test at level α with this power (the
    normal approximation n ≈ g·((z₁₋α + z_power)·sd/gap)², then raised until the noncentral t
    gives the power)."""
    if not np.isfinite(sd) or abs(gap) == 0.0 or sd <= 1e-12 * abs(gap):
        return None  # no spread (equal up to rounding): a single run decides or nothing does
    z = float(stats.norm.ppf(1 - alpha) + stats.norm.ppf(power))
    n = max(2, math.ceil(groups * (z * sd / abs(gap)) ** 2))
    if n > 100_000:
        return None
    while True:
        df = groups * (n - 1)
        nc = abs(gap) / (sd * math.sqrt(groups / n))
        reached = stats.nct.sf(stats.t.ppf(1 - alpha, df), df, nc)
        if not np.isfinite(reached):
            return None
        if reached >= power:
            return n
        n += 1


def _welch(x: np.ndarray, y: np.ndarray) -> tuple[float, float, float]:
    """Welch's standard error of mean(x) − mean(y), its Welch–Satterthwaite degrees of freedom
    and the pooled standard deviation (NaN without two values in some condition)."""
    if x.size < 2 or y.size < 2:
        return float("nan"), float("nan"), float("nan")
    vx, vy = float(x.var(ddof=1)) / x.size, float(y.var(ddof=1)) / y.size
    se2 = vx + vy
    if se2 == 0.0:
        return 0.0, float("inf"), 0.0
    df = se2**2 / (vx**2 / (x.size - 1) + vy**2 / (y.size - 1))
    return math.sqrt(se2), df, math.sqrt((x.var(ddof=1) + y.var(ddof=1)) / 2)


def compare(
    a: Sequence[float],
    b: Sequence[float],
    *,
    margin: float = 0.0,
    paired: bool = False,
    alpha: float = 0.05,
    hypothesis: str = "",
    names: tuple[str, str] = ("a", "b"),
) -> ClaimTest:
    """Is mean(a) − mean(b) > margin? Welch's t-test (paired t-test when the seeds pair).

    To test "a is smaller than b by more than m", pass ``compare(b, a, margin=m)``.

    >>> t = compare([0.9, 1.0, 1.1, 1.0], [0.1, 0.0, 0.2, 0.1], margin=0.5)
    >>> t.decision, round(t.estimate, 3)
    ('passed', 0.9)
    """
    x, y = _values(names[0], a), _values(names[1], b)
    effect = float(x.mean() - y.mean())
    if paired:
        if x.size != y.size:
            raise ValueError("paired comparisons need as many values in each condition")
        d = x - y
        n = d.size
        sd = float(d.std(ddof=1)) if n > 1 else float("nan")
        se, df, groups = sd / math.sqrt(n), float(n - 1), 1
    else:
        se, df, sd = _welch(x, y)
        groups = 2
    if not np.isfinite(se):  # one seed: nothing to test with
        p, q, interval = _UNTESTED
    else:
        p, q, interval = _t_test(effect, se, df, margin, alpha)
    return ClaimTest(
        hypothesis=hypothesis or f"mean({names[0]}) − mean({names[1]}) > {margin:g}",
        method="paired t-test" if paired else "Welch t-test",
        estimate=effect,
        interval=interval,
        margin=margin,
        p_value=p,
        p_against=q,
        alpha=alpha,
        seeds=int(max(x.size, y.size)),
        points={names[0]: x.tolist(), names[1]: y.tolist()},
        seeds_needed=_seeds_needed(effect - margin, sd, alpha, groups=groups),
    )


def exceeds(
    values: Sequence[float],
    threshold: float,
    *,
    alpha: float = 0.05,
    hypothesis: str = "",
    name: str = "value",
) -> ClaimTest:
    """Is the mean of ``values`` above ``threshold``? A one-sample t-test (for "below", negate
    the values and the threshold)."""
    v, mean, sd = _sample(name, values)
    if v.size < 2:
        p, q, interval = _UNTESTED
    else:
        p, q, interval = _t_test(mean, sd / math.sqrt(v.size), v.size - 1, threshold, alpha)
    return ClaimTest(
        hypothesis=hypothesis or f"mean({name}) > {threshold:g}",
        method="one-sample t-test",
        estimate=mean,
        interval=interval,
        margin=threshold,
        p_value=p,
        p_against=q,
        alpha=alpha,
        seeds=int(v.size),
        points={name: v.tolist()},
        seeds_needed=_seeds_needed(mean - threshold, sd, alpha, groups=1),
    )


def within(
    values: Sequence[float],
    center: float,
    tolerance: float,
    *,
    alpha: float = 0.05,
    hypothesis: str = "",
    name: str = "value",
) -> ClaimTest:
    """Is the mean of ``values`` within ``tolerance`` of ``center``? Two one-sided t-tests
    (TOST): p is the larger of the two sides' p-values; the claim is ruled out when the mean is
    significantly outside on either side (Bonferroni over the two sides)."""
    if tolerance <= 0:
        raise ValueError(f"tolerance must be > 0, got {tolerance!r}")
    v, mean, sd = _sample(name, values)
    if v.size < 2:
        p, q, interval = _UNTESTED
    else:
        se = sd / math.sqrt(v.size)
        above_low, below_low, interval = _t_test(mean, se, v.size - 1, center - tolerance, alpha)
        above_high, below_high, _ = _t_test(mean, se, v.size - 1, center + tolerance, alpha)
        p, q = max(above_low, below_high), min(1.0, 2.0 * min(below_low, above_high))
    return ClaimTest(
        hypothesis=hypothesis or f"|mean({name}) − {center:g}| < {tolerance:g}",
        method="two one-sided t-tests",
        estimate=mean,
        interval=interval,
        margin=tolerance,
        p_value=p,
        p_against=q,
        alpha=alpha,
        seeds=int(v.size),
        points={name: v.tolist()},
        seeds_needed=_seeds_needed(tolerance - abs(mean - center), sd, alpha, groups=1),
    )


def trend(
    x: Sequence[float],
    y: Sequence[float],
    *,
    margin: float = 0.0,
    alpha: float = 0.05,
    hypothesis: str = "",
    name: str = "y",
) -> ClaimTest:
    """Is the least-squares slope of y on x above ``margin``? Its t-test (df = n − 2); every
    (x, y) pair is one point (repeat x for the seeds of a setting)."""
    xs, ys = _values("x", x), _values(name, y)
    if xs.shape != ys.shape or xs.size < 3 or np.ptp(xs) == 0:
        raise ValueError("a trend needs at least 3 points and 2 distinct x")
    fit = stats.linregress(xs, ys)
    # constant y: scipy leaves the error NaN, but the fit is exact (slope 0, no residual)
    se = 0.0 if np.ptp(ys) == 0 else float(fit.stderr)
    p, q, interval = _t_test(float(fit.slope), se, xs.size - 2, margin, alpha)
    return ClaimTest(
        hypothesis=hypothesis or f"slope of {name} > {margin:g}",
        method="slope t-test",
        estimate=float(fit.slope),
        interval=interval,
        margin=margin,
        p_value=p,
        p_against=q,
        alpha=alpha,
        seeds=int(xs.size),
        points={"x": xs.tolist(), name: ys.tolist()},
        seeds_needed=None,
    )


def permutation(
    a: Sequence[float],
    b: Sequence[float],
    *,
    margin: float = 0.0,
    alpha: float = 0.05,
    resamples: int = 9_999,
    seed: int = 0,
    hypothesis: str = "",
    names: tuple[str, str] = ("a", "b"),
) -> ClaimTest:
    """Is mean(a) − mean(b) > margin? A permutation test (exact for small samples), with a
    percentile bootstrap interval of the difference."""
    x, y = _values(names[0], a) - margin, _values(names[1], b)

    def statistic(u: np.ndarray, v: np.ndarray, axis: int = -1) -> np.ndarray:
        return np.mean(u, axis=axis) - np.mean(v, axis=axis)

    rng = np.random.default_rng(seed)
    kw = {"n_resamples": resamples, "vectorized": True, "rng": rng}
    p = float(stats.permutation_test((x, y), statistic, alternative="greater", **kw).pvalue)
    q = float(stats.permutation_test((x, y), statistic, alternative="less", **kw).pvalue)
    interval = bootstrap_interval(x + margin, y, alpha=alpha, seed=seed)
    return ClaimTest(
        hypothesis=hypothesis or f"mean({names[0]}) − mean({names[1]}) > {margin:g}",
        method="permutation test",
        estimate=float(x.mean() + margin - y.mean()),
        interval=interval,
        margin=margin,
        p_value=p,
        p_against=q,
        alpha=alpha,
        seeds=int(max(x.size, y.size)),
        points={names[0]: (x + margin).tolist(), names[1]: y.tolist()},
        seeds_needed=None,
    )


def bootstrapped(
    replicates: Sequence[float],
    estimate: float,
    margin: float = 0.0,
    *,
    units: int,
    alpha: float = 0.05,
    hypothesis: str = "",
    name: str = "statistic",
) -> ClaimTest:
    """Is a statistic above ``margin``? Decided from its bootstrap replicates (a percentile
    bootstrap test): p = (1 + #{θ* ≤ margin}) / (B + 1) and p′ = (1 + #{θ* ≥ margin}) / (B + 1)
    over the B finite replicates θ*, with the percentile (1 − α) interval.

    For statistics of a whole sample that no per-seed value carries (a rank correlation over
    models, say), resampled by the caller over ``units`` independent units (seeds, clusters of
    models); ``units`` is reported as the test's seeds. Replicates that are not finite (the
    statistic undefined on that resample) are left out. For "below", negate the replicates,
    the estimate and the margin.

    >>> t = bootstrapped([0.2, 0.3, 0.4, 0.5], 0.35, 0.1, units=5)
    >>> t.decision, t.p_value, t.p_against
    ('inconclusive', 0.2, 1.0)
    """
    r = np.asarray(replicates, dtype=np.float64).reshape(-1)
    r = r[np.isfinite(r)]
    if r.size == 0 or not math.isfinite(estimate):
        p, q, interval = _UNTESTED
    else:
        p = float((1 + np.count_nonzero(r <= margin)) / (r.size + 1))
        q = float((1 + np.count_nonzero(r >= margin)) / (r.size + 1))
        low, high = np.percentile(r, [100 * alpha / 2, 100 * (1 - alpha / 2)])
        interval = (float(low), float(high))
    return ClaimTest(
        hypothesis=hypothesis or f"{name} > {margin:g}",
        method="bootstrap test",
        estimate=float(estimate),
        interval=interval,
        margin=margin,
        p_value=p,
        p_against=q,
        alpha=alpha,
        seeds=int(units),
        points={},
        seeds_needed=None,
    )


def bootstrap_interval(
    a: Sequence[float], b: Sequence[float] | None = None, *, alpha: float = 0.05, seed: int = 0
) -> tuple[float, float]:
    """Percentile bootstrap (1 − α) interval of mean(a) − mean(b) (of mean(a) without b)."""
    samples = (_values("a", a),) if b is None else (_values("a", a), _values("b", b))

    def statistic(*arrays: np.ndarray, axis: int = -1) -> np.ndarray:
        out = np.mean(arrays[0], axis=axis)
        return out - np.mean(arrays[1], axis=axis) if len(arrays) > 1 else out

    result = stats.bootstrap(
        samples,
        statistic,
        confidence_level=1 - alpha,
        method="percentile",
        n_resamples=4_999,
        vectorized=True,
        rng=np.random.default_rng(seed),
    )
    return float(result.confidence_interval.low), float(result.confidence_interval.high)


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down adjusted p-values (Holm 1979): sorted ascending, the i-th (from 0) is
    multiplied by m − i, made monotone and capped at 1.

    >>> holm([0.01, 0.04, 0.03])
    [0.03, 0.06, 0.06]
    """
    p = np.asarray(p_values, dtype=np.float64)
    m = p.size
    order = np.argsort(p, kind="stable")
    adjusted = np.minimum(1.0, np.maximum.accumulate((m - np.arange(m)) * p[order]))
    out = np.empty(m)
    out[order] = adjusted
    return [round(float(v), 15) for v in out]


def holm_decisions(tests: Sequence[ClaimTest]) -> list[ClaimTest]:
    """The tests with Holm-corrected p-values (each direction corrected over all the tests)."""
    if not tests:
        return []
    p, q = holm([t.p_value for t in tests]), holm([t.p_against for t in tests])
    return [
        dataclasses.replace(t, p_adjusted=pa, p_against_adjusted=qa)
        for t, pa, qa in zip(tests, p, q, strict=True)
    ]
