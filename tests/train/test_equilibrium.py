import pytest
import torch

from occamlab.data.base import Data, Split
from occamlab.subject import Subject
from occamlab.train import TrainSpec, fit
from occamlab.train.equilibrium import (
    EnergyNetwork,
    cost,
    ep_gradient,
    ep_objective,
    equilibrium_loss,
    exact_equilibrium,
    fixed_point_residual,
    implicit_gradient,
)


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


def net64(sizes=(3, 4, 2), seed=0, scale=0.5):
    net = EnergyNetwork(list(sizes), generator=gen(seed), dtype=torch.float64)
    with torch.no_grad():
        for layer in net.layers:
            layer.weight.mul_(scale)
            layer.bias.uniform_(0.2, 0.4, generator=gen(seed + 1))
    return net


def batch(n=5, d=3, seed=0):
    x = torch.rand(n, d, generator=gen(seed), dtype=torch.float64)
    y = torch.randint(0, 2, (n,), generator=gen(seed + 1))
    return x, y


def test_energy_by_hand():
    net = EnergyNetwork([1, 1, 1], dtype=torch.float64)
    with torch.no_grad():
        net.layers[0].weight.fill_(2.0)
        net.layers[0].bias.fill_(0.5)
        net.layers[1].weight.fill_(-1.0)
        net.layers[1].bias.fill_(0.25)
    x = torch.tensor([[3.0]], dtype=torch.float64)
    h, o = torch.tensor([[0.5]], dtype=torch.float64), torch.tensor([[0.2]], dtype=torch.float64)
    # ½h² + ½o² − (2·3 + 0.5)·h − (−1·h + 0.25)·o
    expected = 0.125 + 0.02 - 6.5 * 0.5 - (-0.5 + 0.25) * 0.2
    assert float(net.energy(x, [h, o]).detach()) == pytest.approx(expected, abs=1e-15)
    assert float(cost(o, torch.tensor([0]))[0]) == pytest.approx(0.5 * 0.8**2, abs=1e-15)
    with pytest.raises(ValueError, match="labels"):
        cost(o, torch.tensor([1]))


def test_a_relaxation_step_is_the_projected_gradient_of_the_total_energy():
    net = net64((3, 5, 4, 2), scale=1.0)
    x, y = batch()
    states = [torch.rand(5, w, generator=gen(w), dtype=torch.float64) for w in (5, 4, 2)]
    target = torch.nn.functional.one_hot(y, 2).double()
    beta = 0.7
    s = [t.clone().requires_grad_(True) for t in states]
    total = net.energy(x, s).sum() + beta * cost(s[-1], y).sum()
    grads = torch.autograd.grad(total, s)
    expected = [(t - net.step_size * g).clamp(0, 1) for t, g in zip(states, grads, strict=True)]
    with torch.no_grad():
        got = net.relax(x, states, steps=1, target=target, beta=beta)
    for a, b in zip(got, expected, strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-14)


def test_implicit_gradient_equals_backprop_through_a_converged_relaxation():
    net = net64((3, 6, 2), scale=1.0)
    x, y = batch()
    with torch.no_grad():
        free = net.relax(x, steps=2000)
        again = net.relax(x, free, steps=1)
    assert max(float((a - b).abs().max()) for a, b in zip(free, again, strict=True)) < 1e-14
    assert any(((t == 0) | (t == 1)).any() for t in free)  # some units sit at a bound
    loss = equilibrium_loss(net, x, y, steps=2000)
    bptt = torch.cat([g.reshape(-1) for g in torch.autograd.grad(loss, list(net.parameters()))])
    implicit = implicit_gradient(net, x, y, free)
    assert float(implicit.norm()) > 0.1
    torch.testing.assert_close(implicit, bptt, rtol=0, atol=1e-10)


def test_ep_estimate_converges_to_the_gradient_one_sided_linearly_symmetric_quadratically():
    net = net64((3, 6, 2), scale=1.0)
    x, y = batch()
    with torch.no_grad():
        free = net.relax(x, steps=2000)
    true = implicit_gradient(net, x, y, free)

    def error(beta, symmetric):
        g = ep_gradient(net, x, y, beta=beta, symmetric=symmetric, free=free, nudged_steps=2000)
        return float((g - true).norm() / true.norm())

    one = [error(b, False) for b in (1e-3, 1e-4)]
    assert one[1] < 1e-3
    assert one[0] / one[1] == pytest.approx(10, rel=0.05)  # O(β)
    assert error(1e-3, True) < 1e-6 * 1e3 * one[0]  # O(β²): far below the one-sided bias
    # a large nudge is a poor estimate
    assert error(1.0, False) > 10 * one[0]


def test_ep_training_through_fit_lowers_the_equilibrium_loss():
    x = torch.rand(60, 3, generator=gen(3))
    y = (x[:, 0] > x[:, 1]).long()
    data = Data(
        name="toy", train=Split(x, y), test=Split(x, y), task="classification", num_outputs=2
    )
    net = EnergyNetwork([3, 8, 2], generator=gen(), free_steps=30, nudged_steps=8)
    subject = Subject(net, data, loss="mse")
    before = float(equilibrium_loss(net, x, y, steps=30).detach())
    recipe = TrainSpec(optimizer="sgd", lr=0.2, momentum=0.0, batch_size=10, epochs=20)
    result = fit(subject, recipe, objective=ep_objective(beta=0.5))
    after = float(equilibrium_loss(net, x, y, steps=30).detach())
    assert after < 0.8 * before
    assert result.final["train_accuracy"] > 0.8


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="at least one hidden"):
        EnergyNetwork([3, 2])
    with pytest.raises(ValueError, match="step_size"):
        EnergyNetwork([3, 4, 2], step_size=1.5)
    with pytest.raises(ValueError, match="beta"):
        ep_objective(beta=0.0)
    x, y = batch()
    with pytest.raises(ValueError, match="target"):
        net64().relax(x, steps=1, beta=0.5)
    objective = ep_objective(beta=0.1)
    subject = Subject(
        torch.nn.Linear(3, 2).double(),
        Data(name="t", train=Split(x, y), test=Split(x, y), task="classification", num_outputs=2),
    )
    with pytest.raises(TypeError, match="EnergyNetwork"):
        objective(subject, x, y)


def test_state_hessian_is_the_autograd_hessian_of_the_energy():
    net = net64((3, 5, 4, 2), scale=1.0)
    x, _ = batch(n=1)
    widths = net.sizes[1:]

    def flat_energy(flat):
        return net.energy(x, [t.unsqueeze(0) for t in flat.split(widths)]).sum()

    point = torch.rand(sum(widths), generator=gen(4), dtype=torch.float64)
    expected = torch.autograd.functional.hessian(flat_energy, point)
    torch.testing.assert_close(net.state_hessian(), expected, rtol=0, atol=1e-14)


@pytest.mark.parametrize("beta", [0.0, 0.3, -0.3])
def test_exact_equilibrium_is_the_limit_of_the_relaxation(beta):
    net = net64((3, 6, 2), scale=1.0)
    x, y = batch()
    target = torch.nn.functional.one_hot(y, 2).double()
    with torch.no_grad():
        rough = net.relax(x, steps=30, target=target, beta=beta)
        exact = exact_equilibrium(net, x, rough, target=target, beta=beta)
        long = net.relax(x, rough, steps=3000, target=target, beta=beta)
        assert fixed_point_residual(net, x, rough, target=target, beta=beta) > 1e-6
        assert fixed_point_residual(net, x, exact, target=target, beta=beta) < 1e-14
    for a, b in zip(exact, long, strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-12)
