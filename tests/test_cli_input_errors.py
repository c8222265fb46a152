"""Bad input through the CLI: one ``error:`` line on stderr, a non-zero exit, no traceback, and
no store written that was not asked for."""

import http.server
import json
import os
import socket
import sqlite3
from pathlib import Path

import numpy as np
import pytest
import torch

from occamlab.store import Store
from tests.conftest import SMALL, run
from tests.data.test_data_files import MNIST_NAMES, _idx_bytes, _mnist_folder


def one_error_line(err: str) -> str:
    """The single ``error:`` line of ``err`` (fails if there is anything else)."""
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err
    return lines[0]


def test_diagnose_help_says_quick_is_the_default(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "300")
    code, out, _ = run(capsys, "diagnose", "--help")
    assert code == 0
    [line] = [line for line in out.splitlines() if "--quick" in line]
    assert "[default: quick]" in line and "deep]" not in line


def test_sweep_help_names_the_tables_of_the_sweep_file(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "300")
    code, out, _ = run(capsys, "sweep", "--help")
    assert code == 0
    assert "[sweep], [base] and [grid]" in out


# -- file datasets -----------------------------------------------------------------------------


def _npz(path: Path, **changes) -> Path:
    rng = np.random.default_rng(0)
    arrays = {
        "x_train": rng.normal(size=(20, 3)),
        "y_train": np.arange(20) % 2,
        "x_test": rng.normal(size=(6, 3)),
        "y_test": np.arange(6) % 2,
    }
    np.savez(path, **{**arrays, **changes})
    return path


def _with(array: np.ndarray, index: tuple, value: float) -> np.ndarray:
    array = array.astype(np.float64)
    array[index] = value
    return array


_X = np.random.default_rng(0).normal(size=(20, 3))
_Y = (np.arange(20) % 2).astype(np.float64)


@pytest.mark.parametrize(
    ("changes", "options", "message"),
    [
        (
            {
                k: np.zeros((0, 3)) if k[0] == "x" else np.zeros(0, int)
                for k in ("x_train", "y_train", "x_test", "y_test")
            },
            [],
            "x_train is empty (no examples: shape (0, 3)); the file must hold x_train",
        ),
        ({"x_train": np.zeros((20, 0))}, [], "x_train is empty (no input features"),
        (
            {"x_train": _with(_X, (4, 1), np.nan)},
            [],
            "x_train holds 1 NaN or infinite value(s) (the first in example 4)",
        ),
        ({"x_test": np.full((6, 3), np.inf)}, [], "x_test holds 18 NaN or infinite"),
        ({"y_train": _with(_Y, (2,), np.nan)}, [], "y_train holds 1 NaN or infinite"),
        (
            {"y_train": _with(_Y, (7,), -np.inf)},
            ["--data-opt", "task=regression"],
            "y_train holds 1 NaN",
        ),
        (
            {"y_test": np.array([0, 1, 2, 0, 1, 5])},
            ["--data-opt", "num_classes=2"],
            "y_test: labels must lie in [0, 2), found [0, 5]",
        ),
        (
            {"y_train": np.arange(20) % 2 - 1},
            [],
            "y_train: labels must lie in [0, 2), found [-1, 0]",
        ),
    ],
)
def test_a_bad_npz_dataset_is_refused_naming_file_and_array(
    capsys, tmp_path, changes, options, message
):
    data = _npz(tmp_path / "data.npz", **changes)
    store = tmp_path / "runs.sqlite"
    args = ["--data", "npz", "--data-root", str(data), *options, "--store", str(store)]
    code, _, err = run(capsys, "train", *args, "--epochs", "1")
    assert code == 2
    line = one_error_line(err)
    assert str(data) in line and message in line
    assert Store(store).runs() == []  # the file is read before any run is opened


def test_mnist_idx_labels_out_of_range_name_the_file(capsys, tmp_path):
    arrays = _mnist_folder(tmp_path / "mnist")
    labels = arrays["test_labels"].copy()
    labels[1] = 12
    (tmp_path / "mnist" / MNIST_NAMES["test_labels"]).write_bytes(_idx_bytes(labels))
    store = tmp_path / "runs.sqlite"
    args = ["--data", "mnist_idx", "--data-root", str(tmp_path / "mnist"), "--store", str(store)]
    code, _, err = run(capsys, "train", *args, "--epochs", "1")
    assert code == 2
    line = one_error_line(err)
    assert MNIST_NAMES["test_labels"] in line and "labels must lie in [0, 10), found [" in line


# -- weights that are not finite -----------------------------------------------------------------


def _small_subject():
    from occamlab import make_subject

    return make_subject(
        model="mlp",
        data="gaussian_mixture",
        model_options={"width": 16},
        data_options={"num_train": 200, "num_test": 100},
    )


def test_probing_nan_weights_is_refused_naming_file_and_parameter(capsys, tmp_path):
    from occamlab import save_weights

    model = _small_subject().model
    state = model.state_dict()
    name = next(k for k in state if k.endswith("weight"))
    state[name][0, 0] = float("nan")
    weights = save_weights(state, tmp_path / "diverged.safetensors")
    store = tmp_path / "runs.sqlite"
    for probe in ("sharpness", "hessian"):
        args = [*SMALL, "--weights", str(weights), "--store", str(store)]
        code, _, err = run(capsys, "probe", probe, *args)
        assert code == 2
        line = one_error_line(err)
        assert str(weights) in line and repr(name) in line and "NaN or infinite" in line
    assert Store(store).runs() == []


def test_curvature_probes_check_the_parameters_first():
    from occamlab.probes.curvature import hessian_spectrum
    from occamlab.probes.sharpness.summary import sharpness_summary

    subject = _small_subject()
    name, param = next(iter(subject.model.named_parameters()))
    with torch.no_grad():
        param[0, 0] = float("inf")
    for probe in (hessian_spectrum, sharpness_summary):
        with pytest.raises(ValueError, match=f"parameter '{name}' .* 1 NaN or infinite"):
            probe(subject, limit=50)


# -- stores that cannot be written, or do not exist -------------------------------------------


def _unwritable_store(tmp_path, how: str) -> Path:
    """A store path whose folder cannot be created or written."""
    if how == "file_in_the_way":  # fails for every user, root included
        (tmp_path / "blocker").write_text("")
        return tmp_path / "blocker" / "x" / "runs.sqlite"
    if os.geteuid() == 0:
        pytest.skip("root ignores folder permissions")
    folder = tmp_path / "readonly"
    folder.mkdir()
    folder.chmod(0o500)
    return folder / "x" / "runs.sqlite"


@pytest.mark.parametrize("how", ["file_in_the_way", "read_only_folder"])
@pytest.mark.parametrize(
    "command", [["train", *SMALL, "--epochs", "1"], ["diagnose", *SMALL], ["list"], ["show", "ab"]]
)
def test_a_store_that_cannot_be_created_names_its_path(capsys, tmp_path, how, command):
    store = _unwritable_store(tmp_path, how)
    try:
        code, out, err = run(capsys, *command, "--store", str(store))
    finally:
        if how == "read_only_folder":
            store.parent.parent.chmod(0o700)
    if command[0] == "list":  # nothing to list: no store there, and none is created
        assert code == 0 and "no store at" in out
    else:
        assert code != 0
        line = one_error_line(err)
        assert str(store.parent) in line or str(store) in line
        assert "--store" in line
    assert not store.exists()


def test_sqlite_refusing_to_open_the_store_names_its_path(capsys, tmp_path, monkeypatch):
    def refuse(*args, **kwargs):
        raise sqlite3.OperationalError("unable to open database file")

    monkeypatch.setattr("occamlab.store.sqlite3.connect", refuse)
    store = tmp_path / "runs.sqlite"
    code, _, err = run(capsys, "train", *SMALL, "--store", str(store))
    assert code == 2
    line = one_error_line(err)
    assert str(store) in line and "writable" in line


def test_a_file_that_is_not_a_store_is_named_and_left_alone(capsys, tmp_path):
    for content in (b"", b"notes, not a database\n"):
        path = tmp_path / "notes.txt"
        path.write_bytes(content)
        for command in (["list"], ["show", "ab"], ["train", *SMALL, "--epochs", "1"]):
            if not content and command[0] == "train":
                continue  # an empty file is an empty SQLite database: train may use it
            code, _, err = run(capsys, *command, "--store", str(path))
            assert code == 2 and "not an occamlab store" in one_error_line(err)
            assert path.read_bytes() == content


@pytest.mark.parametrize(
    "command", [["show", "ab"], ["report", "--all"], ["report", "ab"], ["serve", "--port", "0"]]
)
def test_commands_that_read_a_store_do_not_create_it(capsys, tmp_path, command):
    store = tmp_path / "nowhere" / "runs.sqlite"
    code, _, err = run(capsys, *command, "--store", str(store))
    assert code == 2
    line = one_error_line(err)
    assert "no store at" in line and str(store) in line
    assert not store.parent.exists()


def test_list_on_a_missing_store_lists_nothing_and_creates_nothing(capsys, tmp_path):
    store = tmp_path / "nowhere" / "runs.sqlite"
    code, out, _ = run(capsys, "list", "--store", str(store), "--json")
    assert code == 0 and json.loads(out) == []
    code, out, _ = run(capsys, "list", "--store", str(store))
    assert code == 0 and "no store at" in out
    assert not store.parent.exists()


def test_show_takes_a_run_id_prefix_literally(capsys, tmp_path):
    store = tmp_path / "runs.sqlite"
    record, _ = Store(store).begin("train", {"a": 1})
    code, out, _ = run(capsys, "show", record.id[:4], "--store", str(store), "--json")
    assert code == 0 and json.loads(out)["id"] == record.id
    for wildcard in ("%", record.id[:2] + "_", "_" + record.id[1:3], "%%"):
        code, _, err = run(capsys, "show", wildcard, "--store", str(store))
        assert code == 2 and "no run" in one_error_line(err)


# -- occam serve -----------------------------------------------------------------------------


@pytest.fixture
def served_store(tmp_path, monkeypatch):
    """A store to serve; a server that does start returns at once instead of blocking."""

    def interrupted(self, *args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(http.server.ThreadingHTTPServer, "serve_forever", interrupted)
    store = tmp_path / "runs.sqlite"
    Store(store)
    return store


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--port", "99999"], "--port must lie in 0..65535"),
        (["--port", "-1"], "--port must lie in 0..65535"),
        (["--host", "256.1.1.1"], "--host '256.1.1.1'"),
    ],
)
def test_serve_refuses_a_bad_port_or_host(capsys, served_store, options, message):
    code, _, err = run(capsys, "serve", *options, "--store", str(served_store))
    assert code == 2 and message in one_error_line(err)
    assert not (served_store.parent / "reports").exists()


def test_serve_on_a_port_in_use_says_so(capsys, served_store):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, _, err = run(capsys, "serve", "--port", str(port), "--store", str(served_store))
    assert code == 2
    line = one_error_line(err)
    assert f"127.0.0.1:{port}" in line and "another --port" in line


def test_serve_binds_loopback_by_default(capsys, served_store):
    code, _, err = run(capsys, "serve", "--port", "0", "--store", str(served_store))
    assert code == 0 and "at http://127.0.0.1:" in " ".join(err.split())  # Rich wraps lines
