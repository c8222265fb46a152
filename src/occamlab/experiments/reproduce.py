"""``make reproduce``: run every registered experiment at quick scale through the CLI."""

from __future__ import annotations

import subprocess
import sys

from occamlab.experiments import EXPERIMENTS


def main() -> int:
    names = EXPERIMENTS.names()
    if not names:
        print("no experiments are registered yet")
        return 0
    failed = []
    for name in names:
        print(f"== {name}", flush=True)
        code = subprocess.call([sys.executable, "-m", "occamlab", "run", name, "--scale", "quick"])
        if code:
            failed.append(name)
    if failed:
        print(f"failed to run: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
