"""Results that render themselves in Jupyter: a table of their numbers and their plot."""

from __future__ import annotations

import base64
import html
import io
from typing import Any

from occamlab.jsonable import jsonable


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return html.escape(f"{value:.6g}")
    return html.escape(str(value))


class HtmlRepr:
    """Mixin for result dataclasses with ``to_dict()`` (and optionally ``plot(ax=None)``).

    ``_repr_html_`` shows the scalar numbers as a table (lists and nested results are left to
    ``to_dict()``) and, when the result can plot itself, the figure as an embedded PNG.
    """

    def _repr_html_(self) -> str:
        data = jsonable(self.to_dict())  # type: ignore[attr-defined]
        rows = "".join(
            f"<tr><th>{html.escape(str(k))}</th><td>{_cell(v)}</td></tr>"
            for k, v in data.items()
            if not isinstance(v, (dict, list))
        )
        out = [f"<div><strong>{html.escape(type(self).__name__)}</strong>"]
        out.append(f"<table>{rows}</table>")
        plot = getattr(self, "plot", None)
        if callable(plot):
            from matplotlib.figure import Figure

            fig = Figure(figsize=(6, 3.5))
            plot(ax=fig.subplots())
            buffer = io.BytesIO()
            fig.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
            encoded = base64.b64encode(buffer.getvalue()).decode("ascii")
            out.append(f'<img alt="plot" src="data:image/png;base64,{encoded}">')
        out.append("</div>")
        return "".join(out)
