import json
from pathlib import Path

from tests.conftest import SMALL, run


def test_probe_bounds_and_measures_store_runs_with_pages(capsys, tmp_path):
    base = [*SMALL, "--store", str(tmp_path / "runs.sqlite"), "--json"]
    code, out, _ = run(
        capsys,
        "probe",
        "bounds",
        *base,
        "--mc-trials",
        "500",
        "--sparsities",
        "0.5",
        "--levels",
        "4",
    )
    assert code == 0
    result = json.loads(out)
    names = [r["bound"] for r in result["rows"]]
    assert names[0].startswith("test-set") and any(n.startswith("PAC-Bayes") for n in names)
    # the registry subject's initialization is known: the prior is trained from it on 70% of
    # the training set and the certificate, which names its predictor, uses the rest
    pacbayes = result["pacbayes"]
    assert pacbayes["prior"] == "data" and pacbayes["m"] + pacbayes["prior_examples"] == 200
    assert "trained on 140 of the training examples" in pacbayes["predictor"]
    for row in result["rows"]:
        assert row["network_test_error"] == result["test_error"]
        if row["kind"] == "certificate":
            assert row["value"] >= row["its_test_error"] - 0.2  # a bound, not an estimate
    page = Path(result["report"]).read_text()
    assert "Bounds next to the test error" in page and "data:image/png" in page

    code, out, _ = run(
        capsys, "probe", "measures", *base, "--num-samples", "2", "--search-depth", "2"
    )
    assert code == 0
    measures = json.loads(out)
    assert measures["values"]["distance_l2"] > 0  # the initialization was found
    assert measures["values"]["steps_to_loss_0.1"] is not None  # and the training history
    assert "Measures (Jiang et al. 2019)" in Path(measures["report"]).read_text()

    code, _, err = run(capsys, "probe", "bounds", *base, "--sparsities", "x")
    assert code == 2 and "comma-separated" in err

    # `occam report` rewrites both pages from the store alone, and the index links them.
    for stored in (result, measures):
        Path(stored["report"]).unlink()
    store = ["--store", str(tmp_path / "runs.sqlite"), "--json"]
    code, out, _ = run(capsys, "report", result["id"], *store)
    assert code == 0
    page = Path(json.loads(out)["pages"][0]).read_text()
    assert "Bounds next to the test error" in page and "data:image/png" in page
    code, out, _ = run(capsys, "report", "--all", *store)
    assert code == 0
    assert "Measures (Jiang et al. 2019)" in Path(measures["report"]).read_text()
    index = Path(json.loads(out)["index"]).read_text()
    for stored, kind in ((result, "bounds"), (measures, "measures")):
        assert f"data-kind='probe/{kind}'" in index and f"href='{stored['id']}.html'" in index


def test_initial_params_rebuild_a_registry_subjects_initialization():
    import torch

    from occamlab.recipes import initial_params, make_subject
    from occamlab.subject import Subject
    from tests.conftest import toy_data, toy_model

    subject = make_subject(model="mlp", data="gaussian_mixture", seed=3, model_options={"width": 8})
    before = {k: v.clone() for k, v in subject.params().items()}
    with torch.no_grad():
        for p in subject.model.parameters():
            p.add_(1.0)  # "training" changes the weights, not the initialization
    init = initial_params(subject)
    assert all(torch.equal(init[k], before[k]) for k in before)
    assert initial_params(Subject(model=toy_model(), data=toy_data())) is None


def test_probe_bounds_subspace_dims_adds_the_subspace_row_and_its_section(capsys, tmp_path):
    base = [*SMALL, "--store", str(tmp_path / "runs.sqlite"), "--json"]
    flags = ["--no-pacbayes", "--no-compression", "--no-norms", "--levels", "4,8"]
    code, out, _ = run(capsys, "probe", "bounds", *base, *flags, "--subspace-dims", "8,16")
    assert code == 0
    result = json.loads(out)
    row = result["rows"][-1]
    assert row["bound"].startswith("subspace compression (d = ")
    assert row["value"] == result["subspace"]["bound"] and "random subspace" in row["certifies"]
    assert [r["dim"] for r in result["subspace"]["rows"]] == [8, 16]
    page = Path(result["report"]).read_text()
    assert "Subspace compression bound" in page and "Subspace dimensions tried" in page
    code, _, err = run(capsys, "probe", "bounds", *base, *flags, "--subspace-dims", "0")
    assert code == 2 and "subspace_dims" in err
