import json

import pytest

from tests.conftest import run

SUBJECT = ["--subject", "occamlab.testing:tiny_subject"]


def test_spectra_json_and_report_page(capsys, tmp_path):
    store = str(tmp_path / "runs.sqlite")
    code, out, _ = run(
        capsys,
        "probe",
        "spectra",
        *SUBJECT,
        "--min-tail",
        "3",
        "--randomize",
        "--store",
        store,
        "--json",
    )
    assert code == 0
    result = json.loads(out)
    assert [layer["name"] for layer in result["layers"]] == ["0", "2"]
    assert all("eigenvalues" not in layer for layer in result["layers"])
    assert result["averages"]["rand_distance"] is not None
    page = (tmp_path / result["report"]).read_text()
    assert "<img" in page and "Model averages" in page and "alpha_weighted" in page
    code, out, _ = run(
        capsys,
        "probe",
        "spectra",
        *SUBJECT,
        "--min-tail",
        "3",
        "--randomize",
        "--store",
        store,
        "--json",
    )
    assert json.loads(out)["reused"]


def test_similarity_json_within_and_across_models(capsys, tmp_path):
    store = str(tmp_path / "runs.sqlite")
    code, out, _ = run(capsys, "probe", "similarity", *SUBJECT, "--store", store, "--json")
    assert code == 0
    within = json.loads(out)
    assert within["ranks_b"] is None and within["cka"][0][0] == pytest.approx(1.0)
    code, out, _ = run(
        capsys,
        "probe",
        "similarity",
        *SUBJECT,
        "--other-subject",
        "occamlab.testing:tiny_subject",
        "--store",
        store,
        "--json",
    )
    across = json.loads(out)
    assert across["id"] != within["id"] and across["ranks_b"] is not None
    assert "<img" in (tmp_path / across["report"]).read_text()


def test_bad_options_get_one_line(capsys, tmp_path):
    code, out, err = run(
        capsys,
        "probe",
        "spectra",
        *SUBJECT,
        "--conv",
        "dft",
        "--store",
        str(tmp_path / "r.sqlite"),
        "--json",
    )
    assert code == 2 and "must be one of" in err and "error" in json.loads(out)
    code, out, err = run(
        capsys,
        "probe",
        "similarity",
        *SUBJECT,
        "--layers",
        "nope",
        "--store",
        str(tmp_path / "r.sqlite"),
        "--json",
    )
    assert code == 2 and "valid module names" in err
