import pytest
import torch

from occamlab import TrainSpec, fit, make_subject, model_spec
from occamlab.probes.compression import initial_params, registry_spec, resized, width_sweep
from occamlab.testing import tiny_subject


def small_subject():
    return make_subject(
        model="mlp",
        data="gaussian_mixture",
        model_options={"width": 16, "depth": 2},
        data_options={"num_train": 96, "num_test": 48},
        seed=3,
    )


def test_initial_weights_are_rebuilt_exactly_after_training():
    subject = small_subject()
    init = {k: v.clone() for k, v in subject.params().items()}
    fit(subject, TrainSpec(epochs=2, batch_size=16))
    rebuilt = initial_params(subject)
    assert all(torch.equal(rebuilt[k], v) for k, v in init.items())
    assert not torch.equal(subject.params()["head.weight"], init["head.weight"])
    assert initial_params(tiny_subject("tanh_mlp")) is None


def test_width_sweep_trains_each_size_through_the_trainer():
    subject = small_subject()
    calls = []

    def fake(model, data, train, *, seed, loss):
        calls.append((model.width, model.depth, seed))
        return {
            "num_parameters": model.num_parameters(data.input_shape, data.num_outputs),
            "test_accuracy": 0.5,
            "test_loss": 1.0,
        }

    result = width_sweep(
        subject, TrainSpec(epochs=1), widths=[4, 8], depths=[1, 2], seeds=(0, 1), trainer=fake
    )
    assert len(calls) == 8 and (8, 1, 1) in calls
    assert result.width_field == "width" and result.depth_field == "depth"
    assert {r["seeds"] for r in result.mean_rows()} == {2}
    real = width_sweep(subject, TrainSpec(epochs=2, batch_size=32), widths=[4])
    row = real.rows[0]
    assert row["num_parameters"] == model_spec("mlp", width=4).num_parameters((10,), 4)
    assert 0 <= row["test_accuracy"] <= 1 and real.reference["width"] == 16


def test_a_users_own_module_needs_a_registry_spec():
    with pytest.raises(ValueError, match="registry model spec"):
        width_sweep(tiny_subject("tanh_mlp"), TrainSpec(epochs=1), widths=[2])
    spec = registry_spec(small_subject())
    assert resized(spec, width=3, depth=1) == model_spec("mlp", width=3, depth=1)
    with pytest.raises(ValueError, match="no width"):
        resized(model_spec("lenet300"), width=3)
