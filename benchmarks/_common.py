"""Shared benchmark plumbing: timing by best-of-N and the results file every benchmark writes."""

from __future__ import annotations

import json
import platform
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import torch

RESULTS = Path(__file__).resolve().parent / "results"
T = TypeVar("T")


def timed(
    fn: Callable[[], T], *, repeats: int = 3, clock: Callable[[], float] = time.perf_counter
) -> tuple[float, T]:
    """Smallest time of ``repeats`` calls (the least noisy estimate on a busy machine), and the
    last call's value. ``clock=time.process_time`` counts this process's CPU time only, which on
    a shared machine leaves out the time other processes hold the cores."""
    best, out = float("inf"), None
    for _ in range(repeats):
        start = clock()
        out = fn()
        best = min(best, clock() - start)
    return best, out  # type: ignore[return-value]


def best_of(
    fn: Callable[[], object], *, repeats: int = 3, clock: Callable[[], float] = time.perf_counter
) -> float:
    """Smallest time of ``repeats`` calls of ``fn`` (see :func:`timed`)."""
    return timed(fn, repeats=repeats, clock=clock)[0]


def row(case: str, ours: float, anchor: str, anchor_value: float, target: float) -> dict:
    """One result row; ``ratio`` = ours / anchor time, ``met`` when ratio <= target."""
    ratio = ours / anchor_value
    return {
        "case": case,
        "ours": ours,
        "anchor": anchor,
        "anchor_value": anchor_value,
        "ratio": ratio,
        "target": target,
        "met": bool(ratio <= target),
    }


def report(name: str, rows: list[dict]) -> Path:
    """Print a table and write ``benchmarks/results/NAME.json``."""
    print(
        f"{name}: torch {torch.__version__}, {torch.get_num_threads()} thread(s), "
        f"{platform.machine()}"
    )
    print(f"{'case':<48} {'ours s':>9} {'anchor s':>9} {'ratio':>7} {'target':>7}  met")
    for r in rows:
        print(
            f"{r['case']:<48} {r['ours']:>9.4f} {r['anchor_value']:>9.4f} {r['ratio']:>7.3f} "
            f"{r['target']:>7.2f}  {'yes' if r['met'] else 'NO'}"
        )
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(rows, indent=2) + "\n")
    return path
