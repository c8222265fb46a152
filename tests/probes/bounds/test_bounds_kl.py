"""Binary kl and its inversion, checked against closed forms and a dense scan."""

import math

import numpy as np
import pytest

from occamlab.probes.bounds.kl import binary_kl, kl_inverse_lower, kl_inverse_upper


def test_binary_kl_matches_the_definition_and_edge_cases():
    q, p = 0.2, 0.35
    expected = q * math.log(q / p) + (1 - q) * math.log((1 - q) / (1 - p))
    assert binary_kl(q, p) == pytest.approx(expected, rel=1e-14)
    assert binary_kl(0.0, 0.3) == pytest.approx(-math.log(0.7), rel=1e-14)
    assert binary_kl(1.0, 0.3) == pytest.approx(-math.log(0.3), rel=1e-14)
    assert binary_kl(0.4, 0.4) == 0.0
    assert binary_kl(0.1, 0.0) == math.inf and binary_kl(0.1, 1.0) == math.inf
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        binary_kl(1.5, 0.5)


def test_zero_errors_invert_in_closed_form():
    # kl(0‖p) = −ln(1 − p), so kl⁻¹(0, c) = 1 − e^(−c).
    for c in (1e-6, 0.01, 0.3, 2.0):
        assert kl_inverse_upper(0.0, c) == pytest.approx(-math.expm1(-c), abs=2e-15)


@pytest.mark.parametrize("q", [0.0, 0.013, 0.25, 0.5, 0.9])
@pytest.mark.parametrize("c", [1e-4, 0.02, 0.5])
def test_upper_inverse_is_the_largest_p_within_c(q, c):
    p = kl_inverse_upper(q, c)
    assert p >= q
    # the bracket's upper end: kl just above c is allowed by at most the bisection width
    assert binary_kl(q, max(q, p - 1e-12)) <= c
    if p < 1.0:
        assert binary_kl(q, min(1.0, p + 1e-9)) > c
    # a dense scan finds nothing larger within c
    grid = np.linspace(q, 1.0, 20001)
    ok = [x for x in grid if binary_kl(q, float(x)) <= c]
    assert max(ok) <= p + 1e-12


def test_inverse_edges_and_pinsker():
    assert kl_inverse_upper(0.3, 0.0) == 0.3
    assert kl_inverse_upper(0.3, math.inf) == 1.0
    assert kl_inverse_upper(0.3, 50.0) == 1.0
    assert kl_inverse_upper(1.0, 0.1) == 1.0
    for q, c in [(0.1, 0.01), (0.4, 0.05)]:
        assert kl_inverse_upper(q, c) <= q + math.sqrt(c / 2) + 1e-15  # Pinsker
        low = kl_inverse_lower(q, c)
        assert low <= q and binary_kl(q, low) <= c + 1e-9
    with pytest.raises(ValueError, match="c must be"):
        kl_inverse_upper(0.1, -1.0)
