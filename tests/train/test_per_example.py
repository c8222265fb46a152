import pytest
import torch

from occamlab.subject import Subject
from occamlab.train import ExampleCorrectness, TrainSpec, correct_predictions, fit
from tests.conftest import toy_data, toy_model


def test_correct_predictions_agree_with_evaluate_and_restore_modes():
    model = toy_model()
    model.train()
    subject = Subject(model=model, data=toy_data(), eval_batch_size=10)
    correct = correct_predictions(subject)
    assert correct.dtype == torch.bool and correct.shape == (64,)
    assert float(correct.double().mean()) == subject.evaluate().accuracy
    assert model.training
    assert correct_predictions(subject, split="test", limit=5).shape == (5,)


def test_monitor_records_at_start_every_k_steps_and_at_the_end():
    subject = Subject(model=toy_model(), data=toy_data())
    monitor = ExampleCorrectness(every=3)
    # 64 examples, batch 16: 4 steps per epoch, 2 epochs = 8 steps.
    fit(subject, TrainSpec(batch_size=16, epochs=2, lr=0.1), callbacks=[monitor])
    assert monitor.steps == [0, 3, 6, 8]
    matrix = monitor.matrix()
    assert matrix.shape == (4, 64) and matrix.dtype == torch.bool
    assert torch.equal(matrix[-1], correct_predictions(subject))


def test_monitor_errors():
    with pytest.raises(ValueError, match="every"):
        ExampleCorrectness(every=0)
    with pytest.raises(RuntimeError, match="nothing recorded"):
        ExampleCorrectness(every=1).matrix()


def test_monitoring_does_not_change_training():
    spec = TrainSpec(batch_size=16, epochs=2, lr=0.1, seed=3)
    plain, watched = (
        Subject(model=toy_model(), data=toy_data()),
        Subject(model=toy_model(), data=toy_data()),
    )
    fit(plain, spec)
    fit(watched, spec, callbacks=[ExampleCorrectness(every=1)])
    for p, q in zip(plain.model.parameters(), watched.model.parameters(), strict=True):
        assert torch.equal(p, q)
