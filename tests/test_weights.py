import os

import pytest
import torch

from occamlab.weights import WeightsError, load_into, load_weights, save_weights
from tests.conftest import toy_model


class _Evil:
    """Unpickling this would create a file: the marker shows whether code ran."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.mkdir, (self.marker,))


def test_safetensors_round_trip(tmp_path):
    model = toy_model()
    path = save_weights(model, tmp_path / "w.safetensors", metadata={"epoch": "3"})
    other = toy_model(seed=1)
    load_into(other, path)
    for a, b in zip(model.state_dict().values(), other.state_dict().values(), strict=True):
        assert torch.equal(a, b)


def test_plain_tensor_files_load_with_weights_only(tmp_path):
    model = toy_model()
    torch.save(model.state_dict(), tmp_path / "w.pt")
    assert set(load_weights(tmp_path / "w.pt")) == set(model.state_dict())


def test_a_malicious_pickle_is_refused_and_never_executed(tmp_path):
    marker = tmp_path / "pwned"
    torch.save({"weight": _Evil(str(marker))}, tmp_path / "evil.pt")
    with pytest.raises(WeightsError, match="never loaded"):
        load_weights(tmp_path / "evil.pt")
    assert not marker.exists()


def test_corrupt_and_missing_files(tmp_path):
    (tmp_path / "bad.safetensors").write_bytes(b"not a safetensors file at all")
    with pytest.raises(WeightsError, match="not a readable safetensors"):
        load_weights(tmp_path / "bad.safetensors")
    with pytest.raises(WeightsError, match="does not exist"):
        load_weights(tmp_path / "nope.safetensors")


def test_mismatched_weights_name_the_problem(tmp_path):
    path = save_weights(toy_model(hidden=8), tmp_path / "w.safetensors")
    with pytest.raises(WeightsError, match="shape mismatch"):
        load_into(toy_model(hidden=9), path)
