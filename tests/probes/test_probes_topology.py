import numpy as np
import pytest
import torch
from torch import nn

from occamlab.data.base import Data, Split
from occamlab.probes.topology import betti_numbers, positive_region
from occamlab.probes.topology.probe import slice_axes, topology_probe
from occamlab.subject import Subject

N = 200
YY, XX = np.mgrid[-1 : 1 : N * 1j, -1 : 1 : N * 1j]


def disk(cx, cy, r):
    return r - np.hypot(XX - cx, YY - cy)


def test_hand_built_regions_in_the_plane():
    assert betti_numbers(disk(0, 0, 0.5)) == (1, 0)
    annulus = np.minimum(disk(0, 0, 0.8), -disk(0, 0, 0.4))
    assert betti_numbers(annulus) == (1, 1)
    assert betti_numbers(np.maximum(disk(-0.5, 0, 0.3), disk(0.5, 0, 0.3))) == (2, 0)
    # two annuli and a disk inside one of them: 3 components, 2 holes
    inner = np.maximum(np.minimum(disk(-0.5, 0, 0.45), -disk(-0.5, 0, 0.3)), disk(-0.5, 0, 0.1))
    two = np.maximum(inner, np.minimum(disk(0.5, 0, 0.45), -disk(0.5, 0, 0.3)))
    assert betti_numbers(two) == (3, 2)
    assert betti_numbers(-np.ones((8, 8))) == (0, 0)  # empty
    assert betti_numbers(np.ones((8, 8))) == (1, 0)  # the whole square


def test_threshold_is_strict_and_level_moves_it():
    v = disk(0, 0, 0.5)
    assert betti_numbers(np.where(v > 0, v, 0.0)) == (1, 0)  # zeros are outside
    assert betti_numbers(np.zeros((5, 5))) == (0, 0)
    annulus = np.minimum(disk(0, 0, 0.8), -disk(0, 0, 0.4))  # max 0.2 on the ring r = 0.6
    assert betti_numbers(annulus, level=0.1) == (1, 1)
    assert betti_numbers(annulus, level=0.25) == (0, 0)


def test_hand_built_regions_in_space():
    n = 40
    z, y, x = np.mgrid[-1 : 1 : n * 1j, -1 : 1 : n * 1j, -1 : 1 : n * 1j]
    r = np.sqrt(x**2 + y**2 + z**2)
    assert betti_numbers(0.6 - r) == (1, 0, 0)  # a ball
    assert betti_numbers(np.minimum(0.8 - r, r - 0.4)) == (1, 0, 1)  # a shell: one cavity
    tube = 0.2 - np.hypot(np.hypot(x, y) - 0.6, z)
    assert betti_numbers(tube) == (1, 1, 0)  # a solid torus: one loop


def test_bad_grids_are_refused():
    with pytest.raises(ValueError, match="2-D or 3-D"):
        betti_numbers(np.ones(5))
    with pytest.raises(ValueError, match="finite"):
        betti_numbers(np.full((4, 4), np.nan))


def diamond_annulus() -> nn.Module:
    """A depth-2 ReLU net: g = |x₁| + |x₂| (4 units), f = 0.2 − |g − 0.6| (2 units); positive
    exactly for 0.4 < |x₁| + |x₂| < 0.8, a square annulus."""
    first = nn.Linear(2, 4)
    second = nn.Linear(4, 2)
    head = nn.Linear(2, 1)
    with torch.no_grad():
        first.weight.copy_(torch.tensor([[1.0, 0], [-1, 0], [0, 1], [0, -1]]))
        first.bias.zero_()
        second.weight.copy_(torch.tensor([[1.0, 1, 1, 1], [-1, -1, -1, -1]]))
        second.bias.copy_(torch.tensor([-0.6, 0.6]))
        head.weight.copy_(torch.tensor([[-1.0, -1.0]]))
        head.bias.fill_(0.2)
    return nn.Sequential(first, nn.ReLU(), second, nn.ReLU(), head)


def test_hand_built_relu_net():
    net = diamond_annulus()
    region = positive_region(net, [(-1, 1), (-1, 1)], grid=256)
    assert region.betti == (1, 1) and region.total == 2 and region.output == "f > 0"
    # area of the annulus: 2·(0.8² − 0.4²) = 0.96 of the window's 4
    assert region.positive_fraction == pytest.approx(0.24, abs=0.01)
    # a window inside the hole's right half sees one component without a hole
    assert positive_region(net, [(0.1, 1), (-1, 1)], grid=128).betti == (1, 0)
    d = region.to_dict()
    assert d["betti"] == [1, 1] and d["betti_sum"] == 2 and d["grid"] == 256


def test_class_against_the_rest_and_slices():
    class TwoClass(nn.Module):  # class 1 where the annulus is, class 0 elsewhere
        def __init__(self):
            super().__init__()
            self.net = diamond_annulus()

        def forward(self, x):
            f = self.net(x[:, :2])  # extra input features are ignored
            return torch.cat([-f, f], dim=1)

    two = TwoClass()
    assert positive_region(two, [(-1, 1), (-1, 1)], grid=128, output=1).betti == (1, 1)
    # class 0 against the rest: the inner diamond, and the frame around the annulus (a hole)
    assert positive_region(two, [(-1, 1), (-1, 1)], grid=128, output=0).betti == (2, 1)
    # the same region through a slice: origin 0 and the first two coordinate axes of 4 inputs
    origin, axes = torch.zeros(4), torch.eye(4)[:2]
    sliced = positive_region(two, [(-1, 1), (-1, 1)], grid=128, origin=origin, axes=axes, output=1)
    assert sliced.betti == (1, 1)


def test_slice_axes_are_orthonormal_and_hold_the_points():
    x = torch.randn(20, 5, generator=torch.Generator().manual_seed(0))
    for kind in ("plane", "pca"):
        origin, axes = slice_axes(x, kind)
        assert torch.allclose(axes @ axes.T, torch.eye(2, dtype=torch.float64), atol=1e-12)
    origin, axes = slice_axes(x, "plane")
    for p in x[:3].double():  # the plane passes through the first three inputs
        u = (p - origin) @ axes.T
        assert torch.allclose(origin + u @ axes, p, atol=1e-12)


def test_probe_on_subjects():
    g = torch.Generator().manual_seed(0)
    x2 = torch.rand(64, 2, generator=g) * 2 - 1
    x2[:4] = torch.tensor([[-1.0, -1], [1, 1], [-1, 1], [1, -1]])  # the window is [-1, 1]²
    data = Data(
        "toy", Split(x2, torch.zeros(64, 1)), Split(x2, torch.zeros(64, 1)), "regression", 1
    )
    subject = Subject(model=diamond_annulus(), data=data)
    region = topology_probe(subject, grid=128, margin=0.0)
    assert region.betti == (1, 1) and region.extent == ((-1.0, 1.0), (-1.0, 1.0))
    x5 = torch.randn(64, 5, generator=g)
    wide = Data(
        "toy5", Split(x5, torch.zeros(64, 1)), Split(x5, torch.zeros(64, 1)), "regression", 1
    )
    head = nn.Sequential(nn.Linear(5, 3), nn.ReLU(), nn.Linear(3, 1))
    subject5 = Subject(model=head, data=wide)
    with pytest.raises(ValueError, match="slice"):
        topology_probe(subject5)
    assert len(topology_probe(subject5, slice="pca", grid=32).betti) == 2


def test_relu_bounds_in_closed_form():
    from occamlab.probes.regions import plane_bound
    from occamlab.probes.topology import relu_betti_bound, relu_region_bound

    for widths in ([1], [5], [20], [4, 4], [7, 3, 9], [1, 6]):
        assert relu_region_bound(widths, 2) == plane_bound(widths)
    assert relu_region_bound([10], 3) == 1 + 10 + 45 + 120
    assert relu_betti_bound([10], 2) == 2 * (1 + 10 + 45)
    r = relu_region_bound([4, 4], 3)
    assert r == 15 * 15 and relu_betti_bound([4, 4], 3) == 2 * r + r * (r - 1) // 2
    # the hand-built net (widths 4, 2) makes a square annulus: B = 2 within the bound
    assert positive_region(diamond_annulus(), [(-1, 1), (-1, 1)]).total <= relu_betti_bound(
        [4, 2], 2
    )
    with pytest.raises(ValueError, match="dim 2 or 3"):
        relu_betti_bound([3], 4)


def test_probe_grids_three_inputs_in_space():
    g = torch.Generator().manual_seed(1)
    x3 = torch.rand(40, 3, generator=g) * 2 - 1
    x3[:2] = torch.tensor([[-1.0, -1, -1], [1, 1, 1]])  # the window is [−1, 1]³
    data = Data(
        "toy3", Split(x3, torch.zeros(40, 1)), Split(x3, torch.zeros(40, 1)), "regression", 1
    )

    class Shell(nn.Module):  # positive on 0.4 < |x| < 0.8: one component, one cavity
        def __init__(self):
            super().__init__()
            self.scale = nn.Parameter(torch.ones(()))

        def forward(self, x):
            r = x.norm(dim=1, keepdim=True) * self.scale
            return torch.minimum(0.8 - r, r - 0.4)

    region = topology_probe(Subject(model=Shell(), data=data), grid_3d=32, margin=0.0)
    assert region.betti == (1, 0, 1) and region.grid == 32 and region.to_dict()["dimensions"] == 3
