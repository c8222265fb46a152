import numpy as np
import pytest
import torch
from scipy import stats

from occamlab.probes.spectra.powerlaw import fit_power_law, fit_sorted
from occamlab.probes.spectra.tail_tests import bootstrap_alpha, compare_tails, goodness_of_fit


def pareto(n, alpha, *, seed, xmin=1.0):
    u = np.random.default_rng(seed).random(n)
    return xmin * (1 - u) ** (-1 / (alpha - 1))


def brute_force_fit(x, min_tail):
    """Per-candidate loop in float64: the oracle for the vectorized search."""
    x = np.sort(x)
    best = (np.inf, None, None)
    for i in range(len(x) - min_tail + 1):
        tail = x[i:]
        alpha = 1 + len(tail) / np.sum(np.log(tail / x[i]))
        d = stats.kstest(tail, lambda t, a=alpha, m=x[i]: 1 - (t / m) ** (1 - a)).statistic
        if d < best[0]:
            best = (d, alpha, x[i])
    return best


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_vectorized_search_matches_a_per_candidate_loop(seed):
    rng = np.random.default_rng(seed)
    x = np.concatenate([rng.random(150) * 2, pareto(80, 3.0, seed=seed, xmin=2.0)])
    d, alpha, xmin = brute_force_fit(x, min_tail=10)
    fit = fit_power_law(x, min_tail=10)
    assert fit.xmin == xmin
    assert fit.alpha == pytest.approx(alpha, rel=1e-12)
    assert fit.ks_distance == pytest.approx(d, abs=1e-6)
    assert fit.candidates == len(x) - 10 + 1


@pytest.mark.parametrize("alpha", [2.0, 3.5, 5.0, 7.0])
def test_known_exponents_are_recovered_within_0_1_including_above_3(alpha):
    x = pareto(20000, alpha, seed=int(alpha * 10))
    fit = fit_power_law(x, max_candidates=200)
    assert fit.alpha == pytest.approx(alpha, abs=0.1)
    assert fit.candidates == 200


def test_wald_interval_covers_the_true_exponent_at_its_level():
    alpha, n, reps = 2.5, 400, 400
    covered = 0
    for seed in range(reps):
        fit = fit_power_law(pareto(n, alpha, seed=seed), xmin=1.0)
        lo, hi = fit.interval(0.95)
        covered += lo <= alpha <= hi
    # Binomial(400, 0.95) lies in [366, 394] with probability > 0.999.
    assert 366 <= covered <= 394


def test_fixed_xmin_is_the_closed_form_mle():
    x = pareto(1000, 3.0, seed=4)
    fit = fit_power_law(x, xmin=1.5)
    tail = x[x >= 1.5]
    assert fit.num_tail == tail.size
    assert fit.alpha == pytest.approx(1 + tail.size / np.sum(np.log(tail / 1.5)), rel=1e-12)
    assert fit.sigma == pytest.approx((fit.alpha - 1) / np.sqrt(tail.size))
    expected = stats.kstest(tail, lambda t: 1 - (t / 1.5) ** (1 - fit.alpha)).statistic
    assert fit.ks_distance == pytest.approx(expected, abs=1e-12)


def test_batched_rows_equal_single_fits():
    rows = np.sort(np.stack([pareto(300, 2.5, seed=s) for s in range(4)]), axis=1)
    alphas, idx, dists, _ = fit_sorted(rows, min_tail=10)
    for row, a, i, d in zip(rows, alphas, idx, dists, strict=True):
        fit = fit_power_law(row, min_tail=10)
        assert fit.alpha == pytest.approx(a, rel=1e-12) and fit.xmin == row[i]
        assert fit.ks_distance == pytest.approx(d)


def test_bootstrap_interval_brackets_the_exponent():
    x = pareto(400, 3.0, seed=7)
    lo, hi = bootstrap_alpha(x, num_samples=100, generator=torch.Generator().manual_seed(0))
    assert lo < 3.0 < hi and hi - lo < 1.5


def test_goodness_of_fit_accepts_a_power_law_and_rejects_an_exponential():
    g = torch.Generator().manual_seed(0)
    x = pareto(400, 2.5, seed=8)
    assert goodness_of_fit(x, fit_power_law(x), num_samples=50, generator=g) > 0.1
    y = 1 + np.random.default_rng(9).exponential(size=400)
    assert goodness_of_fit(y, fit_power_law(y), num_samples=50, generator=g) < 0.1


def test_likelihood_ratio_prefers_the_true_tail():
    x = pareto(2000, 2.5, seed=10)
    favours = {c.alternative: c.favours for c in compare_tails(x, fit_power_law(x, xmin=1.0))}
    # A log-normal with a very wide spread mimics a power law: "neither" is the honest answer.
    assert favours["exponential"] == "power_law" and favours["lognormal"] != "lognormal"
    y = 1 + np.random.default_rng(11).exponential(size=2000)
    exp = {c.alternative: c for c in compare_tails(y, fit_power_law(y, xmin=1.0))}
    assert exp["exponential"].favours == "exponential"


@pytest.mark.parametrize(
    ("values", "message"),
    [([], "no values"), ([1.0, 0.0, 2.0], "positive"), ([1.0, np.nan], "positive")],
)
def test_bad_values_are_refused(values, message):
    with pytest.raises(ValueError, match=message):
        fit_power_law(np.array(values))


def test_equal_values_have_no_exponent():
    with pytest.raises(ValueError, match="no exponent"):
        fit_power_law(np.ones(30))
    with pytest.raises(ValueError, match="min_tail"):
        fit_power_law(np.arange(1.0, 5.0), min_tail=10)
