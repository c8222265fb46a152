import dataclasses

import numpy as np
import pytest
import torch
from scipy.stats import binomtest
from scipy.stats import t as student_t
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from torch import nn

from occamlab import TrainSpec, fit, make_subject
from occamlab.data.base import Split
from occamlab.data.holdout import split_train
from occamlab.probes.baselines import (
    FAMILIES,
    BaselinesSpec,
    baselines,
    mcnemar,
    mlp_architecture,
    paired_loss_test,
)
from occamlab.probes.baselines.families import Problem, tree_numbers
from occamlab.probes.baselines.kernel_machine import KernelMachine
from occamlab.probes.baselines.probe import answer
from occamlab.probes.kernels.analytic import analytic_ntk
from occamlab.probes.kernels.regression import kernel_regression, one_hot
from occamlab.subject import Subject
from tests.conftest import toy_data


@pytest.fixture(scope="module")
def trained():
    subject = make_subject(
        model="mlp",
        data="gaussian_mixture",
        model_options={"width": 16},
        data_options={"num_train": 200, "num_test": 120},
    )
    fit(subject, TrainSpec(epochs=20))
    return subject


# -- paired tests --------------------------------------------------------------------------


@pytest.mark.parametrize("a_only,b_only,same", [(3, 0, 10), (12, 5, 40), (7, 7, 3), (0, 1, 0)])
def test_mcnemar_is_the_exact_binomial_test_of_the_discordant_pairs(a_only, b_only, same):
    a = np.array([1] * a_only + [0] * b_only + [1] * same + [0] * 4, bool)
    b = np.array([0] * a_only + [1] * b_only + [1] * same + [0] * 4, bool)
    t = mcnemar(a, b)
    assert (t.a_only, t.b_only, t.n) == (a_only, b_only, len(a))
    expected = binomtest(a_only, a_only + b_only, 0.5).pvalue
    assert t.p_value == pytest.approx(expected, rel=1e-12)
    assert t.difference == pytest.approx((a_only - b_only) / len(a))
    assert mcnemar(b, a).p_value == pytest.approx(t.p_value)


def test_mcnemar_without_discordant_pairs_and_bad_input():
    same = np.array([1, 0, 1], bool)
    assert mcnemar(same, same).p_value == 1.0
    with pytest.raises(ValueError, match="equal-length"):
        mcnemar(same, same[:2])
    with pytest.raises(ValueError, match="no examples"):
        mcnemar(np.array([], bool), np.array([], bool))


def test_paired_t_test_matches_its_formula():
    rng = np.random.default_rng(0)
    a = rng.normal(1.0, 1.0, 50)
    b = a + rng.normal(0.3, 0.5, 50)
    d = b - a
    stat = d.mean() / (d.std(ddof=1) / np.sqrt(len(d)))
    t = paired_loss_test(a, b)
    assert t.difference == pytest.approx(d.mean())
    assert t.p_value == pytest.approx(2 * student_t.sf(abs(stat), len(d) - 1), rel=1e-9)
    assert paired_loss_test(a, a).p_value == 1.0


# -- families ------------------------------------------------------------------------------


def test_the_architecture_of_plain_mlps_is_read_off_the_module():
    def mlp(**options):
        return make_subject(
            model="mlp", data="gaussian_mixture", model_options=options,
            data_options={"num_train": 20, "num_test": 10},
        ).model  # fmt: skip

    assert mlp_architecture(mlp(width=8, depth=2)) == (2, "relu")
    assert mlp_architecture(mlp(width=8, depth=3, activation="tanh")) == (3, "tanh")
    assert mlp_architecture(mlp(width=8, depth=1, activation="erf", dropout=0.2)) == (1, "erf")
    assert mlp_architecture(mlp(depth=0)) == (0, "identity")
    assert mlp_architecture(nn.Sequential(nn.Flatten(), nn.Linear(4, 3), nn.ReLU(),
                                          nn.Linear(3, 2))) == (1, "relu")  # fmt: skip
    mixed = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 3), nn.Tanh(), nn.Linear(3, 2))
    assert mlp_architecture(mixed) is None
    assert mlp_architecture(nn.Sequential(nn.Linear(4, 3), nn.Linear(3, 2))) == (1, "identity")
    assert (
        mlp_architecture(nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.ReLU(), nn.Linear(3, 2)))
        is None
    )
    assert mlp_architecture(nn.Sequential(nn.Conv1d(1, 2, 3), nn.ReLU(), nn.Flatten(),
                                          nn.LazyLinear(2))) is None  # fmt: skip
    assert mlp_architecture(nn.Sequential(nn.Linear(4, 3), nn.GELU(), nn.Linear(3, 2))) is None


def test_the_kernel_machine_is_ridge_regression_on_one_hot_targets():
    rng = np.random.default_rng(1)
    x, xt = rng.normal(size=(30, 5)), rng.normal(size=(12, 5))
    y = rng.integers(0, 3, 30)
    problem = Problem("classification", 5, 3, architecture=(2, "relu"))
    machine = FAMILIES["ntk"].build({"ridge": 1e-2}, problem).fit(x, y)
    k = analytic_ntk(torch.from_numpy(x), depth=2, weight_std=2**0.5).ntk
    kt = analytic_ntk(torch.from_numpy(xt), torch.from_numpy(x), depth=2, weight_std=2**0.5).ntk
    ridge = 1e-2 * float(k.diagonal().mean())
    reference = kernel_regression(k, one_hot(torch.from_numpy(y), 3), ridge=ridge).predict(kt)
    assert np.array_equal(machine.predict(xt), reference.argmax(1).numpy())
    raw = machine.model_.predict(kt.numpy())
    assert np.allclose(raw, reference.numpy(), atol=1e-8)

    # almost no ridge: the machine interpolates its training labels
    def gaussian(a, b):  # strictly positive definite: any labels can be interpolated
        return np.exp(-((a[:, None] - b[None]) ** 2).sum(-1))

    exact = KernelMachine(gaussian, 1e-10, 3).fit(x, y)
    assert np.array_equal(exact.predict(x), y)
    # the NNGP family reads the other kernel of the same recursion
    nngp = FAMILIES["nngp"].build({"ridge": 1e-2}, problem).fit(x, y)
    nngp_k = analytic_ntk(torch.from_numpy(x), depth=2, weight_std=2**0.5).nngp
    assert np.allclose(nngp.kernel(x, x), nngp_k.numpy())


def test_parameter_counts_of_each_family():
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(60, 4)), rng.integers(0, 3, 60)
    p = Problem("classification", 4, 3)

    def count(name, point):
        family = FAMILIES[name]
        return family.count(family.build(point, p).fit(x, y), p)

    assert count("linear", {"C": 1.0}) == 4 * 3 + 3 + 2 * 4  # weights, biases, scaler
    assert count("knn", {"k": 3}) == 60 * (4 + 1) + 2 * 4  # stored inputs and labels
    assert count("rbf", {"gamma": 1.0, "ridge": 0.1}) == 60 * 4 + 60 * 3 + 2 * 4
    rf = 4 * 16 + 16 + 16 * 3 + 3 + 2 * 4  # projection, phases, ridge head, scaler
    assert count("random_features", {"width": 16, "alpha": 1.0}) == rf


def test_tree_numbers_counts_splits_leaves_and_baseline():
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

    x = np.r_[np.zeros(20), np.ones(20)][:, None]
    y = np.r_[np.zeros(20), np.ones(20)].astype(int)
    one = HistGradientBoostingClassifier(max_iter=1, max_leaf_nodes=2, early_stopping=False)
    # one tree with one split: feature + threshold, two leaf values, one baseline
    assert tree_numbers(one.fit(x, y)) == 2 + 2 + 1
    two = HistGradientBoostingRegressor(max_iter=2, max_leaf_nodes=2, early_stopping=False)
    assert tree_numbers(two.fit(x, y.astype(float))) == 2 * (2 + 2) + 1


# -- the probe -----------------------------------------------------------------------------


def test_every_number_is_recomputed_and_the_test_split_chooses_nothing(trained):
    r = baselines(trained, families="linear,knn,ntk")
    assert [f["name"] for f in r.fits] == ["linear", "knn", "ntk"]
    assert r.network["test_accuracy"] == pytest.approx(trained.evaluate(split="test").accuracy)
    assert r.network["num_parameters"] == trained.num_parameters
    assert (r.num_train, r.num_validation, r.num_test) == (160, 40, 120)
    # the linear family by hand: choose C on the same validation split, refit on all training
    fit_part, val_part = split_train(trained.data, fraction=0.8, seed=0)

    def flat(split):
        return split.x.double().numpy(), split.y.numpy()

    def model(c, split):
        return make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=2000)).fit(
            *flat(split)
        )

    xv, yv = flat(val_part.train)
    scores = [(model(c, fit_part.train).predict(xv) == yv).mean() for c in (0.01, 0.1, 1, 10)]
    best = (0.01, 0.1, 1, 10)[int(np.argmax(scores))]
    linear = r.fit("linear")
    assert linear["setting"] == f"C {best:g}" and linear["validation_score"] == max(scores)
    xt, yt = flat(trained.data.test)
    right = model(best, trained.data.train).predict(xt) == yt
    assert linear["test_accuracy"] == pytest.approx(right.mean())
    with torch.no_grad():
        net_right = (trained.model(trained.data.test.x).argmax(1) == trained.data.test.y).numpy()
    paired = linear["paired"]
    assert paired["a_only"] == int((net_right & ~right).sum())
    assert paired["b_only"] == int((~net_right & right).sum())
    assert linear["fraction"] == pytest.approx(linear["num_parameters"] / trained.num_parameters)
    # shuffled test labels change the test numbers, never a choice made on the validation split
    shuffled = dataclasses.replace(
        trained.data, test=Split(trained.data.test.x, trained.data.test.y.flip(0))
    )
    other = baselines(trained.clone(data=shuffled), families="linear,knn,ntk")
    for a, b in zip(r.fits, other.fits, strict=True):
        assert (a["setting"], a["validation_score"]) == (b["setting"], b["validation_score"])
    assert [f["test_accuracy"] for f in r.fits] != [f["test_accuracy"] for f in other.fits]
    assert r.answer == answer(r.fit(r.named), r.matched, r.network, 0.01)


def test_the_answer_follows_the_numbers():
    net = {"test_accuracy": 0.9, "test_loss": None, "num_parameters": 1000}

    def fit(acc, p, a_only, b_only, n=50):
        return {"label": "k-nearest neighbours", "setting": "k 3", "test_accuracy": acc,
                "num_parameters": n, "fit_seconds": 0.01,
                "paired": {"p_value": p, "a_only": a_only, "b_only": b_only,
                           "difference": 0.9 - acc}}  # fmt: skip

    yes = answer(fit(0.895, 0.8, 6, 5), True, net, 0.01)
    assert yes.startswith("Yes, a simpler family already matches") and "5.0% of" in yes
    assert "p = 0.8: 6 test examples only the network gets right, 5 only" in yes
    wins = answer(fit(0.8, 1e-5, 60, 10), False, net, 0.01)
    assert wins.startswith("No simpler family matches the network") and "wins by 0.1" in wins
    unclear = answer(fit(0.85, 0.2, 12, 7), False, net, 0.01)
    assert "not significant" in unclear and "lead of 0.05" in unclear
    bigger = answer(fit(0.91, 0.5, 1, 2, n=3000), True, net, 0.01)
    assert "3,000 numbers (3.0× the network's 1,000)" in bigger


def test_a_regression_subject_and_a_users_own_cnn():
    subject = make_subject(
        model="mlp", data="teacher", model_options={"width": 8},
        data_options={"num_train": 96, "num_test": 48},
    )  # fmt: skip
    fit(subject, TrainSpec(epochs=5))
    r = baselines(subject, families="linear,boosted_trees")
    assert r.network["test_accuracy"] is None
    assert r.network["test_loss"] == pytest.approx(subject.evaluate(split="test").loss)
    for f in r.fits:
        assert f["test_accuracy"] is None and f["test_loss"] > 0
        assert f["paired"]["test"] == "paired t"
    assert "test loss" in r.answer
    # a user's own module that is not an MLP: its kernels are skipped with a note, or refused
    cnn = nn.Sequential(nn.Conv1d(1, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 6, 3))
    data = toy_data(dim=8)

    def shaped(split):
        return Split(split.x.reshape(-1, 1, 8), split.y)

    own = Subject(
        model=cnn,
        data=dataclasses.replace(data, train=shaped(data.train), test=shaped(data.test)),
    )
    r = baselines(own, families="all")
    assert "ntk" not in [f["name"] for f in r.fits] and any(
        "ntk: the network" in n for n in r.notes
    )
    with pytest.raises(ValueError, match="no closed-form kernel"):
        baselines(own, families="linear,ntk")


def test_bad_options_are_refused():
    with pytest.raises(ValueError, match="unknown families"):
        BaselinesSpec(families="linear,svm")
    with pytest.raises(ValueError, match="validation"):
        BaselinesSpec(validation=1.0)
    with pytest.raises(ValueError, match="kernel_limit"):
        BaselinesSpec(kernel_limit=-1)
    with pytest.raises(ValueError, match="at least one"):
        BaselinesSpec(families=" , ")
    assert BaselinesSpec(families="all").names == tuple(FAMILIES)


def test_kernel_machines_are_capped_and_predict_in_blocks(trained, monkeypatch):
    from occamlab.probes.baselines import kernel_machine

    r = baselines(trained, families="linear,rbf", kernel_limit=100)
    assert r.fit("linear")["fitted_on"] == 200 and r.fit("rbf")["fitted_on"] == 100
    d, c = trained.data.train.x.shape[1], trained.data.num_outputs
    assert r.fit("rbf")["num_parameters"] == 100 * d + 100 * c + 2 * d  # inputs, duals, scaler
    assert any(n.startswith("rbf: fitted on a random 100 of the 200") for n in r.notes)
    assert not baselines(trained, families="linear", kernel_limit=100).notes
    # predictions in blocks of rows are the predictions in one block
    rng = np.random.default_rng(3)
    x, y, xt = rng.normal(size=(40, 3)), rng.integers(0, 2, 40), rng.normal(size=(25, 3))
    machine = KernelMachine(lambda a, b: np.exp(-((a[:, None] - b[None]) ** 2).sum(-1)), 1e-3, 2)
    whole = machine.fit(x, y).model_.predict(machine.kernel(xt, x)).argmax(1)
    monkeypatch.setattr(kernel_machine, "PREDICT_ROWS", 7)
    assert np.array_equal(machine.predict(xt), whole)
    with pytest.raises(TypeError, match="either spec or its fields"):
        baselines(trained, spec=BaselinesSpec(), families="linear")


def test_families_refused_on_tiny_data_are_skipped_with_the_reason():
    subject = make_subject(
        model="mlp",
        data="gaussian_mixture",
        model_options={"width": 8},
        data_options={"num_train": 20, "num_test": 10},
    )
    r = baselines(subject, families="knn,boosted_trees")
    # 16 examples to fit on: k = 15 still fits; the trees' early-stopping split of 2 examples
    # cannot hold 4 classes, so every grid point is refused
    assert [f["name"] for f in r.fits] == ["knn"]
    assert any(
        n.startswith("boosted_trees: skipped: 16 training examples are too few") for n in r.notes
    )
    with pytest.raises(ValueError, match="no baseline family could be fitted"):
        baselines(subject, families="boosted_trees")
