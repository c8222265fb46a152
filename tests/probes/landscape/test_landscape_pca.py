import numpy as np
import pytest
import torch

from occamlab import TrainSpec, fit
from occamlab.probes.landscape import trajectory_pca, trajectory_plane
from occamlab.testing import tiny_subject
from occamlab.train import TrajectoryRecorder


def test_pca_recovers_a_planar_trajectory():
    g = torch.Generator().manual_seed(0)
    basis, _ = torch.linalg.qr(torch.randn(50, 2, generator=g, dtype=torch.float64))
    coords = torch.stack([torch.linspace(3, 0, 12), 0.5 * torch.sin(torch.linspace(0, 3, 12))], 1)
    final = torch.randn(50, generator=g, dtype=torch.float64)
    traj = final + coords.double() @ basis.T
    pca = trajectory_pca(traj)
    assert sum(pca.explained_variance) == pytest.approx(1.0)
    assert pca.explained_variance[0] > pca.explained_variance[1] > 0
    # The projections reproduce the trajectory (it lies in the plane).
    rebuilt = traj[-1] + torch.from_numpy(pca.coordinates) @ pca.directions
    torch.testing.assert_close(rebuilt, traj)
    assert np.all(pca.coordinates[0] >= 0) and np.all(pca.coordinates[-1] == 0)
    with pytest.raises(ValueError, match="never moved"):
        trajectory_pca(torch.ones(5, 10))


def test_trajectory_plane_is_centred_on_the_trained_point():
    subject = tiny_subject("tanh_mlp")
    recorder = TrajectoryRecorder(every=2)
    fit(subject, TrainSpec(epochs=8, batch_size=8, lr=0.05), callbacks=[recorder])
    plane = trajectory_plane(subject, recorder, steps=5)
    assert plane.surface.at_center()["train_loss"] == subject.evaluate().loss
    assert 0 < plane.explained_variance[1] <= plane.explained_variance[0] <= 1
    reach = np.abs(plane.coordinates).max(axis=0)
    assert np.all(plane.surface.axes[0][-1] >= reach[0]) and plane.surface.axes[1][-1] >= reach[1]
    assert plane.steps == recorder.steps
    import matplotlib

    matplotlib.use("Agg")
    assert plane.plot() is not None
    fit(subject, TrainSpec(epochs=1, batch_size=8, lr=0.05))
    with pytest.raises(ValueError, match="last point"):
        trajectory_plane(subject, recorder, steps=3)
