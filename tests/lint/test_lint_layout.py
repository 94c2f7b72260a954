"""The linter's module graph: acyclic, self-contained, and lean enough to run on libcst alone."""
from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "lint_rules"
REPO = PACKAGE.parent


def _module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE).with_suffix("")
    parts = [p for p in rel.parts if p != "__init__"]
    return ".".join(parts)


def _imports() -> dict[str, set[str]]:
    """Every intra-package import of every module, wherever it is (functions, TYPE_CHECKING)."""
    graph: dict[str, set[str]] = {}
    modules = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    for name, path in modules.items():
        is_pkg = path.name == "__init__.py"
        package = name.split(".") if is_pkg else name.split(".")[:-1]
        package = [p for p in package if p]
        deps: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level:
                base = package[: len(package) - (node.level - 1)] if node.level > 1 else package
                assert node.level - 1 <= len(package), f"{path}: import above the package"
                target = ".".join([*base, *(node.module.split(".") if node.module else [])])
                for alias in node.names:
                    sub = f"{target}.{alias.name}" if target else alias.name
                    deps.add(sub if sub in modules else target)
        graph[name] = {d for d in deps if d in modules and d != name}
    return graph


def test_no_import_cycles_anywhere() -> None:
    graph = _imports()
    state: dict[str, int] = {}

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for dep in sorted(graph[node]):
            # A package's __init__ importing its own submodules is how re-exports work; a
            # submodule importing its package's __init__ back is what counts as a cycle.
            if state.get(dep) == 1:
                raise AssertionError("import cycle: " + " -> ".join([*trail, node, dep]))
            if dep not in state:
                visit(dep, [*trail, node])
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [])


def test_nothing_outside_the_linter_is_imported() -> None:
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            for name in names:
                assert not name.startswith(("durable_testkit", "azure", "aiohttp", "pytest",
                                            "hypothesis", "freezegun")), f"{path}: {name}"


def test_every_module_says_its_responsibility() -> None:
    for path in PACKAGE.rglob("*.py"):
        doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8")))
        assert doc and len(doc.split()) >= 3, f"{path} has no module docstring"


def test_one_rule_per_module() -> None:
    for path in (PACKAGE / "rules").glob("df*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        rules = [n for n in tree.body if isinstance(n, ast.ClassDef) and not n.name.startswith("_")]
        assert len(rules) == 1, f"{path}: {[r.name for r in rules]}"


_HEAVY = "import sys; print(sorted(m for m in sys.modules if m.startswith(('azure', 'aiohttp', " \
         "'durable_testkit.runtime', 'pytest', 'hypothesis', 'freezegun'))))"


def _imported_after(statement: str, env: dict[str, str]) -> str:
    out = subprocess.run([sys.executable, "-c", f"{statement}; {_HEAVY}"], capture_output=True,
                         text=True, timeout=60, env=env, cwd=str(REPO))
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def test_linter_alone_imports_no_runtime_or_sdk(tmp_path: Path) -> None:
    """The lean distribution's layout: the package on its own, as ``durable_lint``."""
    (tmp_path / "durable_lint").symlink_to(PACKAGE, target_is_directory=True)
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    assert _imported_after("import durable_lint, durable_lint.cli", env) == "[]"


def test_durable_testkit_lint_rules_imports_no_runtime_or_sdk() -> None:
    """Needs durable_testkit/__init__ to import lazily (PEP 562), as the linter's home."""
    env = dict(os.environ)
    assert _imported_after("import durable_testkit.lint_rules.cli", env) == "[]"
