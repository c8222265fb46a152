import math

import numpy as np
import pytest

from occamlab.experiments import run_experiment
from occamlab.experiments.spectral_bias import SpectralBias, claims, summarize
from occamlab.probes.dynamics import spectral_bias as sb
from occamlab.store import Store


def _parts(scale=1.0, exponent_shift=0.0, density=3.0, seeds=4):
    spec = SpectralBias()
    ntk = spec.ntk()
    ks = np.asarray(ntk["frequencies"], dtype=float)
    base = np.asarray(ntk["half_times"])
    rows = [(base * scale * ks**exponent_shift * (1 + 0.01 * s)).tolist() for s in range(seeds)]
    uniform = {"steps": 100, "half_times": rows}
    dense = {
        "steps": 200,
        "frequency": 8,
        "dense_times": [100.0 * (1 + 0.02 * s) for s in range(seeds)],
        "sparse_times": [100.0 * density * (1 - 0.02 * s) for s in range(seeds)],
    }
    return ntk, uniform, dense


def test_claims_pass_on_the_kernel_prediction_and_fail_off_it():
    ok = claims(summarize(*_parts(), 3.0))
    assert [c.decision for c in ok] == ["passed"] * 5
    # twice as slow, exponent 1 above the kernel's; the sparse half twice as fast
    bad = claims(summarize(*_parts(scale=2.0, exponent_shift=1.0, density=0.5), 3.0))
    assert [c.decision for c in bad] == ["passed", "failed", "failed", "failed", "failed"]
    # frequencies learned in reverse order
    ntk, uniform, dense = _parts()
    uniform["half_times"] = [row[::-1] for row in uniform["half_times"]]
    assert claims(summarize(ntk, uniform, dense, 3.0))[0].decision == "failed"
    # a frequency never learned: the claims that need it fail without a test
    uniform["half_times"][0][-1] = math.nan
    never = claims(summarize(ntk, uniform, dense, 3.0))
    assert [c.test is None for c in never[:3]] == [True, True, True]
    assert not any(c.passed for c in never[:3])


def test_summary_numbers():
    ntk, uniform, dense = _parts(seeds=2)
    s = summarize(ntk, uniform, dense, 3.0)
    ks = np.log(ntk["frequencies"])
    expected = np.polyfit(ks, np.log(uniform["half_times"][1]), 1)[0]
    assert s["slopes"][1] == pytest.approx(expected)
    assert s["slopes"][0] == pytest.approx(ntk["slope"])
    assert s["ntk_deviation"][1] == pytest.approx(math.log(1.01))
    assert s["log_time_ratio"][0] == pytest.approx(math.log(3.0))


def test_spec_rejects_bad_settings():
    with pytest.raises(ValueError):
        SpectralBias(max_frequency=6)  # octaves need a power of 2
    with pytest.raises(ValueError, match="unstable"):
        SpectralBias(lr=2.0)
    with pytest.raises(ValueError):
        SpectralBias(num_points=20)
    with pytest.raises(ValueError):
        SpectralBias(spacing="consecutive", max_frequency=3)  # half circles cannot resolve k
    assert SpectralBias(spacing="consecutive", max_frequency=5).frequencies() == [1, 2, 3, 4, 5]
    assert SpectralBias().frequencies() == [1, 2, 4, 8]


def test_ntk_prediction_is_the_kernel_half_time():
    spec = SpectralBias(bias_std=1.0, lr=0.4)
    ntk = spec.ntk()
    lam = sb.ntk_circle_spectrum([1, 2, 4, 8], bias_std=1.0)
    np.testing.assert_allclose(ntk["half_times"], np.log(2) / -np.log(1 - 0.8 * lam))
    dense = spec.dense_angles()
    assert len(dense) == spec.num_points
    assert (np.cos(dense) > 0).sum() == 3 * (np.cos(dense) < 0).sum()


def test_tiny_run_end_to_end(tmp_path):
    spec = SpectralBias(max_frequency=4, num_points=64, width=512, seeds=3)
    d = run_experiment(spec, Store(tmp_path / "runs.sqlite")).to_dict()
    assert len(d["claims"]) == 5
    assert all(c["test"] is not None and c["test"]["seeds"] == 3 for c in d["claims"])
    assert d["claims"][0]["decision"] == "passed"  # low frequencies first
    m = d["metrics"]
    assert m["frequencies"] == [1, 2, 4]
    table = d["tables"]["learning times (uniform)"]
    assert len(table) == 9
    assert [r["predicted"] for r in table[:3]] == pytest.approx(m["ntk_half_times"])
    # the learning times are those of the kernel regime, to within the finite width's spread
    measured = np.array([r["steps"] for r in table]).reshape(3, 3)
    np.testing.assert_allclose(measured.mean(0), m["ntk_half_times"], rtol=0.3)
    assert m["half_times_mean"] == pytest.approx(measured.mean(0).tolist())
    assert min(m["log_time_ratio"]) > 0  # the dense half learns k = 4 sooner
    assert "residual per frequency and learning time vs k" in d["figures"]
