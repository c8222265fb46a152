"""Subspace bounds: the Kronecker projection against its dense oracle, what is counted, validity."""

import math

import pytest
import torch
from torch import nn

from occamlab.data.base import Data
from occamlab.probes.bounds.certificate import PacBayesSpec
from occamlab.probes.bounds.subspace import (
    SubspaceNetwork,
    seeded_initialization,
    subspace_bound,
)
from occamlab.subject import Subject
from occamlab.train import TrainSpec
from tests.conftest import toy_data, toy_model
from tests.probes.bounds.test_bounds_validity import DIM, _draw

QUICK = TrainSpec(optimizer="adam", lr=0.1, epochs=100, batch_size=0, eval_every=100)


def _origin(model: nn.Module) -> dict[str, torch.Tensor]:
    return {k: p.detach().clone() for k, p in model.named_parameters()}


def test_projection_is_the_dense_kronecker_product_and_zero_is_the_origin():
    model = toy_model()  # 5-8-3: 75 parameters
    origin = _origin(model)
    net = SubspaceNetwork(model, origin=origin, dim=7, seed=3)
    w = torch.randn(7, generator=torch.Generator().manual_seed(0))
    total = sum(v.numel() for v in origin.values())
    dense = torch.kron(net.left.double(), net.right.double())[:total, :7]
    torch.testing.assert_close(
        net.displacement(w.float()).double(), dense @ w.double(), rtol=1e-5, atol=1e-6
    )
    x = torch.randn(4, 5)
    torch.testing.assert_close(net(x), model(x))  # coordinates start at 0: θ = θ₀
    assert [k for k, p in net.named_parameters() if p.requires_grad] == ["coordinates"]
    assert not list(net.buffers())  # θ₀ and P are not statistics of the network


def test_columns_have_unit_norm_on_average():
    model = nn.Sequential(nn.Linear(100, 100), nn.Tanh(), nn.Linear(100, 10))
    norms = []
    for seed in range(20):
        net = SubspaceNetwork(model, origin=_origin(model), dim=50, seed=seed)
        dense = torch.kron(net.left.double(), net.right.double())[: net.origin.numel(), :50]
        norms.append(dense.pow(2).sum(0).mean().item())
    assert sum(norms) / len(norms) == pytest.approx(1.0, rel=0.05)


def test_seeded_initialization_is_reproducible_and_leaves_the_global_generator_alone():
    model = toy_model()
    state = torch.get_rng_state()
    first, second = seeded_initialization(model, 1), seeded_initialization(model, 1)
    assert torch.equal(torch.get_rng_state(), state)
    assert all(torch.equal(first[k], second[k]) for k in first)
    assert not torch.equal(first["0.weight"], seeded_initialization(model, 2)["0.weight"])
    assert not torch.equal(first["0.weight"], model[0].weight)


def test_bad_input_is_refused():
    data = toy_data()

    class Scaled(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.body = nn.Linear(5, 3)
            self.scale = nn.Parameter(torch.ones(3))

        def forward(self, x):
            return self.body(x) * self.scale

    with pytest.raises(ValueError, match="cannot redraw an initialization"):
        subspace_bound(Subject(model=Scaled(), data=data), dims=(2,))
    bn = nn.Sequential(nn.Linear(5, 8), nn.BatchNorm1d(8), nn.Linear(8, 3))
    with pytest.raises(ValueError, match="BatchNorm"):
        subspace_bound(Subject(model=bn, data=data), dims=(2,))
    subject = Subject(model=toy_model(), data=data)
    with pytest.raises(ValueError, match="dim must be an integer"):
        subspace_bound(subject, dims=(76,))
    with pytest.raises(ValueError, match="distinct"):
        subspace_bound(subject, dims=(3, 3))
    with pytest.raises(ValueError, match="prior='init'"):
        subspace_bound(subject, dims=(3,), pacbayes=PacBayesSpec(prior="data"))


def test_the_bound_counts_the_dimension_search_and_names_the_retrained_network():
    data = toy_data(n_train=400, n_test=200)
    model = toy_model()
    subject = Subject(model=model, data=data)
    before = _origin(model)
    spec = PacBayesSpec(posterior_epochs=5, posterior_lr=0.01, batch_size=400, mc_trials=0)
    result = subspace_bound(
        subject, dims=(4, 12), recipe=QUICK, origin=before, levels=(4, 8), pacbayes=spec
    )
    assert all(torch.equal(before[k], v) for k, v in _origin(model).items())  # not modified
    compression = result.compression
    # the setting index names one of 2 levels x 2 dimensions: 2 bits
    assert compression.bits_parts["setting"] == 2.0
    assert compression.num_parameters in (4, 12)  # the coordinates are what is coded
    assert result.pacbayes.delta == pytest.approx(spec.delta / 2)  # union over the dimensions
    assert result.pacbayes.mc_delta == pytest.approx(spec.mc_delta / 2)
    assert result.bound == min(compression.bound, result.pacbayes.bound)
    assert "random subspace of its 75 parameters" in result.predictor
    assert "not the trained weights" in result.predictor
    assert result.rows[1]["train_error"] < 0.4  # 12 coordinates learn the task (guessing: 0.67)
    assert result.to_dict()["compression"]["bits"] == compression.bits


N_TRAIN, N_FRESH, DRAWS = 1000, 100_000, 200


@pytest.mark.slow
def test_subspace_compression_bound_holds_over_200_training_sets():
    """The certified (quantized subspace) network's error on 10⁵ fresh examples stays below the
    bound in ≥ 95% of 200 independent training sets (δ = 0.05), with 3 standard errors to spare.
    """
    fresh = _draw(N_FRESH, torch.Generator().manual_seed(10_000))
    holds, gaps = [], []
    for rep in range(DRAWS):
        g = torch.Generator().manual_seed(rep)
        data = Data("teacher-student", _draw(N_TRAIN, g), _draw(20, g), "classification", 2)
        model = toy_model(dim=DIM, classes=2, seed=rep)
        result = subspace_bound(
            Subject(model=model, data=data), dims=(6,), recipe=QUICK, levels=(4, 16), seed=rep
        )
        network = SubspaceNetwork(model, origin=seeded_initialization(model, rep), dim=6, seed=rep)
        with torch.no_grad():
            network.coordinates.copy_(result.compression.params["coordinates"])
            risk = float((network(fresh.x).argmax(1) != fresh.y).float().mean())
        se = math.sqrt(risk * (1 - risk) / N_FRESH)
        holds.append(risk + 3 * se <= result.bound)
        gaps.append(result.bound - risk)
    assert sum(holds) >= 0.95 * DRAWS, f"held in {sum(holds)} of {DRAWS} draws"
    assert min(gaps) > -0.05 and sum(gaps) / DRAWS < 0.5  # valid, and not trivially vacuous


def test_error_bounds_reports_the_subspace_row_and_checks_its_flags():
    from occamlab.probes.bounds import BoundsSpec, error_bounds

    subject = Subject(model=toy_model(), data=toy_data(n_train=400, n_test=200))
    report = error_bounds(
        subject,
        pacbayes=False,
        compression=False,
        norms=False,
        subspace_dims="12",
        subspace_epochs=100,
        subspace_lr=0.1,
        levels="4,8",
    )
    row = report.rows[-1]
    assert row["bound"] == "subspace compression (d = 12)"
    assert row["value"] == report.subspace.bound and report.subspace.origin.startswith("a fresh")
    assert row["its_test_error"] == report.subspace.compression.compressed_test_error
    assert report.to_dict()["subspace"]["dims"] == [12]
    for bad in ("0", "2.5", "x"):
        with pytest.raises(ValueError, match="subspace_dims"):
            BoundsSpec(subspace_dims=bad)
    bn = nn.Sequential(nn.Linear(5, 8), nn.BatchNorm1d(8), nn.Linear(8, 3))
    skipped = error_bounds(
        Subject(model=bn, data=toy_data()),
        pacbayes=False,
        compression=False,
        norms=False,
        subspace_dims="4",
    )
    assert "BatchNorm" in skipped.skipped["subspace"] and skipped.subspace is None
