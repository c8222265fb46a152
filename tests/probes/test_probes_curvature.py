import numpy as np
import pytest
import torch

from occamlab.probes.curvature import HessianSpec, SharpnessMonitor, hessian_spectrum
from occamlab.testing import dense_ggn, dense_hessian, least_squares_subject, tiny_subject
from occamlab.train import TrainSpec, fit


def _eigvals(matrix):
    return np.sort(np.linalg.eigvalsh(matrix.numpy()))[::-1]


@pytest.mark.parametrize("kind", ["relu_mlp", "tanh_mlp", "bn_cnn"])
def test_top_eigenvalues_match_the_dense_float64_hessian(kind):
    subject = tiny_subject(kind)
    report = hessian_spectrum(subject, k=3, tol=1e-10, dtype="float64", limit=0, seed=1)
    want = _eigvals(dense_hessian(subject))[:3]
    np.testing.assert_allclose(report.eigenvalues, want, rtol=1e-8)
    assert report.converged and max(report.relative_residuals) <= 1e-10
    assert report.operator["eval_mode"] is True


def test_bottom_eigenvalues_find_negative_curvature():
    subject = tiny_subject("tanh_mlp")
    report = hessian_spectrum(
        subject, k=2, which="SA", tol=1e-10, dtype="float64", limit=0, trace=False, max_matvecs=2000
    )
    want = np.sort(np.linalg.eigvalsh(dense_hessian(subject).numpy()))[:2]
    np.testing.assert_allclose(report.eigenvalues, want, rtol=1e-7, atol=1e-10)


def test_least_squares_spectrum_is_two_xtx_over_n():
    subject = least_squares_subject(n=60, d=6, seed=3)
    x = subject.data.train.x.double()
    report = hessian_spectrum(subject, k=6, tol=1e-10, dtype="float64", limit=0)
    np.testing.assert_allclose(report.eigenvalues, _eigvals(2 * x.T @ x / 60), rtol=1e-8)
    assert report.trace == pytest.approx(float(torch.trace(2 * x.T @ x / 60)), rel=1e-10)


def test_trace_is_exact_for_relu_nets_and_estimated_with_an_error_bar_otherwise():
    relu = tiny_subject("relu_mlp")
    report = hessian_spectrum(relu, k=1, dtype="float64", limit=0)
    assert report.trace_method.startswith("exact")
    assert report.trace == pytest.approx(float(torch.trace(dense_hessian(relu))), rel=1e-10)

    tanh = tiny_subject("tanh_mlp")
    report = hessian_spectrum(tanh, k=1, dtype="float64", limit=0, trace_matvecs=60)
    truth = float(torch.trace(dense_hessian(tanh)))
    assert report.trace_method == "hutch++" and report.trace_standard_error > 0
    assert abs(report.trace - truth) <= 4 * report.trace_standard_error + 1e-9


def test_ggn_spectrum_and_per_layer_blocks():
    subject = tiny_subject("tanh_mlp")
    report = hessian_spectrum(
        subject, matrix="ggn", k=2, tol=1e-10, dtype="float64", limit=0, per_layer=True
    )
    dense = dense_ggn(subject)
    np.testing.assert_allclose(report.eigenvalues, _eigvals(dense)[:2], rtol=1e-8)
    assert report.trace == pytest.approx(float(torch.trace(dense)), rel=1e-10)
    start = 0
    for layer in report.layers:
        block = dense[start : start + layer.num_parameters, start : start + layer.num_parameters]
        assert layer.top_eigenvalue == pytest.approx(_eigvals(block)[0], rel=1e-7)
        assert layer.trace == pytest.approx(float(torch.trace(block)), rel=1e-10)
        start += layer.num_parameters
    assert start == report.num_parameters


def test_density_integrates_to_one_and_the_report_is_json_safe():
    subject = tiny_subject("relu_mlp")
    report = hessian_spectrum(
        subject, k=1, density=True, density_probes=2, density_steps=20, dtype="float64", limit=0
    )
    assert float(report.density.weights.sum()) == pytest.approx(1.0, abs=1e-9)
    d = report.to_dict()
    assert d["lambda_max"] == report.eigenvalues[0] and d["max_stable_lr"] == 2 / d["lambda_max"]
    report.plot()


def test_bad_options_are_refused():
    subject = tiny_subject("relu_mlp")
    with pytest.raises(ValueError, match="must be one of"):
        hessian_spectrum(subject, matrix="kfac")
    with pytest.raises(ValueError, match="k must be"):
        hessian_spectrum(subject, k=0)
    with pytest.raises(ValueError, match="no option"):
        hessian_spectrum(subject, topk=3)
    assert HessianSpec().k == 5


def test_sharpness_monitor_tracks_lambda_max_with_warm_starts():
    subject = tiny_subject("tanh_mlp")
    monitor = SharpnessMonitor(every=5, limit=0, tol=1e-6)
    fit(
        subject,
        TrainSpec(lr=0.05, batch_size=0, epochs=20, schedule="constant"),
        callbacks=[monitor],
    )
    assert [r["step"] for r in monitor.records] == [0, 5, 10, 15, 20]
    final = _eigvals(dense_hessian(subject))[0]
    assert monitor.records[-1]["lambda_max"] == pytest.approx(final, rel=1e-4)
    assert monitor.records[-1]["two_over_lr"] == pytest.approx(40.0)
    assert monitor.records[-1]["matvecs"] <= monitor.records[0]["matvecs"]


def test_report_says_how_many_examples_of_the_split_it_used():
    subject = tiny_subject("relu_mlp", n=48)
    limited = hessian_spectrum(subject, k=1, limit=30, trace=False).to_dict()["operator"]
    assert (limited["num_examples"], limited["split_examples"], limited["limit"]) == (30, 48, 30)
    every = hessian_spectrum(subject, k=1, limit=0, trace=False).to_dict()["operator"]
    assert (every["num_examples"], every["split_examples"], every["limit"]) == (48, 48, None)


def test_sharpness_summary_reuses_a_hessian_report_of_the_same_loss():
    from occamlab.probes.sharpness.summary import sharpness_summary

    subject = tiny_subject("relu_mlp", n=40)
    report = hessian_spectrum(subject, k=3, limit=30, seed=0)
    options = {"limit": 30, "seed": 0, "subspace_dim": 5}
    reused = sharpness_summary(subject, hessian=report, **options)
    computed = sharpness_summary(subject, **options)
    assert reused["lambda_max"] == report.lambda_max
    assert reused["hessian_trace"] == report.trace
    assert reused["lambda_max"] == pytest.approx(computed["lambda_max"], rel=1e-4)
    assert reused["hessian_trace"] == pytest.approx(computed["hessian_trace"], rel=1e-6)
    for key in ("keskar", "adaptive", "filter_normalized", "pacbayes", "keskar_subspace"):
        assert reused[key] == computed[key], key
    with pytest.raises(ValueError, match="limit 20"):
        sharpness_summary(subject, hessian=report, **{**options, "limit": 20})
