import copy

import pytest
import torch
from torch import nn

from occamlab.data.base import Data, Split
from occamlab.probes.memorization import critical_sample_ratio
from occamlab.subject import Subject
from tests.conftest import toy_data, toy_model


def linear_subject(classes, seed=0, n=400, dim=6):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, dim, generator=g, dtype=torch.float64)
    model = nn.Linear(dim, classes).double()
    with torch.no_grad():
        model.weight.copy_(torch.randn(classes, dim, generator=g, dtype=torch.float64))
        model.bias.copy_(torch.randn(classes, generator=g, dtype=torch.float64))
    y = torch.zeros(n, dtype=torch.int64)
    data = Data("lin", Split(x, y), Split(x, y), "classification", classes)
    return Subject(model=model, data=data)


def exact_critical(subject, radius):
    """For f = Wx + b: critical iff some j beats c = argmax f(x) at the box corner toward it,
    f_j(x) - f_c(x) + r ||w_j - w_c||_1 > 0; also returns that largest reachable gap."""
    w, b = subject.model.weight.detach(), subject.model.bias.detach()
    x = subject.data.train.x
    f = x @ w.T + b
    c = f.argmax(dim=1)
    gap = f - f.gather(1, c[:, None]) + radius * (w[None, :, :] - w[c][:, None, :]).abs().sum(-1)
    gap = gap.scatter(1, c[:, None], float("-inf")).amax(dim=1)
    return gap > 0, gap


def test_binary_linear_classifier_matches_the_exact_box_condition():
    subject = linear_subject(classes=2)
    for radius in (0.05, 0.2, 0.5):
        result = critical_sample_ratio(subject, radius=radius, steps=10)
        exact, gap = exact_critical(subject, radius)
        clear = gap.abs() > 1e-9  # points exactly on the threshold are ambiguous
        got = torch.tensor(result.critical)
        assert torch.equal(got[clear], exact[clear])
        assert 0 < result.ratio < 1 and result.n == 400


def test_multiclass_linear_classifier_is_sound_and_nearly_complete():
    subject = linear_subject(classes=5, seed=1)
    radius = 0.2
    result = critical_sample_ratio(subject, radius=radius, steps=20)
    exact, _ = exact_critical(subject, radius)
    got = torch.tensor(result.critical)
    assert not bool((got & ~exact).any())  # found points really flip the prediction
    assert float((got == exact).double().mean()) >= 0.95
    assert abs(result.ratio - float(exact.double().mean())) <= 0.05


def test_ratio_grows_with_the_radius_and_leaves_the_module_alone():
    model = toy_model()
    model.train()
    subject = Subject(model=model, data=toy_data())
    before = copy.deepcopy(model.state_dict())
    ratios = [
        critical_sample_ratio(subject, radius=r, generator=torch.Generator().manual_seed(0)).ratio
        for r in (1e-4, 0.1, 0.3, 2.0)
    ]
    assert ratios[0] == 0.0 and ratios[0] < ratios[1] < ratios[2] < ratios[3] == 1.0
    for k, v in model.state_dict().items():
        assert torch.equal(v, before[k])
    assert model.training
    limited = critical_sample_ratio(subject, radius=0.3, split="test", limit=10)
    assert limited.n == 10 and limited.split == "test" and limited.eval_mode
    assert set(limited.to_dict()) >= {"ratio", "critical", "radius", "n"}


def test_bad_options_are_rejected():
    subject = Subject(model=toy_model(), data=toy_data())
    with pytest.raises(ValueError, match="radius"):
        critical_sample_ratio(subject, radius=0.0)
    with pytest.raises(ValueError, match="steps"):
        critical_sample_ratio(subject, radius=0.1, steps=0)
