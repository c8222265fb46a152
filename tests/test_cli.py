import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from occamlab.store import Store
from tests.conftest import SMALL, run


def test_train_json_then_reuse(capsys, tmp_path):
    store = str(tmp_path / "runs.sqlite")
    code, out, _ = run(capsys, "train", *SMALL, "--epochs", "3", "--store", store, "--json")
    assert code == 0
    first = json.loads(out)
    assert first["status"] == "done" and not first["reused"]
    assert first["metrics"]["epochs"] == 3 and 0 <= first["metrics"]["test_accuracy"] <= 1
    assert (Path(store).parent / first["artifacts"]["weights"]).is_file()
    code, out, _ = run(capsys, "train", *SMALL, "--epochs", "3", "--store", store, "--json")
    assert code == 0 and json.loads(out)["reused"] and json.loads(out)["id"] == first["id"]

    code, out, _ = run(capsys, "list", "--store", store, "--json")
    assert [r["id"] for r in json.loads(out)] == [first["id"]]
    code, out, _ = run(capsys, "show", first["id"][:5], "--store", store, "--json")
    shown = json.loads(out)
    assert shown["spec"]["train"]["epochs"] == 3 and len(shown["metrics"]["history"]) == 3


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["train", "--model", "transformer"], "valid models: cnn1d"),
        (["train", "--data", "imagenet"], "valid datasets:"),
        (["train", "--model-opt", "widht=3"], "valid options"),
        (["train", "--lr", "fast"], "option 'lr' expects float"),
        (["train", "--optimizer", "lbfgs"], "must be one of"),
        (["train", "--model", "cnn2d", "--data", "mnist1d"], "input"),
        (["diagnose", "--subject", "no_colon_here"], "package.module:function"),
        (["diagnose", "--subject", "surely_missing_mod:make"], "cannot import"),
        (["show", "nope"], "no store at"),
        (
            ["train", "--data", "mnist_idx", "--data-root", "/nonexistent"],
            "train-images-idx3-ubyte",
        ),
    ],
)
def test_bad_input_gets_one_line_and_exit_2(capsys, tmp_path, args, message):
    code, out, err = run(capsys, *args, "--store", str(tmp_path / "r.sqlite"), "--json")
    assert code == 2
    assert message in err
    assert "Traceback" not in err
    assert "error" in json.loads(out)


def test_divergence_marks_the_run_failed_and_keeps_the_checkpoint(capsys, tmp_path):
    store = tmp_path / "runs.sqlite"
    code, _, err = run(
        capsys,
        "train",
        "--data",
        "product",
        "--lr",
        "1e4",
        "--momentum",
        "0",
        "--epochs",
        "5",
        "--store",
        str(store),
    )
    assert code == 2 and "lower the learning rate" in err
    [record] = Store(store).runs()
    assert record.status == "failed" and "NonFiniteLossError" in record.error
    assert (store.parent / record.artifacts["init"]).is_file()


def test_pickled_weights_are_refused_without_running_them(capsys, tmp_path):
    marker = tmp_path / "ran"
    evil = tmp_path / "weights.pt"
    torch.save({"w": _Evil(str(marker))}, evil)
    code, _, err = run(
        capsys, "diagnose", "--weights", str(evil), "--store", str(tmp_path / "r.sqlite")
    )
    assert code == 2 and "never loaded" in err
    assert not marker.exists()


class _Evil:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.mkdir, (self.marker,))


def test_diagnose_a_users_subject_and_weights(capsys, tmp_path, monkeypatch):
    (tmp_path / "my_subject.py").write_text(
        "from occamlab import make_subject\n"
        "def make():\n"
        "    return make_subject(model='mlp', data='gaussian_mixture', model_options={'width': 8},"
        " data_options={'num_train': 100, 'num_test': 50})\n"
        "def wrong():\n    return 3\n"
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    store = str(tmp_path / "r.sqlite")
    code, out, _ = run(
        capsys, "diagnose", "--subject", "my_subject:make", "--store", store, "--json"
    )
    assert code == 0
    result = json.loads(out)
    assert result["subject"]["num_parameters"] == 5 * 0 + (10 * 8 + 8) + (8 * 8 + 8) + (8 * 4 + 4)
    answers = result["answers"]
    assert list(answers) == ["simpler", "essential", "bounds", "parameters"]
    assert all(a["sentence"] and a["numbers"] for a in answers.values())
    assert result["notes"][0].startswith("the training recipe is unknown (pass --recipe FILE")
    html = Path(result["report"]).read_text()
    assert "diagnose: mlp on gaussian_mixture" in html
    assert (Path(result["report"]).parent / "index.html").is_file()
    code, _, err = run(capsys, "diagnose", "--subject", "my_subject:wrong", "--store", store)
    assert code == 2 and "not an occamlab.Subject" in err


def test_the_console_script_runs_and_help_lists_generated_train_flags(tmp_path):
    occam = Path(sys.executable).parent / "occam"
    proc = subprocess.run(
        [str(occam), "train", "--help"], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0
    for flag in ("--lr", "--batch-size", "--target-accuracy", "--schedule", "--model-opt"):
        assert flag in proc.stdout
    proc = subprocess.run(
        [str(occam), "list", "--datasets", "--json"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert "mnist1d" in json.loads(proc.stdout)["datasets"]


def test_two_occam_processes_train_into_one_store_at_once(tmp_path):
    occam = str(Path(sys.executable).parent / "occam")
    store = str(tmp_path / "runs.sqlite")
    procs = [
        subprocess.Popen(
            [occam, "train", *SMALL, "--epochs", "2", "--seed", seed, "--store", store, "--json"],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        for seed in ("1", "2")
    ]
    outputs = [p.communicate(timeout=120)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0]
    ids = {json.loads(o)["id"] for o in outputs}
    runs = Store(store).runs()
    assert {r.id for r in runs} == ids and len(ids) == 2
    assert all(r.status == "done" for r in runs)


def test_probe_hessian_and_sharpness_store_runs_with_pages(capsys, tmp_path):
    store = str(tmp_path / "runs.sqlite")
    base = [*SMALL, "--store", store, "--json"]
    code, out, _ = run(
        capsys,
        "probe",
        "hessian",
        *base,
        "--k",
        "2",
        "--density",
        "--per-layer",
        "--density-probes",
        "1",
        "--density-steps",
        "10",
    )
    assert code == 0
    result = json.loads(out)
    assert len(result["eigenvalues"]) == 2 and result["converged"]
    assert result["eigenvalues"][0] >= result["eigenvalues"][1]
    assert result["trace_method"].startswith("exact") and len(result["layers"]) == 3
    assert "Spectral density" in Path(result["report"]).read_text()
    code, out, _ = run(
        capsys,
        "probe",
        "hessian",
        *base,
        "--k",
        "2",
        "--density",
        "--per-layer",
        "--density-probes",
        "1",
        "--density-steps",
        "10",
    )
    assert json.loads(out)["reused"] and json.loads(out)["id"] == result["id"]
    code, out, _ = run(capsys, "probe", "sharpness", *base, "--subspace-dim", "5")
    assert code == 0
    sharp = json.loads(out)
    assert sharp["keskar"]["sharpness"] >= sharp["keskar_half_epsilon"]["sharpness"] >= 0
    assert sharp["pacbayes"]["sigma"] > 0
    code, _, err = run(capsys, "probe", "hessian", *base, "--which", "XX")
    assert code == 2 and "must be one of" in err


def test_probe_landscape_stores_the_numbers_and_draws_the_pictures(capsys, tmp_path):
    store = str(tmp_path / "runs.sqlite")
    args = ["probe", "landscape", *SMALL, "--store", store, "--json", "--steps", "5"]
    code, out, _ = run(capsys, *args, "--limit", "50")
    assert code == 0
    result = json.loads(out)
    assert len(result["axes"]) == 2 and len(result["values"]["train_loss"]) == 5
    assert result["directions"]["kind"] == "filter" and result["directions"]["vectors"] == "ignore"
    # The trained point is the grid's center, exactly.
    from occamlab import TrainSpec, data_spec, model_spec
    from occamlab.runs import train_run

    trained = train_run(
        Store(store),
        model=model_spec("mlp", width=16),
        data=data_spec("gaussian_mixture", num_train=200, num_test=100),
        train=TrainSpec(),
    )
    assert trained.reused
    expected = trained.subject.evaluate(split="train", limit=50).loss
    assert result["at_center"]["train_loss"] == expected == result["values"]["train_loss"][2][2]
    page = Path(result["report"]).read_text()
    assert page.count("<img") == 3 and "The numbers behind the pictures" in page
    line = result["init_line"]  # the stored run kept its initialization: α = 0 is the init
    assert line["alphas"][0] == 0.0 and line["train_loss"][-1] == expected
    numbers = json.loads(
        (Path(store).parent / Store(store).get(result["id"]).artifacts["surface"]).read_text()
    )
    assert numbers["values"] == result["values"]
    Path(result["report"]).unlink()  # `occam report` rewrites the page from the stored numbers
    code, _, _ = run(capsys, "report", result["id"], "--store", store, "--json")
    assert code == 0 and Path(result["report"]).read_text().count("<img") == 3
    code, out, _ = run(capsys, *args, "--limit", "50", "--dims", "1")
    assert code == 0 and len(json.loads(out)["axes"]) == 1
    code, _, err = run(capsys, *args, "--steps", "4")
    assert code == 2 and "odd" in err
