"""Bad input through the CLI: one ``error:`` line on stderr, a non-zero exit, no traceback, and
no store written that was not asked for."""

import json

from tests.conftest import run


def one_error_line(err: str) -> str:
    """The single ``error:`` line of ``err`` (fails if there is anything else)."""
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err
    return lines[0]


def test_diagnose_help_says_quick_is_the_default(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "300")
    code, out, _ = run(capsys, "diagnose", "--help")
    assert code == 0
    [line] = [line for line in out.splitlines() if "--quick" in line]
    assert "[default: quick]" in line and "deep]" not in line


def test_sweep_help_names_the_tables_of_the_sweep_file(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "300")
    code, out, _ = run(capsys, "sweep", "--help")
    assert code == 0
    assert "[sweep], [base] and [grid]" in out
