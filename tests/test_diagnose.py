import html
import json
from pathlib import Path

import pytest

from occamlab import TrainSpec, fit, make_subject
from occamlab.diagnose import QUESTIONS, DiagnoseSpec, Diagnosis, diagnose, diagnose_run
from occamlab.diagnose.page import diagnosis_sections
from occamlab.diagnose.questions import _parameter_clauses
from occamlab.probes.baselines import FAMILIES
from occamlab.probes.stability import StabilityReport, stability_threshold
from occamlab.store import Store
from occamlab.subject import Subject
from tests.conftest import toy_data, toy_model

RECIPE = TrainSpec(epochs=8, batch_size=32)


@pytest.fixture(scope="module")
def registry_diagnosis():
    subject = make_subject(
        model="mlp",
        data="gaussian_mixture",
        model_options={"width": 8},
        data_options={"num_train": 160, "num_test": 80},
    )
    fit(subject, RECIPE)
    return subject, diagnose(subject, recipe=RECIPE, spec=DiagnoseSpec(limit=80))


def test_every_question_is_answered_from_its_own_numbers(registry_diagnosis):
    subject, d = registry_diagnosis
    assert list(d.answers) == list(QUESTIONS)
    assert list(d.sentences) == list(QUESTIONS.values())
    simpler = d.answers["simpler"]
    frontier = simpler.results["simplify"]
    other = simpler.results["baselines"]
    assert simpler.sentence == f"{frontier['answer']} Other model families: {other['answer']}"
    named = next(f for f in other["fits"] if f["name"] == other["named"])
    assert simpler.numbers["its numbers"] == named["num_parameters"]
    assert simpler.numbers["within tolerance"] == other["matched"]
    assert [f["name"] for f in other["fits"]] == list(FAMILIES)  # an MLP: its kernels too
    assert simpler.numbers["its parameters"] == frontier["smallest"]["num_parameters"]
    assert simpler.numbers["its parameters"] <= subject.num_parameters
    # The width sweep retrained 1/8 … 2× the width with two seeds per width, as ensembles.
    sweep = d.answers["essential"].results["width_sweep"]
    assert [r["width"] for r in sweep["mean"]] == [1, 2, 4, 16]
    assert {r["seeds"] for r in sweep["mean"]} == {2}
    assert "width 16" in d.answers["essential"].sentence
    bounds = d.answers["bounds"]
    report = bounds.results["bounds"]
    best = min((r for r in report["rows"] if r["kind"] == "certificate"), key=lambda r: r["value"])
    assert f"at most {best['value']:.1%}" in bounds.sentence
    assert best["value"] >= report["test_error"] - 1e-12 or best["bound"].startswith("PAC")
    # the PAC-Bayes prior is trained from the initialization on 70% of the training set; the
    # sentence says what the training-data bounds certify, with which prior and data
    pacbayes = report["pacbayes"]
    assert pacbayes["prior"] == "data" and pacbayes["prior_examples"] == 112
    if "vacuous" not in bounds.sentence:
        assert "certified only by the test-set bound" in bounds.sentence
        if "from the training data alone, PAC-Bayes" in bounds.sentence:
            assert "trained on 112 of the training examples" in bounds.sentence
            assert "on the other 48 of the 160 training examples" in bounds.sentence
    assert report["test_error"] == pytest.approx(1 - d.test.accuracy)
    params = d.answers["parameters"]
    lam = params.results["hessian"]["lambda_max"]
    assert params.numbers["Hessian λ_max"] == lam and f"{lam:.3g}" in params.sentence
    assert not d.notes  # recipe given, initial weights rebuilt from the registry spec


def test_a_diagnosis_round_trips_through_json_and_renders(registry_diagnosis):
    _, d = registry_diagnosis
    data = json.loads(json.dumps(d.to_dict()))
    again = Diagnosis.from_dict(data)
    assert again.sentences == d.sentences and again.spec == d.spec
    titles = [title for title, _ in diagnosis_sections(data)]
    assert set(QUESTIONS.values()) <= set(titles)
    notebook = d._repr_html_()
    assert all(html.escape(sentence) in notebook for sentence in d.sentences.values())
    page = "".join(body for _, body in diagnosis_sections(data))
    assert page.count("data:image/png;base64,") >= 6  # frontier, sweep, ESD, density, landscape…
    assert "boosted_trees" in page and "Every family" in page  # the families beside the frontier


def test_a_users_own_module_is_diagnosed_and_the_skips_are_said(tmp_path):
    subject = Subject(model=toy_model(), data=toy_data(), name="mine")
    fit(subject, RECIPE)
    store = Store(tmp_path / "runs.sqlite")
    spec = DiagnoseSpec(limit=32, baselines="none")
    d = diagnose_run(subject, store=store, source={"test": 1}, spec=spec)
    assert "Other model families" not in d.answers["simpler"].sentence
    assert d.answers["essential"].sentence.startswith("Not measured: the subject is the user's")
    assert any("recipe is unknown" in n for n in d.notes)
    assert "Pruned models were not fine-tuned" in d.answers["simpler"].sentence
    assert "no edge-of-stability verdict" in d.answers["parameters"].sentence
    assert d.answers["parameters"].results["stability"] is None
    assert any("initial weights are unknown" in n for n in d.notes)
    record = store.get(d.run_id)
    assert record.metrics["answers"]["bounds"]["sentence"] == d.answers["bounds"].sentence
    assert "What error bound can I certify?" in Path(d.report).read_text()


def _spectra(alphas, size=64):
    return {
        "layers": [
            {"name": f"l{i}", "alpha": a, "num_eigenvalues": size} for i, a in enumerate(alphas)
        ]
    }


HESSIAN = {
    "lambda_max": 4.0,
    "trace": 10.0,
    "max_stable_lr": 0.5,
    "operator": {"num_examples": 80},
}
SHARP = {"pacbayes": {"sigma": 0.02, "measure": "error"}}
SIMILARITY = {
    "layers_a": ["a", "b", "head"],
    "ranks_a": [
        {"participation_ratio": 30.0, "features": 32},
        {"participation_ratio": 3.0, "features": 32},
        {"participation_ratio": 2.0, "features": 3},
    ],
    "cka": [[1, 0.5, 0.4], [0.5, 1, 0.9], [0.4, 0.9, 1]],
}


def _stability(recipe, value):
    threshold = stability_threshold(recipe)
    return StabilityReport(threshold, value, value / threshold.value, 0.0, True, 80).to_dict()


def test_the_parameter_sentence_follows_the_numbers():
    gd = TrainSpec(lr=0.1, momentum=0.0)
    numbers, clauses = _parameter_clauses(
        _spectra([3.0, 4.5]),
        HESSIAN,
        SHARP,
        {"local_minima": 1},
        SIMILARITY,
        _stability(gd, 4.0),
        80,
    )
    text = "; ".join(clauses)
    assert "well trained (layer α 3.00–4.50" in text
    assert "flat for its recipe: λ_max 4 is 0.20× the edge of stability 2/η = 20 (η = 0.1)" in text
    assert numbers["stability threshold"] == pytest.approx(20.0)
    assert "a single basin" in text and "first" not in text  # all 80 examples used
    assert "b's representation has effective rank 3.0" in text and "concentrates" in text
    assert numbers["CKA of adjacent layers"] == [0.5, 0.9]

    hot = dict(HESSIAN, lambda_max=25.0)
    _, clauses = _parameter_clauses(
        _spectra([1.5, 8.0]), hot, SHARP, {"local_minima": 3}, SIMILARITY, _stability(gd, 25), 80
    )
    text = "; ".join(clauses)
    assert "l0 (α 1.50: very heavy-tailed)" in text and "l1 (α 8.00: under-trained" in text
    assert "sits at the edge of stability: λ_max 25 is 1.25× the edge of stability 2/η = 20" in text
    assert "3 local minima" in text
    # Heavy-ball momentum 0.9 moves the edge to 3.8/η = 38: λ_max 25 is no longer past it.
    heavy = TrainSpec(lr=0.1, momentum=0.9)
    _, clauses = _parameter_clauses(
        _spectra([]), hot, SHARP, {"local_minima": 0}, SIMILARITY, _stability(heavy, 25), 200
    )
    text = "; ".join(clauses)
    assert (
        "close to the edge of stability: λ_max 25 is 0.66× the edge of stability (2+2β)/η" in text
    )
    assert "= 38 (momentum β = 0.9, η = 0.1; loss on the first 80 of 200 examples)" in text
    assert "no layer has the 50 eigenvalues" in clauses[0]
    # Adam: the preconditioned sharpness against (2+2β₁)/((1−β₁)η) = 38/η.
    adam = TrainSpec(optimizer="adam", lr=1e-3)
    numbers, clauses = _parameter_clauses(
        _spectra([]), HESSIAN, SHARP, {"local_minima": 1}, SIMILARITY, _stability(adam, 4e4), 80
    )
    text = "; ".join(clauses)
    assert (
        "Adam's preconditioned sharpness λ_max(P⁻¹H) 4e+04 is 1.05× the edge of stability "
        "(2+2β₁)/((1−β₁)η)" in text
    )
    assert numbers["stability threshold"] == pytest.approx(38_000)
    # No recipe: no verdict, and the sentence says why.
    numbers, clauses = _parameter_clauses(
        _spectra([9.0], size=10), HESSIAN, SHARP, {"local_minima": 1}, SIMILARITY, None, 80
    )
    assert numbers["α of l0"] == 9.0 and "no layer has the 50 eigenvalues" in clauses[0]
    assert "no edge-of-stability verdict: the training recipe is unknown" in clauses[1]
    assert "stability threshold" not in numbers


def test_bad_options_are_refused():
    with pytest.raises(ValueError, match="tolerance"):
        DiagnoseSpec(tolerance=1.5)
    with pytest.raises(ValueError, match="delta"):
        DiagnoseSpec(delta=0)
    with pytest.raises(ValueError, match="unknown families"):
        DiagnoseSpec(baselines="linear,svm")
    assert DiagnoseSpec(deep=True).budget["seeds"] == 3
    assert DiagnoseSpec(seeds=5).budget["seeds"] == 5


def test_a_regression_subject_is_diagnosed_without_bounds():
    subject = make_subject(
        model="mlp",
        data="teacher",
        model_options={"width": 8},
        data_options={"num_train": 96, "num_test": 48},
    )
    fit(subject, RECIPE)
    d = diagnose(subject, recipe=RECIPE, spec=DiagnoseSpec(limit=48))
    assert d.answers["bounds"].sentence.startswith("Not measured: error bounds are stated")
    assert "PAC-Bayes σ (train loss +0.1)" in d.answers["parameters"].numbers
    assert d.test.accuracy is None and "test loss" in d.answers["simpler"].sentence


def test_when_no_family_can_be_fitted_the_answer_says_so():
    from occamlab.diagnose import questions
    from occamlab.diagnose.spec import BUDGETS

    subject = make_subject(
        model="mlp",
        data="gaussian_mixture",
        model_options={"width": 8},
        data_options={"num_train": 20, "num_test": 10},
    )
    fit(subject, RECIPE)
    answer = questions.simpler(
        subject, recipe=None, init=None, plan=BUDGETS["quick"], tolerance=0.01, seed=0,
        log=lambda _: None, families="boosted_trees",
    )  # fmt: skip
    assert (
        "Other model families: no baseline family could be fitted: boosted_trees: skipped: 16"
        in answer.sentence
    )
    assert "baselines" not in answer.results
