import json
import warnings

import numpy as np
import pytest
import torch
from torch import nn

from occamlab.probes.spectra import fit_power_law, weight_spectra


def mlp(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Linear(40, 96), nn.ReLU(), nn.Linear(96, 64), nn.ReLU(), nn.Linear(64, 5)
    )


def test_metrics_against_float64_singular_values():
    model = mlp()
    report = weight_spectra(model, precision="float64")
    for layer, module in zip(report.layers, [model[0], model[2], model[4]], strict=True):
        w = module.weight.detach().double()
        lam = np.sort(torch.linalg.svdvals(w).numpy() ** 2)
        np.testing.assert_allclose(layer.eigenvalues, lam, rtol=1e-10, atol=1e-12)
        assert layer.lambda_max == pytest.approx(lam[-1], rel=1e-12)
        assert layer.log_norm == pytest.approx(np.log10((w**2).sum().item()), rel=1e-12)
        assert layer.log_spectral_norm == pytest.approx(np.log10(lam[-1]), rel=1e-12)
        assert layer.stable_rank == pytest.approx(lam.sum() / lam[-1], rel=1e-12)
        p = lam / lam.sum()
        assert layer.entropy == pytest.approx(-(p * np.log(p)).sum() / np.log(lam.size), rel=1e-9)
        if layer.fit is not None:
            assert layer.alpha == pytest.approx(fit_power_law(lam).alpha, rel=1e-12)
            assert layer.alpha_weighted == pytest.approx(layer.alpha * np.log10(lam[-1]))
            assert layer.log_alpha_norm == pytest.approx(np.log10((lam**layer.alpha).sum()))


def test_float32_default_agrees_with_float64():
    model = mlp(1)
    a = weight_spectra(model)
    b = weight_spectra(model, precision="float64")
    for x, y in zip(a.layers, b.layers, strict=True):
        assert x.lambda_max == pytest.approx(y.lambda_max, rel=1e-5)
        assert x.stable_rank == pytest.approx(y.stable_rank, rel=1e-5)
        if y.alpha is None:  # the 5-output head: 5 eigenvalues < min_tail
            assert x.alpha is None
        else:
            assert x.alpha == pytest.approx(y.alpha, rel=1e-3)


def test_averages_are_means_over_layers_and_json_is_strict():
    report = weight_spectra(mlp(), randomize=True)
    alphas = [layer.alpha for layer in report.layers if layer.alpha is not None]
    assert report.averages["alpha"] == pytest.approx(np.mean(alphas))
    assert report.averaged_over["alpha"] == len(alphas)
    assert report.averages["rand_distance"] is not None
    text = json.dumps(report.to_dict(), allow_nan=False)
    assert 'eigenvalues"' not in text.split("layers")[0]


def test_small_layers_get_no_alpha_and_say_why():
    model = nn.Sequential(nn.Linear(6, 4))
    layer = weight_spectra(model).layers[0]
    assert layer.alpha is None and layer.alpha_weighted is None
    assert any("min_tail" in note for note in layer.notes)


def test_negative_alpha_hat_is_flagged():
    torch.manual_seed(0)
    layer = nn.Linear(200, 200)
    with torch.no_grad():
        layer.weight.mul_(0.01)
    result = weight_spectra(nn.Sequential(layer)).layers[0]
    assert result.lambda_max < 1 and result.alpha_weighted < 0
    assert any("negative" in note for note in result.notes)


def test_rand_distance_separates_structure_from_noise():
    torch.manual_seed(0)
    noise = nn.Linear(300, 300)
    structured = nn.Linear(300, 300)
    with torch.no_grad():
        u, v = torch.randn(300, 5), torch.randn(5, 300)
        structured.weight.copy_(u @ v / 10 + 0.01 * torch.randn(300, 300))
    report = weight_spectra(nn.Sequential(noise, structured), randomize=True)
    assert report.layers[0].rand_distance < 0.3 < report.layers[1].rand_distance


def test_the_model_is_untouched_and_no_global_state_changes():
    model = mlp()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    filters = list(warnings.filters)
    rng = torch.get_rng_state()
    weight_spectra(model, randomize=True, bootstrap=20, gof_samples=5, compare_tails=True)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert warnings.filters == filters
    assert torch.equal(rng, torch.get_rng_state())


def test_seeded_runs_repeat():
    a = weight_spectra(mlp(), randomize=True, bootstrap=20, seed=3)
    b = weight_spectra(mlp(), randomize=True, bootstrap=20, seed=3)
    assert [x.alpha_interval for x in a.layers] == [x.alpha_interval for x in b.layers]
    assert [x.rand_distance for x in a.layers] == [x.rand_distance for x in b.layers]


@pytest.mark.parametrize(
    ("model", "options", "message"),
    [
        (nn.Sequential(nn.ReLU()), {}, "no Linear or Conv"),
        (mlp(), {"min_tail": 1}, "min_tail"),
        (mlp(), {"conv": "dft"}, "must be one of"),
        (mlp(), {"bootstrap": 3}, "bootstrap"),
    ],
)
def test_bad_options_are_refused(model, options, message):
    with pytest.raises(ValueError, match=message):
        weight_spectra(model, **options)


def test_zero_and_non_finite_layers_are_refused():
    zero = nn.Linear(20, 20)
    with torch.no_grad():
        zero.weight.zero_()
    with pytest.raises(ValueError, match="all zeros"):
        weight_spectra(nn.Sequential(zero))
    with torch.no_grad():
        zero.weight[0, 0] = float("nan")
    with pytest.raises(ValueError, match="non-finite"):
        weight_spectra(nn.Sequential(zero))


def test_plots_draw_every_layer():
    report = weight_spectra(mlp())
    fig = report.plot()
    assert len([ax for ax in fig.axes if ax.has_data()]) == len(report.layers)
    import matplotlib.pyplot as plt

    plt.close(fig)
