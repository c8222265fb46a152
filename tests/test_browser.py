"""Report pages in a real headless browser (Debian's chromium driven by Playwright's client)."""

import os
import threading
from pathlib import Path

import pytest

from occamlab.cli.report import make_server
from occamlab.data import data_spec
from occamlab.diagnose import QUESTIONS, DiagnoseSpec, diagnose_run
from occamlab.models import model_spec
from occamlab.report import render_all
from occamlab.runs import train_run
from occamlab.store import Store
from occamlab.subject import Subject
from occamlab.train import TrainSpec
from tests.conftest import toy_data, toy_model

CHROMIUM = Path("/usr/bin/chromium")
EVIL = "<script>window.__pwned = 1; alert('x')</script>"
pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists() and os.environ.get("OCCAM_REQUIRE_BROWSER") != "1",
    reason="Debian's chromium is not installed (.ci/run installs it and requires this test)",
)
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture
def served(tmp_path):
    store = Store(tmp_path / "runs.sqlite")
    train_run(
        store,
        model=model_spec("mlp", width=4),
        data=data_spec("gaussian_mixture", num_train=40, num_test=20),
        train=TrainSpec(epochs=2),
    )
    subject = Subject(model=toy_model(), data=toy_data(), name=EVIL)
    diagnosed = diagnose_run(
        subject, store=store, source={"module": EVIL}, spec=DiagnoseSpec(limit=32)
    )
    render_all(store)
    server = make_server(tmp_path / "reports", port=0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", diagnosed
    server.shutdown()
    server.server_close()


def test_index_and_diagnose_page_in_chromium(served, tmp_path):
    from playwright.sync_api import sync_playwright

    base, diagnosed = served
    shots = Path(os.environ.get("OCCAM_ARTIFACTS", tmp_path))
    shots.mkdir(parents=True, exist_ok=True)
    dialogs = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = browser.new_page()
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            page.goto(f"{base}/index.html")
            rows = page.locator("#runs tbody tr")
            assert rows.count() == 2
            page.select_option("#kind", "diagnose")
            assert page.locator("#runs tbody tr:visible").count() == 1
            assert page.inner_text("#shown") == "1"
            page.fill("#q", "no run has this text")
            assert page.locator("#runs tbody tr:visible").count() == 0
            page.screenshot(path=str(shots / "index.png"), full_page=True)

            page.goto(f"{base}/{diagnosed.run_id}.html")
            headings = page.locator("h2").all_inner_texts()
            expected = {"Summary", "Subject", "Fit", "Spec", "Environment", *QUESTIONS.values()}
            assert expected <= set(headings)
            for key, answer in diagnosed.answers.items():  # each question: its sentence
                section = page.locator(f"section#{key}")
                assert section.locator("p.answer").inner_text() == answer.sentence
            sizes = page.evaluate(
                "Array.from(document.images).map(i => [i.naturalWidth, i.naturalHeight,"
                " i.getBoundingClientRect().width, i.getBoundingClientRect().height])"
            )
            assert len(sizes) >= 6 and all(min(size) > 0 for size in sizes)
            assert EVIL in page.inner_text("body")  # shown as text ...
            assert page.evaluate("window.__pwned") is None  # ... never executed
            numbers = page.inner_text("body")
            assert f"{diagnosed.train.loss:.4g}" in numbers
            # Read top-down: long tables are collapsed, wide ones scroll in their own box.
            height, width, viewport = page.evaluate(
                "[document.documentElement.scrollHeight, document.documentElement.scrollWidth,"
                " window.innerWidth]"
            )
            assert height < 16_000, f"the page is {height} px long"
            assert width <= viewport, f"the page scrolls sideways: {width} > {viewport} px"
            page.screenshot(path=str(shots / "diagnose.png"), full_page=True)
        finally:
            browser.close()
    assert dialogs == []
