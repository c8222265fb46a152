"""The report page of a decision-region topology probe run (``occam probe topology``)."""

from typing import Any

from occamlab.report.html import key_values
from occamlab.report.render import probe_renderer

_KEYS = ("betti", "betti_sum", "grid", "dimensions", "output", "positive_fraction", "sliced")


def topology_sections(result: dict[str, Any]) -> list[tuple[str, str]]:
    return [("Betti numbers", key_values({k: result[k] for k in _KEYS}))]


render_topology = probe_renderer("topology", topology_sections)
