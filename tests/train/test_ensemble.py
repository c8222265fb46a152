import dataclasses

import pytest
import torch
from torch import nn

from occamlab import TrainSpec, fit, make_subject
from occamlab.data import Split, data_spec
from occamlab.models import model_spec
from occamlab.subject import Subject
from occamlab.train import Callback
from occamlab.train.ensemble import choose_method, fit_ensemble


def members(k=4, *, width=12, noise=(), activation="relu", n=96, dtype=torch.float64, dropout=0.0):
    """Float64 members by default: the ensemble must run the same algorithm as training alone,
    and in float32 the batched products' rounding (~1e-7) is amplified by training (Adam
    turns near-zero gradient entries into full steps), which would hide what is compared."""
    out = []
    for i in range(k):
        p = noise[i] if noise else 0.0
        data = data_spec("gaussian_mixture", num_train=n, num_test=40, label_noise=p)
        model = model_spec("mlp", width=width, activation=activation, dropout=dropout)
        s = make_subject(model=model, data=data, seed=i)
        if dtype != torch.float32:
            d = s.data
            d = dataclasses.replace(
                d,
                train=Split(d.train.x.to(dtype), d.train.y),
                test=Split(d.test.x.to(dtype), d.test.y),
            )
            s = Subject(model=s.model.to(dtype), data=d)
        out.append(s)
    return out


def assert_same(a: Subject, b: Subject, tol=1e-10):
    for (name, p), q in zip(a.params().items(), b.params().values(), strict=True):
        assert torch.allclose(p, q, atol=tol, rtol=tol), name


RECIPES = {  # (learning rate, weight decay) per member
    "per-member": [(0.05, 0.0), (0.02, 1e-3), (0.1, 0.0), (0.01, 1e-2)],
    "shared": [(0.05, 1e-3)] * 4,  # one rate for all: the multi-tensor update path
}


@pytest.mark.parametrize("method", ["stacked", "vmap"])
@pytest.mark.parametrize("optimizer", ["sgd", "adam", "adamw"])
@pytest.mark.parametrize("recipes", list(RECIPES))
def test_members_train_as_they_would_alone(method, optimizer, recipes):
    subjects = members(noise=(0.0, 0.3, 0.0, 1.0))
    specs = [
        TrainSpec(
            optimizer=optimizer,
            lr=lr,
            weight_decay=wd,
            epochs=4,
            batch_size=16,
            grad_clip=1.0,
            eval_every=2,
        )
        for lr, wd in RECIPES[recipes]
    ]
    alone = [s.clone() for s in subjects]
    expected = [fit(s, spec) for s, spec in zip(alone, specs, strict=True)]
    results = fit_ensemble(subjects, specs, method=method)
    for s, a, r, e in zip(subjects, alone, results, expected, strict=True):
        assert_same(s, a)
        assert r.steps == e.steps and r.stop_reason == e.stop_reason
        assert [h["step"] for h in r.history] == [h["step"] for h in e.history]
        for hr, he in zip(r.history, e.history, strict=True):
            assert hr["lr"] == pytest.approx(he["lr"])
            assert hr["train_loss"] == pytest.approx(he["train_loss"], rel=1e-10)
            assert hr["test_accuracy"] == he["test_accuracy"]


def test_each_member_stops_at_its_own_target_like_alone():
    subjects = members(k=3)
    specs = [
        TrainSpec(lr=0.05, epochs=30, batch_size=32, target_accuracy=t) for t in (0.6, 0.8, 0.0)
    ]
    alone = [s.clone() for s in subjects]
    expected = [fit(s, spec) for s, spec in zip(alone, specs, strict=True)]
    results = fit_ensemble(subjects, specs, method="stacked")
    assert len({r.steps for r in results}) > 1  # they really stopped at different steps
    for s, a, r, e in zip(subjects, alone, results, expected, strict=True):
        assert r.steps == e.steps and r.stop_reason == e.stop_reason
        assert_same(s, a)


class Count(Callback):
    def __init__(self):
        self.calls = {"begin": 0, "step": 0, "epoch": 0, "end": 0}
        self.final = None

    def on_train_begin(self, state):
        self.calls["begin"] += 1

    def on_step_end(self, state):
        self.calls["step"] += 1

    def on_epoch_end(self, state):
        self.calls["epoch"] += 1

    def on_train_end(self, state):
        self.calls["end"] += 1
        self.final = (state.step, state.subject, state.history[-1]["train_loss"])


def test_member_callbacks_see_their_member():
    subjects = members(k=2)
    spec = TrainSpec(lr=0.05, epochs=3, batch_size=32)
    counts = [Count(), Count()]
    fit_ensemble(subjects, spec, method="stacked", callbacks=[[c] for c in counts])
    alone = Count()
    fit(members(k=1)[0], spec, callbacks=[alone])
    for i, c in enumerate(counts):
        assert c.calls == alone.calls
        assert c.final[1] is subjects[i]
        assert c.final[2] == pytest.approx(subjects[i].evaluate(split="train").loss)


def test_what_cannot_be_vectorized_falls_back_or_is_refused():
    subjects = members(k=2)
    differ = [TrainSpec(epochs=2, batch_size=32), TrainSpec(epochs=2, batch_size=16)]
    with pytest.raises(ValueError, match="recipes differ"):
        fit_ensemble(subjects, differ, method="stacked")
    results = fit_ensemble(subjects, differ, method="auto")  # sequential
    assert results[0].steps != results[1].steps
    bn = [
        make_subject(
            model=model_spec("resnet", width=4),
            data=data_spec("mnist1d", num_train=50, num_test=20),
            seed=i,
        )
        for i in range(2)
    ]
    with pytest.raises(ValueError, match="BatchNorm|buffers"):
        fit_ensemble(bn, TrainSpec(epochs=1), method="vmap")
    with pytest.raises(ValueError, match="specs"):
        fit_ensemble(subjects, [TrainSpec()], method="auto")
    with pytest.raises(ValueError, match="at least one"):
        fit_ensemble([], TrainSpec())


def test_a_generic_module_takes_the_vmap_path():
    class Scaled(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.Linear(10, 8)
            self.b = nn.Linear(8, 4)
            self.gain = nn.Parameter(torch.tensor(1.5))

        def forward(self, x):
            return self.b(torch.tanh(self.gain * self.a(x)))

    base = members(k=1)[0]  # float64 data
    subjects = []
    for seed in range(3):
        torch_gen = torch.Generator().manual_seed(seed)
        m = Scaled().double()
        with torch.no_grad():
            for p in m.parameters():
                p.copy_(torch.randn(p.shape, generator=torch_gen, dtype=p.dtype) * 0.5)
        subjects.append(Subject(model=m, data=base.data))
    alone = [s.clone() for s in subjects]
    spec = TrainSpec(epochs=3, batch_size=32, lr=0.05)
    for a in alone:
        fit(a, spec)
    fit_ensemble(subjects, spec, method="vmap")
    for s, a in zip(subjects, alone, strict=True):
        assert_same(s, a)


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_members_with_dropout_draw_the_masks_they_would_draw_alone(optimizer):
    subjects = members(k=3, width=16, dropout=0.3)
    alone = [s.clone() for s in subjects]
    specs = [
        TrainSpec(optimizer=optimizer, lr=lr, epochs=4, batch_size=16, target_loss=t)
        for lr, t in ((0.05, 0.0), (0.02, 0.0), (0.1, 1.0))  # the last stops early
    ]
    results = [fit(a, spec) for a, spec in zip(alone, specs, strict=True)]
    together = fit_ensemble(subjects, specs, method="stacked")
    for s, a, r, t in zip(subjects, alone, results, together, strict=True):
        assert_same(s, a)
        assert (t.steps, t.stop_reason) == (r.steps, r.stop_reason)
    assert together[2].steps < together[0].steps  # the early stop was exercised
    # evaluation is deterministic (eval mode): the members' losses are their own
    for s, a in zip(subjects, alone, strict=True):
        assert s.evaluate().loss == pytest.approx(a.evaluate().loss, rel=1e-12)


def test_dropout_vectorizes_only_stacked_and_only_when_seeded():
    subjects = members(k=2, dropout=0.2)
    with pytest.raises(ValueError, match="stacked"):
        fit_ensemble(subjects, TrainSpec(epochs=1), method="vmap")
    assert choose_method(subjects, [TrainSpec(batch_size=16)] * 2) == "stacked"
    plain = [
        Subject(
            model=nn.Sequential(nn.Linear(10, 8), nn.Dropout(0.2), nn.Linear(8, 4)).double(),
            data=s.data,
        )
        for s in members(k=2)
    ]
    with pytest.raises(ValueError, match="global RNG"):
        fit_ensemble(plain, TrainSpec(epochs=1), method="stacked")


def test_choose_method_is_a_rule_for_fully_connected_nets(monkeypatch):
    from occamlab.train import ensemble

    monkeypatch.setattr(ensemble, "fit", lambda *a, **k: pytest.fail("timed an MLP"))
    subjects = members(k=2)
    assert choose_method(subjects, [TrainSpec(batch_size=16)] * 2) == "stacked"
    batch = ensemble.STACKED_MAX_WORK // subjects[0].num_parameters + 1
    assert choose_method(subjects, [TrainSpec(batch_size=batch)] * 2) == "sequential"


def test_linear_layers_with_their_own_forward_are_not_stacked():
    from occamlab.probes.kernels.wide import wide_mlp

    base = members(k=1)[0]
    subjects = [
        Subject(
            model=wide_mlp(
                10,
                16,
                1,
                4,
                bias_std=0.5,
                generator=torch.Generator().manual_seed(s),
                dtype=torch.float64,
            ),
            data=base.data,
        )
        for s in range(2)
    ]
    with pytest.raises(ValueError, match="fully connected"):
        fit_ensemble(subjects, TrainSpec(epochs=1), method="stacked")
    alone = [s.clone() for s in subjects]
    spec = TrainSpec(epochs=2, batch_size=32, lr=0.05)
    for a in alone:
        fit(a, spec)
    fit_ensemble(subjects, spec, method="vmap")
    for s, a in zip(subjects, alone, strict=True):
        assert_same(s, a)


def test_choose_method_leaves_members_untouched():
    subjects = members(k=4)
    before = [{k: v.clone() for k, v in s.params().items()} for s in subjects]
    assert choose_method(subjects, [TrainSpec(batch_size=16)] * 4) in ("stacked", "sequential")
    for s, b in zip(subjects, before, strict=True):
        assert all(torch.equal(v, b[k]) for k, v in s.params().items())
