import math

import pytest
import torch
from torch import nn

from occamlab.data.base import Data, Split
from occamlab.probes.regions import line_bound, line_regions, plane_bound, plane_regions
from occamlab.probes.regions.probe import regions_probe
from occamlab.subject import Subject


def sawtooth(depth: int) -> nn.Sequential:
    """Telgarsky's tent map composed ``depth`` times: 2^depth linear pieces on [0, 1]."""
    layers: list[nn.Module] = []
    for _ in range(depth):
        up, down = nn.Linear(1, 2), nn.Linear(2, 1)
        with torch.no_grad():
            up.weight.copy_(torch.tensor([[1.0], [1.0]]))
            up.bias.copy_(torch.tensor([0.0, -0.5]))
            down.weight.copy_(torch.tensor([[2.0, -4.0]]))
            down.bias.zero_()
        layers += [up, nn.ReLU(), down]
    return nn.Sequential(*layers)


@pytest.mark.parametrize("depth", [1, 3, 6, 10])
def test_sawtooth_has_two_to_the_depth_regions_and_pieces(depth):
    r = line_regions(sawtooth(depth), torch.tensor([0.0]), torch.tensor([1.0]))
    assert r.regions == 2**depth
    assert r.pieces == 2**depth
    expected = [j / 2**depth for j in range(1, 2**depth)]
    assert max(abs(a - b) for a, b in zip(r.breakpoints, expected, strict=True)) < 1e-9
    assert r.bound == 3**depth


def test_one_hidden_layer_on_a_line_has_one_region_per_crossing_plus_one():
    # Units relu(x - c_i): breakpoints at c_i inside [0, 1]; a unit with zero outgoing weight
    # still splits activation regions but not linear pieces.
    c = torch.tensor([0.1, 0.25, 0.6, 0.9, 1.5])
    net = nn.Sequential(nn.Linear(1, 5), nn.ReLU(), nn.Linear(5, 1))
    with torch.no_grad():
        net[0].weight.fill_(1.0)
        net[0].bias.copy_(-c)
        net[2].weight.copy_(torch.tensor([[1.0, -2.0, 0.0, 3.0, 1.0]]))
    r = line_regions(net, torch.tensor([0.0]), torch.tensor([1.0]))
    assert r.regions == 5 and r.pieces == 4
    assert r.breakpoints == pytest.approx([0.1, 0.25, 0.6, 0.9])


@pytest.mark.parametrize(("gap", "regions"), [(1.5e-9, 3), (1e-6, 4)])
def test_a_region_too_short_to_resolve_is_merged_not_chased_forever(gap, regions):
    """Two crossings 1.5e-9 apart (above tol = 1e-9, below what a query at the middle or 4·tol
    beside it can resolve) once sent the search into an endless retry; 1e-6 apart they are
    resolved."""
    net = nn.Sequential(nn.Linear(1, 3), nn.ReLU(), nn.Linear(3, 1)).double()
    with torch.no_grad():
        net[0].weight.fill_(1.0)
        net[0].bias.copy_(torch.tensor([-0.3, -(0.3 + gap), -0.7], dtype=torch.float64))
    r = line_regions(net, torch.tensor([0.0]), torch.tensor([1.0]))
    assert r.regions == regions
    assert r.breakpoints[0] == pytest.approx(0.3) and r.breakpoints[-1] == pytest.approx(0.7)


def test_lines_in_general_position_cut_the_plane_into_one_plus_n_plus_n_choose_2():
    n = 5
    angles = torch.arange(n, dtype=torch.float64) * math.pi / n + 0.1
    normals = torch.stack([torch.cos(angles), torch.sin(angles)], dim=1)
    offsets = torch.tensor([0.05, -0.1, 0.12, -0.03, 0.08], dtype=torch.float64)
    net = nn.Sequential(nn.Linear(2, n), nn.ReLU(), nn.Linear(n, 1)).double()
    with torch.no_grad():
        net[0].weight.copy_(normals)
        net[0].bias.copy_(offsets)
    x0, x1, x2 = torch.tensor([-1.0, -1.0]), torch.tensor([1.0, -1.0]), torch.tensor([-1.0, 1.0])
    p = plane_regions(net, x0, x1, x2, grid=300)
    assert p.regions == p.refined == 1 + n + math.comb(n, 2)
    assert p.bound == 1 + n + math.comb(n, 2) == plane_bound([n])


def test_random_relu_net_counts_are_below_the_bounds_and_the_module_is_untouched():
    g = torch.Generator().manual_seed(0)
    net = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 3))
    for p in net.parameters():
        torch.nn.init.normal_(p, generator=g)
    before = [p.clone() for p in net.parameters()]
    a, b = torch.randn(4, generator=g), torch.randn(4, generator=g)
    r = line_regions(net, a, b)
    assert 1 < r.regions <= line_bound([16, 16]) and r.pieces <= r.regions
    # Exactness: the breakpoints found from either end are the same.
    back = line_regions(net, b, a)
    assert back.regions == r.regions
    assert [1 - t for t in reversed(back.breakpoints)] == pytest.approx(r.breakpoints, abs=1e-9)
    assert all(torch.equal(p, q) for p, q in zip(before, net.parameters(), strict=True))
    assert next(net.parameters()).dtype == torch.float32


def test_regions_probe_and_bad_models():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(10, 4, generator=g)
    data = Data(
        "toy",
        Split(x, torch.zeros(10, dtype=torch.long)),
        Split(x, x[:, 0].long() * 0),
        "classification",
        2,
    )
    net = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    report = regions_probe(Subject(net, data), segments=2, grid=40)
    d = report.to_dict()
    assert len(d["lines"]) == 2 and d["plane"]["regions"] >= 1
    assert d["line_bound"] == 9
    with pytest.raises(ValueError, match="piecewise-linear"):
        regions_probe(Subject(nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 2)), data))
    with pytest.raises(ValueError, match="collinear"):
        plane_regions(net, x[0], x[1], 2 * x[1] - x[0])
