"""The fast traversal, scope resolution and byte spans are exactly libcst's own, on real files."""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

import libcst as cst
import pytest
from libcst.metadata import ByteSpanPositionProvider, MetadataWrapper, ScopeProvider

from durable_testkit.lint_rules.scopes import resolve_scopes
from durable_testkit.lint_rules.spans import byte_spans
from durable_testkit.lint_rules.traversal import children, fast_libcst

REPO = Path(__file__).resolve().parents[2]
CORPUS = sorted(
    [*(REPO / "tests/lint/fixtures").rglob("*.py"), *(REPO / "lint_rules").rglob("*.py"),
     *(REPO / "examples").rglob("*.py")],
)
#: A large file with every kind of syntax libcst has, for the children check only (slow).
LIBCST_SOURCE = Path(cst.__file__).parent / "metadata" / "scope_provider.py"
SNIPPETS = [
    'f"{x!r:>{width}} {y=}"\n',
    "class A(B, metaclass=M):\n    x: int = 1\n    def f(self, /, a, *b, c=2, **d) -> None: ...\n",
    "from . import (a as b, c)\nfrom .. x import *\nimport os.path as p\n",
    "match cmd:\n    case [1, *rest] | {'k': v, **kw} if v:\n        pass\n    case Point(x=0):\n        pass\n",
    "async def f():\n    async with a as b, c:\n        async for i in j:\n            await k\n",
    "try:\n    x\nexcept* (E, F) as e:\n    raise\nelse:\n    y\nfinally:\n    z\n",
    "lambda a, *, b=1: (yield)\nx = [i for i in y if i for j in i]\nglobal g\ndel a[1:2, ::3]\n",
    "@d\n# c\n@e(1)\ndef g(): return {**a, 'b': c} if d else {e, *f}\n",
    "# héllo wörld\nnom = 'café'  # ünïcode\ndef f(ß=\"€\"):\n    return f'{ß}…'\n",
    "x = 1",  # no trailing newline
    "",
]


def _modules(*extra: Path) -> Iterator[tuple[str, cst.Module]]:
    for path in [*CORPUS, *extra]:
        yield str(path), cst.parse_module(path.read_text(encoding="utf-8"))
    for i, text in enumerate(SNIPPETS):
        yield f"snippet {i}", cst.parse_module(text)


def _all_nodes(module: cst.Module) -> Iterator[cst.CSTNode]:
    todo: list[cst.CSTNode] = [module]
    while todo:
        node = todo.pop()
        yield node
        todo.extend(node.children)


@pytest.mark.parametrize("name,module", list(_modules(LIBCST_SOURCE)),
                         ids=lambda v: str(v)[-40:])
def test_children_are_libcsts_children_in_order(name: str, module: cst.Module) -> None:
    for node in _all_nodes(module):
        ours = children(node)
        theirs = list(node.children)
        assert len(ours) == len(theirs), (name, type(node).__name__)
        assert all(a is b for a, b in zip(ours, theirs)), (name, type(node).__name__)


class _Recorder(cst.CSTVisitor):
    """Records every callback; skips the children of lambdas and the bases of classes."""

    def __init__(self) -> None:
        super().__init__()
        self.events: list[tuple[str, int]] = []

    def on_visit(self, node: cst.CSTNode) -> bool:
        self.events.append(("visit " + type(node).__name__, id(node)))
        return not isinstance(node, cst.Lambda)

    def on_leave(self, original_node: cst.CSTNode) -> None:
        self.events.append(("leave " + type(original_node).__name__, id(original_node)))

    def on_visit_attribute(self, node: cst.CSTNode, attribute: str) -> None:
        self.events.append(("enter ." + attribute, id(node)))

    def on_leave_attribute(self, original_node: cst.CSTNode, attribute: str) -> None:
        self.events.append(("exit ." + attribute, id(original_node)))


class _Named(cst.CSTVisitor):
    """Uses libcst's name-based dispatch, including per-field methods, and a False return."""

    def __init__(self) -> None:
        super().__init__()
        self.events: list[str] = []

    def visit_Name(self, node: cst.Name) -> None:
        self.events.append("name " + node.value)

    def visit_Call(self, node: cst.Call) -> bool:
        self.events.append("call")
        return len(node.args) < 2  # skip calls with two or more arguments

    def leave_Call(self, original_node: cst.Call) -> None:
        self.events.append("/call")

    def visit_ClassDef_bases(self, node: cst.ClassDef) -> None:
        self.events.append("bases " + node.name.value)

    def leave_ClassDef_bases(self, node: cst.ClassDef) -> None:
        self.events.append("/bases")


def _events(module: cst.Module, cls: type) -> list[object]:
    visitor = cls()
    module.visit(visitor)
    return list(visitor.events)


@pytest.mark.parametrize("cls", [_Recorder, _Named])
def test_fast_visit_makes_the_same_calls_as_libcst(cls: type) -> None:
    for name, module in _modules():
        slow = _events(module, cls)
        with fast_libcst():
            fast = _events(module, cls)
        assert fast == slow, name


def test_transformers_still_rebuild_and_visit_is_restored() -> None:
    class Rename(cst.CSTTransformer):
        def leave_Name(self, original_node: cst.Name, updated_node: cst.Name) -> cst.Name:
            return updated_node.with_changes(value=updated_node.value.upper())

    original = cst.CSTNode.visit
    module = cst.parse_module("x = y(z)\n")
    with pytest.raises(RuntimeError):
        with fast_libcst():
            assert module.visit(Rename()).code == "X = Y(Z)\n"
            raise RuntimeError
    assert cst.CSTNode.visit is original


_LEAVES = (cst.SimpleWhitespace, cst.Newline, cst.Comment, cst.ImportStar)


def _scope_summary(scopes: object, module: cst.Module) -> list[tuple[str, str, object]]:
    out: list[tuple[str, str, object]] = []
    for node in _all_nodes(module):
        if isinstance(node, _LEAVES):  # resolve_scopes does not record theirs (never asked)
            continue
        scope = scopes.get(node)  # type: ignore[attr-defined]
        if scope is None:
            out.append((type(node).__name__, "-", ()))
            continue
        names: object = ()
        if isinstance(node, (cst.Name, cst.Attribute, cst.Call)):
            names = sorted((q.name, q.source.name) for q in scope.get_qualified_names_for(node))
        kind = f"{type(scope).__name__}:{getattr(scope, 'name', '')}"
        out.append((type(node).__name__, kind, names))
    return out


def test_resolve_scopes_matches_the_scope_provider() -> None:
    for name, module in _modules():
        with fast_libcst():
            ours = resolve_scopes(MetadataWrapper(module, unsafe_skip_copy=True))
        theirs = MetadataWrapper(module, unsafe_skip_copy=True).resolve(ScopeProvider)
        # (Both also hold nodes parsed from string annotations, new objects on every run.)
        assert _scope_summary(ours, module) == _scope_summary(theirs, module), name


def test_byte_spans_match_the_span_provider() -> None:
    for name, module in _modules():
        code = module.code
        ours = byte_spans(module, code.isascii())
        theirs = MetadataWrapper(module, unsafe_skip_copy=True).resolve(ByteSpanPositionProvider)
        unrecorded = (cst.SimpleWhitespace, cst.Newline)  # nothing reports at them
        assert dict(ours) == {k: v for k, v in theirs.items()
                              if not isinstance(k, unrecorded)}, name


def test_owner_lookups_agree_with_walking_up_the_parents(monkeypatch) -> None:
    """The enclosing function read from the traversal's stack and spans is the real one."""
    from durable_testkit.lint_rules import lint_source
    from durable_testkit.lint_rules.context import FileContext
    from durable_testkit.lint_rules.rules import RULES

    original = FileContext.owner_def
    checked = []

    def owner_def(self: FileContext, node: cst.CSTNode) -> object:
        fast = original(self, node)
        outer, cur = None, node
        while cur is not None:
            if isinstance(cur, cst.FunctionDef):
                outer = cur
            cur = self.parents.get(cur)
        assert fast is outer, (self.path, type(node).__name__)
        checked.append(node)
        return fast

    monkeypatch.setattr(FileContext, "owner_def", owner_def)
    texts = [p.read_text(encoding="utf-8") for p in CORPUS if "lint_rules" not in p.parts]
    texts += [ex.code for rule in RULES for ex in [*rule.VALID, *rule.INVALID]]
    for text in texts:
        assert lint_source(text).internal_errors == ()
    assert len(checked) > 1000
