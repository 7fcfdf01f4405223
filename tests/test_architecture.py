"""The package's import graph: no cycles, every arrow down the layer list of docs/architecture.md.

Function-level imports count too: an import hidden inside a function is still a dependency.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "squeezenet"
# Bottom to top. A module may import from its own layer or any layer below it.
LAYERS = [
    {"__init__", "version", "errors", "utils"},
    {"models"},
    {"formats"},
    {"zoo"},
    {"data"},
    {"train"},
    {"compression"},
    {"deploy"},
    {"evaluation"},
    {"ota"},
    {"speed"},
    {"explore"},
    {"demo"},
    {"api", "cli", "__main__"},
]


def _module(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    """module -> the package modules it imports, wherever the import statement stands."""
    modules = {_module(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = defaultdict(set)
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
                names = [f"{target}.{a.name}" for a in node.names]
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("squeezenet"):
                target, names = node.module, [f"{node.module}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                target, names = None, [a.name for a in node.names if a.name.startswith("squeezenet")]
            else:
                continue
            # "from . import sqz" names a module; "from .x import f" names the module x
            found = [n for n in names if n in modules] or ([target] if target in modules else [])
            graph[name].update(m for m in found if m != name)
    return graph


def _layer(module: str) -> int:
    top = module.split(".")[1] if "." in module else "__init__"
    return next(i for i, layer in enumerate(LAYERS) if top in layer)


def test_every_module_has_a_layer():
    assert {_module(p).split(".")[1] for p in PACKAGE.rglob("*.py") if "." in _module(p)} <= set().union(*LAYERS)


def test_every_import_points_down_the_layers():
    upward = [f"{a} -> {b}" for a, targets in import_graph().items() for b in targets if _layer(b) > _layer(a)]
    assert not upward, upward


def test_no_import_cycles():
    graph = import_graph()
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    cycles = []

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                cycles.append(" -> ".join(path[path.index(nxt) :] + [nxt]))
            elif nxt not in state:
                visit(nxt, path + [nxt])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    assert not cycles, cycles
