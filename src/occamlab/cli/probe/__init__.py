"""``occam probe NAME``: one probe on one subject, stored as a run with its own report page.

One module per probe family adds its commands to the group; the family's page renderer lives
beside the family (``occamlab.probes.<family>.page``).
"""

import typer

from occamlab.cli.options import CliKit
from occamlab.cli.probe import (
    baselines,
    bounds,
    complexity,
    compression,
    curvature,
    embedding,
    information,
    kernels,
    landscape,
    measures,
    regions,
    representations,
    robustness,
    sharpness,
    spectra,
    topology,
)

# The order of `occam probe --help`.
FAMILIES = (
    curvature,
    sharpness,
    bounds,
    measures,
    compression,
    baselines,
    landscape,
    spectra,
    representations,
    embedding,
    kernels,
    information,
    regions,
    topology,
    robustness,
    complexity,
)


def register(app: typer.Typer, kit: CliKit) -> typer.Typer:
    """Add the ``probe`` command group to ``app`` with every family's commands; return it."""
    probe_app = typer.Typer(help="Run one probe on a subject.", no_args_is_help=True)
    app.add_typer(probe_app, name="probe")
    for family in FAMILIES:
        family.register(probe_app, kit)
    return probe_app
