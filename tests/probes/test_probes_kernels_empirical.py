import pytest
import torch
from torch import nn

from occamlab.probes.kernels import empirical_ntk, plan_ntk
from occamlab.probes.kernels.wide import wide_mlp

METHODS = ("jacobian", "vector_products", "structured")


def dense_ntk(model: nn.Module, x1: torch.Tensor, x2: torch.Tensor) -> torch.Tensor:
    """Float64 oracle: the full Jacobian by torch.autograd.functional, contracted by hand."""
    model = model.double().eval()
    params = dict(model.named_parameters())
    names = list(params)

    def jac(x):
        def f(*ps):
            return torch.func.functional_call(model, dict(zip(names, ps, strict=True)), (x,))

        parts = torch.autograd.functional.jacobian(f, tuple(params.values()))
        n, k = x.shape[0], parts[0].shape[1]
        return torch.cat([p.reshape(n, k, -1) for p in parts], dim=2)

    j1, j2 = jac(x1.double()), jac(x2.double())
    return torch.einsum("iap,jbp->ijab", j1, j2)


def models():
    g = torch.Generator().manual_seed(0)
    mlp = nn.Sequential(nn.Linear(4, 12), nn.Tanh(), nn.Linear(12, 12), nn.ReLU(), nn.Linear(12, 3))
    conv = nn.Sequential(
        nn.Unflatten(1, (1, 4)),
        nn.Conv1d(1, 3, 3, padding=1),
        nn.ReLU(),
        nn.Conv1d(3, 2, 3, stride=2, dilation=1, padding=1),
        nn.Flatten(1),
        nn.Linear(4, 3),
    )
    conv2 = nn.Sequential(
        nn.Unflatten(1, (1, 2, 2)),
        nn.Conv2d(1, 2, 2, padding=1),
        nn.Tanh(),
        nn.Flatten(1),
        nn.LayerNorm(18),
        nn.Linear(18, 3),
    )
    for m in (mlp, conv, conv2):
        with torch.no_grad():
            for p in m.parameters():
                p.copy_(torch.randn(p.shape, generator=g) * 0.7)
    return {"mlp": mlp, "conv1d": conv, "conv2d+layernorm": conv2}


@pytest.mark.parametrize("name", ["mlp", "conv1d", "conv2d+layernorm"])
@pytest.mark.parametrize("method", METHODS)
def test_every_method_matches_the_dense_oracle(name, method):
    model = models()[name]
    g = torch.Generator().manual_seed(1)
    x1, x2 = torch.randn(5, 4, generator=g), torch.randn(3, 4, generator=g)
    ref = dense_ntk(models()[name], x1, x2)
    ref11 = dense_ntk(models()[name], x1, x1)
    got = empirical_ntk(model, x1, x2, method=method, dtype=torch.float64)
    torch.testing.assert_close(got, ref, rtol=1e-10, atol=1e-12)
    sym = empirical_ntk(model, x1, method=method, dtype=torch.float64, memory_mb=0.05)
    torch.testing.assert_close(sym, ref11, rtol=1e-10, atol=1e-12)
    trace = empirical_ntk(model, x1, x2, method=method, mode="trace", dtype=torch.float64)
    torch.testing.assert_close(trace, ref.diagonal(dim1=2, dim2=3).sum(-1), rtol=1e-10, atol=1e-12)
    diag = empirical_ntk(model, x1, method=method, mode="diagonal", dtype=torch.float64)
    torch.testing.assert_close(diag, torch.stack([ref11[i, i] for i in range(5)]))
    assert next(model.parameters()).dtype == torch.float32  # the module is not cast


def test_float32_is_within_1e6_of_float64_and_the_module_is_untouched():
    model = models()["conv1d"]
    before = {k: v.clone() for k, v in model.state_dict().items()}
    model.train()
    x = torch.randn(40, 4, generator=torch.Generator().manual_seed(2))
    ref = empirical_ntk(model, x, dtype=torch.float64)
    for method in METHODS:
        got = empirical_ntk(model, x, method=method)
        assert got.dtype == torch.float32
        assert float((got.double() - ref).norm() / ref.norm()) < 1e-6
    assert model.training
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_chunking_respects_the_budget_and_gives_the_same_kernel():
    model = wide_mlp(6, 32, 2, 3, generator=torch.Generator().manual_seed(0))
    x = torch.randn(66, 6, generator=torch.Generator().manual_seed(3))
    big = plan_ntk(model, x, method="jacobian", memory_mb=512)
    small = plan_ntk(model, x, method="jacobian", memory_mb=0.3)
    assert small.chunk < big.chunk
    whole = empirical_ntk(model, x, memory_mb=512, dtype=torch.float64)
    for method in METHODS:
        chunked = empirical_ntk(model, x, method=method, memory_mb=0.3, dtype=torch.float64)
        torch.testing.assert_close(chunked, whole)
    with pytest.raises(ValueError, match="raise memory_mb"):
        empirical_ntk(model, x, method="jacobian", memory_mb=1e-4)


def test_cost_model_prefers_structured_for_dense_nets_and_reports_costs():
    model = wide_mlp(40, 256, 2, 10, bias_std=0.1, generator=torch.Generator().manual_seed(0))
    plan = plan_ntk(model, torch.zeros(200, 40))
    assert plan.method == "structured"
    assert set(plan.seconds) == set(METHODS)
    assert plan.seconds["vector_products"] < plan.seconds["jacobian"]
    assert plan.to_dict()["layer_ways"]


def test_bad_input_is_rejected_with_a_message():
    model = models()["mlp"]
    x = torch.randn(3, 4)
    with pytest.raises(ValueError, match="valid methods"):
        empirical_ntk(model, x, method="magic")
    with pytest.raises(ValueError, match="valid modes"):
        empirical_ntk(model, x, mode="half")
    with pytest.raises(ValueError, match="do not pass x2"):
        empirical_ntk(model, x, x, mode="diagonal")
    with pytest.raises(ValueError, match="NaN"):
        empirical_ntk(model, torch.full((2, 4), float("nan")))
    with pytest.raises(ValueError, match="shaped like"):
        empirical_ntk(model, x, torch.randn(2, 5))
