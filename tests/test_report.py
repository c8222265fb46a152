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
    assert f"{result.run_id}.html" in index and EVIL not in index
    assert index.count("<script>") == 1  # the page's own filter script, nothing else
    assert store.get(result.run_id).metrics["report"] == result.report
    assert result.train.n == 64 and result.test.n == 32


def test_report_rewrites_pages_from_the_store_and_the_index_filters(tmp_path, capsys):
    import json
    import threading
    import urllib.error
    import urllib.request

    import pytest

    from occamlab.cli import main
    from occamlab.cli.report import make_server
    from occamlab.data import data_spec
    from occamlab.models import model_spec
    from occamlab.runs import train_run
    from occamlab.train import TrainSpec

    store = Store(tmp_path / "runs.sqlite")
    trained = train_run(
        store,
        model=model_spec("mlp", width=4),
        data=data_spec("gaussian_mixture", num_train=40, num_test=20),
        train=TrainSpec(epochs=2),
    )
    subject = Subject(model=toy_model(), data=toy_data(), name=EVIL)
    diagnosed = diagnose_run(subject, store=store, source={"x": 1})
    with pytest.raises(SystemExit) as code:
        main(["report", "--all", "--store", str(tmp_path / "runs.sqlite"), "--json"])
    assert code.value.code == 0
    payload = json.loads(capsys.readouterr().out)
    assert len(payload["pages"]) == 2
    page_of_training = (tmp_path / "reports" / f"{trained.record.id}.html").read_text()
    assert "training curves" in page_of_training and "data:image/png;base64," in page_of_training
    index = Path(payload["index"]).read_text()
    assert "data-kind='train'" in index and "data-kind='diagnose'" in index
    assert "test acc" in index and EVIL not in index
    with pytest.raises(SystemExit) as code:
        main(["report", "--store", str(tmp_path / "runs.sqlite")])
    assert code.value.code == 2 and "run id or --all" in capsys.readouterr().err

    server = make_server(tmp_path / "reports", port=0)
    assert server.server_address[0] == "127.0.0.1"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}"
        with urllib.request.urlopen(f"{base}/{diagnosed.run_id}.html") as response:
            assert response.status == 200 and b"diagnose" in response.read()
        with pytest.raises(urllib.error.HTTPError):
            urllib.request.urlopen(f"{base}/../runs.sqlite")
    finally:
        server.shutdown()
        server.server_close()


def test_run_figures_are_png_artifacts_read_back(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from occamlab.report import figure_sections, save_run_figures

    store = Store(tmp_path / "runs.sqlite")
    fig, ax = plt.subplots()
    ax.plot([0, 1], [1, 0])
    png_bytes = b"\x89PNG\r\n\x1a\n" + b"0" * 16
    with store.run("probe/test", {"x": 1}) as run:
        saved = save_run_figures(store, run, {"Loss": fig, "loss": png_bytes, EVIL: png_bytes})
        run.metrics["figures"] = saved
    assert list(saved) == ["Loss", "loss", EVIL] and len(set(saved.values())) == 3
    assert (tmp_path / saved["Loss"]).read_bytes().startswith(b"\x89PNG")
    assert (tmp_path / saved["loss"]).read_bytes() == png_bytes
    record = store.get(run.id)
    assert record.artifacts == {f"figure: {k}": v for k, v in saved.items()}
    (tmp_path / saved["loss"]).unlink()  # a missing file is skipped, not an error
    sections = figure_sections(store, record.metrics["figures"])
    assert sorted(title for title, _ in sections) == sorted(["Loss", EVIL])
    assert all(html.startswith("<img") and "<script>" not in html for _, html in sections)
