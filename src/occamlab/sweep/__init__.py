"""Sweeps over many members (training runs or experiments), run locally or on a Ray cluster."""

from occamlab.sweep.driver import SweepResult, run_sweep
from occamlab.sweep.executors import LocalExecutor, RayExecutor, make_executor
from occamlab.sweep.spec import SweepSpec, load_sweep, parse_sweep

__all__ = [
    "LocalExecutor",
    "RayExecutor",
    "SweepResult",
    "SweepSpec",
    "load_sweep",
    "make_executor",
    "parse_sweep",
    "run_sweep",
]
