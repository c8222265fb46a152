import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import pytest

from occamlab.cli import main
from occamlab.experiments import EXPERIMENTS, Claim, ExperimentResult, run_experiment
from occamlab.experiments.random_labels import RandomLabels
from occamlab.experiments.registry import check_experiment, settings_of, spec_at_scale
from occamlab.specs import spec_to_dict
from occamlab.store import Store


@dataclass(frozen=True)
class Toy:
    """A toy experiment: three parts; it stops after the second while a flag file exists.

    Attributes:
        parts: number of parts.
        flag: path of the flag file that interrupts the run.
    """

    name: ClassVar[str] = "toy"
    summary: ClassVar[str] = "a <b>toy</b> experiment"
    paper: ClassVar[str] = "nobody 2026"
    scales: ClassVar[dict[str, dict[str, Any]]] = {"quick": {}, "paper": {"parts": 5}}
    settings: ClassVar[dict[str, dict[str, Any]]] = {"two-parts": {"parts": 2}}

    parts: int = 3
    flag: str = ""

    def run(self, ctx):
        values = []
        for i in ctx.track(range(self.parts), "parts"):
            if i == 2 and self.flag and Path(self.flag).exists():
                raise KeyboardInterrupt("interrupted")
            out = ctx.cached("square", {"i": i}, lambda d, i=i: {"value": i * i, "dir": str(d)})
            values.append(out["value"])
        from matplotlib.figure import Figure

        fig = Figure()
        fig.subplots().plot(values)
        return ExperimentResult(
            metrics={"sum": sum(values)},
            tables={"values": [{"i": i, "value": v} for i, v in enumerate(values)]},
            figures={"values <script>": fig},
            claims=[
                Claim("the sum is positive", sum(values) > 0, f"sum {sum(values)}", "toy, Fig. 1"),
                Claim("<script>alert(1)</script>", False, "never", ""),
            ],
        )


def test_fields_except_keys_a_part_without_the_fields_it_does_not_depend_on():
    from occamlab.experiments.framework import fields_except

    assert fields_except(Toy(parts=4, flag="f")) == {"parts": 4, "flag": "f"}
    assert fields_except(Toy(parts=4, flag="f"), "parts") == {"flag": "f"}
    assert fields_except(Toy(parts=4), "parts") == fields_except(Toy(parts=9), "parts")


def test_claims_must_be_booleans():
    import numpy as np

    assert Claim("x", np.bool_(True), "e").passed is True
    with pytest.raises(TypeError, match="bool"):
        Claim("x", 1, "e")


def test_registration_checks_the_spec():
    check_experiment(Toy)

    @dataclass(frozen=True)
    class NoPaperScale:
        name: ClassVar[str] = "bad"
        summary: ClassVar[str] = "s"
        paper: ClassVar[str] = "p"
        scales: ClassVar[dict] = {"quick": {}}

        def run(self, ctx):
            return ExperimentResult()

    with pytest.raises(TypeError, match="paper"):
        check_experiment(NoPaperScale)

    @dataclass(frozen=True)
    class BadScale(NoPaperScale):
        scales: ClassVar[dict] = {"quick": {}, "paper": {"nope": 1}}

    with pytest.raises(ValueError, match="no option 'nope'"):
        check_experiment(BadScale)


def test_scales_layer_under_explicit_overrides():
    assert spec_at_scale(Toy, "paper").parts == 5
    assert spec_at_scale(Toy, "paper", {"parts": "7"}).parts == 7
    with pytest.raises(ValueError, match="valid scales: quick, paper"):
        spec_at_scale(Toy, "huge")


def test_settings_layer_between_the_scale_and_explicit_overrides():
    assert settings_of(Toy) == ["default", "two-parts"]
    assert spec_at_scale(Toy, "paper", setting="two-parts").parts == 2
    assert spec_at_scale(Toy, "paper", {"parts": 4}, setting="two-parts").parts == 4
    assert spec_at_scale(Toy, "paper", setting="default").parts == 5
    with pytest.raises(ValueError, match="valid settings: default, two-parts"):
        spec_at_scale(Toy, "quick", setting="other")

    @dataclass(frozen=True)
    class BadSetting(Toy):
        settings: ClassVar[dict] = {"wide": {"width": 3}}

    with pytest.raises(ValueError, match="no option 'width'"):
        check_experiment(BadSetting)

    @dataclass(frozen=True)
    class ShadowsDefault(Toy):
        settings: ClassVar[dict] = {"default": {"parts": 1}}

    with pytest.raises(TypeError, match="other than 'default'"):
        check_experiment(ShadowsDefault)


def test_every_registered_experiment_declares_an_alternative_setting():
    missing = [n for n in EXPERIMENTS.names() if len(settings_of(EXPERIMENTS.get(n))) < 2]
    assert not missing, f"experiments without an alternative setting: {missing}"


def test_run_store_page_and_reuse(tmp_path):
    store = Store(tmp_path / "runs.sqlite")
    first = run_experiment(Toy(), store)
    assert not first.reused and first.record.status == "done"
    d = first.to_dict()
    assert d["metrics"] == {"sum": 5}
    assert [c["passed"] for c in d["claims"]] == [True, False]
    assert d["parts"] == {"computed": 3, "reused": 0}
    assert (store.root / d["figures"]["values <script>"]).is_file()
    html = first.report.read_text()
    assert "<script>alert" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;b&gt;toy&lt;/b&gt;" in html and "data:image/png;base64," in html
    assert "class='pass'" in html and "class='fail'" in html
    again = run_experiment(Toy(), store)
    assert again.reused and again.record.id == first.record.id
    assert again.report.read_text().count("data:image/png;base64,") == 1
    forced = run_experiment(Toy(), store, force=True)
    assert not forced.reused and forced.to_dict()["parts"] == {"computed": 3, "reused": 0}


def test_an_interrupted_run_resumes_without_recomputing_finished_parts(tmp_path):
    store = Store(tmp_path / "runs.sqlite")
    flag = tmp_path / "stop"
    flag.touch()
    spec = Toy(flag=str(flag))
    with pytest.raises(KeyboardInterrupt):
        run_experiment(spec, store)
    (failed,) = store.runs(kind="experiment")
    assert failed.status == "failed" and "interrupted" in failed.error
    assert len(store.runs(kind="experiment-part/toy", status="done")) == 2
    flag.unlink()
    resumed = run_experiment(spec, store)
    assert resumed.record.status == "done"
    assert resumed.to_dict()["parts"] == {"computed": 1, "reused": 2}


def test_spec_hash_is_pinned():
    # Changing this hash orphans every stored random-labels run: do it only on purpose.
    assert Store.run_id("experiment", spec_to_dict(RandomLabels())) == "7c782186e31e"


def run_cli(capsys, *args):
    with pytest.raises(SystemExit) as exit_info:
        main(list(args))
    captured = capsys.readouterr()
    return exit_info.value.code, captured.out, captured.err


def test_cli_flags_round_trip_to_the_spec(capsys, tmp_path, monkeypatch):
    seen = []

    def fake_run(spec, store, **kwargs):
        seen.append(spec)
        return run_experiment(Toy(), store)

    monkeypatch.setattr("occamlab.cli.run.run_experiment", fake_run)
    store = str(tmp_path / "runs.sqlite")
    args = ["--seeds", "2", "--width", "32", "--no-input-corruptions", "--lr", "0.01"]
    code, out, _ = run_cli(capsys, "run", "random-labels", *args, "--store", store, "--json")
    assert code == 0
    assert seen[-1] == RandomLabels(seeds=2, width=32, input_corruptions=False, lr=0.01)
    payload = json.loads(out)
    assert payload["scale"] == "quick" and len(payload["claims"]) == 2
    code, out, _ = run_cli(
        capsys,
        "run",
        "random-labels",
        "--scale",
        "paper",
        "--seeds",
        "2",
        "--store",
        store,
        "--json",
    )
    assert seen[-1] == spec_at_scale(RandomLabels, "paper", {"seeds": 2})
    # A failed claim exits 0, unless --strict.
    code, _, _ = run_cli(capsys, "run", "random-labels", "--store", store, "--strict")
    assert code == 1


def test_cli_setting_flag_builds_the_setting_under_explicit_flags(capsys, tmp_path, monkeypatch):
    name = next(n for n in EXPERIMENTS.names() if len(settings_of(EXPERIMENTS.get(n))) > 1)
    cls, setting = EXPERIMENTS.get(name), settings_of(EXPERIMENTS.get(name))[1]
    seen = []

    def fake_run(spec, store, **kwargs):
        seen.append(spec)
        return run_experiment(Toy(), store)

    monkeypatch.setattr("occamlab.cli.run.run_experiment", fake_run)
    store = str(tmp_path / "runs.sqlite")
    code, out, _ = run_cli(
        capsys, "run", name, "--setting", setting, "--seeds", "2", "--store", store, "--json"
    )
    assert code == 0 and json.loads(out)["setting"] == setting
    assert seen[-1] == spec_at_scale(cls, "quick", {"seeds": 2}, setting)
    assert seen[-1] != spec_at_scale(cls, "quick", {"seeds": 2})
    code, _, err = run_cli(capsys, "run", name, "--setting", "nowhere", "--store", store)
    assert code != 0 and "valid settings: default" in err


def test_cli_lists_experiments_and_rejects_unknown_ones(capsys):
    code, out, _ = run_cli(capsys, "run", "--list", "--json")
    rows = json.loads(out)
    assert code == 0 and [r["name"] for r in rows] == EXPERIMENTS.names()
    assert all(r["summary"] and r["paper"] and "quick" in r["scales"] for r in rows)
    assert all(r["settings"][0] == "default" for r in rows)
    code, _, err = run_cli(capsys, "run", "no-such-experiment")
    assert code == 2 and "valid experiments: " in err and "random-labels" in err
    code, _, err = run_cli(capsys, "run", "random-labels", "--seeds", "many")
    assert code == 2 and "expects int" in err


def _done_parts(path: Path) -> int:
    if not path.exists():
        return 0
    return len(Store(path).runs(kind="train", status="done"))


@pytest.mark.slow
def test_a_killed_experiment_process_resumes_where_it_stopped(tmp_path):
    store = tmp_path / "runs.sqlite"
    args = [
        sys.executable,
        "-m",
        "occamlab",
        "run",
        "random-labels",
        "--seeds",
        "2",
        "--num-levels",
        "3",
        "--no-input-corruptions",
        "--num-train",
        "200",
        "--width",
        "16",
        "--store",
        str(store),
        "--json",
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while _done_parts(store) < 1 and time.time() < deadline and proc.poll() is None:
        time.sleep(0.2)
    assert proc.poll() is None, "the run finished before it could be killed; make it longer"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    # the levels of one seed train as one ensemble: the first seed's 3 parts land together
    finished = _done_parts(store)
    assert 1 <= finished < 6
    out = subprocess.run(args, env=env, capture_output=True, text=True, check=True).stdout
    payload = json.loads(out)
    assert payload["parts"] == {"computed": 6 - finished, "reused": finished}
    assert len(payload["claims"]) == 6


def test_part_keys_store_specs_with_their_registry_names(tmp_path):
    from occamlab.experiments import Context
    from occamlab.models import model_spec

    store = Store(tmp_path / "runs.sqlite")
    ctx = Context(store, "toy")
    spec = model_spec("mlp", width=8)
    assert ctx.cached("p", {"model": spec, "seed": 1}, lambda d: {"v": 1}) == {"v": 1}
    (part,) = store.runs(kind="experiment-part/toy")
    assert part.spec["key"]["model"] == spec_to_dict(spec) and part.spec["key"]["model"]["name"]
    assert ctx.cached("p", {"model": spec, "seed": 1}, lambda d: {"v": 2}) == {"v": 1}
    assert (ctx.parts_computed, ctx.parts_reused) == (1, 1)


def test_root_threads_option_sets_the_thread_count_of_a_run(capsys, tmp_path, monkeypatch):
    import torch
    from threadpoolctl import threadpool_info, threadpool_limits

    seen = []

    def fake_run(spec, store, **kwargs):
        import scipy.linalg  # noqa: F401  (runtimes that load after the limit was set)
        import sklearn.ensemble  # noqa: F401

        pools = threadpool_info()
        blas = {i["num_threads"] for i in pools if i["user_api"] == "blas"}
        openmp = {i["num_threads"] for i in pools if i["user_api"] == "openmp"}
        seen.append((torch.get_num_threads(), blas, openmp))
        return run_experiment(Toy(), store)

    monkeypatch.setattr("occamlab.cli.run.run_experiment", fake_run)
    for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        monkeypatch.setenv(variable, os.environ.get(variable, "1"))  # set by --threads; restored
    store = str(tmp_path / "runs.sqlite")
    with threadpool_limits(None):  # restores the BLAS and OpenMP threads afterwards
        for threads in ("2", "1"):
            code, _, _ = run_cli(
                capsys, "--threads", threads, "run", "random-labels", "--store", store, "--json"
            )
            assert code == 0
    # torch's, NumPy/SciPy's BLAS and OpenMP's (scikit-learn's tree ensembles)
    assert seen == [(2, {2}, {2}), (1, {1}, {1})]
