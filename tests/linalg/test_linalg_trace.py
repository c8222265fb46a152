import json

import numpy as np
import pytest
import torch

from occamlab.linalg.operator import DenseOperator
from occamlab.linalg.trace import (
    TraceResult,
    frobenius_norm_squared,
    hutchinson,
    hutchpp,
    xtrace,
)

F64 = torch.float64


def rotated(eigenvalues, seed: int = 0) -> torch.Tensor:
    lam = np.asarray(eigenvalues, dtype=np.float64)
    q, _ = np.linalg.qr(np.random.default_rng(seed).standard_normal((len(lam), len(lam))))
    a = (q * lam) @ q.T
    return torch.from_numpy((a + a.T) / 2)


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


# Decaying spectrum λ_i = 1/i: Hutchinson's error ~ m^(-1/2), Hutch++'s ~ m^(-1).
N = 300
LAM = 1.0 / np.arange(1, N + 1)
A = rotated(LAM, seed=1)
TRACE = float(LAM.sum())
# An indefinite matrix with a flat spectrum (no low-rank structure to exploit).
B = rotated(np.random.default_rng(2).uniform(-1.0, 2.0, 120), seed=3)
TRACE_B = float(torch.trace(B))


def estimates(fn, a, m, seeds, **kw) -> np.ndarray:
    op = DenseOperator(a)
    return np.array([fn(op, num_matvecs=m, generator=gen(s), **kw).estimate for s in seeds])


@pytest.mark.parametrize(
    "fn, kw",
    [
        (hutchinson, {"distribution": "rademacher"}),
        (hutchinson, {"distribution": "gaussian"}),
        (hutchpp, {}),
        (hutchpp, {"distribution": "gaussian"}),
        (xtrace, {}),
    ],
)
def test_unbiased(fn, kw):
    for a, tr in ((A, TRACE), (B, TRACE_B)):
        est = estimates(fn, a, 30, range(300), **kw)
        se_of_mean = est.std(ddof=1) / np.sqrt(len(est))
        assert abs(est.mean() - tr) <= 4 * se_of_mean + 1e-12, (est.mean(), tr, se_of_mean)


def fitted_slope(fn, ms, seeds=range(200)) -> float:
    rmse = [np.sqrt(np.mean((estimates(fn, A, m, seeds) - TRACE) ** 2)) for m in ms]
    return float(np.polyfit(np.log(ms), np.log(rmse), 1)[0])


def test_error_rates():
    ms = [12, 24, 48, 96, 192]
    slope_h = fitted_slope(hutchinson, ms)
    slope_pp = fitted_slope(hutchpp, ms)
    slope_x = fitted_slope(xtrace, ms)
    assert -0.65 <= slope_h <= -0.35, slope_h  # ~ m^(-1/2)
    assert -1.3 <= slope_pp <= -0.8, slope_pp  # ~ m^(-1)
    assert -1.3 <= slope_x <= -0.8, slope_x


def coverage(fn, a, tr, m, seeds=range(200)) -> float:
    op = DenseOperator(a)
    hits = 0
    for s in seeds:
        r = fn(op, num_matvecs=m, generator=gen(s))
        assert r.ci_low <= r.estimate <= r.ci_high
        hits += r.ci_low <= tr <= r.ci_high
    return hits / len(seeds)


def test_confidence_interval_coverage():
    assert coverage(hutchinson, A, TRACE, 50) >= 0.85
    assert coverage(hutchinson, B, TRACE_B, 50) >= 0.85
    assert coverage(hutchpp, A, TRACE, 60) >= 0.85
    assert coverage(hutchpp, B, TRACE_B, 60) >= 0.85


def test_standard_error_matches_spread():
    op = DenseOperator(B)
    results = [hutchinson(op, num_matvecs=40, generator=gen(s)) for s in range(200)]
    spread = np.std([r.estimate for r in results], ddof=1)
    mean_se = np.mean([r.standard_error for r in results])
    assert 0.8 <= mean_se / spread <= 1.2
    # Rademacher variance is 2(‖B‖_F² − Σ B_ii²)
    var = 2 * (float((B * B).sum()) - float((B.diagonal() ** 2).sum()))
    assert spread == pytest.approx(np.sqrt(var / 40), rel=0.15)


def test_adaptive_reaches_rtol():
    op = DenseOperator(B)
    before = op.num_matvecs
    r = hutchinson(op, rtol=0.01, max_matvecs=20_000, generator=gen(0), batch_size=32)
    assert r.converged is True and r.rtol == 0.01
    assert r.standard_error <= 0.01 * abs(r.estimate)
    assert r.num_matvecs == r.num_samples == op.num_matvecs - before
    assert r.num_matvecs < 20_000
    assert abs(r.estimate - TRACE_B) <= 4 * r.standard_error
    # a budget too small to reach the tolerance: stops there, converged=False
    r = hutchinson(op, rtol=1e-4, max_matvecs=50, generator=gen(1))
    assert r.converged is False and r.num_matvecs == 50
    assert r.standard_error > 1e-4 * abs(r.estimate)
    # a diagonal matrix with Rademacher probes is exact: stops at min_samples
    d = DenseOperator(torch.diag(torch.arange(1.0, 11.0, dtype=F64)))
    r = hutchinson(d, rtol=1e-6, min_samples=5, generator=gen(2))
    assert r.converged and r.num_matvecs == 5 and r.estimate == pytest.approx(55.0)
    assert r.standard_error == pytest.approx(0.0, abs=1e-12)


def test_frobenius_norm_squared():
    want = float((B * B).sum())
    op = DenseOperator(B)
    est = np.array(
        [frobenius_norm_squared(op, num_matvecs=20, generator=gen(s)).estimate for s in range(300)]
    )
    assert abs(est.mean() - want) <= 4 * est.std(ddof=1) / np.sqrt(len(est))
    r = frobenius_norm_squared(op, rtol=0.02, max_matvecs=5000, generator=gen(0))
    assert r.converged and r.method == "frobenius"
    assert r.estimate == pytest.approx(want, rel=0.1)


def test_low_rank_is_exact_for_sketching_methods():
    q, _ = np.linalg.qr(np.random.default_rng(4).standard_normal((200, 5)))
    low = torch.from_numpy((q * np.array([5.0, 4.0, -3.0, 2.0, 1.0])) @ q.T)
    op = DenseOperator(low)
    r = hutchpp(op, num_matvecs=30, generator=gen(0))
    assert r.estimate == pytest.approx(9.0, abs=1e-10)
    assert r.standard_error <= 1e-10 and r.deterministic_part == pytest.approx(9.0, abs=1e-10)
    r = xtrace(op, num_matvecs=30, generator=gen(0))
    assert r.estimate == pytest.approx(9.0, abs=1e-10) and r.standard_error == 0.0
    # a sketch as large as the space: exact trace with n matvecs
    small = DenseOperator(B[:10, :10].clone())
    for fn in (hutchpp, xtrace):
        r = fn(small, num_matvecs=40)
        assert r.method == "exact" and r.num_matvecs == 10
        assert r.estimate == pytest.approx(float(torch.trace(B[:10, :10])), abs=1e-12)


def test_xtrace_beats_hutchpp_on_decaying_spectrum():
    err_pp = np.sqrt(np.mean((estimates(hutchpp, A, 60, range(100)) - TRACE) ** 2))
    err_x = np.sqrt(np.mean((estimates(xtrace, A, 60, range(100)) - TRACE) ** 2))
    err_h = np.sqrt(np.mean((estimates(hutchinson, A, 60, range(100)) - TRACE) ** 2))
    assert err_x < err_pp < err_h


def test_matvec_accounting_and_determinism():
    op = DenseOperator(A)
    for fn, m in ((hutchinson, 37), (hutchpp, 37), (xtrace, 37), (frobenius_norm_squared, 37)):
        before = op.num_matvecs
        r1 = fn(op, num_matvecs=m, generator=gen(5))
        assert r1.num_matvecs == op.num_matvecs - before <= m
        r2 = fn(op, num_matvecs=m, generator=gen(5))
        assert r1.estimate == r2.estimate and r1.standard_error == r2.standard_error
        r3 = fn(op, num_matvecs=m)  # generator=None is seeded with 0
        assert r3.estimate == fn(op, num_matvecs=m).estimate
    r = hutchpp(op, num_matvecs=37, generator=gen(5))
    assert r.num_samples == 37 - 2 * 12


def test_float32_operator():
    op = DenseOperator(B.float())
    r = hutchinson(op, num_matvecs=400, generator=gen(0))
    assert abs(r.estimate - TRACE_B) <= 4 * r.standard_error
    r = hutchpp(op, num_matvecs=300, generator=gen(0))
    assert abs(r.estimate - TRACE_B) <= 4 * r.standard_error + 1e-3


def test_result_to_dict_is_json():
    r = hutchinson(DenseOperator(A), num_matvecs=1)
    assert isinstance(r, TraceResult)
    assert np.isnan(r.standard_error)  # one sample: no variance estimate
    d = r.to_dict()
    assert d["standard_error"] is None and d["ci_low"] is None
    assert json.loads(json.dumps(d, allow_nan=False)) == d
    d = hutchpp(DenseOperator(A), num_matvecs=30).to_dict()
    assert json.loads(json.dumps(d, allow_nan=False)) == d
    assert d["method"] == "hutchpp" and d["num_matvecs"] == 30
    with pytest.raises(AttributeError):
        r.estimate = 0.0  # frozen


def test_invalid_arguments():
    op = DenseOperator(A)
    with pytest.raises(ValueError):
        hutchinson(op, distribution="uniform")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        hutchinson(op, num_matvecs=0)
    with pytest.raises(ValueError):
        hutchinson(op, rtol=-1.0)
    with pytest.raises(ValueError):
        hutchinson(op, max_matvecs=10)  # a budget only makes sense with rtol
    with pytest.raises(ValueError):
        hutchpp(op, num_matvecs=2)
    with pytest.raises(ValueError):
        xtrace(op, num_matvecs=3)
    with pytest.raises(ValueError):
        hutchinson(op, confidence=1.5)
