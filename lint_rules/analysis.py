"""Per-file analysis: parse one file once and run every rule in one batched traversal.

The result is a :class:`~.model.FileAnalysis` (functions, calls, registered names, reports,
suppressions) that the project index and the cache consume. Never raises on bad input: a file
that does not parse, or is too large, gives a DF001 report instead.
"""
from __future__ import annotations

import re
import traceback
from typing import Mapping, Optional, Sequence, cast

import libcst as cst
from libcst.helpers import ModuleNameAndPackage
from libcst.metadata import ByteSpanPositionProvider, MetadataWrapper, ProviderT, ScopeProvider

from .config import Settings
from .context import FileContext, registered_name
from .model import APP_PREFIX, FileAnalysis, Report, V1Function
from .rules import RULES
from .rules.base import TASK_METHODS, Rule
from .sources import Source, grammar_error, too_large, too_many_tokens
from .suppressions import parse_comment, widen_to_functions
from .traversal import dispatch, fast_libcst

#: Only files containing one of these can register an orchestrator (V1 entry scripts aside).
ORCHESTRATOR_MARKERS = (b"orchestration_trigger", b"Orchestrator.create")

#: Callables that call a function passed to them while the orchestrator runs, so passing
#: ``f`` runs ``f`` there (``sorted(items, key=f)``, ``map(f, items)``).
CALLS_ITS_ARGUMENTS = frozenset({
    "builtins.sorted", "builtins.map", "builtins.filter", "builtins.min", "builtins.max",
    "functools.reduce", "itertools.filterfalse", "itertools.takewhile", "itertools.dropwhile",
    "itertools.groupby", "itertools.starmap", "itertools.accumulate", "heapq.nlargest",
    "heapq.nsmallest",
})
#: Methods that take a key function (``items.sort(key=f)``): receivers are local objects.
_KEY_METHODS = frozenset({"sort"})

MAX_BRACKET_DEPTH = 500
_OPEN = frozenset(b"([{")
_CLOSE = frozenset(b")]}")


def failed(path: str, module: str, message: str, line: int = 1, col: int = 0) -> FileAnalysis:
    """An analysis that is only a DF001 report."""
    analysis = FileAnalysis(path=path, module=module)
    analysis.parse_error = Report("DF001", line, col, message, None)
    return analysis


class _Summary(cst.BatchableCSTVisitor):
    """Collects calls per function, function spans and suppression comments."""

    METADATA_DEPENDENCIES = (ByteSpanPositionProvider, ScopeProvider)

    def __init__(self, ctx: FileContext) -> None:
        super().__init__()
        self.ctx = ctx
        # (owner function, local name) -> qualified name of the class it was built from
        self._instances: dict[tuple[cst.FunctionDef, str], str] = {}

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        ctx = self.ctx
        header = {ctx.start(node.name)[0]}
        header.update(ctx.start(d)[0] for d in node.decorators)
        end = ctx.end_line(node)
        ctx.def_spans.append((frozenset(header), min(header), end))
        if ctx.owner_def(node) is node:
            ctx.info_for(node)

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        # Bases let a call of an inherited method reach the base class's definition.
        if self.ctx.owner_def(node) is not None:
            return  # a class defined in a function: its methods are not indexed
        names = [node.name.value]
        cur = self.ctx.parents.get(node)
        while cur is not None:
            if isinstance(cur, cst.ClassDef):
                names.insert(0, cur.name.value)
            cur = self.ctx.parents.get(cur)
        fqn = ".".join(p for p in [self.ctx.mod.name, *names] if p)
        bases = [self._followable(arg.value) for arg in node.bases if arg.keyword is None]
        self.ctx.analysis.classes[fqn] = [b for b in bases if b is not None]

    def visit_Assign(self, node: cst.Assign) -> None:
        # ``runner = Runner(context)``: later ``runner.stamp()`` calls ``Runner.stamp``.
        if len(node.targets) != 1 or not isinstance(node.targets[0].target, cst.Name):
            return
        if not isinstance(node.value, cst.Call):
            return
        cls = self._followable(node.value.func)
        owner = self.ctx.owner_def(node)
        if cls is not None and owner is not None:
            self._instances[(owner, node.targets[0].target.value)] = cls

    def _followable(self, node: cst.CSTNode) -> Optional[str]:
        name = self.ctx.qualname(node)
        if name and not name.startswith("builtins.") and ".<locals>." not in name:
            return name
        return None

    def _method_targets(self, func: cst.Attribute, owner_def: cst.FunctionDef
                        ) -> tuple[list[str], bool]:
        """``Cls.meth`` names for ``obj.meth()``, and whether ``obj`` is ``self``/``cls``.

        ``obj`` is a local ``Cls`` instance, ``Cls(...)`` itself, ``self``/``cls`` (then a
        subclass's override may run) or ``super()`` (then each base's method may).
        """
        recv, attr = func.value, func.attr.value
        info = self.ctx.info_for(owner_def)
        owner_class = info.fqn.rpartition(".")[0]
        in_class = bool(owner_class) and owner_class in self.ctx.analysis.classes
        if isinstance(recv, cst.Call):
            if (isinstance(recv.func, cst.Name) and recv.func.value == "super"
                    and self.ctx.qualname(recv.func) == "builtins.super"):
                bases = self.ctx.analysis.classes.get(owner_class, []) if in_class else []
                return [f"{b}.{attr}" for b in bases], False
            cls = self._followable(recv.func)
            return ([f"{cls}.{attr}"] if cls is not None else []), False
        if not isinstance(recv, cst.Name):
            return [], False
        cls = self._instances.get((owner_def, recv.value))
        if cls is not None:
            return [f"{cls}.{attr}"], False
        if info.params and recv.value == info.params[0] and recv.value in ("self", "cls"):
            if owner_class and owner_class != self.ctx.mod.name:
                return [f"{owner_class}.{attr}"], True
        return [], False

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if (isinstance(func, cst.Attribute) and func.attr.value in TASK_METHODS
                and isinstance(func.value, cst.Name)):
            owner = self.ctx.owner_of(node)
            if owner is not None and func.value.value in owner.context_names:
                owner.schedules_tasks = True
        owner_def = self.ctx.owner_def(node)
        if owner_def is None:
            return
        calls = self.ctx.info_for(owner_def).calls
        name = self._followable(func)
        if name is not None:
            calls.append(name)
        elif isinstance(func, cst.Attribute):
            targets, on_self = self._method_targets(func, owner_def)
            calls.extend(targets)
            if on_self:
                self.ctx.info_for(owner_def).self_calls.extend(targets)
        full = self.ctx.qualname(func)
        key_method = isinstance(func, cst.Attribute) and func.attr.value in _KEY_METHODS
        if full in CALLS_ITS_ARGUMENTS or key_method:
            for arg in node.args:
                if key_method and (arg.keyword is None or arg.keyword.value != "key"):
                    continue
                ref = self._followable(arg.value) if isinstance(
                    arg.value, (cst.Name, cst.Attribute)) else None
                if ref is not None:
                    calls.append(ref)

    def visit_Comment(self, node: cst.Comment) -> None:
        line, col = self.ctx.start(node)
        own_line = isinstance(self.ctx.parents.get(node), cst.EmptyLine)
        sup = parse_comment(node.value, line, col, own_line)
        if sup is not None:
            self.ctx.analysis.suppressions.append(sup)


def _visit_batched(ctx: FileContext, visitors: Sequence[cst.BatchableCSTVisitor]) -> None:
    # The metadata is already resolved: hand it to the visitors instead of letting each
    # resolve it through the wrapper.
    metadata = cast("Mapping[ProviderT, Mapping[cst.CSTNode, object]]",
                    {ByteSpanPositionProvider: ctx.spans, ScopeProvider: ctx.scopes})
    for v in visitors:
        v.metadata = metadata
    try:
        dispatch(ctx.module, visitors, ctx.parents.enter, ctx.parents.leave)
    finally:
        for v in visitors:
            v.metadata = {}


def _bracket_depth(source: bytes) -> int:
    """Deepest bracket nesting, counting brackets in strings too (an upper bound)."""
    if sum(source.count(c) for c in (b"(", b"[", b"{")) <= MAX_BRACKET_DEPTH:
        return 0
    depth = deepest = 0
    for byte in source:
        if byte in _OPEN:
            depth += 1
            deepest = max(deepest, depth)
        elif byte in _CLOSE:
            depth = max(depth - 1, 0)
    return deepest


def analyze_source(
    source: Source,
    mod: ModuleNameAndPackage,
    settings: Settings,
    v1: Optional[V1Function] = None,
    rules: Sequence[type[Rule]] = RULES,
    light_ok: bool = False,
) -> FileAnalysis:
    """Parse ``source`` once and run every rule over it. Never raises.

    With ``light_ok``, a file that registers no orchestrator is only scanned for activity names
    (no metadata, no rules); the engine analyses it fully if an orchestrator reaches into it.
    """
    path, data = source.path, source.data
    if len(data) > settings.max_file_bytes:
        return failed(path, mod.name, too_large(len(data), settings.max_file_bytes))
    dense = too_many_tokens(data, settings.max_file_bytes)
    if dense is not None:
        return failed(path, mod.name, dense)
    depth = _bracket_depth(data)
    if depth > MAX_BRACKET_DEPTH:
        # libcst's native parser overflows its stack (a segfault, not an exception) on brackets
        # nested a few thousand deep; CPython itself refuses more than 200.
        return failed(path, mod.name,
                      f"cannot parse file: brackets nested {depth} deep (Python allows 200)")
    bad = grammar_error(source, settings.target_version)
    if bad is not None:
        return failed(path, mod.name, bad.message, bad.line, bad.col)
    try:
        module = cst.parse_module(source.text)
    except cst.ParserSyntaxError as exc:
        msg = str(exc.message).strip().splitlines()[0] if exc.message else "invalid syntax"
        return failed(path, mod.name, f"cannot parse file: {msg}",
                      max(exc.raw_line, 1), max(exc.raw_column, 0))
    except Exception as exc:  # e.g. RecursionError
        return failed(path, mod.name, f"cannot parse file: {type(exc).__name__}: {exc}".strip())
    if light_ok and not any(m in data for m in ORCHESTRATOR_MARKERS) and not (
            v1 is not None and v1.kind == "orchestrationTrigger"):
        return _light_analysis(path, module, mod)
    with fast_libcst():
        return _analyze_module(path, data, module, mod, settings, v1, rules)


def _light_analysis(path: str, module: cst.Module, mod: ModuleNameAndPackage) -> FileAnalysis:
    """Activity names registered at module level, read from the decorators alone."""
    analysis = FileAnalysis(path=path, module=mod.name, light=True)
    for stmt in module.body:
        if isinstance(stmt, cst.FunctionDef):
            trigger = registered_name(stmt)
            if trigger is not None and trigger[0] == "activity":
                analysis.activities.append(trigger[1])
    return analysis


def _analyze_module(path: str, source: bytes, module: cst.Module, mod: ModuleNameAndPackage,
                    settings: Settings, v1: Optional[V1Function],
                    rules: Sequence[type[Rule]]) -> FileAnalysis:
    levels = [len(m) for m in _RELATIVE.findall(source)]
    if levels and max(levels) > len([p for p in mod.package.split(".") if p]):
        # A relative import above the project root: V1 apps run as the package ``__app__``
        # (``from ..shared import x``). Names are compared without that prefix.
        mod = ModuleNameAndPackage(_prefixed(mod.name), _prefixed(mod.package))
    try:
        wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
        ctx = FileContext(path, module, wrapper, mod, settings, v1, source)
        visitors: list[cst.BatchableCSTVisitor] = [_Summary(ctx)]
        visitors.extend(rule(ctx) for rule in rules)
        _visit_batched(ctx, visitors)
        ctx.analysis.suppressions = widen_to_functions(ctx.analysis.suppressions, ctx.def_spans)
        return ctx.analysis
    except RecursionError:
        return failed(path, mod.name, "cannot analyse file: nesting too deep")
    except Exception:
        analysis = FileAnalysis(path=path, module=mod.name)
        analysis.internal_error = traceback.format_exc(limit=8)
        return analysis


_RELATIVE = re.compile(rb"^[ \t]*from[ \t]+(\.+)", re.M)
_UP = ".".join([APP_PREFIX] * 8)


def _prefixed(name: str) -> str:
    return f"{_UP}.{name}" if name else _UP
