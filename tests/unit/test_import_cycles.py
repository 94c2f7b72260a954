"""No import cycle inside the packages: function-local and TYPE_CHECKING imports count too.

A cycle hidden behind a local import still couples the two modules both ways; the
host core is layered (records -> registry -> episode -> scheduler -> runtime ->
front ends) and this keeps it so. The walk reads the source (ast), so it sees
imports that never run.
"""
from __future__ import annotations

import ast
from pathlib import Path
from typing import Dict, List, Set

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = {
    "durable_testkit": ROOT / "durable_testkit",
    "durable_testkit.pytest_plugin": ROOT / "pytest_plugin",
    "durable_testkit.lint_rules": ROOT / "lint_rules",
}


def _modules() -> Dict[str, Path]:
    mods: Dict[str, Path] = {}
    for pkg, folder in PACKAGES.items():
        for path in folder.rglob("*.py"):
            parts = [x for x in path.relative_to(folder).with_suffix("").parts if x != "__init__"]
            mods[".".join([pkg] + parts)] = path
    return mods


def _graph(mods: Dict[str, Path]) -> Dict[str, Set[str]]:
    graph: Dict[str, Set[str]] = {}
    for name, path in mods.items():
        base = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        edges: Set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets: List[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                parts = base.split(".")
                if node.level > 1:
                    parts = parts[: len(parts) - (node.level - 1)]
                module = ".".join(parts + ([node.module] if node.module else [])) \
                    if node.level else (node.module or "")
                targets = [module] + [f"{module}.{a.name}" for a in node.names]
            for target in targets:
                while target and target not in mods:
                    target = target.rsplit(".", 1)[0] if "." in target else ""
                # A module importing its own package (or a subpackage its parent) is
                # how Python packages work, not a cycle between modules.
                if target and target != name and not target.startswith(name + ".") \
                        and not name.startswith(target + "."):
                    edges.add(target)
        graph[name] = edges
    return graph


def _cycles(graph: Dict[str, Set[str]]) -> List[List[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: Dict[str, int] = {}
    low: Dict[str, int] = {}
    stack: List[str] = []
    on_stack: Set[str] = set()
    out: List[List[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_there_is_no_import_cycle() -> None:
    assert _cycles(_graph(_modules())) == []


def test_the_walk_finds_a_cycle_when_there_is_one() -> None:
    # The check itself must be able to fail.
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_only_the_sdk_adapter_imports_azure() -> None:
    offenders = []
    for name, path in _modules().items():
        if name == "durable_testkit._sdk":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level else []
            if any(n == "azure" or n.startswith("azure.") for n in names):
                offenders.append(name)
    assert offenders == []
