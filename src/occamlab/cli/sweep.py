"""``occam sweep SPEC.toml``: many members (training runs or experiments), locally or on Ray."""

from pathlib import Path
from typing import Annotated

import typer

from occamlab.cli.options import CliKit


def register(app: typer.Typer, kit: CliKit) -> None:
    """Add ``occam sweep`` to ``app``."""

    @kit.command("sweep", on=app)
    def sweep(
        path: Annotated[
            Path,
            typer.Argument(
                help="Sweep file (TOML) with the tables \\[sweep], \\[base] and \\[grid]."
            ),
        ],
        executor: Annotated[
            str, typer.Option("--executor", help="Where tasks run: local or ray.")
        ] = "local",
        address: Annotated[
            str | None,
            typer.Option(
                "--address", help="Ray cluster: auto or HOST:PORT (default: a local instance)."
            ),
        ] = None,
        num_cpus: Annotated[
            int | None, typer.Option("--num-cpus", help="CPUs of a local Ray instance.")
        ] = None,
        max_group: Annotated[
            int, typer.Option("--max-group", help="Most training members per ensemble task.")
        ] = 64,
        force: Annotated[bool, typer.Option("--force", help="Rerun finished members.")] = False,
        store: kit.store_opt = kit.default_store,
        as_json: kit.json_opt = False,
    ) -> None:
        """Run every member of a sweep not yet done in the store (resumable)."""
        from occamlab.store import Store
        from occamlab.sweep import load_sweep, make_executor, run_sweep

        spec = load_sweep(path)
        if executor not in ("local", "ray"):
            raise ValueError(f"--executor must be local or ray, got {executor!r}")
        if max_group < 1:
            raise ValueError(f"--max-group must be >= 1, got {max_group}")
        runner = make_executor(executor, address=address, num_cpus=num_cpus)  # type: ignore[arg-type]
        try:
            result = run_sweep(
                spec, Store(store), runner, max_group=max_group, progress=not as_json, force=force
            )
        finally:
            runner.close()
        payload = {**result.to_dict(), "members": len(spec.members), "executor": executor}

        def human() -> None:
            kit.out.print(
                f"sweep [bold]{result.name}[/]: {len(spec.members)} members · "
                f"{result.done} run · {result.reused} already done · {result.failed} failed · "
                f"{result.seconds:.1f} s ({executor})"
            )
            for run_id, error in result.errors.items():
                kit.out.print(f"[red]failed[/] {run_id}: {error}")

        kit.emit(as_json, payload, human)
