import pytest
import torch

from occamlab import make_subject, model_spec
from occamlab.probes.compression import dead_input_masks, kept_parameters, neuron_masks
from occamlab.probes.pruning import apply_masks, magnitude_masks


def params(seed=0):
    g = torch.Generator().manual_seed(seed)
    return {
        "conv.weight": torch.randn(8, 3, 5, generator=g),
        "conv.bias": torch.randn(8, generator=g),
        "fc.weight": torch.randn(12, 20, generator=g),
        "fc.bias": torch.randn(12, generator=g),
        "head.weight": torch.randn(4, 12, generator=g),
        "head.bias": torch.randn(4, generator=g),
    }


@pytest.mark.parametrize("s", [0.0, 0.25, 0.5, 0.9, 1.0])
def test_exact_unit_counts_whole_rows_and_biases(s):
    p = params()
    m = neuron_masks(p, sparsity=s)
    assert set(m) == {"conv.weight", "conv.bias", "fc.weight", "fc.bias"}  # head excluded
    for name, units in (("conv", 8), ("fc", 12)):
        rows = m[f"{name}.weight"].reshape(units, -1)
        assert torch.equal(rows.all(dim=1), rows.any(dim=1))  # whole rows
        assert int((~rows.all(dim=1)).sum()) == round(s * units)
        assert torch.equal(m[f"{name}.bias"], rows.all(dim=1))


@pytest.mark.parametrize("norm", [1, 2])
def test_units_with_the_smallest_norm_go(norm):
    p = params()
    m = neuron_masks(p, sparsity=0.5, norm=norm)
    w = p["conv.weight"].reshape(8, -1).norm(p=norm, dim=1)
    kept = m["conv.weight"].reshape(8, -1).all(dim=1)
    assert float(w[kept].min()) >= float(w[~kept].max())


def test_bad_input_is_refused():
    p = params()
    with pytest.raises(ValueError, match="sparsity"):
        neuron_masks(p, sparsity=2.0)
    with pytest.raises(ValueError, match="dims"):
        neuron_masks(p, sparsity=0.5, names=["fc.bias"])
    with pytest.raises(ValueError, match="no layers"):
        neuron_masks({"head.weight": torch.ones(2, 2)}, sparsity=0.5)


def test_removing_half_the_units_counts_as_the_half_width_network():
    subject = make_subject(
        model="mlp",
        data="gaussian_mixture",
        model_options={"width": 16, "depth": 2},
        data_options={"num_train": 64, "num_test": 32},
    )
    p = subject.params()
    masks = neuron_masks(p, sparsity=0.5)
    full = dead_input_masks(subject, p, masks)
    narrow = model_spec("mlp", width=8, depth=2).num_parameters(subject.data.input_shape, 4)
    assert kept_parameters(p, full) == narrow
    assert kept_parameters(p, masks) > narrow  # the dead columns were counted before
    # Zeroing weights whose inputs are exactly zero leaves every training output unchanged.
    x = subject.data.train.x
    a = subject.forward(apply_masks(p, masks), x)
    b = subject.forward(apply_masks(p, full), x)
    assert torch.equal(a, b)


def test_dead_inputs_of_a_conv_and_untouched_live_inputs():
    subject = make_subject(
        model="cnn1d",
        data="gaussian_mixture",
        model_options={"channels": 4, "layers": 2},
        data_options={"num_train": 32, "num_test": 8, "dim": 12},
    )
    p = subject.params()
    # The extension only removes more, and only weights whose inputs are zero on every
    # training example: the training outputs do not change at all.
    masks = magnitude_masks(p, sparsity=0.3)
    more = dead_input_masks(subject, p, masks)
    assert all(not bool((v & ~masks[k]).any()) for k, v in more.items() if k in masks)
    x = subject.data.train.x
    assert torch.equal(
        subject.forward(apply_masks(p, masks), x), subject.forward(apply_masks(p, more), x)
    )
    # Remove channel 0 of the first conv: the second conv's input channel 0 is dead.
    first, second = [k for k in p if k.endswith("weight")][:2]
    cut = neuron_masks(p, sparsity=0.25, names=[first])
    full = dead_input_masks(subject, p, cut)
    gone = int((~cut[first].reshape(4, -1).all(1)).nonzero()[0])
    assert not bool(full[second][:, gone].any()) and bool(full[second][:, gone + 1 :].all())
