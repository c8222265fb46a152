import copy

import pytest
import torch
from torch import nn

from occamlab.data.base import Data, Split
from occamlab.linalg import diagonal
from occamlab.linalg.diagonal import (
    ggn_diagonal,
    hessian_diagonal_is_ggn_diagonal,
    hessian_trace_exact,
    output_hessian_factor,
)
from occamlab.models import build_model, model_spec
from occamlab.subject import Subject
from occamlab.testing import (
    TINY_KINDS,
    dense_ggn,
    dense_hessian,
    least_squares_subject,
    output_hessians,
    tiny_subject,
)

F64 = torch.float64


def rel(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).norm() / b.norm())


@pytest.mark.parametrize("kind", TINY_KINDS)
@pytest.mark.parametrize("loss", ["cross_entropy", "mse"])
def test_ggn_diagonal_equals_dense_ggn_diagonal(kind, loss):
    s = tiny_subject(kind, n=53, loss=loss)
    want = dense_ggn(s).diagonal()
    for batch_size in (None, 7):
        got = ggn_diagonal(s, dtype=F64, batch_size=batch_size)
        assert got.shape == (s.num_parameters,)
        assert rel(got, want) <= 1e-10


def test_ggn_diagonal_float32_and_limit():
    s = tiny_subject("relu_mlp", n=40)
    want = dense_ggn(s, limit=30).diagonal()
    got = ggn_diagonal(s, limit=30, batch_size=8)
    assert got.dtype == torch.float32
    assert rel(got.to(F64), want) <= 1e-5


def test_output_hessian_factor_squares_to_the_output_hessian():
    out = torch.randn(5, 4, dtype=F64, generator=torch.Generator().manual_seed(0))
    for loss in ("cross_entropy", "mse"):
        s = output_hessian_factor(out, loss)
        assert rel(s @ s.transpose(1, 2), output_hessians(out, loss)) <= 1e-14


def test_least_squares_diagonal():
    s = least_squares_subject(n=25, d=4, seed=3)
    x = s.data.train.x.to(F64)
    assert rel(ggn_diagonal(s, dtype=F64), 2 * (x**2).mean(0)) <= 1e-13


@pytest.mark.parametrize("kind", ["relu_mlp", "bn_cnn"])
def test_piecewise_linear_networks_have_diag_hessian_equal_diag_ggn(kind):
    s = tiny_subject(kind)
    ok, reason = hessian_diagonal_is_ggn_diagonal(s.model)
    assert ok, reason
    h = dense_hessian(s)
    assert rel(ggn_diagonal(s, dtype=F64), h.diagonal()) <= 1e-10
    # ... while the full matrices differ (off-diagonal residual terms)
    assert rel(dense_ggn(s), h) > 1e-3
    trace, method = hessian_trace_exact(s, dtype=F64)
    assert method == "ggn_diagonal"
    assert abs(trace - float(h.trace())) <= 1e-10 * abs(float(h.trace()))


def test_tanh_network_diag_hessian_differs_and_check_says_so():
    s = tiny_subject("tanh_mlp")
    ok, reason = hessian_diagonal_is_ggn_diagonal(s.model)
    assert not ok and "Tanh" in reason
    h = dense_hessian(s)
    assert rel(ggn_diagonal(s, dtype=F64), h.diagonal()) > 1e-3
    with pytest.raises(ValueError, match="Tanh"):
        hessian_trace_exact(s)
    trace, method = hessian_trace_exact(s, dtype=F64, fallback=True)
    assert method == "hessian_columns"
    assert abs(trace - float(h.trace())) <= 1e-10 * abs(float(h.trace()))


def test_check_rejects_smooth_tied_custom_and_train_mode_models():
    gelu = build_model(
        model_spec("mlp", activation="gelu"), input_shape=(5,), num_outputs=3, seed=0
    )
    ok, reason = hessian_diagonal_is_ggn_diagonal(gelu)
    assert not ok and "GELU" in reason

    bn = tiny_subject("bn_cnn").model.train()
    assert hessian_diagonal_is_ggn_diagonal(bn)[0]  # probes evaluate in eval mode
    ok, reason = hessian_diagonal_is_ggn_diagonal(bn, eval_mode=False)
    assert not ok and "train mode" in reason

    ok, reason = hessian_diagonal_is_ggn_diagonal(nn.Sequential(nn.Linear(3, 3), nn.LayerNorm(3)))
    assert not ok and "LayerNorm" in reason

    tied = nn.Sequential(nn.Linear(3, 3), nn.ReLU(), nn.Linear(3, 3))
    tied[2].weight = tied[0].weight
    ok, reason = hessian_diagonal_is_ggn_diagonal(tied)
    assert not ok and "tied" in reason

    layer = nn.Linear(3, 3)
    ok, reason = hessian_diagonal_is_ggn_diagonal(nn.Sequential(layer, nn.ReLU(), layer))
    assert not ok and "reused" in reason

    class Custom(nn.Module):
        def __init__(self):
            super().__init__()
            self.inner = nn.Linear(3, 3)

        def forward(self, x):
            return torch.sin(self.inner(x))

    ok, reason = hessian_diagonal_is_ggn_diagonal(Custom())
    assert not ok and "sin at sin" in reason


def test_resnet_diag_hessian_equals_diag_ggn():
    spec = model_spec("resnet", width=2, stages=2)
    resnet = build_model(spec, input_shape=(8,), num_outputs=3, seed=0)
    ok, reason = hessian_diagonal_is_ggn_diagonal(resnet)
    assert ok, reason
    s = _subject(resnet, (8,), n=20)
    got = ggn_diagonal(s, dtype=F64)
    assert rel(got, dense_ggn(s).diagonal()) <= 1e-10
    assert rel(got, dense_hessian(s).diagonal()) <= 1e-10


def _subject(model: nn.Module, shape: tuple[int, ...], n: int = 30, seed: int = 0) -> Subject:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n + 5, *shape, generator=g)
    y = torch.randint(0, 3, (n + 5,), generator=g)
    data = Data("rand", Split(x[:n], y[:n]), Split(x[n:], y[n:]), "classification", 3)
    return Subject(model=model, data=data)


class Tokens(nn.Module):
    """A Linear layer applied to (batch, tokens, features), then a linear read-out."""

    def __init__(self):
        super().__init__()
        self.mix = nn.Linear(4, 5)
        self.act = nn.ReLU()
        self.out = nn.Linear(15, 3)

    def forward(self, x):
        return self.out(self.act(self.mix(x)).flatten(1))


def test_hook_path_edge_cases_match_dense():
    torch.manual_seed(0)
    reused = nn.Linear(4, 4)
    models = [
        (nn.Sequential(nn.Linear(4, 6), nn.ReLU(inplace=True), nn.Linear(6, 3)), (4,)),
        (nn.Sequential(reused, nn.Tanh(), reused, nn.Linear(4, 3)), (4,)),
        (Tokens(), (3, 4)),
    ]
    for model, shape in models:
        s = _subject(model, shape)
        state = copy.deepcopy(model.state_dict())
        got = ggn_diagonal(s, dtype=F64, batch_size=8)
        assert rel(got, dense_ggn(s).diagonal()) <= 1e-10
        assert not model._forward_hooks and all(not m._forward_hooks for m in model.modules())
        for k, v in model.state_dict().items():
            assert torch.equal(v, state[k])


def test_generic_path_in_chunks(monkeypatch):
    s = tiny_subject("bn_cnn", n=21)
    want = ggn_diagonal(s, dtype=F64)
    monkeypatch.setattr(diagonal, "JACOBIAN_BUDGET", 1)  # one example per chunk
    monkeypatch.setattr(diagonal, "_linear_modules", lambda model, names: {})  # no hooks at all
    got = ggn_diagonal(s, dtype=F64)
    assert rel(got, want) <= 1e-12
    assert rel(got, dense_ggn(s).diagonal()) <= 1e-10
