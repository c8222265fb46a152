import dataclasses

import numpy as np
import pytest
import torch

from occamlab.experiments import run_experiment, spec_at_scale
from occamlab.experiments.adaptive_vs_sgd import (
    AdaptiveVsSGD,
    best_rates,
    claims,
    linear_data,
    linear_subject,
    linear_weights,
)
from occamlab.experiments.adaptive_vs_sgd_problem import (
    adaptive_solution,
    direction_error,
    features,
    min_norm_coefficients,
    min_norm_solution,
    min_norm_test_outputs,
    relative_distance,
    separable_problem,
    sign_error,
)
from occamlab.store import Store
from occamlab.train import PeriodicCallback, TrainSpec, fit
from occamlab.train.ensemble import fit_ensemble

SPEC = AdaptiveVsSGD()


# -- the problem and its closed forms (float64) ----------------------------------------------


def test_features_follow_the_papers_construction():
    x = features(np.array([1.0, -1.0, 1.0]), offset=0, dim=3 + 5 * 3)
    assert x[:, 0].tolist() == [1.0, -1.0, 1.0] and (x[:, 1:3] == 1).all()
    # own features: one for a positive example, five for a negative one, in disjoint blocks
    own = x[:, 3:]
    assert own.sum(axis=1).tolist() == [1.0, 5.0, 1.0]
    assert (own.sum(axis=0) <= 1).all()
    assert own[0, 0] == 1 and own[1, 5:10].tolist() == [1.0] * 5 and own[2, 10] == 1


def test_draws_have_more_positives_and_test_features_of_their_own():
    for seed in range(5):
        pr = separable_problem(30, 40, 0.55, seed=seed)
        assert pr.num_positive > pr.num_negative >= 1
        used_train = np.abs(pr.x_train[:, 3:]).sum(axis=0) > 0
        used_test = np.abs(pr.x_test[:, 3:]).sum(axis=0) > 0
        assert not (used_train & used_test).any()
    with pytest.raises(ValueError, match="between 1/2 and 1"):
        separable_problem(10, 5, 0.5, seed=0)


@pytest.mark.parametrize("seed", range(4))
def test_min_norm_closed_form_is_the_pseudo_inverse_solution(seed):
    pr = separable_problem(40, 100, 0.6, seed=seed)
    w_pinv = np.linalg.pinv(pr.x_train) @ pr.y_train
    w = min_norm_solution(pr.x_train, pr.y_train)
    assert relative_distance(w, w_pinv) < 1e-12
    assert np.abs(pr.x_train @ w - pr.y_train).max() < 1e-12  # interpolates
    # its outputs on new examples: 1 − a₊ on positives, −1 − 5a₋ on negatives
    pos, neg = min_norm_test_outputs(pr.num_positive, pr.num_negative)
    out = pr.x_test @ w_pinv
    assert np.allclose(out[pr.y_test > 0], pos, atol=1e-12)
    assert np.allclose(out[pr.y_test < 0], neg, atol=1e-12)
    assert pos > 0 > neg and sign_error(w_pinv, pr.x_test, pr.y_test) == 0.0


def test_min_norm_coefficients_solve_the_two_by_two_system():
    for n_pos, n_neg in [(1, 1), (3, 2), (30, 29), (7, 1)]:
        y = np.array([1.0] * n_pos + [-1.0] * n_neg)
        x = features(y, offset=0, dim=3 + 5 * len(y))
        alpha = np.linalg.solve(x @ x.T, y)
        a_pos, a_neg = min_norm_coefficients(n_pos, n_neg)
        assert np.allclose(alpha, np.where(y > 0, a_pos, a_neg), rtol=0, atol=1e-14)


def test_adaptive_closed_form_calls_every_new_example_positive():
    pr = separable_problem(50, 300, 0.55, seed=1)
    w, c = adaptive_solution(pr.x_train, pr.y_train)
    assert c == 4.0
    assert np.abs(pr.x_train @ w - pr.y_train).max() < 1e-15  # interpolates
    assert np.allclose(pr.x_test @ w, (pr.y_test + 2) / 4, atol=1e-15)
    assert sign_error(w, pr.x_test, pr.y_test) == np.mean(pr.y_test < 0)


def test_adaptive_closed_form_refuses_when_the_lemma_does_not_apply():
    y = np.array([1.0, -1.0, -1.0])  # more negatives: X sign(Xᵀy) is not a multiple of y
    with pytest.raises(ValueError, match="Lemma 3.1"):
        adaptive_solution(features(y, offset=0, dim=18), y)


# -- the training loop on the problem (float64) ----------------------------------------------


def _problem_subject(n=20, seed=0):
    pr = separable_problem(n, 30, 0.55, seed=seed)
    return pr, linear_subject(linear_data(pr))


def test_gd_follows_its_closed_form_trajectory_to_the_min_norm_solution():
    # w_k = w* − (I − ηH)^k w* from w₀ = 0, H = (2/n) XᵀX (the mean squared loss)
    pr, subject = _problem_subject()
    spec = dataclasses.replace(SPEC, linear_steps=37).linear_recipe("gd")
    fit(subject, spec)
    x, n = pr.x_train, len(pr.y_train)
    w_star = np.linalg.pinv(x) @ pr.y_train
    step = np.eye(x.shape[1]) - spec.lr * (2.0 / n) * x.T @ x
    expected = w_star - np.linalg.matrix_power(step, 37) @ w_star
    assert relative_distance(linear_weights(subject), expected) < 1e-12


@pytest.mark.parametrize(
    ("method", "first_step"),
    [("adagrad", 1.0), ("rmsprop", 10.0), ("adam", 1.0)],  # RMSProp: 1/√(1 − 0.99)
)
def test_adaptive_first_step_is_the_sign_of_the_gradient(method, first_step):
    pr, subject = _problem_subject()
    spec = dataclasses.replace(SPEC, linear_steps=1).linear_recipe(method)
    fit(subject, spec)
    s = np.sign(pr.x_train.T @ pr.y_train)
    assert np.allclose(linear_weights(subject), spec.lr * first_step * s, rtol=1e-12, atol=0)


@pytest.mark.parametrize("method", ["adagrad", "rmsprop", "adam"])
def test_adaptive_iterates_stay_on_the_ray_of_sign_xty(method):
    pr, subject = _problem_subject(n=30, seed=2)
    w_ada, _ = adaptive_solution(pr.x_train, pr.y_train)
    spec = dataclasses.replace(SPEC, linear_steps=1200).linear_recipe(method)

    class Direction(PeriodicCallback):
        errors: list[float] = []

        def measure(self, state):
            if state.step:  # w₀ = 0 has no direction
                self.errors.append(direction_error(linear_weights(state.subject), w_ada))

    track = Direction(every=100)
    fit(subject, spec, callbacks=[track])
    assert len(track.errors) == 12 and max(track.errors) < 1e-12


def test_gd_does_not_stay_on_the_ray():
    pr, subject = _problem_subject()
    fit(subject, dataclasses.replace(SPEC, linear_steps=50).linear_recipe("gd"))
    w_ada, _ = adaptive_solution(pr.x_train, pr.y_train)
    assert direction_error(linear_weights(subject), w_ada) > 0.1


def test_ensembles_of_adagrad_or_rmsprop_train_one_by_one_as_fit_would():
    pr, a = _problem_subject()
    b = linear_subject(a.data)
    spec = TrainSpec(optimizer="rmsprop", lr=1e-3, batch_size=0, epochs=5, eps=1e-16)
    fit_ensemble([a, b], [spec, dataclasses.replace(spec, lr=2e-3)])
    c = linear_subject(a.data)
    fit(c, dataclasses.replace(spec, lr=2e-3))
    assert torch.equal(next(b.model.parameters()), next(c.model.parameters()))


# -- claims and tuning -------------------------------------------------------------------------


def test_best_rates_take_the_lowest_mean_validation_error_and_the_smaller_on_ties():
    rows = [
        {"optimizer": "sgd", "lr": 0.1, "validation_error": 0.3},
        {"optimizer": "sgd", "lr": 0.1, "validation_error": 0.5},
        {"optimizer": "sgd", "lr": 0.3, "validation_error": 0.35},
        {"optimizer": "adam", "lr": 0.01, "validation_error": 0.2},
        {"optimizer": "adam", "lr": 0.001, "validation_error": 0.2},
    ]
    assert best_rates(rows) == {"adam": 0.001, "sgd": 0.3}


def _rows(adaptive_error, plain_error, seeds=5):
    out = []
    for s in range(seeds):
        for m in ("gd", "sgd", "adagrad", "rmsprop", "adam"):
            adaptive = m in ("adagrad", "rmsprop", "adam")
            out.append(
                {
                    "seed": s,
                    "method": m,
                    "distance": 1e-12,
                    "direction": 1e-15,
                    "test_error": adaptive_error + 0.01 * s if adaptive else plain_error,
                    "negative_share": adaptive_error + 0.01 * s,
                }
            )
    return out


def _nets(adam, sgd):
    return [
        {"optimizer": o, "seed": s, "test_error": e + 0.002 * (s % 3)}
        for o, errs in (("adam", adam), ("sgd", sgd))
        for s, e in enumerate(errs)
    ]


def test_claims_pass_on_the_papers_pattern_and_fail_against_it():
    chosen = {"sgd": 0.3, "adam": 0.01}
    good = claims(_rows(0.43, 0.0), _nets([0.40] * 6, [0.35] * 6), chosen, positive_rate=0.55)
    assert [c.decision for c in good] == ["passed"] * 5
    bad = claims(_rows(0.0, 0.3), _nets([0.30] * 6, [0.35] * 6), chosen, positive_rate=0.55)
    assert [c.decision for c in bad] == ["passed", "passed", "failed", "failed", "failed"]


# -- end to end ----------------------------------------------------------------------------------

TINY = {
    "problem_seeds": 3,
    "linear_train": 20,
    "linear_test": 100,
    "linear_steps": 1500,
    "seeds": 2,
    "tune_seeds": 1,
    "num_train": 300,
    "width": 16,
    "epochs": 3,
    "grid_size": 2,
}


def test_tiny_run_end_to_end(tmp_path):
    spec = spec_at_scale(AdaptiveVsSGD, "quick", TINY, "other-draw")
    assert (spec.linear_train, spec.positive_rate, spec.data_seed) == (20, 0.6, 7)
    run = run_experiment(spec, Store(tmp_path / "runs.sqlite"))
    d = run.to_dict()
    assert len(d["claims"]) == 5 and all(c["test"] is not None for c in d["claims"])
    assert all(isinstance(c["passed"], bool) and c["evidence"] for c in d["claims"])
    linear = d["tables"]["linear problem"]
    assert len(linear) == 3 * 5
    for r in linear:
        if r["method"] in ("adagrad", "rmsprop", "adam"):
            assert r["direction"] < 1e-12 and r["test_error"] == r["negative_share"]
        else:
            assert r["distance"] < 1e-6 and r["test_error"] == 0.0
    # the first three linear claims are decided on these three draws
    assert [c["decision"] for c in d["claims"][:2]] == ["passed", "passed"]
    assert d["claims"][3]["decision"] == "passed"
    tuning = d["tables"]["rate tuning (validation split)"]
    assert {r["lr"] for r in tuning if r["optimizer"] == "sgd"} == {1.0, 0.316}
    assert {r["lr"] for r in tuning if r["optimizer"] == "adam"} == {0.03, 0.00949}
    nets = d["tables"]["networks at the tuned rates"]
    assert len(nets) == 4 and {r["lr"] for r in nets} <= {1.0, 0.316, 0.03, 0.00949}
    assert d["claims"][4]["test"]["seeds"] == 2
    assert "adaptive vs sgd" in d["figures"] and run.report.is_file()
