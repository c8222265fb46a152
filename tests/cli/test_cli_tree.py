"""The command tree of ``occam`` (every command and subcommand with its parameters) is pinned.

``command_tree.json`` was written from the commands as they were when the CLI became one package;
a change to a command, a flag or an argument shows up here as a diff. After an intended change,
rewrite it with ``python tests/cli/test_cli_tree.py``.
"""

import json
from pathlib import Path
from typing import Any

import typer

SNAPSHOT = Path(__file__).with_name("command_tree.json")


def _param(param: Any) -> str:
    """One line per parameter: ``option deep: --quick | --deep [flag]``."""
    opts = " ".join(param.opts)
    if param.secondary_opts:
        opts += " | " + " ".join(param.secondary_opts)
    marks = [
        mark
        for mark, on in (
            ("flag", getattr(param, "is_flag", False)),
            ("required", param.required),
            ("multiple", param.multiple),
            (f"nargs={param.nargs}", param.nargs != 1),
            (f"envvar={getattr(param, 'envvar', None)}", getattr(param, "envvar", None)),
        )
        if on
    ]
    suffix = f" [{', '.join(marks)}]" if marks else ""
    return f"{param.param_type_name} {param.name}: {opts}{suffix}"


def _tree(command: Any) -> dict[str, Any]:
    node: dict[str, Any] = {
        "help": (command.help or "").strip().splitlines()[:1],
        "params": [_param(p) for p in command.params],
    }
    if hasattr(command, "commands"):
        node["commands"] = {name: _tree(sub) for name, sub in sorted(command.commands.items())}
    return node


def command_tree() -> dict[str, Any]:
    """Every command of ``occam``: its first help line, its parameters and its subcommands."""
    from occamlab.cli import app

    return _tree(typer.main.get_command(app))


def test_the_command_tree_is_unchanged():
    expected = json.loads(SNAPSHOT.read_text(encoding="utf-8"))
    assert command_tree() == expected


if __name__ == "__main__":
    SNAPSHOT.write_text(json.dumps(command_tree(), indent=1, sort_keys=True) + "\n")
