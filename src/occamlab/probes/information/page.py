"""The report page of an information-plane probe run (``occam probe information``)."""

from typing import Any

from occamlab.report.html import table
from occamlab.report.render import probe_renderer


def information_sections(result: dict[str, Any]) -> list[tuple[str, str]]:
    return [("Layers now (bits)", table(result["layers"]))]


render_information = probe_renderer("information", information_sections)
