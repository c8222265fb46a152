import copy

import numpy as np
import pytest
import torch
from scipy.sparse.linalg import eigsh

from occamlab.linalg.hessian import HessianOperator, resolve_block
from occamlab.linalg.params import flatten
from occamlab.testing import TINY_KINDS, dense_hessian, least_squares_subject, tiny_subject

F64 = torch.float64


def rel(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).norm() / b.norm())


@pytest.mark.parametrize("kind", TINY_KINDS)
@pytest.mark.parametrize(
    "method, cache",
    [
        ("auto", None),
        ("double_backward", True),
        ("double_backward", False),
        ("forward_over_reverse", None),
    ],
)
def test_hessian_matches_dense_oracle(kind, method, cache):
    s = tiny_subject(kind)
    op = HessianOperator(s, dtype=F64, method=method, cache_graph=cache)
    assert op.shape == (s.num_parameters, s.num_parameters)
    assert op.cache_graph == (method != "forward_over_reverse" and cache is not False)
    want = dense_hessian(s)
    got = op.dense()
    assert rel(got, want) <= 1e-10
    assert rel(got, got.T) <= 1e-12


def test_auto_is_double_backward_with_cached_graph_for_one_batch():
    s = tiny_subject("relu_mlp")
    op = HessianOperator(s)
    assert (op.method, op.cache_graph, op.num_batches) == ("double_backward", True, 1)
    streamed = HessianOperator(s, batch_size=10)
    assert (streamed.method, streamed.cache_graph) == ("double_backward", False)
    # limit <= batch size also means a single batch
    assert HessianOperator(s, batch_size=10, limit=10).cache_graph


def test_least_squares_hessian_is_two_xtx_over_n():
    s = least_squares_subject(n=40, d=6, seed=1)
    x = s.data.train.x.to(F64)
    want = 2 * x.T @ x / 40
    for method in ("double_backward", "forward_over_reverse"):
        got = HessianOperator(s, dtype=F64, method=method).dense()
        assert rel(got, want) <= 1e-13
    assert rel(dense_hessian(s), want) <= 1e-13


@pytest.mark.parametrize("method", ["double_backward", "forward_over_reverse"])
def test_streamed_ragged_batches_equal_full_batch(method):
    s = tiny_subject("tanh_mlp", n=53)
    full = HessianOperator(s, dtype=F64, method=method, batch_size=53).dense()
    streamed_op = HessianOperator(s, dtype=F64, method=method, batch_size=7)
    assert streamed_op.num_batches == 8  # 7 * 7 + 4
    streamed = streamed_op.dense()
    assert rel(streamed, full) <= 1e-12
    assert rel(streamed, dense_hessian(s)) <= 1e-10
    # matvec (one vector) takes the same route per batch
    v = torch.randn(streamed_op.n, dtype=F64, generator=torch.Generator().manual_seed(0))
    assert rel(streamed_op @ v, full @ v) <= 1e-12


def test_limit_uses_the_first_examples():
    s = tiny_subject("relu_mlp", n=40)
    got = HessianOperator(s, dtype=F64, limit=25, batch_size=10).dense()
    assert rel(got, dense_hessian(s, limit=25)) <= 1e-10
    test_split = HessianOperator(s, dtype=F64, split="test").dense()
    assert rel(test_split, dense_hessian(s, split="test")) <= 1e-10


def test_all_methods_agree():
    s = tiny_subject("bn_cnn")
    mats = [
        HessianOperator(s, dtype=F64, method=m, cache_graph=c, batch_size=b).dense()
        for m, c, b in [
            ("auto", None, None),
            ("double_backward", False, 11),
            ("forward_over_reverse", False, 11),
            ("forward_over_reverse", False, None),
        ]
    ]
    for m in mats[1:]:
        assert rel(m, mats[0]) <= 1e-12


@pytest.mark.parametrize("method", ["double_backward", "forward_over_reverse"])
def test_block_is_the_sub_block_of_the_dense_hessian(method):
    s = tiny_subject("bn_cnn")
    names = list(s.params())
    sizes = [p.numel() for p in s.params().values()]
    offsets = np.cumsum([0, *sizes])
    full = dense_hessian(s)

    def index(chosen):
        return torch.cat(
            [torch.arange(offsets[i], offsets[i + 1]) for i, n in enumerate(names) if n in chosen]
        )

    # a list of exact names (given out of order: the operator keeps the subject's order)
    chosen = ["head.bias", "features.0.weight"]
    op = HessianOperator(s, dtype=F64, block=chosen, method=method)
    assert op.param_names == ["features.0.weight", "head.bias"]
    idx = index(chosen)
    assert op.n == len(idx)
    assert rel(op.dense(), full[idx][:, idx]) <= 1e-10
    # a module prefix
    op = HessianOperator(s, dtype=F64, block="features.1", method=method)
    assert op.param_names == ["features.1.weight", "features.1.bias"]
    idx = index(op.param_names)
    assert rel(op.dense(), full[idx][:, idx]) <= 1e-10
    assert rel(op.dense(), dense_hessian(s, block="features.1")) <= 1e-10
    # the block's gradient is the matching slice of the full gradient
    g_full = HessianOperator(s, dtype=F64).gradient()
    assert rel(op.gradient(), g_full[idx]) <= 1e-12


def test_resolve_block_errors():
    names = ["a.weight", "a.bias", "ab.weight"]
    assert resolve_block(names, "a") == ["a.weight", "a.bias"]
    assert resolve_block(names, None) == names
    with pytest.raises(ValueError, match="matches no trainable parameter"):
        resolve_block(names, "b")
    with pytest.raises(ValueError, match="empty"):
        resolve_block(names, [])


def test_float32_agrees_with_float64():
    s = tiny_subject("bn_cnn")
    h64 = HessianOperator(s, dtype=F64).dense()
    for method in ("double_backward", "forward_over_reverse"):
        op = HessianOperator(s, method=method)
        assert op.dtype == torch.float32
        h32 = op.dense()
        assert h32.dtype == torch.float32
        assert rel(h32.to(F64), h64) <= 1e-5


def test_module_is_untouched():
    s = tiny_subject("bn_cnn")
    model = s.model
    model.train()
    model.head.eval()  # a mixed state must be restored exactly
    modes = {n: m.training for n, m in model.named_modules()}
    state = copy.deepcopy(model.state_dict())
    for method in ("double_backward", "forward_over_reverse"):
        op = HessianOperator(s, dtype=F64, method=method, batch_size=13)
        op.dense()
        op.gradient()
        op.loss()
    HessianOperator(s).dense()
    assert {n: m.training for n, m in model.named_modules()} == modes
    for k, v in model.state_dict().items():
        assert v.dtype == state[k].dtype
        assert torch.equal(v, state[k]), k
    assert all(p.grad is None for p in model.parameters())


def test_eval_mode_is_used_and_reported():
    s = tiny_subject("bn_cnn")
    op = HessianOperator(s, dtype=F64)
    assert op.eval_mode is True
    assert op.stochastic_layers == ["features.1"]
    info = op.describe()
    assert info["eval_mode"] is True and info["stochastic_layers"] == ["features.1"]
    assert info["method"] == "double_backward" and info["cache_graph"] is True
    # train-mode BatchNorm would give a different function; the operator matches eval mode
    assert abs(op.loss() - s.evaluate().loss) <= 1e-6


def test_snapshot_of_params_and_explicit_params():
    s = tiny_subject("tanh_mlp")
    op = HessianOperator(s, dtype=F64)
    streamed = HessianOperator(s, dtype=F64, batch_size=10, method="forward_over_reverse")
    before = dense_hessian(s)
    theta = {k: v.clone() for k, v in s.params().items()}
    shifted = {k: v + 0.3 for k, v in theta.items()}
    with torch.no_grad():
        for k, p in s.model.named_parameters():
            p.copy_(shifted[k])
    # later changes to the module do not reach operators built before them
    assert rel(op.dense(), before) <= 1e-10
    assert rel(streamed.dense(), before) <= 1e-10
    # params= evaluates elsewhere: a dict or a flat vector
    at_theta = HessianOperator(s, dtype=F64, params=theta).dense()
    assert rel(at_theta, before) <= 1e-10
    flat = HessianOperator(s, dtype=F64, params=flatten(theta)).dense()
    assert rel(flat, before) <= 1e-10
    assert rel(HessianOperator(s, dtype=F64).dense(), dense_hessian(s)) <= 1e-10
    assert rel(HessianOperator(s, dtype=F64).params_vector(), flatten(shifted).double()) == 0


@pytest.mark.parametrize("batch_size", [None, 9])
def test_gradient_and_loss(batch_size):
    s = tiny_subject("bn_cnn")
    op = HessianOperator(s, dtype=F64, batch_size=batch_size)
    model = copy.deepcopy(s.model).double().eval()
    loss = torch.nn.functional.cross_entropy(model(s.data.train.x.double()), s.data.train.y)
    grads = torch.autograd.grad(loss, list(model.parameters()))
    want = torch.cat([g.reshape(-1) for g in grads])
    assert rel(op.gradient(), want) <= 1e-12
    assert abs(op.loss() - float(loss.detach())) <= 1e-12


def test_matmat_matches_matvec_and_counts_products():
    s = tiny_subject("relu_mlp")
    g = torch.Generator().manual_seed(0)
    for kwargs in ({}, {"batch_size": 10}, {"method": "forward_over_reverse", "batch_size": 10}):
        op = HessianOperator(s, dtype=F64, **kwargs)
        m = torch.randn(op.n, 11, dtype=F64, generator=g)
        cols = torch.stack([op @ m[:, j] for j in range(11)], dim=1)
        assert op.num_matvecs == 11
        both = op @ m
        assert op.num_matvecs == 22
        assert rel(both, cols) <= 1e-12


def test_to_scipy_eigsh_finds_the_top_eigenvalues():
    s = tiny_subject("tanh_mlp")
    op = HessianOperator(s, dtype=F64)
    want = torch.linalg.eigvalsh(dense_hessian(s)).numpy()
    vals = eigsh(op.to_scipy(), k=3, which="LA", return_eigenvectors=False, tol=1e-12)
    np.testing.assert_allclose(np.sort(vals), want[-3:], rtol=1e-8, atol=1e-12)
    # the Hessian of a tanh network is indefinite
    low = eigsh(op.to_scipy(), k=1, which="SA", return_eigenvectors=False, tol=1e-12)
    np.testing.assert_allclose(low, want[:1], rtol=1e-8, atol=1e-12)
    assert want[0] < 0


def test_clear_cache_rebuilds():
    s = tiny_subject("relu_mlp")
    op = HessianOperator(s, dtype=F64)
    first = op.dense()
    op.clear_cache()
    assert torch.equal(op.dense(), first)


def test_invalid_arguments():
    s = tiny_subject("relu_mlp", n=20)
    with pytest.raises(ValueError, match="unknown method"):
        HessianOperator(s, method="newton")
    with pytest.raises(ValueError, match="one batch"):
        HessianOperator(s, batch_size=7, cache_graph=True)
    with pytest.raises(ValueError, match="double-backward"):
        HessianOperator(s, method="forward_over_reverse", cache_graph=True)
    with pytest.raises(ValueError, match="matches no trainable"):
        HessianOperator(s, block="nope")
    with pytest.raises(ValueError, match="exactly the subject's trainable"):
        HessianOperator(s, params={"x": torch.zeros(1)})
    with pytest.raises(ValueError, match="floating point"):
        HessianOperator(s, dtype=torch.int64)
    with pytest.raises(ValueError, match="unknown split"):
        HessianOperator(s, split="val")
    with pytest.raises(ValueError, match="expects shape"):
        HessianOperator(s) @ torch.zeros(3)
