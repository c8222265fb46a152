import numpy as np
import pytest
import torch

from occamlab.probes.landscape import (
    LandscapeSpec,
    Surface,
    curvature_map,
    landscape_plane,
    loss_surface,
    random_directions,
    reestimate_bn_buffers,
    symmetric_grid,
    trajectory_plane,
)
from occamlab.testing import least_squares_subject, tiny_subject


def snapshot(subject):
    state = {k: v.detach().clone() for k, v in subject.model.state_dict().items()}
    modes = [m.training for m in subject.model.modules()]
    return state, modes


def unchanged(subject, before) -> bool:
    state, modes = before
    now = subject.model.state_dict()
    return all(torch.equal(now[k], v) for k, v in state.items()) and modes == [
        m.training for m in subject.model.modules()
    ]


@pytest.mark.parametrize("kind", ["relu_mlp", "tanh_mlp", "bn_cnn"])
@pytest.mark.parametrize("limit", [None, 20])
def test_the_center_of_every_surface_is_the_subjects_loss_exactly(kind, limit):
    subject = tiny_subject(kind)
    subject.eval_batch_size = 7  # ragged batches: the sums must follow Subject.evaluate exactly
    before = snapshot(subject)
    train = subject.evaluate(split="train", limit=limit)
    test = subject.evaluate(split="test", limit=limit)
    for dims, ppp in ((2, 0), (1, 0), (2, 3)):
        surface = landscape_plane(
            subject, dims=dims, steps=5, limit=limit or 0, points_per_pass=ppp
        )
        center = surface.at_center()
        assert center["train_loss"] == train.loss and center["test_loss"] == test.loss
        assert center["train_accuracy"] == train.accuracy
        assert center["test_accuracy"] == test.accuracy
        assert surface.values["train_loss"].shape == (5,) * dims
    assert unchanged(subject, before)


def test_batched_points_agree_with_one_point_at_a_time():
    subject = tiny_subject("relu_mlp")
    dirs = random_directions(subject, seed=1)
    one = loss_surface(subject, dirs, steps=5, points_per_pass=1)
    many = loss_surface(subject, dirs, steps=5, points_per_pass=4)
    assert one.points_per_pass == 1 and many.points_per_pass == 4
    for key in one.values:
        np.testing.assert_allclose(many.values[key], one.values[key], rtol=1e-5, atol=1e-6)


def test_a_quadratic_loss_gives_the_analytic_surface():
    subject = least_squares_subject(n=30, d=4)
    w0 = subject.params()["weight"].double()
    g = torch.Generator().manual_seed(0)
    d1, d2 = ({"weight": torch.randn(1, 4, generator=g)} for _ in range(2))
    surface = loss_surface(subject, [d1, d2], steps=7, span=2.0)
    x, y = subject.data.train.x.double(), subject.data.train.y.double()
    for i, a in enumerate(surface.axes[0]):
        for j, b in enumerate(surface.axes[1]):
            w = w0 + a * d1["weight"].double() + b * d2["weight"].double()
            expected = float(((x @ w.T - y) ** 2).mean())
            assert surface.values["train_loss"][i, j] == pytest.approx(expected, rel=1e-5)
    assert "train_accuracy" not in surface.values  # regression: no accuracy
    # Convex quadratic: exactly one minimum on the grid.
    assert len(surface.local_minima()) == 1


def test_grid_validation_and_explicit_coordinates():
    assert symmetric_grid(5, 2.0).tolist() == [-2.0, -1.0, 0.0, 1.0, 2.0]
    assert symmetric_grid(51, 1.0)[25] == 0.0
    with pytest.raises(ValueError, match="odd"):
        symmetric_grid(4, 1.0)
    with pytest.raises(ValueError, match="odd"):
        LandscapeSpec(steps=20)
    subject = tiny_subject("relu_mlp")
    dirs = random_directions(subject, count=1)
    line = loss_surface(subject, dirs, coordinates=[[-0.5, 0.0, 0.5, 1.0, 1.5]])
    assert line.center == (1,) and line.at_center()["train_loss"] == subject.evaluate().loss
    with pytest.raises(ValueError, match="contain 0.0"):
        loss_surface(subject, dirs, coordinates=[[0.1, 0.5]])
    with pytest.raises(ValueError, match="one direction"):
        loss_surface(subject, dirs * 3)
    with pytest.raises(ValueError, match="unknown split"):
        loss_surface(subject, dirs, splits=("validation",))


def plane_of(values, axes, center):
    """A training-loss surface of ``values`` on the grid ``axes``, without directions."""
    return Surface(
        axes=axes,
        values={"train_loss": values},
        center=center,
        directions={},
        num_examples={},
        limit=None,
        reestimate_bn=False,
        points_per_pass=1,
        stochastic_layers=[],
        seconds=0.0,
    )


def test_local_minima_counts_strict_grid_minima():
    values = np.array([[3.0, 2.0, 3.0], [2.0, 1.0, 2.0], [3.0, 2.0, 0.5]])
    s = plane_of(values, (np.arange(3.0) - 1, np.arange(3.0) - 1), (1, 1))
    assert s.local_minima() == [(2, 2)]
    values[2, 2] = 5.0
    assert s.local_minima() == [(1, 1)]
    rebuilt = Surface.from_dict(s.to_dict())
    np.testing.assert_array_equal(rebuilt.values["train_loss"], values)


def test_curvature_is_exact_for_quadratics_on_uneven_grids():
    a, b = np.array([-1.0, -0.3, 0.0, 0.5, 2.0]), np.array([-2.0, 0.0, 0.1, 1.0])
    A, B = np.meshgrid(a, b, indexing="ij")

    def plane(values):
        return plane_of(values, (a, b), (2, 1))

    saddle = plane(3 * A**2 + 2 * A * B - B**2 + A - 7)
    curvature = saddle.curvature()
    assert curvature.shape == (3, 2, 2)
    np.testing.assert_allclose(
        curvature, np.broadcast_to(np.linalg.eigvalsh([[6, 2], [2, -2]]), curvature.shape)
    )
    assert saddle.non_convex_fraction() == 1.0
    bowl = (A - 0.2) ** 2 + 0.5 * B**2
    assert plane(bowl).non_convex_fraction() == 0.0
    # a dent in the bowl at one interior point; a non-finite value drops the points next to it
    bowl[2, 2] += 1.0
    bowl[4, 3] = np.inf
    dented = plane(bowl)
    assert np.isnan(dented.curvature()[2, 1]).all() and not np.isnan(dented.curvature()[0, 0]).any()
    assert 0.0 < dented.non_convex_fraction() < 1.0


def test_batchnorm_statistics_are_reestimated_from_the_training_data():
    subject = tiny_subject("bn_cnn")
    before = snapshot(subject)
    params = subject.params()
    bn = next(n for n, m in subject.model.named_modules() if isinstance(m, torch.nn.BatchNorm2d))
    # One batch: the statistics are exactly the batch mean and unbiased variance of the input
    # of the BatchNorm layer, computed here by a hook.
    seen = {}
    module = dict(subject.model.named_modules())[bn]
    handle = module.register_forward_hook(lambda m, i, o: seen.setdefault("x", i[0].detach()))
    with torch.no_grad(), subject.eval_mode():
        subject.model(subject.data.train.x)
    handle.remove()
    buffers = reestimate_bn_buffers(subject, params)
    x = seen["x"].transpose(0, 1).reshape(seen["x"].shape[1], -1)
    torch.testing.assert_close(buffers[f"{bn}.running_mean"], x.mean(1), rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(buffers[f"{bn}.running_var"], x.var(1), rtol=1e-5, atol=1e-6)
    # Ragged batches: the mean is still the example-weighted mean of the whole split.
    subject.eval_batch_size = 10
    ragged = reestimate_bn_buffers(subject, params)
    torch.testing.assert_close(ragged[f"{bn}.running_mean"], x.mean(1), rtol=1e-5, atol=1e-6)
    assert unchanged(subject, before)
    surface = landscape_plane(subject, steps=3, reestimate_bn=True)
    assert surface.reestimate_bn and unchanged(subject, before)
    assert np.all(np.isfinite(surface.values["train_loss"]))


def test_no_probe_touches_the_module():
    from occamlab import TrainSpec, fit
    from occamlab.train import TrajectoryRecorder

    subject = tiny_subject("bn_cnn", n=24)
    recorder = TrajectoryRecorder(every=1)
    fit(subject, TrainSpec(epochs=3, batch_size=8, lr=0.05), callbacks=[recorder])
    before = snapshot(subject)
    landscape_plane(subject, steps=3, directions="hessian", limit=16)
    landscape_plane(subject, steps=3, directions="layer", vectors="normalize", points_per_pass=2)
    trajectory_plane(subject, recorder, steps=3, reestimate_bn=True)
    curvature_map(subject, random_directions(subject), steps=3, limit=16)
    assert unchanged(subject, before)


def test_plots_and_json():
    import json

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    subject = tiny_subject("relu_mlp")
    plane = landscape_plane(subject, steps=5)
    line = landscape_plane(subject, steps=5, dims=1)
    json.dumps(plane.to_dict(), allow_nan=False)
    assert plane.plot() is not None and plane.plot(kind="surface") is not None
    assert line.plot() is not None
    plt.close("all")
