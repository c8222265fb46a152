"""Real-format loaders (IDX, CIFAR-10 binary/python, npz) on tiny files written here."""

from __future__ import annotations

import gzip
import os
import pickle
import struct

import numpy as np
import pytest
import torch

from occamlab.data import data_spec, load_data
from occamlab.data.idx import parse_idx
from occamlab.data.safe_pickle import loads_array_pickle

RNG = np.random.default_rng(0)
MNIST_NAMES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}


# ---------------------------------------------------------------- IDX / MNIST


def _idx_bytes(array: np.ndarray, type_code: int = 0x08) -> bytes:
    header = bytes([0, 0, type_code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(">u1" if type_code == 0x08 else ">i4").tobytes()


def _write(path, payload: bytes, gz: bool = False):
    if gz:
        with gzip.open(f"{path}.gz", "wb") as handle:
            handle.write(payload)
    else:
        path.write_bytes(payload)


def _mnist_folder(folder, n_train=6, n_test=4, gz_train=True):
    arrays = {
        "train_images": RNG.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "train_labels": RNG.integers(0, 10, n_train, dtype=np.uint8),
        "test_images": RNG.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "test_labels": RNG.integers(0, 10, n_test, dtype=np.uint8),
    }
    folder.mkdir(exist_ok=True)
    for key, array in arrays.items():
        _write(folder / MNIST_NAMES[key], _idx_bytes(array), gz=gz_train and "train" in key)
    return arrays


def test_mnist_idx_reads_plain_and_gz(tmp_path):
    arrays = _mnist_folder(tmp_path / "mnist")
    assert (tmp_path / "mnist" / "train-images-idx3-ubyte.gz").exists()
    data = load_data(data_spec("mnist_idx"), root=tmp_path / "mnist")
    assert data.task == "classification" and data.num_outputs == 10
    assert data.input_shape == (1, 28, 28) and len(data.train) == 6 and len(data.test) == 4
    assert data.train.x.dtype == torch.float32 and data.train.y.dtype == torch.int64
    expected = torch.from_numpy(arrays["train_images"].astype(np.float32) / 255)[:, None]
    assert torch.equal(data.train.x, expected)
    assert torch.equal(data.test.y, torch.from_numpy(arrays["test_labels"]).long())
    assert 0.0 <= float(data.train.x.min()) and float(data.train.x.max()) <= 1.0
    flat = load_data(data_spec("mnist_idx", flatten=True), root=str(tmp_path / "mnist"))
    assert flat.input_shape == (784,)
    assert torch.equal(flat.test.x, data.test.x.reshape(4, 784))


def test_mnist_idx_corruptions_apply(tmp_path):
    _mnist_folder(tmp_path, n_train=50)
    spec = data_spec("mnist_idx", label_noise=1.0, inputs="shuffled_pixels")
    clean = load_data(data_spec("mnist_idx"), root=tmp_path)
    data = load_data(spec, root=tmp_path)
    assert data.input_shape == (1, 28, 28)
    assert torch.equal(data.test.y, clean.test.y)
    assert not torch.equal(data.train.x, clean.train.x)


def test_mnist_idx_missing_file_names_it(tmp_path):
    _mnist_folder(tmp_path)
    os.remove(tmp_path / "t10k-labels-idx1-ubyte")
    with pytest.raises(FileNotFoundError) as info:
        load_data(data_spec("mnist_idx"), root=tmp_path)
    message = str(info.value)
    assert "'t10k-labels-idx1-ubyte'" in message and ".gz" in message
    assert str(tmp_path) in message and "download" in message


def test_mnist_idx_missing_folder_and_root(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist") as info:
        load_data(data_spec("mnist_idx"), root=tmp_path / "nowhere")
    assert str(tmp_path / "nowhere") in str(info.value)
    assert "train-images-idx3-ubyte" in str(info.value)
    with pytest.raises(ValueError, match="pass root="):
        load_data(data_spec("mnist_idx"))


def test_mnist_idx_wrong_magic_and_truncation(tmp_path):
    arrays = _mnist_folder(tmp_path, gz_train=False)
    # labels where images belong
    _write(tmp_path / MNIST_NAMES["train_images"], _idx_bytes(arrays["train_labels"]))
    with pytest.raises(ValueError, match="magic number 0x00000801 but 0x00000803"):
        load_data(data_spec("mnist_idx"), root=tmp_path)
    truncated = _idx_bytes(arrays["train_images"])[:-5]
    _write(tmp_path / MNIST_NAMES["train_images"], truncated)
    with pytest.raises(ValueError, match="truncated or corrupt"):
        load_data(data_spec("mnist_idx"), root=tmp_path)
    _write(tmp_path / MNIST_NAMES["train_images"], _idx_bytes(arrays["test_images"]))
    with pytest.raises(ValueError, match="4 images but 6 labels"):
        load_data(data_spec("mnist_idx"), root=tmp_path)


def test_parse_idx_generic_types():
    array = np.arange(-6, 6, dtype=np.int32).reshape(3, 4)
    out = parse_idx(_idx_bytes(array, type_code=0x0C))
    assert out.shape == (3, 4) and np.array_equal(out, array)
    with pytest.raises(ValueError, match="two zero bytes"):
        parse_idx(b"\x01\x00\x08\x01")
    with pytest.raises(ValueError, match="unknown IDX type code"):
        parse_idx(b"\x00\x00\x07\x01\x00\x00\x00\x00")


# ---------------------------------------------------------------- CIFAR-10


def _cifar_batches(n_per_batch=(2, 3, 1, 2, 2), n_test=3):
    train = [
        (RNG.integers(0, 256, (n, 3072), dtype=np.uint8), RNG.integers(0, 10, n).tolist())
        for n in n_per_batch
    ]
    test = (
        RNG.integers(0, 256, (n_test, 3072), dtype=np.uint8),
        RNG.integers(0, 10, n_test).tolist(),
    )
    return train, test


def _check_cifar(data, train, test):
    assert data.input_shape == (3, 32, 32) and data.num_outputs == 10
    images = np.concatenate([b[0] for b in train]).reshape(-1, 3, 32, 32)
    labels = sum((b[1] for b in train), [])
    assert torch.equal(data.train.x, torch.from_numpy(images.astype(np.float32) / 255))
    assert data.train.y.tolist() == labels and data.train.y.dtype == torch.int64
    assert torch.equal(
        data.test.x, torch.from_numpy(test[0].astype(np.float32) / 255).reshape(-1, 3, 32, 32)
    )
    assert data.test.y.tolist() == test[1]


def _write_cifar_binary(folder, train, test):
    folder.mkdir(parents=True, exist_ok=True)
    names = [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]
    for name, (images, labels) in zip(names, [*train, test], strict=True):
        records = np.concatenate([np.array(labels, dtype=np.uint8)[:, None], images], axis=1)
        (folder / name).write_bytes(records.tobytes())


def test_cifar_binary(tmp_path):
    train, test = _cifar_batches()
    _write_cifar_binary(tmp_path, train, test)
    _check_cifar(load_data(data_spec("cifar10"), root=tmp_path), train, test)
    (tmp_path / "data_batch_3.bin").write_bytes(b"\x00" * 100)
    with pytest.raises(ValueError, match="multiple of the CIFAR-10 record size 3073"):
        load_data(data_spec("cifar10"), root=tmp_path)
    os.remove(tmp_path / "data_batch_4.bin")
    with pytest.raises(FileNotFoundError, match="'data_batch_4.bin'") as info:
        load_data(data_spec("cifar10"), root=tmp_path)
    assert str(tmp_path) in str(info.value)


def test_cifar_python_pickles_in_subfolder(tmp_path):
    train, test = _cifar_batches()
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    for i, (name, (images, labels)) in enumerate(zip(names, [*train, test], strict=True)):
        key = (lambda s: s.encode()) if i % 2 else (lambda s: s)  # bytes or str keys
        batch = {
            key("batch_label"): "x",
            key("data"): images,
            key("labels"): labels,
            key("filenames"): [b"a.png"] * len(labels),
        }
        (folder / name).write_bytes(pickle.dumps(batch, protocol=3 + i % 2))
    data = load_data(data_spec("cifar10", label_noise=0.0), root=tmp_path)
    _check_cifar(data, train, test)


def _py2_str(raw: bytes) -> bytes:
    if len(raw) < 256:
        return b"U" + bytes([len(raw)]) + raw  # SHORT_BINSTRING
    return b"T" + struct.pack("<i", len(raw)) + raw  # BINSTRING


def _py2_int(value: int) -> bytes:
    return b"K" + bytes([value]) if 0 <= value < 256 else b"J" + struct.pack("<i", value)


def _python2_cifar_pickle(images: np.ndarray, labels: list[int]) -> bytes:
    """A protocol-2 pickle laid out like the ones NumPy 1.x on Python 2 wrote for CIFAR-10."""
    out = b"\x80\x02}(" + _py2_str(b"data")
    out += b"cnumpy.core.multiarray\n_reconstruct\ncnumpy\nndarray\n"
    out += _py2_int(0) + b"\x85" + _py2_str(b"b") + b"\x87R"
    out += b"(" + _py2_int(1) + b"(" + b"".join(_py2_int(s) for s in images.shape) + b"t"
    out += b"cnumpy\ndtype\n" + _py2_str(b"u1") + _py2_int(0) + _py2_int(1) + b"\x87R"
    out += b"(" + _py2_int(3) + _py2_str(b"|") + b"NNN" + _py2_int(-1) + _py2_int(-1)
    out += _py2_int(0) + b"tb"
    out += b"\x89" + _py2_str(images.tobytes()) + b"tb"
    out += _py2_str(b"labels") + b"](" + b"".join(_py2_int(v) for v in labels) + b"e"
    return out + b"u."


def test_cifar_python2_style_pickles(tmp_path):
    train, test = _cifar_batches()
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    for name, (images, labels) in zip(names, [*train, test], strict=True):
        (tmp_path / name).write_bytes(_python2_cifar_pickle(images, labels))
    _check_cifar(load_data(data_spec("cifar10"), root=tmp_path), train, test)


class _Exploit:
    def __init__(self, command: str):
        self.command = command

    def __reduce__(self):
        return (os.system, (self.command,))


def test_malicious_pickle_is_refused(tmp_path):
    marker = tmp_path / "pwned"
    payload = pickle.dumps({"data": _Exploit(f"touch {marker}"), "labels": [0]}, protocol=2)
    with pytest.raises(pickle.UnpicklingError, match="refusing to load global .*system"):
        loads_array_pickle(payload)
    train, test = _cifar_batches()
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    for name, (images, labels) in zip(names, [*train, test], strict=True):
        (tmp_path / name).write_bytes(pickle.dumps({"data": images, "labels": labels}, protocol=4))
    (tmp_path / "data_batch_1").write_bytes(payload)
    with pytest.raises(pickle.UnpicklingError, match="refusing"):
        load_data(data_spec("cifar10"), root=tmp_path)
    assert not marker.exists()
    for evil in (pickle.dumps(eval), pickle.dumps(np.load), pickle.dumps(bytes(3), protocol=2)):
        with pytest.raises(pickle.UnpicklingError, match="refusing"):
            loads_array_pickle(evil)
    # protocol 5 arrays go through numpy._core.numeric._frombuffer: refused, not executed
    with pytest.raises(pickle.UnpicklingError, match="_frombuffer"):
        loads_array_pickle(pickle.dumps(np.zeros(3), protocol=5))
    assert np.array_equal(loads_array_pickle(pickle.dumps(np.eye(2), protocol=4)), np.eye(2))


def test_cifar_missing_folder_or_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="'data_batch_1.bin'") as info:
        load_data(data_spec("cifar10"), root=tmp_path)
    assert str(tmp_path) in str(info.value) and "cifar.html" in str(info.value)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_data(data_spec("cifar10"), root=tmp_path / "missing")


# ---------------------------------------------------------------- npz


def test_npz_classification_from_file_or_folder(tmp_path):
    x_train = RNG.normal(size=(12, 3, 2))
    y_train = np.arange(12) % 3
    x_test, y_test = RNG.normal(size=(5, 3, 2)), np.array([0, 1, 2, 2, 1])
    np.savez(tmp_path / "data.npz", x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    by_folder = load_data(data_spec("npz"), root=tmp_path)
    by_file = load_data(data_spec("npz"), root=tmp_path / "data.npz")
    for data in (by_folder, by_file):
        assert data.task == "classification" and data.num_outputs == 3
        assert data.input_shape == (3, 2) and data.train.x.dtype == torch.float32
        assert torch.equal(data.train.x, torch.from_numpy(x_train).float())
        assert torch.equal(data.test.y, torch.from_numpy(y_test))
    assert load_data(data_spec("npz", num_classes=7), root=tmp_path).num_outputs == 7
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 2\)"):
        load_data(data_spec("npz", num_classes=2), root=tmp_path)
    noisy = load_data(data_spec("npz", label_noise=0.5, corruption_seed=4), root=tmp_path)
    assert torch.equal(noisy.test.y, by_file.test.y)


def test_npz_regression(tmp_path):
    path = tmp_path / "reg.npz"
    np.savez(
        path,
        x_train=np.ones((4, 2)),
        y_train=np.arange(4.0),
        x_test=np.zeros((2, 2)),
        y_test=np.array([1.5, 2.5]),
    )
    data = load_data(data_spec("npz", task="regression"), root=path)
    assert data.task == "regression" and data.num_outputs == 1
    assert data.train.y.shape == (4, 1) and data.train.y.dtype == torch.float32
    np.savez(
        tmp_path / "float.npz",
        x_train=np.ones((2, 1)),
        y_train=np.array([0.5, 1.0]),
        x_test=np.ones((1, 1)),
        y_test=np.array([1.0]),
    )
    with pytest.raises(ValueError, match="must be integers"):
        load_data(data_spec("npz"), root=tmp_path / "float.npz")
    with pytest.raises(ValueError, match="1-D class indices"):
        np.savez(
            path,
            x_train=np.ones((2, 1)),
            y_train=np.zeros((2, 2), dtype=int),
            x_test=np.ones((1, 1)),
            y_test=np.zeros(1, dtype=int),
        )
        load_data(data_spec("npz"), root=path)
    whole_floats = tmp_path / "whole.npz"
    np.savez(
        whole_floats,
        x_train=np.ones((2, 1)),
        y_train=np.array([0.0, 2.0]),
        x_test=np.ones((1, 1)),
        y_test=np.array([1.0]),
    )
    assert load_data(data_spec("npz"), root=whole_floats).train.y.tolist() == [0, 2]


def test_npz_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="'data.npz'") as info:
        load_data(data_spec("npz"), root=tmp_path)
    assert str(tmp_path) in str(info.value)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_data(data_spec("npz"), root=tmp_path / "nope.npz")
    with pytest.raises(ValueError, match="pass root="):
        load_data(data_spec("npz"))
    np.savez(tmp_path / "data.npz", x_train=np.ones((2, 1)), y_train=np.zeros(2, dtype=int))
    with pytest.raises(ValueError, match=r"lacks the arrays \['x_test', 'y_test'\]"):
        load_data(data_spec("npz"), root=tmp_path)
    np.savez(
        tmp_path / "data.npz",
        x_train=np.ones((2, 1)),
        y_train=np.zeros(3, dtype=int),
        x_test=np.ones((1, 1)),
        y_test=np.zeros(1, dtype=int),
    )
    with pytest.raises(ValueError, match="matching first dimension"):
        load_data(data_spec("npz"), root=tmp_path)
    objects = np.array([{"a": 1}, None], dtype=object)
    np.savez(
        tmp_path / "data.npz",
        x_train=objects,
        y_train=np.zeros(2, dtype=int),
        x_test=np.ones((1, 1)),
        y_test=np.zeros(1, dtype=int),
    )
    with pytest.raises(ValueError, match="allow_pickle"):
        load_data(data_spec("npz"), root=tmp_path)
