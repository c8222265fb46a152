"""``make reproduce``: run every registered experiment at quick scale and summarize its claims.

Each experiment runs at its default setting and at each of its alternative settings, each as
``occam run NAME --scale quick --setting S --json`` in its own process (so one crash stops
nothing else); the summary — one row per claim with its decision, estimate,
interval, p-value (Holm) and seeds, and each experiment's CPU time — is written as JSON and as
an HTML page (``reproduce.json`` and ``reproduce.html`` in the output folder).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from occamlab.experiments import EXPERIMENTS, settings_of
from occamlab.experiments.page import claim_decision, claim_test_summary
from occamlab.report.html import esc, page, table

Runner = Callable[[str, str, Sequence[str]], tuple[int, str]]


def _subprocess(name: str, setting: str, extra: Sequence[str]) -> tuple[int, str]:
    command = [sys.executable, "-m", "occamlab", "run", name, "--scale", "quick"]
    command += ["--setting", setting, "--json"]
    done = subprocess.run([*command, *extra], stdout=subprocess.PIPE, text=True, check=False)
    return done.returncode, done.stdout


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def summarize(name: str, setting: str, code: int, output: str, cpu: float) -> dict[str, Any]:
    """One experiment's entry at one setting: its claims (decision and test) or why it did not
    finish."""
    entry: dict[str, Any] = {
        "experiment": name,
        "setting": setting,
        "exit_code": code,
        "cpu_seconds": cpu,
    }
    try:
        payload = json.loads(output) if output.strip() else None
    except json.JSONDecodeError:
        payload = None
    if payload is None:
        entry["error"] = f"no result (exit code {code})"
        entry["claims"] = []
        return entry
    entry["run"] = payload.get("id")
    entry["report"] = payload.get("report")
    entry["claims"] = [
        {
            "claim": c["statement"],
            "decision": claim_decision(c),
            "test": claim_test_summary(c["test"]) if c.get("test") else "threshold on one run",
            "evidence": c["evidence"],
        }
        for c in payload.get("claims", [])
    ]
    return entry


def write_summary(entries: list[dict[str, Any]], out: Path) -> tuple[Path, Path]:
    """``reproduce.json`` and ``reproduce.html`` in ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    claims = [c for e in entries for c in e["claims"]]
    counts = {
        d: sum(c["decision"] == d for c in claims) for d in ("passed", "failed", "inconclusive")
    }
    total_cpu = sum(e["cpu_seconds"] for e in entries)
    summary = {"experiments": entries, "counts": counts, "cpu_seconds": total_cpu}
    json_path = out / "reproduce.json"
    json_path.write_text(json.dumps(summary, indent=2) + "\n")
    overview = table(
        [
            {
                "experiment": e["experiment"],
                "setting": e["setting"],
                "claims": len(e["claims"]),
                **{d: sum(c["decision"] == d for c in e["claims"]) for d in counts},
                "CPU seconds": round(e["cpu_seconds"], 1),
                "note": e.get("error", ""),
            }
            for e in entries
        ],
        [
            "experiment",
            "setting",
            "claims",
            "passed",
            "failed",
            "inconclusive",
            "CPU seconds",
            "note",
        ],
    )
    rows = [
        {"experiment": e["experiment"], "setting": e["setting"], **c}
        for e in entries
        for c in e["claims"]
    ]
    sections = [
        (
            "Summary",
            f"<p>{counts['passed']} passed, {counts['failed']} failed, "
            f"{counts['inconclusive']} inconclusive of {len(claims)} claims in "
            f"{len({e['experiment'] for e in entries})} experiments "
            f"({len(entries)} runs); {esc(f'{total_cpu / 60:.1f}')} min of CPU.</p>" + overview,
        ),
        (
            "Claims",
            table(rows, ["experiment", "setting", "claim", "decision", "test", "evidence"]),
        ),
    ]
    html_path = out / "reproduce.html"
    html_path.write_text(page("Reproductions at quick scale", sections))
    return json_path, html_path


def main(argv: Sequence[str] | None = None, *, runner: Runner = _subprocess) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="", help="comma-separated experiment names")
    parser.add_argument("--out", default="occam-runs", help="folder of the summary")
    parser.add_argument(
        "--settings",
        choices=("all", "default"),
        default="all",
        help="run every setting of each experiment (all) or only its default",
    )
    parser.add_argument("extra", nargs="*", help="flags passed to every `occam run`")
    args = parser.parse_args(argv)
    names = [n for n in args.only.split(",") if n] or EXPERIMENTS.names()
    unknown = sorted(set(names) - set(EXPERIMENTS.names()))
    if unknown:
        parser.error(f"unknown experiments {unknown}; known: {', '.join(EXPERIMENTS.names())}")
    entries = []
    for name in names:
        settings = settings_of(EXPERIMENTS.get(name))
        for setting in settings if args.settings == "all" else settings[:1]:
            print(f"== {name} ({setting})", flush=True)
            before = _children_cpu()
            code, output = runner(name, setting, args.extra)
            entries.append(summarize(name, setting, code, output, _children_cpu() - before))
    json_path, html_path = write_summary(entries, Path(args.out))
    print(f"summary: {html_path} ({json_path})")
    failed = [f"{e['experiment']} ({e['setting']})" for e in entries if "error" in e]
    if failed:
        print(f"failed to run: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
