"""The package's imports keep its layers: read from the source (``ast``), never by importing it.

Three rules, over every ``occamlab`` import in every module (at the top or inside a function):

- no module outside ``occamlab.cli`` imports the CLI;
- each module imports only from its own layer or the layers below it (``LAYERS``, lowest first);
- no import cycle between modules.

Imports under ``if TYPE_CHECKING:`` never run; they are left out of the rules, and the few there
are listed in ``TYPE_ONLY`` so a new one is seen.
"""

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SRC / "occamlab"

# Lowest first. A module belongs to the first entry that is its name or a prefix of it.
LAYERS: list[tuple[str, ...]] = [
    # shared foundations: JSON-safe values, typed specs and their hashes, notebook display
    ("occamlab.version", "occamlab.jsonable", "occamlab.specs", "occamlab.notebook"),
    ("occamlab.data",),
    ("occamlab.models",),
    ("occamlab.subject",),
    ("occamlab.linalg", "occamlab.weights"),
    ("occamlab.train", "occamlab.testing"),
    ("occamlab.recipes", "occamlab.fingerprint"),
    # where results are kept and drawn: the run store, HTML pages and their renderers
    ("occamlab.store",),
    ("occamlab.report",),
    ("occamlab.runs",),
    ("occamlab.probes",),
    ("occamlab.experiments",),
    ("occamlab.diagnose",),
    ("occamlab.sweep",),
    # the public API (``import occamlab``), then the command line
    ("occamlab",),
    ("occamlab.cli", "occamlab.__main__"),
]

# (importer, imported) under ``if TYPE_CHECKING:``: annotations only.
TYPE_ONLY = {
    ("occamlab.subject", "occamlab.train.spec"),
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    inside: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                inside.update(id(n) for n in ast.walk(child))
    return inside


def imports(name: str) -> list[tuple[str, bool]]:
    """The ``occamlab`` modules ``name`` imports: (module, under TYPE_CHECKING)."""
    path = MODULES[name]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    typing_only = _type_checking_nodes(tree)
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package[: len(package) - node.level + 1]
                base = ".".join(anchor + ([node.module] if node.module else []))
            # ``from pkg import mod`` imports the module pkg.mod; ``from mod import name`` mod.
            targets = [
                f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base
                for alias in node.names
            ]
        else:
            continue
        for target in targets:
            if target.split(".")[0] == "occamlab" and target != name:
                while target not in MODULES:  # `import occamlab.a.b` of a missing name: its module
                    target = target.rsplit(".", 1)[0]
                found.append((target, id(node) in typing_only))
    return found


GRAPH = {name: sorted({t for t, typing in imports(name) if not typing}) for name in MODULES}


def layer(name: str) -> int:
    best = None
    for index, prefixes in enumerate(LAYERS):
        for prefix in prefixes:
            if name == prefix or name.startswith(prefix + "."):
                if best is None or len(prefix) > best[1]:
                    best = (index, len(prefix))
    assert best is not None, f"{name} is in no layer: add it to LAYERS"
    return best[0]


def test_the_graph_reads_the_package():
    assert len(MODULES) > 150
    assert "occamlab.probes.curvature.spectrum" in GRAPH["occamlab.probes.curvature"]
    assert "occamlab.cli.app" in GRAPH["occamlab.cli"]


def test_nothing_outside_the_cli_imports_it():
    offenders = [
        f"{name} imports {target}"
        for name, targets in GRAPH.items()
        if not name.startswith("occamlab.cli") and name != "occamlab.__main__"
        for target in targets
        if target == "occamlab.cli" or target.startswith("occamlab.cli.")
    ]
    assert not offenders, offenders


def test_no_module_imports_from_a_layer_above_it():
    offenders = [
        f"{name} (layer {layer(name)}) imports {target} (layer {layer(target)})"
        for name, targets in GRAPH.items()
        for target in targets
        if layer(target) > layer(name)
    ]
    assert not offenders, "\n".join(offenders)


def test_type_checking_imports_are_the_listed_ones():
    found = {(name, t) for name in MODULES for t, typing in imports(name) if typing}
    assert found == TYPE_ONLY


def _cycles(graph: dict[str, list[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return components


@pytest.mark.parametrize(
    ("graph", "expected"),
    [({"a": ["b"], "b": ["a"], "c": ["a"]}, [["a", "b"]]), ({"a": ["b"], "b": []}, [])],
)
def test_the_cycle_finder(graph, expected):
    assert _cycles(graph) == expected


def test_no_import_cycles():
    assert _cycles(GRAPH) == []
