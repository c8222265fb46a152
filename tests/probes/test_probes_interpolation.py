from fractions import Fraction

import numpy as np
import pytest
import torch

from occamlab.data.base import Data, Split
from occamlab.probes.memorization import check_interpolant, interpolant, interpolate_sample
from occamlab.subject import Subject


def gaussian(n, d, seed=0):
    g = torch.Generator().manual_seed(seed)
    return (
        torch.randn(n, d, generator=g, dtype=torch.float64),
        torch.randn(n, generator=g, dtype=torch.float64),
    )


@pytest.mark.parametrize(("n", "d"), [(2, 1), (7, 3), (50, 10), (300, 64)])
def test_fits_any_sample_with_2n_plus_d_weights(n, d):
    x, y = gaussian(n, d, seed=n)
    net = interpolant(x, y, generator=torch.Generator().manual_seed(1))
    check = check_interpolant(net, x, y)
    assert net.num_weights == 2 * n + d == check.num_weights == check.expected_weights
    assert check.lower_triangular and check.min_diagonal > 0
    assert check.max_residual <= check.rounding_bound
    assert check.relative_residual < 1e-6
    assert check.exact and check.labels_recovered is None


def test_weights_match_an_exact_rational_solve():
    """Forward substitution in exact arithmetic on the network's own (float64) a and b: the
    float64 output weights agree to the accuracy κ(A)·u predicts, and the exact weights give
    exactly y (the construction itself is exact; only rounding separates it from y)."""
    x, y = gaussian(8, 3, seed=4)
    net = interpolant(x, y, kink_position=0.3, generator=torch.Generator().manual_seed(2))
    a = [Fraction(float(v)) for v in net.direction.detach()]
    b = [Fraction(float(v)) for v in net.kinks.detach()]
    xs = [[Fraction(float(v)) for v in row] for row in x]
    ys = [Fraction(float(v)) for v in y]
    z = [sum(ai * xi for ai, xi in zip(a, row, strict=True)) for row in xs]
    order = sorted(range(8), key=lambda i: z[i])
    w: list[Fraction] = []
    for i, p in enumerate(order):  # row i of A: max(z_(i) − b_j, 0), zero for j > i
        row = [max(z[p] - b[j], Fraction(0)) for j in range(8)]
        assert all(v == 0 for v in row[i + 1 :]) and row[i] > 0
        w.append((ys[p] - sum(row[j] * w[j] for j in range(i))) / row[i])
    exact = np.array([float(v) for v in w])
    got = net.weights.detach().numpy()
    check = check_interpolant(net, x, y)
    assert np.abs(got - exact).max() <= 1e-15 * check.condition_number * np.abs(exact).max()
    for p in range(8):
        value = sum(wj * max(z[p] - bj, Fraction(0)) for wj, bj in zip(w, b, strict=True))
        assert value == ys[p]


def test_on_a_line_the_interpolant_is_piecewise_linear_with_kinks_between_the_points():
    x = torch.tensor([[-1.0], [-0.2], [0.1], [0.9]], dtype=torch.float64)
    y = torch.tensor([0.5, -1.0, 2.0, 0.0], dtype=torch.float64)
    net = interpolant(x, y, kink_position=0.5, generator=torch.Generator().manual_seed(0))
    a = float(net.direction.detach()[0])
    kinks = sorted(float(k) / a for k in net.kinks.detach())
    points = sorted(float(v) for v in x[:, 0])
    # interleaving, in input coordinates (b_1 < z_1 < b_2 < …, mirrored when a < 0)
    mids = [(p + q) / 2 for p, q in zip(points, points[1:], strict=False)]
    assert np.allclose(kinks[1:] if a > 0 else kinks[:-1], mids)
    # linear between consecutive kinks: zero second differences on a fine grid inside each
    edges = [-2.0, *kinks, 2.0]
    for lo, hi in zip(edges, edges[1:], strict=False):
        t = torch.linspace(lo + 1e-9, hi - 1e-9, 9, dtype=torch.float64)[:, None]
        with torch.no_grad():
            f = net(t)
        assert torch.allclose(f.diff(n=2), torch.zeros(7, dtype=torch.float64), atol=1e-10)


def test_condition_number_matches_numpy():
    x, y = gaussian(40, 5, seed=7)
    net = interpolant(x, y, generator=torch.Generator().manual_seed(3))
    check = check_interpolant(net, x, y)
    with torch.no_grad():
        hidden = net.hidden(x).numpy()
    assert check.condition_number == pytest.approx(np.linalg.cond(hidden), rel=1e-6)
    assert check.min_gap > 0 and check.spread > check.min_gap


def test_vector_targets_and_integer_labels():
    x, _ = gaussian(30, 4, seed=1)
    labels = torch.randint(0, 10, (30,), generator=torch.Generator().manual_seed(0))
    onehot = torch.nn.functional.one_hot(labels, 10).to(torch.float64)
    net = interpolant(x, onehot)
    check = check_interpolant(net, x, onehot)
    assert net.num_weights == 4 + 30 + 30 * 10 == check.expected_weights
    assert check.exact and check.labels_recovered
    net = interpolant(x, labels)
    check = check_interpolant(net, x, labels)
    assert check.labels_recovered and net.num_weights == 2 * 30 + 4


def test_a_wrong_weight_is_caught():
    x, y = gaussian(20, 3)
    net = interpolant(x, y)
    with torch.no_grad():
        net.weights[5] += 1e-6
    check = check_interpolant(net, x, y)
    assert not check.exact and check.max_residual > check.rounding_bound


def test_refuses_duplicates_and_bad_options():
    x, y = gaussian(5, 2)
    x[3] = x[1]
    with pytest.raises(ValueError, match="same point"):
        interpolant(x, y)
    with pytest.raises(ValueError, match="kink_position"):
        interpolant(x[:3], y[:3], kink_position=1.0)
    with pytest.raises(ValueError, match="n >= 2"):
        interpolant(x[:1], y[:1])


def test_probe_on_a_subject_fits_its_labels():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(64, 2, 3, generator=g)
    y = torch.randint(0, 3, (64,), generator=g)
    data = Data("toy", Split(x, y), Split(x[:8], y[:8]), "classification", 3)
    subject = Subject(
        model=torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(6, 3)), data=data
    )
    net, check = interpolate_sample(subject, limit=40)
    assert check.n == 40 and check.d == 6 and net.num_weights == 86
    assert check.exact and check.labels_recovered
    assert check.to_dict()["exact"] is True
