"""The deep-equilibrium layer: well-posedness, its solvers, IFT gradients and Hessian products
against unrolling the solver to convergence (float64), and the refusals."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch.func import functional_call, vmap

from occamlab.models import DEQSpec, build_model, count_parameters, model_spec
from occamlab.models.implicit import (
    JVP_REFUSAL,
    VMAP_REFUSAL,
    anderson,
    infinity_norm,
    picard,
    well_posed,
    width_for_parameters,
)
from occamlab.recipes import make_subject
from occamlab.train import Callback, TrainSpec, fit


def tiny(activation="tanh", solver="picard", *, width=6, inputs=5, seed=0, init_contraction=0.9):
    spec = model_spec(
        "deq",
        width=width,
        activation=activation,
        solver=solver,
        tol=1e-13,
        max_iter=5000,
        init_contraction=init_contraction,
    )
    return spec, build_model(spec, input_shape=(inputs,), num_outputs=3, seed=seed).double()


def unrolled_loss(net, params, x, y, *, steps):
    """The loss with the fixed point replaced by ``steps`` plain Picard steps from z = 0."""
    layer = net.features
    phi = torch.relu if layer.activation == "relu" else torch.tanh
    a = well_posed(params["features.A.weight"], layer.kappa)
    u = x @ params["features.B.weight"].T + params["features.B.bias"]
    z = torch.zeros_like(u)
    for _ in range(steps):
        z = phi(z @ a.T + u)
    logits = torch.cat([z, x], dim=1) @ params["head.weight"].T + params["head.bias"]
    return F.cross_entropy(logits, y)


def data(n=7, d=5, seed=1):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, d, generator=g, dtype=torch.float64), torch.arange(n) % 3


def test_spec_counts_and_shapes():
    spec = model_spec("deq", width=12)
    net = build_model(spec, input_shape=(2, 20), num_outputs=4, seed=0)
    assert isinstance(spec, DEQSpec)
    assert count_parameters(net) == spec.num_parameters((2, 20), 4) == 144 + 480 + 12 + 52 * 4 + 4
    x = torch.randn(3, 2, 20)
    out = net(x)
    assert out.shape == (3, 4) and torch.isfinite(out).all()
    torch.testing.assert_close(net.head(net.features(x)), out)
    # the head reads [z*, x]: C z* + D x + c
    assert torch.equal(net.features(x)[:, 12:], x.reshape(3, 40))
    assert width_for_parameters(spec.num_parameters((40,), 10), 40, 10) == 12


def test_initialization_starts_inside_the_ball():
    spec = model_spec("deq", width=32, kappa=0.8, init_contraction=0.5)
    net = build_model(spec, input_shape=(10,), num_outputs=2, seed=3)
    torch.testing.assert_close(float(infinity_norm(net.features.A.weight.detach())), 0.4)
    again = build_model(spec, input_shape=(10,), num_outputs=2, seed=3)
    assert all(torch.equal(a, b) for a, b in zip(net.parameters(), again.parameters(), strict=True))


def test_default_init_is_pytorch_construction_with_a_rescaled():
    spec = model_spec("deq", width=10)
    state = torch.random.get_rng_state()
    try:
        torch.manual_seed(11)
        reference = spec.architecture(input_shape=(40,), num_outputs=10)
    finally:
        torch.random.set_rng_state(state)
    net = build_model(spec, input_shape=(40,), num_outputs=10, seed=11)
    got, want = net.state_dict(), reference.state_dict()
    w = want["features.A.weight"]
    want["features.A.weight"] = w * (0.5 * 0.9 / float(infinity_norm(w)))
    for key in want:
        torch.testing.assert_close(got[key], want[key], rtol=1e-6, atol=0)


def test_well_posed_projects_rows_onto_the_l1_ball():
    w = torch.tensor([[3.0, -1.0, 0.0], [0.1, 0.2, -0.1], [0.0, 0.0, 0.0]])
    a = well_posed(w, 0.5)
    torch.testing.assert_close(a[0], torch.tensor([0.375, -0.125, 0.0]))
    assert torch.equal(a[1:], w[1:])  # rows inside the ball (and zero rows) unchanged
    assert float(infinity_norm(a)) <= 0.5
    big = torch.randn(50, 50) * 10
    assert float(infinity_norm(well_posed(big, 0.9))) <= 0.9 + 1e-6


@pytest.mark.parametrize("activation", ["relu", "tanh"])
@pytest.mark.parametrize("solver", ["picard", "anderson"])
def test_ift_gradients_equal_unrolled_gradients(activation, solver):
    _, net = tiny(activation, solver)
    x, y = data()
    params = {k: v.detach().clone().requires_grad_() for k, v in net.named_parameters()}
    loss = F.cross_entropy(functional_call(net, params, (x,)), y)
    implicit = torch.autograd.grad(loss, list(params.values()))
    reference = unrolled_loss(net, params, x, y, steps=600)
    unrolled = torch.autograd.grad(reference, list(params.values()))
    torch.testing.assert_close(loss, reference, rtol=1e-12, atol=1e-12)
    for a, b in zip(implicit, unrolled, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)
    assert net.features.last_forward.converged and net.features.last_backward.converged


@pytest.mark.parametrize("activation", ["relu", "tanh"])
def test_hessian_vector_products_equal_unrolled(activation):
    _, net = tiny(activation)
    x, y = data()
    params = {k: v.detach().clone().requires_grad_() for k, v in net.named_parameters()}
    vectors = [torch.randn_like(p) for p in params.values()]
    loss = F.cross_entropy(functional_call(net, params, (x,)), y)
    g = torch.autograd.grad(loss, list(params.values()), create_graph=True)
    hv = torch.autograd.grad(g, list(params.values()), vectors)
    ref = unrolled_loss(net, params, x, y, steps=600)
    gr = torch.autograd.grad(ref, list(params.values()), create_graph=True)
    hvr = torch.autograd.grad(gr, list(params.values()), vectors)
    for a, b in zip(hv, hvr, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-11)
    assert max(float(b.abs().max()) for b in hvr) > 1e-3  # not a trivially zero product


def test_unrolled_gradients_converge_to_the_implicit_ones():
    """Truncating the unrolled solver leaves a gradient error that vanishes geometrically."""
    _, net = tiny("tanh")
    x, y = data()
    params = {k: v.detach().clone().requires_grad_() for k, v in net.named_parameters()}
    loss = F.cross_entropy(functional_call(net, params, (x,)), y)
    implicit = torch.cat([g.reshape(-1) for g in torch.autograd.grad(loss, list(params.values()))])
    errors = []
    for steps in (2, 4, 8, 16):
        ref = unrolled_loss(net, params, x, y, steps=steps)
        flat = torch.cat([g.reshape(-1) for g in torch.autograd.grad(ref, list(params.values()))])
        errors.append(float((flat - implicit).norm() / implicit.norm()))
    assert all(b < a for a, b in zip(errors, errors[1:], strict=False)), errors
    assert errors[-1] < 0.1 * errors[0]


def _linear_regime(kappa=0.7, n=5):
    """A = κ·P with P row-stochastic and u ≫ 0: ReLU is the identity along the iterates, the
    map is z ↦ Az + u, and from z₀ = z* − c·1 the error is exactly κᵏ c·1 (A1 = κ1)."""
    g = torch.Generator().manual_seed(4)
    p = torch.rand(n, n, generator=g, dtype=torch.float64)
    a = kappa * p / p.sum(dim=1, keepdim=True)
    u = 10.0 + torch.rand(1, n, generator=g, dtype=torch.float64)
    star = torch.linalg.solve(torch.eye(n, dtype=torch.float64) - a, u.T).T
    return a, u, star


def test_picard_converges_at_the_contraction_rate():
    kappa = 0.7
    a, u, star = _linear_regime(kappa)
    z = star - 1.0
    errors = [float((z - star).abs().max())]
    for _ in range(40):
        z = torch.relu(z @ a.T + u)
        errors.append(float((z - star).abs().max()))
    e = torch.tensor(errors, dtype=torch.float64)
    ratios = e[1:25] / e[:24]
    torch.testing.assert_close(ratios, torch.full_like(ratios, kappa), rtol=1e-7, atol=0)
    # and never slower than the bound on random problems
    _, net = tiny("relu", init_contraction=0.95)
    x, _ = data()
    layer = net.features
    with torch.no_grad():
        m = layer.matrix()
        bound = float(infinity_norm(m))
        inj = layer.B(x)
        fixed = net.features.equilibrium(x)
        z = torch.randn(
            x.shape[0], 6, dtype=torch.float64, generator=torch.Generator().manual_seed(0)
        )
        first = float((z - fixed).abs().max())
        for k in range(1, 60):
            z = torch.relu(z @ m.T + inj)
            assert float((z - fixed).abs().max()) <= bound**k * first * (1 + 1e-9) + 1e-14


def test_fixed_point_is_unique_and_solvers_agree():
    _, net = tiny("tanh", init_contraction=0.95)
    x, _ = data()
    layer = net.features
    with torch.no_grad():
        m, inj = layer.matrix(), layer.B(x)

        def cell(z):
            return torch.tanh(z @ m.T + inj)

        g = torch.Generator().manual_seed(5)
        ends = []
        for scale in (0.0, 1.0, 100.0):
            start = scale * torch.randn(inj.shape, generator=g, dtype=torch.float64)
            ends.append(picard(cell, start, tol=1e-14, max_iter=5000)[0])
            ends.append(anderson(cell, start, tol=1e-14, max_iter=5000)[0])
        for z in ends:
            torch.testing.assert_close(z, ends[0], rtol=0, atol=1e-12)
            torch.testing.assert_close(cell(z), z, rtol=0, atol=1e-13)


def test_anderson_needs_fewer_iterations_than_picard():
    _, net = tiny("tanh", init_contraction=0.95)
    x, _ = data()
    layer = net.features
    with torch.no_grad():
        m, inj = layer.matrix(), layer.B(x)

        def cell(z):
            return torch.tanh(z @ m.T + inj)

        _, slow = picard(cell, torch.zeros_like(inj), tol=1e-10, max_iter=5000)
        _, fast = anderson(cell, torch.zeros_like(inj), tol=1e-10, max_iter=5000)
    assert slow.converged and fast.converged
    assert fast.iterations < slow.iterations


class _WellPosed(Callback):
    def __init__(self, layer, kappa):
        self.layer, self.kappa, self.norms, self.raw = layer, kappa, [], []

    def on_step_end(self, state):
        with torch.no_grad():
            self.norms.append(float(infinity_norm(self.layer.matrix())))
            self.raw.append(float(infinity_norm(self.layer.A.weight)))


def test_well_posedness_holds_after_every_training_step():
    s = make_subject(
        model="deq",
        data="gaussian_mixture",
        model_options={"width": 16, "kappa": 0.8},
        data_options={"dim": 6, "num_train": 64, "num_test": 16},
    )
    check = _WellPosed(s.model.features, 0.8)
    fit(s, TrainSpec(optimizer="sgd", lr=2.0, epochs=5, batch_size=16), callbacks=[check])
    assert len(check.norms) == 20
    assert max(check.norms) <= 0.8 * (1 + 1e-6)
    assert max(check.raw) > 0.8  # the raw weight left the ball: the parameterization held A in


def test_hessian_probe_matches_a_dense_unrolled_hessian():
    from occamlab.probes.curvature import hessian_spectrum

    s = make_subject(
        model="deq",
        data="gaussian_mixture",
        model_options={
            "width": 5,
            "tol": 1e-13,
            "max_iter": 5000,
            "activation": "tanh",
            "init_contraction": 0.9,
        },
        data_options={"dim": 4, "num_train": 20, "num_test": 4, "num_classes": 3},
    )
    report = hessian_spectrum(s, k=2, dtype="float64", trace=False, tol=1e-10, max_matvecs=200)
    net = s.model
    x, y = s.data.train.x.double(), s.data.train.y
    names = [k for k, _ in net.named_parameters()]
    shapes = [p.shape for p in net.parameters()]
    flat0 = torch.cat([p.detach().double().reshape(-1) for p in net.parameters()])

    def loss(flat):
        parts = torch.split(flat, [sh.numel() for sh in shapes])
        params = {k: t.reshape(sh) for k, t, sh in zip(names, parts, shapes, strict=True)}
        return unrolled_loss(net, params, x, y, steps=250)  # contraction <= 0.81: 1e-23

    dense = torch.func.hessian(loss)(flat0)
    top = torch.linalg.eigvalsh(dense).flip(0)[:2]
    torch.testing.assert_close(
        torch.tensor(report.eigenvalues, dtype=torch.float64), top, rtol=1e-9, atol=1e-12
    )


def test_vmap_and_forward_mode_refuse_with_a_reason():
    from occamlab.linalg.hessian import prepare_forward_ad

    prepare_forward_ad()  # torch's lazily compiled jvp rules warn on first use
    _, net = tiny("relu")
    x, y = data()
    with pytest.raises(NotImplementedError, match="vmap") as info:
        vmap(lambda xi: net(xi.unsqueeze(0)))(x)
    assert str(info.value) == VMAP_REFUSAL
    with pytest.raises(NotImplementedError) as info:
        torch.func.jvp(net, (x,), (torch.ones_like(x),))
    assert str(info.value) == JVP_REFUSAL
    # jacrev batches the cotangents through the backward: refused there
    with pytest.raises(NotImplementedError) as info:
        torch.func.jacrev(net)(x)
    assert str(info.value) == VMAP_REFUSAL
    # and a probe built on these transforms passes the reason on
    from occamlab.probes.kernels import empirical_ntk

    with pytest.raises(NotImplementedError, match="vmap"):
        empirical_ntk(net, x[:3])


def test_norm_bounds_refuse_and_error_bounds_skip_them():
    from occamlab.probes.bounds import error_bounds, norm_bounds

    s = make_subject(
        model="deq",
        data="gaussian_mixture",
        model_options={"width": 4},
        data_options={"dim": 3, "num_train": 40, "num_test": 40},
    )
    with pytest.raises(ValueError, match="implicit .fixed-point. layer"):
        norm_bounds(s)
    report = error_bounds(s, pacbayes=False, compression=False, subspace_dims="")
    assert report.norms is None and "implicit" in report.skipped["norms"]


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"kappa": 1.0}, "kappa must lie strictly between 0 and 1"),
        ({"init_contraction": 0.0}, "init_contraction"),
        ({"activation": "gelu"}, "'activation' must be one of"),
        ({"solver": "broyden"}, "'solver' must be one of"),
        ({"tol": 0.0}, "tol must lie in"),
        ({"width": 0}, "width must be an integer >= 1"),
    ],
)
def test_bad_options_say_what_to_use(options, match):
    with pytest.raises(ValueError, match=match):
        model_spec("deq", **options)


def test_an_ensemble_of_deq_members_trains_one_after_the_other():
    from occamlab.train.ensemble import choose_method, fit_ensemble

    subjects = [
        make_subject(
            model="deq",
            data="gaussian_mixture",
            model_options={"width": 8},
            data_options={"dim": 4, "num_train": 32, "num_test": 8},
            seed=seed,
        )
        for seed in range(2)
    ]
    spec = TrainSpec(optimizer="sgd", lr=0.1, epochs=1, batch_size=16)
    assert choose_method(subjects, [spec] * 2) == "sequential"
    alone = make_subject(
        model="deq",
        data="gaussian_mixture",
        model_options={"width": 8},
        data_options={"dim": 4, "num_train": 32, "num_test": 8},
        seed=1,
    )
    fit(alone, spec)
    fit_ensemble(subjects, spec)  # method="auto"
    for a, b in zip(alone.model.parameters(), subjects[1].model.parameters(), strict=True):
        assert torch.equal(a, b)
