"""The README stays short, and every command in it runs.

The ``occam`` lines of its ``bash`` blocks run here, in this process, on the tests' small subject
(the default subject's training takes minutes); its ``python`` blocks run as written. The ``make``
targets it names exist (``make test`` is this suite; ``make bench`` and ``make reproduce`` run
the benchmarks and experiments that their own tests cover), and so do the files and pages it
names; ``mkdocs build --strict`` is run by ``tests/test_docs.py``.
"""

import json
import re
import shlex
from pathlib import Path

import pytest
import torch

from tests.conftest import SMALL, run

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
FENCE = re.compile(r"^```(\w+)\n(.*?)^```$", re.DOTALL | re.MULTILINE)


def blocks(language: str) -> list[str]:
    return [body for lang, body in FENCE.findall(README) if lang == language]


def commands(prefix: str) -> list[str]:
    """The command lines of the bash blocks that start with ``prefix`` (comments dropped)."""
    lines = (line.split("#", 1)[0].strip() for body in blocks("bash") for line in body.split("\n"))
    return [line for line in lines if line.startswith(prefix)]


def test_the_readme_is_short():
    assert len(README.splitlines()) <= 150


def test_every_fence_is_bash_or_python():
    assert {lang for lang, _ in FENCE.findall(README)} <= {"bash", "python"}
    assert len(re.findall(r"^```", README, re.MULTILINE)) == 2 * len(FENCE.findall(README))


def test_the_make_targets_exist():
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    targets = {line.split()[1] for line in commands("make ")}
    assert {"demo", "test", "bench"} <= targets
    for target in targets:
        assert re.search(rf"^{target}:", makefile, re.MULTILINE), f"make {target}"


def test_the_files_and_pictures_it_names_exist():
    named = re.findall(r"\]\(([^)\s]+)\)", README)  # links and images
    named += re.findall(r"`((?:docs|benchmarks|tests)/[\w./-]+\.(?:md|py))`", README)
    named += [line.split()[-1] for line in commands(".venv/bin/python -m pytest")]
    assert any(n.endswith(".png") for n in named), "the report's screenshot"
    for name in named:
        assert "NAME" in name or (ROOT / name).exists(), name


@pytest.mark.slow
@pytest.mark.parametrize("line", commands("occam "))
def test_its_occam_commands_run(line, capsys, tmp_path_factory, monkeypatch):
    store = tmp_path_factory.getbasetemp() / "readme" / "runs.sqlite"  # one store: trained once
    monkeypatch.chdir(tmp_path_factory.getbasetemp())
    args = shlex.split(line)[1:]
    args += [] if "--json" in args else ["--json"]
    code, out, err = run(capsys, *args, *SMALL, "--store", str(store))
    assert code == 0, err
    assert "error" not in json.loads(out)


def test_its_python_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        for code in blocks("python"):
            exec(compile(code, "README.md", "exec"), {"__name__": "__readme__"})  # noqa: S102
    finally:
        torch.set_num_threads(threads)
    assert len(blocks("python")) >= 1
