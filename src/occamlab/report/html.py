"""Static HTML building blocks: every user string escaped, figures embedded, no network."""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Mapping, Sequence
from typing import Any

_CSS = """
body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
h1{font-size:1.6em}h2{font-size:1.25em;border-bottom:1px solid #ddd;padding-bottom:.2em}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:.25em .6em;
text-align:left;font-variant-numeric:tabular-nums}th{background:#f4f4f4}
.pass{color:#17692e;font-weight:600}.fail{color:#b3261e;font-weight:600}
.answer{background:#f6f8fa;border-left:4px solid #4a7;padding:.5em 1em}
img{max-width:100%}pre{background:#f6f8fa;padding:.6em;overflow-x:auto}
.table{max-width:100%;overflow-x:auto}td{overflow-wrap:anywhere}
details{margin:.5em 0}summary{cursor:pointer;color:#335}
"""

# Tables longer than this are collapsed (their rows one click away), so a page reads top-down:
# the answers and pictures first, then the numbers behind them.
COLLAPSE_ROWS = 30


def esc(value: Any) -> str:
    """HTML-escape any value's text (quotes included)."""
    return html.escape(str(value), quote=True)


def fmt(value: Any) -> str:
    """A compact human form of a number (4 significant digits) or the escaped text."""
    if isinstance(value, bool) or value is None:
        return esc("—" if value is None else value)
    if isinstance(value, float):
        return esc(f"{value:.4g}")
    return esc(value)


def details(summary: str, inner: str, *, open_: bool = False) -> str:
    """A collapsed section: ``summary`` (escaped here) shown, ``inner`` (HTML) one click away."""
    state = " open" if open_ else ""
    return f"<details{state}><summary>{esc(summary)}</summary>{inner}</details>"


def table(
    rows: Sequence[Mapping[str, Any]],
    columns: Sequence[str] | None = None,
    *,
    collapse: int | None = COLLAPSE_ROWS,
) -> str:
    """An HTML table of dict rows (columns default to the first row's keys).

    A wide table scrolls inside its own box (the page never scrolls sideways); one of more than
    ``collapse`` rows is collapsed in a ``<details>`` section (None: never).
    """
    if not rows:
        return "<p><em>no rows</em></p>"
    columns = list(columns or rows[0].keys())
    head = "".join(f"<th>{esc(c)}</th>" for c in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{fmt(row.get(c))}</td>" for c in columns) + "</tr>" for row in rows
    )
    html_ = (
        f"<div class='table'><table><thead><tr>{head}</tr></thead>"
        f"<tbody>{body}</tbody></table></div>"
    )
    if collapse is not None and len(rows) > collapse:
        return details(f"{len(rows)} rows (show)", html_)
    return html_


def key_values(items: Mapping[str, Any]) -> str:
    """A two-column table of a mapping (never collapsed)."""
    return table(
        [{"name": k, "value": v} for k, v in items.items()], ["name", "value"], collapse=None
    )


def png(data: bytes, *, alt: str) -> str:
    """PNG bytes as an embedded ``<img>`` (a data URI: the page needs no network or files)."""
    encoded = base64.b64encode(data).decode("ascii")
    return f'<img alt="{esc(alt)}" src="data:image/png;base64,{encoded}">'


def figure(fig: Any, *, alt: str) -> str:
    """A matplotlib figure as an embedded PNG ``<img>`` (the figure is closed afterwards)."""
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return png(buffer.getvalue(), alt=alt)


def page(title: str, sections: Sequence[tuple[str, str]], *, subtitle: str = "") -> str:
    """A whole page: ``sections`` are ``(heading, inner_html)``; headings are escaped here."""
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>{esc(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{esc(title)}</h1>",
    ]
    if subtitle:
        parts.append(f"<p>{esc(subtitle)}</p>")
    for heading, inner in sections:
        parts.append(f"<section><h2>{esc(heading)}</h2>{inner}</section>")
    parts.append("</body></html>")
    return "\n".join(parts)
