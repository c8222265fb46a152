"""Reports: static HTML pages with embedded figures, one per run plus an index."""

from occamlab.report.figures import training_curves
from occamlab.report.html import esc, figure, key_values, page, png, table
from occamlab.report.pages import environment, write_index, write_run_page

__all__ = [
    "environment",
    "esc",
    "figure",
    "key_values",
    "page",
    "png",
    "table",
    "training_curves",
    "write_index",
    "write_run_page",
]
