import os

# MKL picks code paths by memory alignment unless conditional numerical reproducibility is on,
# so the same computation can differ in the last bit from run to run; the tests compare
# results bitwise. Must be set before torch loads MKL.
os.environ.setdefault("MKL_CBWR", "AUTO")

import pytest
import torch

from occamlab.data.base import Data, Split


@pytest.fixture(autouse=True)
def _one_thread():
    """Small tensors run fastest (and most reproducibly) on one thread; restore afterwards."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def same_up_to_rounding(a, b, rel: float = 1e-12) -> bool:
    """Equal records, floats compared to ``rel``: MKL may round the last bit differently between
    two runs of the same seeded computation even with conditional reproducibility on."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same_up_to_rounding(a[k], b[k], rel) for k in a)
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(
            same_up_to_rounding(x, y, rel) for x, y in zip(a, b, strict=True)
        )
    if isinstance(a, float) and isinstance(b, float):
        return a == b or abs(a - b) <= rel * max(abs(a), abs(b))
    return type(a) is type(b) and a == b


def toy_data(n_train: int = 64, n_test: int = 32, dim: int = 5, classes: int = 3, seed: int = 0):
    """A small Gaussian classification problem with a known generator."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n_train + n_test, dim, generator=g)
    w = torch.randn(dim, classes, generator=g)
    y = (x @ w).argmax(dim=1)
    return Data(
        name="toy",
        train=Split(x[:n_train], y[:n_train]),
        test=Split(x[n_train:], y[n_train:]),
        task="classification",
        num_outputs=classes,
    )


def toy_model(dim: int = 5, classes: int = 3, hidden: int = 8, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    model = torch.nn.Sequential(
        torch.nn.Linear(dim, hidden), torch.nn.Tanh(), torch.nn.Linear(hidden, classes)
    )
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.5)
    return model


# The subject flags of the CLI tests: a width-16 MLP on a small Gaussian mixture.
SMALL = [
    "--data",
    "gaussian_mixture",
    "--data-opt",
    "num_train=200",
    "--data-opt",
    "num_test=100",
    "--model-opt",
    "width=16",
]


def run(capsys, *args):
    """``occam ARGS`` in this process: (exit code, stdout, stderr)."""
    from occamlab.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main(list(args))
    captured = capsys.readouterr()
    return exit_info.value.code, captured.out, captured.err
