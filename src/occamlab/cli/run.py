"""``occam run NAME``: reproduce one registered experiment and check its claims.

One subcommand per experiment, its flags generated from the experiment's spec fields; ``--scale``
picks a preset (``quick``: the CPU default; ``paper``: the publication's setup) and ``--setting``
one of the experiment's settings (the default, or an alternative where the claim should still
hold) under the flags given. The exit code is 0 even when a claim fails (a failed replication is
a result, not a crash) unless ``--strict``.
"""

from typing import Annotated, Any

import typer
from rich.table import Table
from typer.core import TyperGroup

from occamlab.cli.options import CliKit, spec_options
from occamlab.experiments import EXPERIMENTS, run_experiment, settings_of, spec_at_scale
from occamlab.experiments.page import claim_decision, claim_test_summary
from occamlab.store import Store


class _ExperimentGroup(TyperGroup):
    """A group whose unknown-command error lists the registered experiments."""

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        name = args[0] if args else ""
        if name and not name.startswith("-") and name not in EXPERIMENTS:
            valid = ", ".join(EXPERIMENTS.names()) or "none registered"
            ctx.fail(f"unknown experiment {name!r}; valid experiments: {valid}")
        return super().resolve_command(ctx, args)


def _listing() -> list[dict[str, Any]]:
    rows = []
    for name in EXPERIMENTS.names():
        cls = EXPERIMENTS.get(name)
        rows.append(
            {
                "name": name,
                "summary": cls.summary,
                "paper": cls.paper,
                "scales": list(cls.scales),
                "settings": settings_of(cls),
            }
        )
    return rows


def claims_rich_table(claims: list[dict[str, Any]]) -> Table:
    table = Table(title="claims", show_lines=False)
    for column in ("claim", "verdict", "estimate [interval], p (Holm)", "evidence"):
        table.add_column(column, overflow="fold")
    for c in claims:
        decision = claim_decision(c)
        verdict = {"passed": "[green]pass[/]", "failed": "[red]FAIL[/]"}.get(
            decision, "[yellow]inconclusive[/]"
        )
        shown = claim_test_summary(c["test"]) if c.get("test") else "—"
        table.add_row(c["statement"], verdict, shown, c["evidence"])
    return table


def _add_experiment(run_app: typer.Typer, kit: CliKit, cls: type) -> None:
    store_opt, json_opt, default_store = kit.store_opt, kit.json_opt, kit.default_store

    def command(
        overrides: dict[str, Any],
        scale: Annotated[
            str, typer.Option("--scale", help=f"Preset: {', '.join(cls.scales)}.")
        ] = "quick",
        setting: Annotated[
            str,
            typer.Option("--setting", help=f"Setting: {', '.join(settings_of(cls))}."),
        ] = "default",
        strict: Annotated[
            bool,
            typer.Option(
                "--strict",
                help="Exit with code 1 if a claim does not pass (failed or inconclusive).",
            ),
        ] = False,
        force: Annotated[
            bool, typer.Option("--force", help="Recompute even if stored (parts included).")
        ] = False,
        store: store_opt = default_store,
        as_json: json_opt = False,
    ) -> None:
        spec = spec_at_scale(cls, scale, overrides, setting)
        run = run_experiment(spec, Store(store), progress=not as_json, force=force)
        payload = {**run.to_dict(), "scale": scale, "setting": setting}

        def human() -> None:
            note = " (reused: this spec already ran)" if run.reused else ""
            kit.out.print(f"[bold]{cls.name}[/] · run {run.record.id}{note}")
            kit.out.print(claims_rich_table(payload["claims"]))
            kit.out.print(f"report: {run.report}")

        kit.emit(as_json, payload, human)
        if strict and not all(c["passed"] for c in payload["claims"]):
            raise typer.Exit(1)

    command.__name__ = cls.name.replace("-", "_")
    command.__doc__ = f"{cls.summary} ({cls.paper})"
    decorated = spec_options(cls, param="overrides", build=dict)(command)
    kit.command(cls.name, on=run_app)(decorated)


def register(app: typer.Typer, kit: CliKit) -> typer.Typer:
    """Add the ``run`` command group (one subcommand per registered experiment) to ``app``."""
    run_app = typer.Typer(
        cls=_ExperimentGroup,
        help="Reproduce a classic experiment and check its claims (`occam run --list`).",
        invoke_without_command=True,
    )
    app.add_typer(run_app, name="run")

    @run_app.callback()
    def run_root(
        ctx: typer.Context,
        show_list: Annotated[
            bool, typer.Option("--list", help="List the experiments and exit.")
        ] = False,
        as_json: kit.json_opt = False,
    ) -> None:
        """Reproduce a classic experiment and check its claims."""
        if ctx.invoked_subcommand is not None:
            return
        rows = _listing()

        def human() -> None:
            table = Table(title=f"{len(rows)} experiments (occam run NAME --scale quick)")
            for column in ("name", "summary", "paper", "settings"):
                table.add_column(column, overflow="fold")
            for row in rows:
                table.add_row(row["name"], row["summary"], row["paper"], ", ".join(row["settings"]))
            kit.out.print(table)

        kit.emit(as_json, rows, human)

    for name in EXPERIMENTS.names():
        _add_experiment(run_app, kit, EXPERIMENTS.get(name))
    return run_app
