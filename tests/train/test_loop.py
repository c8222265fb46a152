import copy

import pytest
import torch
from torch import nn

from occamlab.data.base import Data, Split
from occamlab.subject import Subject
from occamlab.train import (
    Checkpointer,
    NonFiniteLossError,
    StepLogger,
    TrainSpec,
    TrajectoryRecorder,
    fit,
    lr_factor,
)
from occamlab.weights import load_weights
from tests.conftest import toy_data, toy_model


def _subject(seed=0):
    return Subject(model=toy_model(seed=seed), data=toy_data())


def test_same_seed_gives_bitwise_identical_weights():
    spec = TrainSpec(lr=0.1, batch_size=16, epochs=3, seed=5)
    a, b = _subject(), _subject()
    fit(a, spec)
    fit(b, spec)
    for (name, p), q in zip(
        a.model.state_dict().items(), b.model.state_dict().values(), strict=True
    ):
        assert torch.equal(p, q), name
    c = _subject()
    fit(c, TrainSpec(lr=0.1, batch_size=16, epochs=3, seed=6))
    assert not torch.equal(a.model[0].weight, c.model[0].weight)


def test_full_batch_gd_matches_the_closed_form_on_least_squares():
    # f(x) = w.x, loss = mean (w.x - y)^2: gradient = 2/n X^T (Xw - y); GD without momentum.
    g = torch.Generator().manual_seed(0)
    x = torch.randn(40, 3, generator=g, dtype=torch.float64)
    y = torch.randn(40, 1, generator=g, dtype=torch.float64)
    data = Data("ls", Split(x, y), Split(x, y), "regression", 1)
    model = nn.Linear(3, 1, bias=False).double()
    w = model.weight.detach().clone().T
    subject = Subject(model=model, data=data)
    lr, steps = 0.05, 7
    fit(
        subject,
        TrainSpec(
            optimizer="sgd", momentum=0.0, lr=lr, batch_size=0, epochs=steps, schedule="constant"
        ),
    )
    for _ in range(steps):
        w = w - lr * 2 / 40 * x.T @ (x @ w - y)
    assert torch.allclose(model.weight.detach().T, w, rtol=1e-12, atol=1e-14)


def test_minibatches_cover_every_example_once_per_epoch():
    seen = []

    class Spy(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(1, 2)

        def forward(self, x):
            if self.training:
                seen.extend(x[:, 0].tolist())
            return self.lin(x)

    x = torch.arange(10, dtype=torch.float32)[:, None]
    data = Data(
        "idx",
        Split(x, torch.zeros(10, dtype=torch.long)),
        Split(x[:2], torch.zeros(2, dtype=torch.long)),
        "classification",
        2,
    )
    fit(Subject(model=Spy(), data=data), TrainSpec(batch_size=3, epochs=2, eval_every=100))
    assert sorted(seen[:10]) == list(range(10)) and sorted(seen[10:]) == list(range(10))
    assert seen[:10] != seen[10:]  # reshuffled


def test_target_accuracy_stops_early_and_history_is_recorded():
    subject = _subject()
    result = fit(
        subject,
        TrainSpec(optimizer="adam", lr=0.05, epochs=200, target_accuracy=0.9, batch_size=16),
    )
    assert "target" in result.stop_reason
    assert result.final["train_accuracy"] >= 0.9
    assert result.epochs < 200
    assert [h["epoch"] for h in result.history] == list(range(1, result.epochs + 1))


def test_max_steps_caps_training():
    result = fit(_subject(), TrainSpec(batch_size=16, epochs=10, max_steps=5))
    assert result.steps == 5 and result.history[-1]["step"] == 5


def test_nan_loss_stops_and_the_checkpoint_keeps_the_last_good_weights(tmp_path):
    subject = _subject()
    first = Checkpointer(tmp_path)
    fit(subject, TrainSpec(lr=0.01, epochs=1, batch_size=16), callbacks=[first])
    good = {k: v.clone() for k, v in subject.model.state_dict().items()}
    subject.model[0].weight.data[0, 0] = float("nan")
    with pytest.raises(NonFiniteLossError, match="lower the learning rate"):
        fit(
            subject,
            TrainSpec(lr=0.01, epochs=1, batch_size=16),
            callbacks=[Checkpointer(tmp_path / "b")],
        )
    saved = load_weights(tmp_path / "last.safetensors")
    for k, v in good.items():
        assert torch.equal(saved[k], v)


def test_divergence_from_a_huge_learning_rate_is_reported():
    # GD on least squares diverges geometrically once lr > 2/lambda_max: inf, then NaN.
    x = torch.randn(40, 3, generator=torch.Generator().manual_seed(0))
    data = Data(
        "ls", Split(x, x.sum(1, keepdim=True)), Split(x, x.sum(1, keepdim=True)), "regression", 1
    )
    subject = Subject(model=nn.Linear(3, 1), data=data)
    with pytest.raises(NonFiniteLossError, match="lower the learning rate"):
        fit(subject, TrainSpec(lr=50.0, momentum=0.0, epochs=500, batch_size=0))


def test_trajectory_and_step_logger():
    subject = _subject()
    rec, log = TrajectoryRecorder(every=2), StepLogger(every=1)
    result = fit(subject, TrainSpec(batch_size=16, epochs=2), callbacks=[rec, log])
    traj = rec.trajectory()
    assert traj.shape == (1 + result.steps // 2, subject.num_parameters)
    assert rec.steps == list(range(0, result.steps + 1, 2))
    assert torch.equal(
        traj[-1], torch.cat([p.detach().reshape(-1) for p in subject.model.parameters()])
    )
    assert len(log.records) == result.steps


def test_training_restores_the_module_mode_and_does_not_touch_global_rng():
    subject = _subject()
    subject.model.eval()
    state = torch.random.get_rng_state()
    fit(subject, TrainSpec(batch_size=16, epochs=1))
    assert not subject.model.training
    assert torch.equal(torch.random.get_rng_state(), state)


@pytest.mark.parametrize(
    ("schedule", "step", "want"),
    [
        ("constant", 70, 1.0),
        ("cosine", 0, 1.0),
        ("cosine", 100, 0.0),
        ("linear", 25, 0.75),
        ("step", 49, 1.0),
        ("step", 50, 0.1),
        ("step", 80, 0.01),
    ],
)
def test_lr_schedules(schedule, step, want):
    assert lr_factor(step, 100, TrainSpec(schedule=schedule)) == pytest.approx(want, abs=1e-12)


def test_warmup_is_linear():
    spec = TrainSpec(warmup_steps=4)
    assert [lr_factor(s, 100, spec) for s in range(4)] == [0.25, 0.5, 0.75, 1.0]


@pytest.mark.parametrize(
    "bad", [{"lr": 0}, {"momentum": 1.0}, {"batch_size": -1}, {"epochs": 0}, {"target_accuracy": 2}]
)
def test_invalid_specs_are_refused(bad):
    with pytest.raises(ValueError):
        TrainSpec(**bad)


def test_adam_and_adamw_train():
    for name in ("adam", "adamw"):
        subject = _subject()
        before = copy.deepcopy(subject.evaluate().loss)
        fit(subject, TrainSpec(optimizer=name, lr=0.01, epochs=5, batch_size=16, weight_decay=1e-3))
        assert subject.evaluate().loss < before
