from pathlib import Path

from occamlab.diagnose import diagnose_run
from occamlab.report import page, table
from occamlab.store import Store
from occamlab.subject import Subject
from tests.conftest import toy_data, toy_model

EVIL = "<script>alert('x')</script>"


def test_user_strings_are_escaped_everywhere():
    html = page(EVIL, [(EVIL, table([{EVIL: EVIL}]))], subtitle=EVIL)
    assert "<script>" not in html
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in html


def test_diagnose_page_escapes_the_subject_name_and_lists_the_run(tmp_path):
    store = Store(tmp_path / "runs.sqlite")
    subject = Subject(model=toy_model(), data=toy_data(), name=EVIL)
    history = [
        {
            "step": s,
            "train_loss": 1.0 / s,
            "test_loss": 2.0 / s,
            "train_accuracy": 0.5,
            "test_accuracy": 0.4,
        }
        for s in (1, 2, 3)
    ]
    result = diagnose_run(subject, store=store, source={"test": EVIL}, history=history)
    html = Path(result.report).read_text()
    assert "<script>" not in html and "data:image/png;base64," in html
    index = (tmp_path / "reports" / "index.html").read_text()
    assert f"{result.run_id}.html" in index and "<script>" not in index
    assert store.get(result.run_id).metrics["report"] == result.report
    assert result.train.n == 64 and result.test.n == 32
