import pytest
import torch
from torch import nn

from occamlab.data.base import Data, Split
from occamlab.subject import Subject, loss_value
from tests.conftest import toy_data, toy_model


def test_streamed_evaluation_equals_full_batch_float64():
    data = toy_data(n_train=53)
    model = toy_model().double()
    data64 = Data(
        name="toy",
        train=Split(data.train.x.double(), data.train.y),
        test=Split(data.test.x.double(), data.test.y),
        task="classification",
        num_outputs=3,
    )
    subject = Subject(model=model, data=data64, eval_batch_size=7)  # 53 = 7*7 + 4: ragged end
    got = subject.evaluate(split="train")
    with torch.no_grad():
        out = model(data64.train.x)
        want_loss = nn.functional.cross_entropy(out, data64.train.y).item()
        want_acc = (out.argmax(1) == data64.train.y).double().mean().item()
    assert got.n == 53
    assert got.loss == pytest.approx(want_loss, rel=1e-12)
    assert got.accuracy == pytest.approx(want_acc, abs=0)


def test_functional_forward_does_not_mutate_module():
    subject = Subject(model=toy_model(), data=toy_data())
    before = {k: v.clone() for k, v in subject.model.state_dict().items()}
    params = {k: v + 1.0 for k, v in subject.params().items()}
    x = subject.data.train.x[:4]
    shifted = subject.forward(params, x)
    assert not torch.allclose(shifted, subject.model(x))
    for k, v in subject.model.state_dict().items():
        assert torch.equal(v, before[k])
    assert torch.equal(subject.forward(subject.params(), x), subject.model(x))


def test_evaluate_at_other_params_matches_a_copy_of_the_module():
    subject = Subject(model=toy_model(), data=toy_data())
    params = {k: v * 0.5 for k, v in subject.params().items()}
    copy = toy_model()
    copy.load_state_dict(params)
    want = Subject(model=copy, data=toy_data()).evaluate(split="test")
    got = subject.evaluate(params, split="test")
    assert got.loss == pytest.approx(want.loss, rel=1e-6)
    assert got.accuracy == want.accuracy


def test_eval_mode_restores_each_submodule_and_lists_stochastic_layers():
    model = nn.Sequential(nn.Linear(5, 8), nn.BatchNorm1d(8), nn.Dropout(0.5), nn.Linear(8, 3))
    model.train()
    model[2].eval()  # a user's deliberate mixed state must survive
    subject = Subject(model=model, data=toy_data())
    assert subject.stochastic_layers == ["1", "2"]
    with subject.eval_mode():
        assert not any(m.training for m in model.modules())
    assert model.training and model[1].training and not model[2].training
    # evaluation is deterministic despite dropout, and leaves BatchNorm statistics alone
    stats = model[1].running_mean.clone()
    a, b = subject.evaluate(), subject.evaluate()
    assert a == b
    assert torch.equal(model[1].running_mean, stats)


def test_mse_on_class_labels_regresses_one_hot():
    out = torch.tensor([[0.2, 0.9], [1.0, -1.0]])
    y = torch.tensor([1, 0])
    want = ((out - torch.tensor([[0.0, 1.0], [1.0, 0.0]])) ** 2).mean()
    assert torch.allclose(loss_value(out, y, "mse"), want)


def test_default_loss_follows_the_task_and_bad_losses_are_refused():
    assert Subject(model=toy_model(), data=toy_data()).loss == "cross_entropy"
    x = torch.randn(10, 5)
    reg = Data("reg", Split(x, torch.randn(10, 3)), Split(x, torch.randn(10, 3)), "regression", 3)
    assert Subject(model=toy_model(), data=reg).loss == "mse"
    with pytest.raises(ValueError, match="use loss='mse'"):
        Subject(model=toy_model(), data=reg, loss="cross_entropy")
    with pytest.raises(ValueError, match="unknown loss"):
        Subject(model=toy_model(), data=toy_data(), loss="hinge")


def test_shape_mismatches_say_what_to_do():
    with pytest.raises(ValueError, match="cannot take inputs of shape"):
        Subject(model=toy_model(dim=7), data=toy_data(dim=5))
    with pytest.raises(ValueError, match="num_outputs matching the data"):
        Subject(model=toy_model(classes=4), data=toy_data(classes=3))


def test_empty_data_is_refused():
    empty = Split(torch.zeros(0, 5), torch.zeros(0, dtype=torch.long))
    with pytest.raises(ValueError, match="empty training split"):
        Data("empty", empty, empty, "classification", 3)


def test_clone_copies_the_model_and_loads_params_without_touching_the_original():
    subject = Subject(model=toy_model(), data=toy_data())
    before = {k: v.clone() for k, v in subject.params().items()}
    zeros = {k: torch.zeros_like(v) for k, v in before.items()}
    twin = subject.clone(zeros)
    assert twin.data is subject.data and twin.model is not subject.model
    assert all(torch.equal(v, before[k]) for k, v in subject.params().items())
    assert all(float(v.abs().sum()) == 0.0 for v in twin.params().values())
    with pytest.raises(ValueError, match="unknown parameter"):
        subject.clone({"nope": torch.zeros(1)})
    name = next(iter(before))
    with pytest.raises(ValueError, match="shape"):
        subject.clone({name: torch.zeros(1, 1, 1)})
    other = toy_data()
    moved = subject.clone(data=other)
    assert moved.data is other and subject.data is not other and moved.model is not subject.model


def test_outputs_are_the_eval_mode_forward_over_a_split_in_batches():
    model = nn.Sequential(nn.Linear(5, 8), nn.Dropout(0.5), nn.Linear(8, 3))
    subject = Subject(model=model, data=toy_data(), eval_batch_size=7)
    model.train()
    out = subject.outputs("test")
    assert model.training  # its own mode restored
    model.eval()
    with torch.no_grad():
        assert torch.equal(out, model(subject.data.test.x)) and not out.requires_grad
