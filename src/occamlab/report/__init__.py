"""Reports: static HTML pages with embedded figures, one per run plus an index."""

from occamlab.report.figures import training_curves
from occamlab.report.html import details, esc, figure, key_values, page, png, table
from occamlab.report.pages import (
    environment,
    figure_sections,
    save_run_figures,
    write_index,
    write_run_page,
)
from occamlab.report.render import probe_renderer, register_renderer, render_all, render_run

__all__ = [
    "details",
    "environment",
    "esc",
    "figure",
    "figure_sections",
    "key_values",
    "page",
    "png",
    "probe_renderer",
    "register_renderer",
    "render_all",
    "render_run",
    "save_run_figures",
    "table",
    "training_curves",
    "write_index",
    "write_run_page",
]
