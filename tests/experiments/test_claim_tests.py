"""The tests that decide claims, against scipy.stats, exact enumeration and simulation."""

import itertools
import math

import numpy as np
import pytest
from scipy import stats

from occamlab.experiments.stats import (
    bootstrap_interval,
    bootstrapped,
    compare,
    exceeds,
    grouped_mean_std,
    holm,
    holm_decisions,
    permutation,
    trend,
    within,
)

A = [0.61, 0.58, 0.66, 0.63, 0.59]
B = [0.52, 0.57, 0.49, 0.55, 0.51, 0.50]


def test_welch_matches_the_formula_and_scipy():
    t = compare(A, B, margin=0.03)
    x, y = np.array(A), np.array(B)
    vx, vy = x.var(ddof=1) / x.size, y.var(ddof=1) / y.size
    t_stat = (x.mean() - y.mean() - 0.03) / math.sqrt(vx + vy)
    df = (vx + vy) ** 2 / (vx**2 / (x.size - 1) + vy**2 / (y.size - 1))
    assert t.p_value == pytest.approx(stats.t.sf(t_stat, df), rel=1e-10)
    ref = stats.ttest_ind(x - 0.03, y, equal_var=False, alternative="greater")
    assert t.p_value == pytest.approx(ref.pvalue, rel=1e-10)
    assert t.p_against == pytest.approx(1 - ref.pvalue, rel=1e-10)
    ci = stats.ttest_ind(x, y, equal_var=False).confidence_interval(0.95)
    assert t.interval == pytest.approx((ci.low, ci.high), rel=1e-10)
    assert t.estimate == pytest.approx(x.mean() - y.mean())
    assert t.method == "Welch t-test" and t.seeds == 6 and t.points["a"] == A


def test_paired_one_sample_and_slope_match_scipy():
    a, b = np.array(A), np.array(B[:5])
    paired = compare(a, b, paired=True, margin=0.02)
    ref = stats.ttest_rel(a - 0.02, b, alternative="greater")
    assert paired.p_value == pytest.approx(ref.pvalue, rel=1e-10)
    ci = stats.ttest_rel(a, b).confidence_interval(0.95)
    assert paired.interval == pytest.approx((ci.low, ci.high), rel=1e-10)

    one = exceeds(A, 0.55)
    ref = stats.ttest_1samp(A, 0.55, alternative="greater")
    assert one.p_value == pytest.approx(ref.pvalue, rel=1e-10)
    ci = stats.ttest_1samp(A, 0.55).confidence_interval(0.95)
    assert one.interval == pytest.approx((ci.low, ci.high), rel=1e-10)

    x = [1, 1, 2, 2, 3, 3, 4, 4]
    y = [0.1, 0.3, 0.35, 0.5, 0.7, 0.6, 0.9, 1.05]
    slope = trend(x, y)
    ref = stats.linregress(x, y)
    assert slope.estimate == pytest.approx(ref.slope)
    assert slope.p_value == pytest.approx(ref.pvalue / 2, rel=1e-8)  # positive slope
    assert slope.decision == "passed"
    with pytest.raises(ValueError, match="3 points"):
        trend([1, 1, 1], [1, 2, 3])
    # constant y (identical accuracies): an exact zero slope, decided against a nonzero margin
    flat = [0.5, 0.5, 0.5, 0.5]
    assert trend([1, 2, 3, 4], flat, margin=-0.1).decision == "passed"
    assert trend([1, 2, 3, 4], flat, margin=0.1).decision == "failed"
    level = trend([1, 2, 3, 4], flat)
    assert level.decision == "inconclusive" and level.interval == (0.0, 0.0)


def test_permutation_test_is_exact_for_small_samples():
    a, b = [3.1, 2.9, 3.4, 3.0], [2.8, 2.7, 3.0, 2.6, 2.9]
    t = permutation(a, b, margin=0.1)
    pooled = np.array([v - 0.1 for v in a] + b)
    observed = np.mean(a) - 0.1 - np.mean(b)
    count = total = 0
    for idx in itertools.combinations(range(9), 4):
        mask = np.zeros(9, bool)
        mask[list(idx)] = True
        stat = pooled[mask].mean() - pooled[~mask].mean()
        count += stat >= observed - 1e-12
        total += 1
    assert t.p_value == pytest.approx(count / total, rel=1e-9)
    assert t.interval[0] < t.estimate < t.interval[1]


def test_bootstrap_interval_covers_the_mean_at_its_nominal_rate():
    rng = np.random.default_rng(0)
    reps = 300
    covered = sum(
        lo <= 0.0 <= hi
        for lo, hi in (bootstrap_interval(rng.normal(size=30), seed=i) for i in range(reps))
    )
    assert 0.90 <= covered / reps <= 0.98  # nominal 0.95; the percentile method runs a bit low
    low, high = bootstrap_interval([1.0, 2.0, 3.0, 4.0], [0.0, 1.0, 0.5, 0.2])
    assert low < 2.075 < high  # the difference of the means


def test_holm_matches_its_definition():
    assert holm([0.01, 0.04, 0.03, 0.005]) == [0.03, 0.06, 0.06, 0.02]
    assert holm([0.5]) == [0.5] and holm([0.6, 0.7]) == [1.0, 1.0]
    tests = holm_decisions([compare(A, B), exceeds(A, 0.7), compare(B, A)])
    assert [t.decision for t in tests] == ["passed", "failed", "failed"]
    assert tests[0].p_adjusted == pytest.approx(3 * tests[0].p_value)


def test_decisions_with_too_few_seeds_or_no_spread():
    single = compare([0.9], [0.1])
    assert single.decision == "inconclusive" and single.seeds_needed is None
    assert single.interval == (-math.inf, math.inf)
    exact = compare([0.9, 0.9], [0.1, 0.1], margin=0.5)  # deterministic: nothing varies
    assert exact.decision == "passed" and exact.interval == (pytest.approx(0.8),) * 2
    assert compare([0.2, 0.2], [0.1, 0.1], margin=0.5).decision == "failed"
    close = compare([0.50, 0.53, 0.47], [0.49, 0.51, 0.48])
    assert close.decision == "inconclusive" and close.seeds_needed > 3
    with pytest.raises(ValueError, match="finite"):
        compare([0.1, float("nan")], [0.2])
    with pytest.raises(ValueError, match="paired"):
        compare([0.1, 0.2], [0.2], paired=True)


def test_a_null_effect_passes_at_most_alpha_of_the_time():
    """Two conditions identical up to seed: over 2,000 simulated experiments of 3 claims each,
    a claim passes at most α = 5% of the time, and with Holm's correction some claim of an
    experiment passes at most 5% of the time (family-wise)."""
    rng = np.random.default_rng(1)
    reps, passed, any_passed = 2000, 0, 0
    for _ in range(reps):
        tests = [
            compare(rng.normal(0.3, 0.02, 5), rng.normal(0.3, 0.02, 5)),
            compare(rng.normal(0.3, 0.02, 4), rng.normal(0.3, 0.02, 4), paired=True),
            exceeds(rng.normal(1.0, 0.1, 5), 1.0),
        ]
        passed += sum(t.decision == "passed" for t in tests)
        any_passed += any(t.decision == "passed" for t in holm_decisions(tests))
    n = 3 * reps
    assert passed / n <= 0.05 + 3 * math.sqrt(0.05 * 0.95 / n)
    assert any_passed / reps <= 0.05 + 3 * math.sqrt(0.05 * 0.95 / reps)


def test_seeds_needed_gives_the_promised_power():
    rng = np.random.default_rng(2)
    pilot = compare([0.30, 0.36, 0.33], [0.29, 0.31, 0.30])  # effect ≈ 0.03, spread ≈ 0.02
    n = pilot.seeds_needed
    assert n is not None and n > 3
    sd = math.sqrt((np.var([0.30, 0.36, 0.33], ddof=1) + np.var([0.29, 0.31, 0.30], ddof=1)) / 2)
    wins = sum(
        compare(rng.normal(pilot.estimate, sd, n), rng.normal(0.0, sd, n)).decision == "passed"
        for _ in range(1000)
    )
    assert 0.75 <= wins / 1000 <= 0.86  # power 0.8 at the observed effect and spread


def test_within_is_two_one_sided_t_tests():
    values = [0.89, 0.91, 0.90, 0.895]
    t = within(values, 0.9, 0.05)
    low = stats.ttest_1samp(values, 0.85, alternative="greater").pvalue
    high = stats.ttest_1samp(values, 0.95, alternative="less").pvalue
    assert t.p_value == pytest.approx(max(low, high), rel=1e-10)
    assert t.decision == "passed" and t.method == "two one-sided t-tests"
    assert within([0.70, 0.71, 0.69], 0.9, 0.05).decision == "failed"  # far below
    assert within([0.86, 0.95, 0.90], 0.9, 0.05).decision == "inconclusive"
    with pytest.raises(ValueError, match="tolerance"):
        within(values, 0.9, 0.0)


def test_values_equal_up_to_rounding_decide_without_hanging():
    tiny = [0.3, 0.3 + 1e-17, 0.3 - 1e-17, 0.30000000000000004]
    assert compare(tiny, [0.1, 0.1 + 1e-17, 0.1, 0.1]).seeds_needed is None
    assert exceeds([1.0 + 1e-15, 1.0, 1.0 - 1e-15], 0.5).decision == "passed"


def test_bootstrap_test_counts_the_replicates_on_each_side_of_the_margin():
    replicates = [0.05, 0.2, float("nan"), 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]
    t = bootstrapped(replicates, 0.45, 0.25, units=6, name="Ψ")
    # 9 finite replicates; 2 at or below 0.25, 7 at or above it
    assert t.p_value == pytest.approx(3 / 10) and t.p_against == pytest.approx(8 / 10)
    finite = [v for v in replicates if math.isfinite(v)]
    assert t.interval == pytest.approx(tuple(np.percentile(finite, [2.5, 97.5])))
    assert t.seeds == 6 and t.method == "bootstrap test" and t.decision == "inconclusive"
    assert bootstrapped(np.linspace(0.3, 0.9, 99), 0.6, 0.25, units=4).decision == "passed"
    assert bootstrapped(np.linspace(-0.9, 0.2, 99), -0.3, 0.25, units=4).decision == "failed"
    undefined = bootstrapped([float("nan")] * 5, float("nan"), units=4)
    assert undefined.decision == "inconclusive"


def test_a_bootstrap_test_of_a_null_effect_passes_at_most_alpha_of_the_time():
    """The mean of 30 draws centred on the margin, bootstrapped 400 times per experiment: over
    1,000 experiments the test passes at most α = 5% of the time (up to the percentile
    method's small-sample excess and three binomial standard errors)."""
    rng = np.random.default_rng(2)
    reps, n, b = 1000, 30, 400
    data = rng.normal(0.0, 1.0, (reps, n))
    index = rng.integers(0, n, (reps, b, n))
    means = np.take_along_axis(data[:, None, :].repeat(b, axis=1), index, axis=2).mean(axis=2)
    passed = sum(
        bootstrapped(means[i], float(data[i].mean()), 0.0, units=n).decision == "passed"
        for i in range(reps)
    )
    assert passed / reps <= 0.06 + 3 * math.sqrt(0.05 * 0.95 / reps)
    shifted = sum(
        bootstrapped(means[i] + 0.8, float(data[i].mean()) + 0.8, 0.0, units=n).decision == "passed"
        for i in range(reps)
    )
    assert shifted / reps > 0.95  # a clear effect (0.8 sd, n = 30) is found


def test_grouped_mean_std_groups_in_order_of_appearance_counts_and_skips_absent_keys():
    rows = [
        {"net": "b", "depth": 2, "x": 1.0},
        {"net": "a", "depth": 1, "x": 4.0, "y": 7.0},
        {"net": "b", "depth": 2, "x": 3.0},
    ]
    b, a = grouped_mean_std(rows, ("net", "depth"), ("x", "y"), count="seeds")
    assert b == {"net": "b", "depth": 2, "seeds": 2, "x": 2.0, "x_std": math.sqrt(2.0)}
    assert a == {"net": "a", "depth": 1, "seeds": 1, "x": 4.0, "x_std": 0.0, "y": 7.0, "y_std": 0.0}
