import math

import numpy as np
import pytest
import torch

from occamlab import TrainSpec, fit
from occamlab.probes.connectivity import interpolate
from occamlab.probes.landscape import CurveModule, curve_coefficients, mode_connectivity
from occamlab.testing import tiny_subject


@pytest.mark.parametrize("kind", ["bezier", "polychain"])
@pytest.mark.parametrize("bends", [1, 3])
def test_curve_coefficients_sum_to_one_and_hit_the_endpoints(kind, bends):
    for t in np.linspace(0, 1, 13):
        assert math.fsum(curve_coefficients(kind, bends, float(t))) == pytest.approx(1.0)
    assert curve_coefficients(kind, bends, 0.0)[0] == 1.0
    assert curve_coefficients(kind, bends, 1.0)[-1] == 1.0
    with pytest.raises(ValueError, match="t must be"):
        curve_coefficients(kind, bends, 1.5)


def test_curve_module_evaluates_the_network_functionally():
    subject = tiny_subject("relu_mlp")
    a = subject.params()
    b = {k: v + 0.1 for k, v in a.items()}
    module = CurveModule(subject.model, a, b, kind="bezier")
    trainable = [p.shape for p in module.parameters() if p.requires_grad]
    assert trainable == [torch.Size([module.start.numel()])]
    out = {k: torch.empty_like(v) for k, v in a.items()}
    module.fill(0.0, out)
    assert all(torch.equal(out[k], a[k]) for k in a)
    module.fill(1.0, out)
    assert all(torch.equal(out[k], b[k]) for k in a)
    module.eval()
    module.t = 0.3
    x = subject.data.train.x[:5]
    expected = subject.forward(module.point(0.3), x)
    torch.testing.assert_close(module(x), expected)


def test_interpolation_and_curves_between_identical_solutions_are_flat():
    subject = tiny_subject("bn_cnn")
    p = subject.params()
    line = interpolate(subject, p, p, num_points=5, reestimate_bn=True)
    assert line.loss_barrier == 0.0 and line.error_barrier == 0.0
    assert len(set(line.train_loss)) == 1
    module = CurveModule(subject.model, p, p, kind="polychain", bends=2)
    from occamlab.probes.connectivity import evaluate_path

    curve = evaluate_path(subject, module.fill, num_points=5)
    assert curve.loss_barrier == 0.0 and curve.train_loss[0] == subject.evaluate().loss


def test_a_trained_curve_lowers_the_barrier_and_leaves_the_subject_alone():
    subject = tiny_subject("relu_mlp", n=96, n_test=32)
    recipe = TrainSpec(epochs=60, batch_size=16, lr=0.1, optimizer="sgd")
    ends = []
    for seed in (11, 12):
        copy = subject.clone(
            {
                k: torch.randn(v.shape, generator=torch.Generator().manual_seed(seed)) * 0.5
                for k, v in subject.params().items()
            }
        )
        fit(copy, TrainSpec(epochs=60, batch_size=16, lr=0.1, seed=seed))
        ends.append(copy.params())
    before = {k: v.clone() for k, v in subject.model.state_dict().items()}
    result = mode_connectivity(subject, ends[0], ends[1], train=recipe, kind="bezier", num_points=9)
    assert all(torch.equal(subject.model.state_dict()[k], v) for k, v in before.items())
    assert result.curve.train_loss[0] == result.line.train_loss[0]
    assert result.curve.train_loss[-1] == result.line.train_loss[-1]
    assert result.line.loss_barrier > 0.05
    assert result.curve.loss_barrier < 0.5 * result.line.loss_barrier
    assert result.training["steps"] == 60 * 6
    d = result.to_dict()
    assert d["curve_kind"] == "bezier" and d["line"]["alphas"][0] == 0.0
    import matplotlib

    matplotlib.use("Agg")
    assert result.plot() is not None


def test_paths_over_some_parameters_keep_the_others_at_the_module_values():
    subject = tiny_subject("relu_mlp")
    name = next(iter(subject.params()))
    start = {name: subject.params()[name]}
    end = {name: start[name] + 0.5}
    path = interpolate(subject, start, end, num_points=3)
    assert path.train_loss[0] == subject.evaluate().loss
    assert path.train_loss[-1] == subject.evaluate(end).loss
