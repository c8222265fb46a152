"""The traced-forward check: custom modules against the dense float64 Hessian diagonal."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from occamlab.data.base import Data, Split
from occamlab.linalg.diagonal import (
    ggn_diagonal,
    hessian_diagonal_is_ggn_diagonal,
    hessian_trace_exact,
)
from occamlab.subject import Subject
from occamlab.testing import dense_ggn, dense_hessian

F64 = torch.float64


def rel(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).norm() / b.norm())


def _subject(make, shape: tuple[int, ...], n: int = 30, seed: int = 0) -> Subject:
    with torch.random.fork_rng():
        torch.manual_seed(seed)  # the modules' own initialization, without touching global state
        model = make()
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n + 5, *shape, generator=g)
    y = torch.randint(0, 3, (n + 5,), generator=g)
    data = Data("rand", Split(x[:n], y[:n]), Split(x[n:], y[n:]), "classification", 3)
    return Subject(model=model, data=data)


class Residual(nn.Module):
    """Conv, BatchNorm, F.relu, a residual sum, max-pooling, dropout, flatten, a scaled read-out."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 2, 3, padding=1)
        self.bn = nn.BatchNorm2d(2)
        self.skip = nn.Conv2d(1, 2, 1)
        self.pool = nn.MaxPool2d(2)
        self.drop = nn.Dropout(0.5)
        self.fc = nn.Linear(8, 4)
        self.out = nn.Linear(4, 3)

    def forward(self, x):
        h = F.relu(self.bn(self.conv(x))) + self.skip(x)
        h = self.drop(torch.flatten(self.pool(h), 1))
        h = F.leaky_relu(self.fc(h), 0.1)
        return self.out(h.view(h.size(0), -1) * 0.5) / 2


class Square(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 5)
        self.out = nn.Linear(5, 3)

    def forward(self, x):
        h = self.fc(x)
        return self.out(h * h)


class Tanh(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 5)
        self.out = nn.Linear(5, 3)

    def forward(self, x):
        return self.out(torch.tanh(self.fc(x)))


class Twice(nn.Module):
    """One layer applied twice: its weights enter the output quadratically."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 4)
        self.out = nn.Linear(4, 3)

    def forward(self, x):
        return self.out(self.fc(F.relu(self.fc(x))))


class OwnWeight(nn.Module):
    """A raw parameter: ``x @ w`` passes; ``relu(x @ w)[:, :4] @ w`` (quadratic in w) does not."""

    def __init__(self, reuse: bool = False):
        super().__init__()
        self.w = nn.Parameter(torch.randn(4, 5))
        self.out = nn.Linear(5, 3)
        self.reuse = reuse

    def forward(self, x):
        h = F.relu(x @ self.w)
        if self.reuse:
            h = h[:, :4] @ self.w
        return self.out(h)


class Branching(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 3)

    def forward(self, x):
        if x.sum() > 0:
            return self.fc(x)
        return -self.fc(x)


@pytest.mark.parametrize(
    ("make", "shape"), [(Residual, (1, 4, 4)), (OwnWeight, (4,))], ids=["residual", "raw"]
)
def test_accepted_custom_modules_have_diag_hessian_equal_diag_ggn(make, shape):
    s = _subject(make, shape)
    ok, reason = hessian_diagonal_is_ggn_diagonal(s.model)
    assert ok, reason
    assert "traced forward" in reason
    h = dense_hessian(s)
    got = ggn_diagonal(s, dtype=F64)
    assert rel(got, h.diagonal()) <= 1e-10
    assert rel(dense_ggn(s), h) > 1e-3  # the off-diagonal residual terms do not vanish
    trace, method = hessian_trace_exact(s, dtype=F64)
    assert method == "ggn_diagonal"
    assert abs(trace - float(h.trace())) <= 1e-10 * abs(float(h.trace()))


@pytest.mark.parametrize(
    ("make", "words"),
    [
        (Square, "mul at mul multiplies two values that depend on the same weights"),
        (Tanh, "tanh at tanh"),
        (Twice, "fc is used 2 times"),
        (lambda: OwnWeight(reuse=True), "w is used 2 times"),
    ],
    ids=["square", "tanh", "layer-twice", "weight-twice"],
)
def test_refused_custom_modules_say_why_and_their_diagonals_differ(make, words):
    s = _subject(make, (4,))
    ok, reason = hessian_diagonal_is_ggn_diagonal(s.model)
    assert not ok and words in reason, reason
    h = dense_hessian(s)
    assert rel(ggn_diagonal(s, dtype=F64), h.diagonal()) > 1e-4
    with pytest.raises(ValueError, match="no exact shortcut"):
        hessian_trace_exact(s)


def test_untraceable_forward_is_refused():
    ok, reason = hessian_diagonal_is_ggn_diagonal(Branching())
    assert not ok and "cannot be traced" in reason


def test_torch_layers_inside_a_custom_module_are_still_checked():
    class Norm(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 4)
            self.norm = nn.LayerNorm(4)

        def forward(self, x):
            return self.norm(self.fc(x))

    ok, reason = hessian_diagonal_is_ggn_diagonal(Norm())
    assert not ok and "LayerNorm" in reason
