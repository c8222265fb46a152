"""The ``occam`` command: a thin Typer layer over the library, one module per command (group).

The modules mirror the command tree:

- ``app``: the Typer app, its root options, error handling and JSON output shared by every command
- ``train`` (``occam train``), ``runs`` (``occam list``, ``occam show``), ``diagnose``
  (``occam diagnose``), ``run`` (``occam run NAME``), ``sweep`` (``occam sweep``), ``report``
  (``occam report``, ``occam serve``)
- ``probe/``: the ``occam probe`` group, one module per probe family
- ``options`` and ``subject``: flags generated from spec dataclasses, and the subject flags

Nothing outside this package imports it: the library's pages and results do not depend on the CLI.
"""

from occamlab.cli.app import app, kit
from occamlab.cli.probe import register as register_probes
from occamlab.cli.report import register as register_reports
from occamlab.cli.run import register as register_experiments
from occamlab.cli.sweep import register as register_sweep

# The commands, in the order of `occam --help`: these modules add theirs to `app` on import, the
# groups below when registered.
# isort: off
from occamlab.cli import train, runs, diagnose  # noqa: E402, F401
# isort: on

register_experiments(app, kit)
register_sweep(app, kit)
register_reports(app, kit)
register_probes(app, kit)

__all__ = ["app", "main"]


def main(argv: list[str] | None = None) -> None:
    """Console entry point (``occam``)."""
    app(args=argv, prog_name="occam")
