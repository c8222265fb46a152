import copy

import numpy as np
import pytest
import torch
from scipy.sparse.linalg import eigsh

from occamlab.linalg.fisher import EmpiricalFisherOperator
from occamlab.linalg.ggn import GGNOperator
from occamlab.linalg.hessian import HessianOperator
from occamlab.testing import (
    TINY_KINDS,
    dense_fisher,
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
@pytest.mark.parametrize("method", ["auto", "jvp", "double_vjp"])
@pytest.mark.parametrize("batch_size", [None, 7])
def test_ggn_matches_dense_oracle(kind, method, batch_size):
    s = tiny_subject(kind)
    op = GGNOperator(s, dtype=F64, method=method, batch_size=batch_size)
    assert op.cache_graph == (batch_size is None and method != "jvp")
    want = dense_ggn(s)
    assert rel(op.dense(), want) <= 1e-10
    v = torch.randn(op.n, dtype=F64, generator=torch.Generator().manual_seed(1))
    assert rel(op @ v, want @ v) <= 1e-10


@pytest.mark.parametrize("kind", ["tanh_mlp", "bn_cnn"])
def test_ggn_with_mse_loss(kind):
    s = tiny_subject(kind, loss="mse")
    want = dense_ggn(s)
    for method in ("jvp", "double_vjp"):
        assert rel(GGNOperator(s, dtype=F64, method=method, batch_size=9).dense(), want) <= 1e-10


def test_output_hessians_are_the_loss_hessians():
    g = torch.Generator().manual_seed(0)
    out = torch.randn(4, 3, dtype=F64, generator=g)
    y = torch.tensor([0, 2, 1, 1])
    from occamlab.subject import loss_value

    for loss in ("cross_entropy", "mse"):
        want = torch.stack(
            [
                torch.func.hessian(lambda o, i=i, f=loss: loss_value(o[None], y[i : i + 1], f))(
                    out[i]
                )
                for i in range(4)
            ]
        )
        assert rel(output_hessians(out, loss), want) <= 1e-12


def test_ggn_is_psd_where_the_hessian_is_not():
    s = tiny_subject("tanh_mlp")
    ggn = GGNOperator(s, dtype=F64).dense()
    evals = torch.linalg.eigvalsh(ggn)
    assert evals[0] >= -1e-12 * evals[-1]
    assert torch.linalg.eigvalsh(dense_hessian(s))[0] < -1e-6
    # the difference H - G is the residual (second-derivative) term, nonzero for tanh
    assert rel(HessianOperator(s, dtype=F64).dense(), ggn) > 1e-3


def test_ggn_equals_hessian_for_least_squares():
    s = least_squares_subject(n=30, d=5, seed=2)
    x = s.data.train.x.to(F64)
    want = 2 * x.T @ x / 30
    for method in ("jvp", "double_vjp"):
        assert rel(GGNOperator(s, dtype=F64, method=method).dense(), want) <= 1e-13
    assert rel(dense_ggn(s), want) <= 1e-13


def test_ggn_block_and_ragged_stream():
    s = tiny_subject("bn_cnn", n=53)
    full = GGNOperator(s, dtype=F64, batch_size=53).dense()
    streamed = GGNOperator(s, dtype=F64, batch_size=7).dense()
    assert rel(streamed, full) <= 1e-12
    op = GGNOperator(s, dtype=F64, block=["features.0", "head.weight"], batch_size=7)
    assert op.param_names == ["features.0.weight", "head.weight"]
    want = dense_ggn(s, block=["features.0", "head.weight"])
    assert rel(op.dense(), want) <= 1e-10


def test_ggn_float32_and_module_untouched():
    s = tiny_subject("bn_cnn")
    state = copy.deepcopy(s.model.state_dict())
    g64 = GGNOperator(s, dtype=F64).dense()
    for method in ("jvp", "double_vjp"):
        g32 = GGNOperator(s, method=method, batch_size=10).dense()
        assert g32.dtype == torch.float32
        assert rel(g32.to(F64), g64) <= 1e-5
    assert s.model.training
    for k, v in s.model.state_dict().items():
        assert torch.equal(v, state[k])


def test_ggn_eigsh_via_scipy():
    s = tiny_subject("relu_mlp")
    op = GGNOperator(s, dtype=F64)
    want = torch.linalg.eigvalsh(dense_ggn(s)).numpy()
    vals = eigsh(op.to_scipy(), k=2, which="LA", return_eigenvectors=False, tol=1e-12)
    np.testing.assert_allclose(np.sort(vals), want[-2:], rtol=1e-8)
    assert op.describe()["operator"] == "ggn"


@pytest.mark.parametrize("kind", TINY_KINDS)
@pytest.mark.parametrize("method", ["auto", "jvp", "double_vjp", "per_example"])
def test_empirical_fisher_matches_dense_oracle(kind, method):
    s = tiny_subject(kind, n=53)
    want = dense_fisher(s)
    for batch_size in (None, 7):
        op = EmpiricalFisherOperator(s, dtype=F64, method=method, batch_size=batch_size)
        assert rel(op.dense(), want) <= 1e-10


def test_empirical_fisher_mse_psd_and_rank():
    s = tiny_subject("tanh_mlp", n=20, loss="mse")
    op = EmpiricalFisherOperator(s, dtype=F64)
    fisher = op.dense()
    assert rel(fisher, dense_fisher(s)) <= 1e-10
    assert rel(EmpiricalFisherOperator(s, dtype=F64, method="per_example").dense(), fisher) < 1e-10
    evals = torch.linalg.eigvalsh(fisher)
    assert evals[0] >= -1e-12 * evals[-1]
    # a sum of 20 rank-one terms
    assert int((evals > 1e-10 * evals[-1]).sum()) <= 20


def test_per_example_gradients_and_mean_gradient():
    s = tiny_subject("bn_cnn", n=23)
    op = EmpiricalFisherOperator(s, dtype=F64, batch_size=10, method="per_example")
    rows = torch.cat(list(op.per_example_gradients(chunk=4)))
    assert rows.shape == (23, op.n)
    assert rel(rows.mean(0), op.gradient()) <= 1e-12
    assert rel(rows.T @ rows / 23, dense_fisher(s)) <= 1e-10


def test_ggn_and_fisher_argument_errors():
    s = tiny_subject("relu_mlp", n=20)
    with pytest.raises(ValueError, match="unknown method"):
        GGNOperator(s, method="per_example")
    with pytest.raises(ValueError, match="one batch"):
        EmpiricalFisherOperator(s, batch_size=7, cache_graph=True)
    with pytest.raises(ValueError, match="double_vjp"):
        GGNOperator(s, method="jvp", cache_graph=True)
