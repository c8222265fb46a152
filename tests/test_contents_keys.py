"""Stored results are keyed by the contents of every file they read, not by names: the same path
holding other bytes is recomputed, unchanged inputs are reused."""

import json
import sys
import textwrap

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from occamlab.fingerprint import data_digest, subject_fingerprint, tensor_digest
from occamlab.store import Store
from tests.conftest import run, toy_data, toy_model

MODULE = textwrap.dedent(
    """
    import torch
    from torch import nn

    from occamlab import Subject
    from tests.conftest import toy_data


    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.Linear(5, 8)
            self.b = nn.Linear(8, 3)

        def forward(self, x):
            return self.b(self.a(x).relu()){tail}


    def make():
        torch.manual_seed(0)  # the user's code: the same weights on every call
        return Subject(model=Net(), data=toy_data(), name="mine")


    def not_a_subject():
        return Net()


    def broken():
        raise RuntimeError("the data folder is missing")


    def nan_inputs():
        data = toy_data()
        data.train.x[3, 1] = float("nan")
        return Subject(model=Net(), data=data)
    """
)


def _json(capsys, *args):
    code, out, err = run(capsys, *args, "--json")
    assert code == 0, err
    return json.loads(out)


@pytest.fixture
def own_module(tmp_path, monkeypatch):
    """A user's module in a folder of its own, importable as ``netmod``, rewritable."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))

    def write(tail: str = "") -> None:
        (tmp_path / "netmod.py").write_text(MODULE.format(tail=tail))
        sys.modules.pop("netmod", None)

    write()
    yield write
    sys.modules.pop("netmod", None)


def _weights(path, seed):
    g = torch.Generator().manual_seed(seed)
    save_file(
        {
            "a.weight": torch.randn(8, 5, generator=g),
            "a.bias": torch.randn(8, generator=g),
            "b.weight": torch.randn(3, 8, generator=g),
            "b.bias": torch.randn(3, generator=g),
        },
        path,
    )


def test_a_changed_weights_file_at_the_same_path_is_recomputed(own_module, tmp_path, capsys):
    store = str(tmp_path / "runs.sqlite")
    weights = tmp_path / "w.safetensors"
    args = ("probe", "spectra", "--subject", "netmod:make", "--weights", str(weights))
    _weights(weights, 0)
    first = _json(capsys, *args, "--store", store)
    again = _json(capsys, *args, "--store", store)
    assert not first["reused"] and again["reused"] and again["id"] == first["id"]
    _weights(weights, 1)  # other weights, same path
    changed = _json(capsys, *args, "--store", store)
    assert not changed["reused"] and changed["id"] != first["id"]
    # The weights were applied (not ignored): λ_max of WᵀW is the new file's σ_max².
    w = torch.randn(8, 5, generator=torch.Generator().manual_seed(1))
    layer = next(r for r in changed["layers"] if r["name"] == "a")
    assert layer["lambda_max"] == pytest.approx(float(torch.linalg.matrix_norm(w, 2)) ** 2, 1e-4)


def test_a_changed_module_source_is_recomputed(own_module, tmp_path, capsys):
    store = str(tmp_path / "runs.sqlite")
    args = ("probe", "sharpness", "--subject", "netmod:make", "--store", store)
    first = _json(capsys, *args)
    assert _json(capsys, *args)["reused"]
    own_module(tail=" * 2")  # same name, same weights' shapes, another function
    changed = _json(capsys, *args)
    assert not changed["reused"] and changed["lambda_max"] != pytest.approx(first["lambda_max"])


def test_a_changed_npz_at_the_same_path_is_trained_anew(tmp_path, capsys):
    g = np.random.default_rng(0)
    path = tmp_path / "data.npz"

    def write(flip: bool) -> None:
        x = g.normal(size=(60, 4)).astype(np.float32)
        y = (x[:, 0] > 0).astype(np.int64)
        np.savez(
            path,
            x_train=x[:40],
            y_train=1 - y[:40] if flip else y[:40],
            x_test=x[40:],
            y_test=y[40:],
        )

    store = str(tmp_path / "runs.sqlite")
    args = (
        "train", "--data", "npz", "--data-root", str(path), "--model-opt", "width=4",
        "--epochs", "2", "--store", store,
    )  # fmt: skip
    write(flip=False)
    first = _json(capsys, *args)
    assert _json(capsys, *args)["reused"]
    write(flip=True)  # other labels, same path
    changed = _json(capsys, *args)
    assert not changed["reused"] and changed["id"] != first["id"]
    assert changed["spec"]["data_contents"] != first["spec"]["data_contents"]


def test_digests_follow_contents():
    data = toy_data()
    assert data_digest(data) == data_digest(toy_data())
    assert data_digest(data) != data_digest(toy_data(seed=1))
    a = {"w": torch.zeros(3)}
    assert tensor_digest(a) != tensor_digest({"w": torch.zeros(3, dtype=torch.float64)})
    assert tensor_digest(a) != tensor_digest({"v": torch.zeros(3)})
    from occamlab import Subject, TrainSpec

    s = Subject(model=toy_model(), data=data)
    base = subject_fingerprint(s)
    assert subject_fingerprint(Subject(model=toy_model(), data=data)) == base
    assert subject_fingerprint(Subject(model=toy_model(seed=1), data=data)) != base
    assert subject_fingerprint(Subject(model=toy_model(), data=data, recipe=TrainSpec())) != base
    init = {k: torch.zeros_like(v) for k, v in s.params().items()}
    assert subject_fingerprint(Subject(model=toy_model(), data=data, init=init)) != base


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--subject", "netmod:make", "--model", "mlp"), "--model cannot be used with --subject"),
        (("--subject", "netmod:make", "--init-seed", "1"), "--init-seed cannot be used with"),
        (("--init-weights", "w.safetensors"), "--init-weights cannot be used without --weights"),
        (("--subject", "netmod:make", "--recipe", "missing.toml"), "recipe file 'missing.toml'"),
        (("--subject", "netmod:make", "--recipe", "bad.toml"), "momentom"),
        (("--subject", "os:system"), "not a Python function of yours"),
        (("--subject", "json:loads"), "needs arguments"),
        (("--subject", "../../etc:thing"), "dotted Python names, no paths"),
        (("--subject", "builtins:eval"), "not a Python function of yours"),
        (("--subject", "sys:exit"), "not a Python function of yours"),
        (("--subject", "netmod:not_a_subject"), "returned Net, not an occamlab.Subject"),
        (("--subject", "netmod:broken"), "raised RuntimeError at netmod.py:"),
        (("--subject", "netmod:nothing"), "has no function 'nothing'"),
        (("--subject", "netmod:nan_inputs"), "train split's x holds 1 NaN or infinite value"),
        (("--subject", "no_such_module:make"), "cannot import module 'no_such_module'"),
    ],
)
def test_flags_that_do_not_apply_are_refused(own_module, tmp_path, capsys, args, message):
    (tmp_path / "bad.toml").write_text('optimizer = "adam"\nmomentom = 0.9\n')
    store = tmp_path / "runs.sqlite"
    code, out, err = run(capsys, "probe", "spectra", *args, "--store", str(store))
    assert code == 2 and err.startswith("error:") and len(err.strip().splitlines()) == 1, err
    assert message in err, err
    assert not store.exists() or not Store(store).runs()  # no run written


def test_a_recipe_file_trains_the_registry_subject_and_is_its_recipe(tmp_path, capsys):
    from tests.conftest import SMALL

    (tmp_path / "r.json").write_text('{"optimizer": "adam", "lr": 0.01, "epochs": 2}')
    store = str(tmp_path / "runs.sqlite")
    result = _json(
        capsys, "probe", "simplify", *SMALL, "--recipe", str(tmp_path / "r.json"), "--store", store
    )
    assert result["recipe"]["optimizer"] == "adam" and result["recipe"]["lr"] == 0.01
    (train,) = [r for r in _json(capsys, "list", "--store", store) if r["kind"] == "train"]
    spec = _json(capsys, "show", train["id"], "--store", store)["spec"]
    assert spec["train"]["optimizer"] == "adam" and spec["train"]["epochs"] == 2
    code, _, err = run(capsys, "train", *SMALL, "--recipe", str(tmp_path / "r.json"))
    assert code == 2 and "drop --recipe" in err
