import json

import pytest

from occamlab.experiments import EXPERIMENTS, settings_of
from occamlab.experiments.framework import Claim
from occamlab.experiments.reproduce import main
from occamlab.experiments.stats import compare


def test_the_summary_lists_every_claim_with_its_decision_and_test(tmp_path):
    names = EXPERIMENTS.names()[:2]
    tested = Claim.tested("<b>bigger</b> is sharper", compare([2, 2.1, 2.2], [1, 1.1, 1.0]), "e")
    plain = Claim("runs reach the same loss", True, "losses 0.09-0.1")
    calls = []

    def runner(name, setting, extra):
        calls.append((name, setting, list(extra)))
        if name == names[1]:
            return 1, ""  # crashed: no JSON
        payload = {"id": "abc", "report": "r.html", "claims": [tested.to_dict(), plain.to_dict()]}
        return 0, json.dumps(payload)

    code = main(
        ["--only", ",".join(names), "--out", str(tmp_path), "--settings", "default"]
        + ["--", "--seeds", "2"],
        runner=runner,
    )
    assert code == 1 and calls == [(n, "default", ["--seeds", "2"]) for n in names]
    summary = json.loads((tmp_path / "reproduce.json").read_text())
    first, second = summary["experiments"]
    assert [c["decision"] for c in first["claims"]] == ["passed", "passed"]
    assert (
        "Welch t-test" not in first["claims"][0]["test"] and "3 seeds" in first["claims"][0]["test"]
    )
    assert first["claims"][1]["test"] == "threshold on one run"
    assert second["error"] == "no result (exit code 1)" and second["claims"] == []
    assert summary["counts"] == {"passed": 2, "failed": 0, "inconclusive": 0}
    html = (tmp_path / "reproduce.html").read_text()
    assert "&lt;b&gt;bigger&lt;/b&gt;" in html and "<b>bigger" not in html
    assert "2 passed, 0 failed, 0 inconclusive of 2 claims in 2 experiments (2 runs)" in html


def test_every_setting_of_each_experiment_runs(tmp_path):
    name = next(n for n in EXPERIMENTS.names() if settings_of(EXPERIMENTS.get(n))[1:])
    calls = []

    def runner(name, setting, extra):
        calls.append(setting)
        return 0, json.dumps({"id": setting, "claims": []})

    assert main(["--only", name, "--out", str(tmp_path)], runner=runner) == 0
    assert calls == settings_of(EXPERIMENTS.get(name))
    summary = json.loads((tmp_path / "reproduce.json").read_text())
    assert [e["setting"] for e in summary["experiments"]] == calls


def test_unknown_experiments_are_refused(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["--only", "no-such-thing", "--out", str(tmp_path)], runner=lambda n, s, e: (0, ""))
    assert "unknown experiments ['no-such-thing']" in capsys.readouterr().err
