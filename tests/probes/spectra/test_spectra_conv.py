import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from occamlab.probes.spectra import weight_spectra
from occamlab.probes.spectra.esd import eigenvalues, layer_matrices
from occamlab.testing import tiny_subject


def explicit_operator(conv: nn.Module, size: tuple[int, ...]) -> torch.Tensor:
    """The convolution with circular padding as a dense float64 matrix, column by column."""
    weight = conv.weight.detach().double()
    c_in = weight.shape[1]
    dims = len(size)
    columns = []
    for j in range(c_in * int(np.prod(size))):
        e = torch.zeros(1, c_in, *size, dtype=torch.float64)
        e.view(-1)[j] = 1.0
        pad = []
        for k in reversed(weight.shape[2:]):
            pad += [k // 2, k - 1 - k // 2]
        x = F.pad(e, pad, mode="circular")
        y = (F.conv1d if dims == 1 else F.conv2d)(x, weight)
        columns.append(y.reshape(-1))
    return torch.stack(columns, dim=1)


@pytest.mark.parametrize(
    ("conv", "size"),
    [(nn.Conv2d(2, 3, 3), (5, 5)), (nn.Conv2d(3, 2, (2, 3)), (4, 6)), (nn.Conv1d(2, 4, 3), (7,))],
)
def test_fft_singular_values_equal_the_explicit_operator(conv, size):
    ev = eigenvalues(
        [layer_matrices("c", conv, conv="fft", input_size=size, precision="float64")],
        precision="float64",
    )
    expected = torch.linalg.svdvals(explicit_operator(conv, size)).numpy() ** 2
    assert ev[0].size == int(np.prod(size)) * min(conv.weight.shape[:2])
    np.testing.assert_allclose(ev[0], np.sort(expected)[-ev[0].size :], rtol=1e-9, atol=1e-12)


def test_the_probe_uses_the_same_fft_spectrum():
    conv = nn.Conv2d(2, 3, 3)
    report = weight_spectra(nn.Sequential(conv), conv="fft", fft_size=5, precision="float64")
    expected = torch.linalg.svdvals(explicit_operator(conv, (5, 5))).numpy() ** 2
    np.testing.assert_allclose(report.layers[0].eigenvalues, np.sort(expected)[-50:], rtol=1e-9)
    assert report.layers[0].lambda_max == pytest.approx(expected.max(), rel=1e-9)


def test_per_position_counts_min_channels_per_kernel_position():
    # WeightWatcher 0.7.7 swaps N and M here and reports 512 eigenvalues.
    layer = weight_spectra(nn.Sequential(nn.Conv2d(128, 64, 2))).layers[0]
    assert layer.num_matrices == 4 and layer.m == 64 and layer.n == 128
    assert layer.num_eigenvalues == 256


def test_fft_reads_each_layers_input_size_from_the_subject():
    subject = tiny_subject("bn_cnn")
    report = weight_spectra(subject, conv="fft")
    conv = [layer for layer in report.layers if layer.kind == "conv2d"]
    assert conv and all(layer.method == "fft" for layer in conv)
    # 8×8 inputs: 64 frequency blocks of min(c_out, c_in) eigenvalues each.
    first = conv[0]
    assert first.num_matrices == 64
    assert first.num_eigenvalues == 64 * min(first.weight_shape[:2])


def test_fft_refuses_strided_layers_and_bare_modules_without_a_size():
    with pytest.raises(ValueError, match="stride 1"):
        weight_spectra(nn.Sequential(nn.Conv2d(2, 2, 3, stride=2)), conv="fft", fft_size=8)
    with pytest.raises(ValueError, match="fft_size"):
        weight_spectra(nn.Sequential(nn.Conv2d(2, 2, 3)), conv="fft")
