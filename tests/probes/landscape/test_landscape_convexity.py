import numpy as np
import pytest
import torch

from occamlab.probes.landscape import curvature_map, random_directions
from occamlab.testing import dense_hessian, least_squares_subject, tiny_subject


def test_a_quadratic_has_the_same_extreme_curvature_everywhere():
    subject = least_squares_subject(n=30, d=5)
    evals = torch.linalg.eigvalsh(dense_hessian(subject))
    dirs = [{"weight": torch.ones(1, 5)}, {"weight": -torch.ones(1, 5)}]
    cmap = curvature_map(subject, dirs, steps=3, tol=1e-8)
    np.testing.assert_allclose(cmap.lambda_max, float(evals[-1]), rtol=1e-5)
    np.testing.assert_allclose(cmap.lambda_min, float(evals[0]), rtol=1e-4)
    assert cmap.converged.all()
    assert cmap.mean_ratio == pytest.approx(float(evals[0] / evals[-1]), rel=1e-4)


def test_the_center_matches_the_dense_hessian_of_a_nonconvex_net():
    subject = tiny_subject("tanh_mlp")
    cmap = curvature_map(subject, random_directions(subject), steps=3, tol=1e-6, max_matvecs=75)
    evals = torch.linalg.eigvalsh(dense_hessian(subject))
    assert cmap.lambda_max[1, 1] == pytest.approx(float(evals[-1]), rel=1e-4)
    assert cmap.lambda_min[1, 1] == pytest.approx(float(evals[0]), rel=1e-3, abs=1e-5)
    assert cmap.center_ratio == pytest.approx(abs(float(evals[0] / evals[-1])), rel=1e-3)
    import matplotlib

    matplotlib.use("Agg")
    assert cmap.plot() is not None
