"""The report page of a linear-regions probe run (``occam probe regions``)."""

from typing import Any

from occamlab.report.html import key_values, table
from occamlab.report.render import probe_renderer

_SEGMENT_COLUMNS = ("regions", "pieces", "length", "regions_per_unit_length", "bound", "queries")


_PLANE_KEYS = ("regions", "refined", "grid", "area", "regions_per_unit_area", "bound")


def regions_sections(result: dict[str, Any]) -> list[tuple[str, str]]:
    parts = [("Segments (exact)", table(result["lines"], list(_SEGMENT_COLUMNS)))]
    if result["plane"]:
        parts.append(("Plane", key_values({k: result["plane"][k] for k in _PLANE_KEYS})))
    return parts


render_regions = probe_renderer("regions", regions_sections)
