"""The documentation site builds without a single warning, loads nothing from the network, and
every Python example in it runs.

The strict build needs the ``docs`` extra (``make setup`` installs it); it is skipped only when
mkdocs is missing and ``OCCAM_REQUIRE_DOCS`` is unset (CI sets it). The examples need only
occamlab: the blocks of one page run in order in one fresh namespace, in a temporary directory,
on one thread. A block preceded by ``<!-- no-exec -->`` is shown but not run (for what a test
cannot have, e.g. a Ray cluster, and for sketches that use the variables of the text around
them). A block preceded by ``<!-- file: NAME.py -->`` is a file of the reader's (e.g. the module
``--subject`` imports): it is written to ``NAME.py`` in the temporary directory, importable by
the blocks after it, instead of being run.
"""

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
NO_EXEC = "<!-- no-exec -->"
FILE = re.compile(r"^<!-- file: ([\w.]+\.py) -->$")
FENCE = re.compile(r"^```python\n(.*?)^```$", re.DOTALL | re.MULTILINE)
# Anything the browser would fetch by itself: scripts, stylesheets, images, fonts, frames.
REMOTE = re.compile(
    r"<(?:script|img|iframe)[^>]*\ssrc=\"(?:https?:)?//|<link[^>]*\shref=\"(?:https?:)?//"
    r"|url\((?:['\"])?(?:https?:)?//"
)


def python_blocks(page: Path) -> list[tuple[int, str, str | None]]:
    """The page's ```python blocks that run or are files, with their line numbers and, for a
    file, its name."""
    text = page.read_text(encoding="utf-8")
    blocks = []
    for match in FENCE.finditer(text):
        before = text[: match.start()].rstrip().splitlines()
        last = before[-1].strip() if before else ""
        if last == NO_EXEC:
            continue
        file = FILE.match(last)
        line = text.count("\n", 0, match.start()) + 2
        blocks.append((line, match.group(1), file.group(1) if file else None))
    return blocks


PAGES = sorted(p for p in DOCS.rglob("*.md") if python_blocks(p))


def test_the_parser_finds_blocks_and_honours_no_exec(tmp_path):
    page = tmp_path / "p.md"
    page.write_text(
        "# t\n\n```python\nx = 1\n```\n\n<!-- no-exec -->\n```python\nraise SystemExit\n```\n"
        "\n```bash\nls\n```\n\n```python\ny = x + 1\n```\n\n<!-- file: m.py -->\n```python\nz = 2\n"
        "```\n"
    )
    assert python_blocks(page) == [
        (4, "x = 1\n", None),
        (17, "y = x + 1\n", None),
        (22, "z = 2\n", "m.py"),
    ]
    assert len(PAGES) >= 10, "the docs lost their examples"


def test_every_code_block_says_its_language():
    """A Python example fenced as ``py`` or ``pycon`` would silently escape execution."""
    for page in DOCS.rglob("*.md"):
        fences = re.findall(r"^```(.*)$", page.read_text(encoding="utf-8"), re.MULTILINE)
        openings = fences[::2]
        assert len(fences) % 2 == 0, f"{page}: unbalanced code fences"
        assert set(openings) <= {"python", "bash", "toml", "text"}, f"{page}: {openings}"


def nav_pages(config: str) -> list[str]:
    """The pages in mkdocs.yml's ``nav`` (``- Title: page.md`` or ``- page.md``), in order."""
    nav = config.split("\nnav:\n", 1)[1]
    return re.findall(r"^\s+- (?:.*?: )?(\S+\.md)$", nav, re.MULTILINE)


def test_nav_parser():
    config = "x: 1\nnav:\n  - Home: index.md\n  - A b?: a/b.md\n  - P:\n      - p/index.md\n"
    assert nav_pages(config) == ["index.md", "a/b.md", "p/index.md"]


def test_every_experiment_has_a_page_in_the_nav_and_the_index():
    """One page per registered experiment, with its summary and spec, so the docs cannot drift
    from ``EXPERIMENTS`` (and no page for an experiment that is not registered)."""
    from occamlab.experiments import EXPERIMENTS

    names = EXPERIMENTS.names()
    nav = nav_pages((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))
    index = (DOCS / "experiments" / "index.md").read_text(encoding="utf-8")
    assert len(names) >= 18, "experiments are no longer registered on import"
    for name in names:
        cls = EXPERIMENTS.get(name)
        page = DOCS / "experiments" / f"{name}.md"
        assert page.is_file(), f"experiment {name!r} has no page {page.relative_to(ROOT)}"
        assert f"experiments/{name}.md" in nav, f"{name}.md is not in mkdocs.yml's nav"
        assert f"[`{name}`]({name}.md)" in index, f"{name} is missing from the index table"
        text = page.read_text(encoding="utf-8")
        assert text.startswith(f"# {name}\n\n> {cls.summary}\n"), f"{name}.md: title or summary"
        assert f"\n::: {cls.__module__}.{cls.__qualname__}\n" in text, f"{name}.md: no spec"
    pages = {p.stem for p in (DOCS / "experiments").glob("*.md")} - {"index"}
    listed = {p.removeprefix("experiments/")[:-3] for p in nav if p.startswith("experiments/")}
    assert pages == set(names), f"pages of unregistered experiments: {pages - set(names)}"
    assert listed - {"index"} == set(names), f"nav entries: {listed - {'index'} - set(names)}"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(DOCS)))
def test_docs_examples_run(page, tmp_path, monkeypatch):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    namespace: dict = {"__name__": "__docs__"}
    files = []
    try:
        for line, code, file in python_blocks(page):
            if file is not None:
                (tmp_path / file).write_text(code)
                files.append(file[:-3])
                continue
            name = f"{page.relative_to(ROOT)}:{line}"
            exec(compile(code, name, "exec"), namespace)  # noqa: S102 - the docs' own examples
    finally:
        torch.set_num_threads(threads)
        plt.close("all")
        for module in files:
            sys.modules.pop(module, None)


@pytest.mark.skipif(
    importlib.util.find_spec("mkdocs") is None and not os.environ.get("OCCAM_REQUIRE_DOCS"),
    reason="mkdocs is not installed (pip install -e '.[docs]'; CI sets OCCAM_REQUIRE_DOCS=1)",
)
def test_docs_build_strictly_and_offline(tmp_path):
    site = tmp_path / "site"
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(ROOT / "mkdocs.yml")]
        + ["-d", str(site)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    pages = list(site.rglob("*.html")) + list(site.rglob("*.css"))
    assert len(pages) > 40
    remote = {
        str(p.relative_to(site)): m.group(0)
        for p in pages
        if (m := REMOTE.search(p.read_text(encoding="utf-8", errors="replace")))
    }
    assert not remote, f"pages load from the network: {remote}"
    for family in ("curvature", "spectra", "bounds", "compression", "kernels"):
        html = (site / "api" / family / "index.html").read_text(encoding="utf-8")
        assert "doc-heading" in html, f"the {family} API page has no generated entries"


def test_the_design_page_names_what_exists():
    """Every path and module the design page names exists, and it lists every layer that
    ``tests/test_imports.py`` enforces, in the same order."""
    import importlib

    from tests.test_imports import LAYERS

    text = (DOCS / "design.md").read_text(encoding="utf-8")
    named = set(re.findall(r"`([\w./-]+)`", text))
    paths = {n for n in named if "/" in n and "NAME" not in n and n.split("/")[0] in TOP}
    assert len(paths) > 20
    missing = [p for p in paths if not (ROOT / p).exists()]
    assert not missing, missing
    assert (ROOT / "src" / "occamlab" / "__main__.py").exists()  # named, never imported
    modules = {n for n in named if n.startswith("occamlab.") or n == "occamlab"}
    for dotted in sorted(modules - {"occamlab.__main__"}):
        module, attribute = dotted, None
        while True:
            try:
                found = importlib.import_module(module)
                break
            except ModuleNotFoundError:
                module, attribute = module.rsplit(".", 1)[0], module.rsplit(".", 1)[1]
        if attribute is not None:
            rest = dotted[len(module) + 1 :].split(".")
            for part in rest:
                found = getattr(found, part)
    order = [text.index(f"`{prefix}`") for layer in LAYERS for prefix in layer]
    assert order == sorted(order), "the design page lists the layers out of order"


TOP = {"src", "tests", "benchmarks", "docs"}
