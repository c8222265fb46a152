"""Test-set bound: binomial-tail inversion against an exact rational binomial CDF and scipy."""

import math
from fractions import Fraction

import pytest
import torch
from scipy.special import betaincinv
from scipy.stats import binom

from occamlab.probes.bounds.testset import (
    TestSetBound,
    binomial_tail_inverse,
    log_binomial_cdf,
    testset_bound,
)
from occamlab.subject import Subject
from tests.conftest import toy_data, toy_model


def exact_cdf(k: int, m: int, p: Fraction) -> Fraction:
    """P[Binomial(m, p) ≤ k] in exact rational arithmetic."""
    return sum(Fraction(math.comb(m, j)) * p**j * (1 - p) ** (m - j) for j in range(k + 1))


def test_reference_value_of_langford():
    # 100 errors of 10,000 at δ = 0.05 → 1.18% (Langford 2005's worked example).
    bound = binomial_tail_inverse(100, 10_000, delta=0.05)
    assert round(100 * bound, 2) == 1.18
    # scipy's incomplete-beta inverse is an independent route to the same number
    assert bound == pytest.approx(float(betaincinv(101, 9_900, 0.95)), rel=1e-9)


@pytest.mark.parametrize(("k", "m", "delta"), [(0, 30, 0.05), (3, 40, 0.1), (17, 60, 0.01)])
def test_inversion_is_exact_in_rational_arithmetic(k, m, delta):
    p = binomial_tail_inverse(k, m, delta=delta)
    # at the bound the exact tail has reached δ, and just below it still exceeds δ
    assert exact_cdf(k, m, Fraction(p)) <= Fraction(delta) * (1 + Fraction(1, 10**9))
    assert exact_cdf(k, m, Fraction(p - 1e-9)) > Fraction(delta)


def test_log_cdf_agrees_with_scipy_and_survives_tiny_deltas():
    for k, m, p in [(0, 10, 0.2), (5, 100, 0.07), (300, 10_000, 0.031)]:
        assert log_binomial_cdf(k, m, p) == pytest.approx(math.log(binom.cdf(k, m, p)), rel=1e-10)
    # δ·2^(−5000) underflows as a float; the log form still inverts it
    bound = binomial_tail_inverse(10, 50_000, log_delta=math.log(0.05) - 5000 * math.log(2))
    assert 0.05 < bound < 0.1
    assert log_binomial_cdf(10, 50_000, bound) == pytest.approx(
        math.log(0.05) - 5000 * math.log(2), abs=1e-6
    )


def test_edges_and_errors():
    assert binomial_tail_inverse(20, 20, delta=0.05) == 1.0
    assert binomial_tail_inverse(0, 1000, delta=0.05) == pytest.approx(1 - 0.05 ** (1 / 1000))
    with pytest.raises(ValueError, match="exactly one"):
        binomial_tail_inverse(1, 10)
    with pytest.raises(ValueError, match="0 <= k <= m"):
        binomial_tail_inverse(11, 10, delta=0.1)


def test_the_bound_holds_in_simulation():
    # A classifier with known error e: the bound on m test examples fails in at most δ of draws.
    g = torch.Generator().manual_seed(0)
    e, m, delta, reps = 0.1, 200, 0.1, 2000
    errors = (torch.rand(reps, m, generator=g) < e).sum(dim=1)
    bounds = {int(k): binomial_tail_inverse(int(k), m, delta=delta) for k in errors.unique()}
    failures = sum(bounds[int(k)] < e for k in errors)
    assert failures / reps <= delta
    # and it is not trivially loose: it fails in a visible fraction of draws
    assert failures / reps > delta / 4


def test_testset_bound_of_a_subject():
    data = toy_data(n_train=20, n_test=200)
    subject = Subject(model=toy_model(), data=data)
    result = testset_bound(subject, delta=0.05)
    assert isinstance(result, TestSetBound) and result.n == 200
    wrong = int((subject.model(data.test.x).argmax(1) != data.test.y).sum())
    assert result.errors == wrong and result.test_error == wrong / 200
    assert result.bound == binomial_tail_inverse(wrong, 200, delta=0.05) >= result.test_error
    assert result.to_dict()["eval_mode"] is True
