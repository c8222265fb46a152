"""The circle's NTK spectrum against closed forms and quadrature; residual amplitudes and
learning times against planted signals (float64)."""

import math

import numpy as np
import pytest
import torch
from scipy.integrate import quad

from occamlab.data.base import Data, Split
from occamlab.probes.dynamics import spectral_bias as sb
from occamlab.probes.kernels.wide import wide_mlp
from occamlab.subject import Subject
from occamlab.train import TrainSpec, fit


def _bias_free_eigenvalue(k: int) -> float:
    """λ_k of the bias-free two-layer ReLU NTK on the circle in closed form.

    With σ_w = 1 and d = 2 the kernel is Θ(φ) = (sin φ + 2(π − φ) cos φ)/(4π) at angle φ ∈
    [0, π], so λ_k = (1/π) ∫₀^π Θ(φ) cos kφ dφ = (I₁(k) + I₂(|k − 1|) + I₂(k + 1))/(4π²) with
    I₁(k) = ∫₀^π sin φ cos kφ dφ and I₂(m) = ∫₀^π (π − φ) cos mφ dφ, both elementary."""
    i1 = 0.0 if k == 1 else (1 + math.cos(k * math.pi)) / (1 - k * k)

    def i2(m: int) -> float:
        return math.pi**2 / 2 if m == 0 else (1 - math.cos(m * math.pi)) / m**2

    return (i1 + i2(abs(k - 1)) + i2(k + 1)) / (4 * math.pi**2)


def _ntk_two_layer(phi: float, bias_std: float) -> float:
    """The two-layer ReLU NTK (NTK parameterization, σ_w = 1, inputs on the unit circle in
    R²) at angle φ, written out from the arc-cosine kernels (Cho & Saul 2009)."""
    s11 = 0.5 + bias_std**2
    s12 = 0.5 * math.cos(phi) + bias_std**2
    c = max(-1.0, min(1.0, s12 / s11))
    t = math.acos(c)
    nngp = s11 * (math.sin(t) + (math.pi - t) * c) / (2 * math.pi) + bias_std**2
    derivative = (math.pi - t) / (2 * math.pi)
    return nngp + derivative * s12


def test_bias_free_spectrum_matches_the_closed_form_and_odd_coefficients_vanish():
    ks = list(range(12))
    got = sb.ntk_circle_spectrum(ks, bias_std=0.0)
    want = np.array([_bias_free_eigenvalue(k) for k in ks])
    assert want[0] == pytest.approx(6 / (4 * math.pi**2))
    # the grid's aliasing error: Σ_j λ_{jN ± k} = O(N^-2) for coefficients falling like k^-2
    np.testing.assert_allclose(got, want, rtol=0, atol=4096**-2)
    assert np.abs(got[3::2]).max() < 1e-15  # Basri et al.: odd k >= 3 are never learned
    assert got[[1, 2, 4, 6, 8, 10]].min() > 1e-4


@pytest.mark.parametrize("bias_std", [0.5, 1.0])
def test_spectrum_with_biases_matches_quadrature_and_falls_like_k_squared(bias_std):
    ks = [0, 1, 2, 3, 5, 8, 16, 64]
    got = sb.ntk_circle_spectrum(ks, bias_std=bias_std, grid=8192)
    want = [
        quad(lambda p, k=k: _ntk_two_layer(p, bias_std) * math.cos(k * p), 0, math.pi, limit=400)[0]
        / math.pi
        for k in ks
    ]
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=8192**-2)
    assert (got > 0).all()  # with biases every frequency is learned
    high = sb.ntk_circle_spectrum([256, 512], bias_std=bias_std, grid=1 << 14)
    assert math.log(high[0] / high[1]) / math.log(2) == pytest.approx(2.0, abs=0.02)


def test_circle_spectrum_is_the_circulant_gram_spectrum():
    n = 32
    theta = 2 * np.pi * np.arange(n) / n
    x = sb.circle_inputs(theta, dtype=torch.float64)
    from occamlab.probes.kernels.analytic import analytic_ntk

    gram = analytic_ntk(x, depth=1, bias_std=0.7).ntk.numpy()
    lam = sb.circle_spectrum(gram[0])
    # each 0 < k < n/2 twice (cosine and sine), k = 0 and k = n/2 once
    expected = np.sort(np.concatenate([lam, lam[1:-1]]))
    np.testing.assert_allclose(np.sort(np.linalg.eigvalsh(gram) / n), expected, atol=1e-12)
    with pytest.raises(ValueError):
        sb.circle_spectrum([1.0])


def test_kernel_half_time_is_exact_for_the_linear_recursion():
    lam, lr = 0.013, 0.7
    t = float(sb.kernel_half_time(lam, lr))
    assert (1 - 2 * lr * lam) ** t == pytest.approx(0.5, rel=1e-12)
    assert float(sb.kernel_half_time(0.0, lr)) == math.inf
    assert float(sb.kernel_half_time(2.0, 1.0)) == math.inf  # |1 − 2ηλ| ≥ 1: never


def test_fourier_amplitudes_recover_planted_sinusoids():
    n = 64
    theta = 2 * np.pi * np.arange(n) / n
    r = 0.3 + 2.0 * np.cos(3 * theta + 1.0) + 0.5 * np.sin(5 * theta) + 0.7 * np.cos(11 * theta)
    amp = sb.fourier_amplitudes(r, theta, [1, 3, 5])  # frequency 11 is orthogonal: no leak
    np.testing.assert_allclose(amp, [0.0, 2.0, 0.5], atol=1e-12)
    # a region and several residuals at once
    rows = np.stack([r - 0.7 * np.cos(11 * theta), 2 * (r - 0.7 * np.cos(11 * theta))])
    half = np.cos(theta) > 0
    np.testing.assert_allclose(
        sb.fourier_amplitudes(rows, theta, [3, 5], where=half), [[2.0, 0.5], [4.0, 1.0]]
    )
    with pytest.raises(ValueError, match="cannot separate"):
        sb.fourier_amplitudes(r, theta, [1, 3, 5], where=np.arange(n) < 4)


def test_half_times_interpolate_geometric_decay_exactly():
    steps = np.arange(0, 50, 5)
    rates = np.array([0.9, 0.99])
    amp = rates[None, :] ** steps[:, None] * np.array([2.0, 0.1])
    got = sb.half_times(steps, amp)
    np.testing.assert_allclose(got[0], math.log(0.5) / math.log(0.9))
    assert math.isnan(got[1])  # 0.99^45 > 1/2: never halved in the record
    np.testing.assert_allclose(
        sb.half_times(steps, amp, fraction=0.25)[0], math.log(0.25) / math.log(0.9)
    )


def test_residual_recorder_records_f_minus_y_through_the_training_loop():
    theta = 2 * np.pi * np.arange(16) / 16
    x = sb.circle_inputs(theta)
    y = torch.tensor(np.cos(2 * theta), dtype=torch.float32)[:, None]
    net = wide_mlp(2, 32, 1, 1, bias_std=0.5, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        start = net(x).double().reshape(-1) - y.double().reshape(-1)
    recorder = sb.ResidualRecorder(x, y, every=2)
    data = Data("circle", Split(x, y), Split(x[:0], y[:0]), "regression", 1)
    spec = TrainSpec(optimizer="sgd", lr=0.5, momentum=0.0, batch_size=0, epochs=5)
    fit(Subject(net, data, loss="mse"), spec, callbacks=[recorder])
    res = recorder.residuals()
    assert recorder.steps == [0, 2, 4, 5]
    np.testing.assert_allclose(res[0], start.numpy(), atol=1e-12)
    with torch.no_grad():
        end = net(x).double().reshape(-1) - y.double().reshape(-1)
    np.testing.assert_allclose(res[-1], end.numpy(), atol=1e-12)
    assert (res[-1] ** 2).mean() < (res[0] ** 2).mean()
    with pytest.raises(ValueError):
        sb.ResidualRecorder(x, y[:3], every=1)
