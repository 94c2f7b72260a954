"""The lint engine: parse each file once, index the project, follow calls, filter, fix.

Pipeline for one project (a function app: the folder with host.json, else the config folder):

1. Scan every ``.py`` file and ``function.json`` under the root (cheap: bytes and a substring test).
2. Analyse the files that can hold durable code: parse, resolve metadata once, run every rule in
   one batched traversal, and record a picklable summary (functions, calls, registered names,
   suppression comments). Many files are analysed in parallel processes.
3. Build the project index, then walk the call graph from each orchestrator. A helper module that
   the pre-filter skipped is analysed on demand the first time an orchestrator reaches it.
4. Keep the reports that sit in reached code, let project-wide rules decide with the full index,
   apply suppressions and selection, and build fixes (re-parsed before they are offered).
"""
from __future__ import annotations

import bisect
import difflib
import json
import os
import re
import traceback
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import (
    Any,
    Callable,
    Collection,
    Iterable,
    Iterator,
    Mapping,
    Optional,
    Sequence,
    Union,
    cast,
)

import libcst as cst
from libcst.helpers import (
    ModuleNameAndPackage,
    calculate_module_and_package,
    get_absolute_module_from_package_for_import,
)
from libcst.metadata import (
    ByteSpanPositionProvider,
    CodeSpan,
    FullyQualifiedNameProvider,
    MetadataWrapper,
    ParentNodeProvider,
    QualifiedName,
)

from .cache import AnalysisCache
from .config import DEFAULT_EXCLUDE, Settings, relpath
from .results import FileFix, Finding, InternalError, LintResult
from .rules import RULES, RULES_BY_CODE
from .rules.base import TASK_METHODS, Report, Rule, contains_yield, string_value

#: A file whose bytes contain none of these cannot define or register orchestrator code.
MARKERS = (
    b"orchestration_trigger",
    b"Orchestrator.create",
    b"durable_functions",
    b"DurableOrchestrationContext",
    b"activity_trigger",
)
#: Only files containing one of these can register an orchestrator (V1 entry scripts aside).
ORCHESTRATOR_MARKERS = (b"orchestration_trigger", b"Orchestrator.create")
PARALLEL_THRESHOLD = 24


class UsageError(Exception):
    """Bad input from the user (a path that does not exist); the CLI exits with 2."""


@dataclass
class FunctionInfo:
    """What the index knows about one top-level function or method."""

    fqn: str
    name: str
    path: str
    line: int
    params: tuple[str, ...]
    context_name: Optional[str]
    context_names: frozenset[str]
    is_orchestrator: bool = False
    registered_names: tuple[str, ...] = ()
    is_activity: bool = False
    is_generator: bool = False
    is_async: bool = False
    schedules_tasks: bool = False  # calls context.call_activity(...) and the like
    calls: list[str] = field(default_factory=list)

    @property
    def display_name(self) -> str:
        return self.registered_names[0] if self.registered_names else self.name


@dataclass(frozen=True)
class V1Function:
    """A function.json folder: the registered name is the folder name."""

    name: str
    kind: str  # orchestrationTrigger | activityTrigger | entityTrigger
    script: str
    entry_point: str


@dataclass(frozen=True)
class Suppression:
    """A ``# noqa: DF101`` or ``# durable-lint: ignore[DF101]`` comment and the lines it covers."""

    line: int
    col: int
    first: int
    last: int
    codes: tuple[str, ...]  # empty: every code


@dataclass
class FileAnalysis:
    """Picklable outcome of analysing one file."""

    path: str
    module: str
    functions: dict[str, FunctionInfo] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)
    activities: list[str] = field(default_factory=list)
    orchestrations: list[str] = field(default_factory=list)
    reports: list[Report] = field(default_factory=list)
    suppressions: list[Suppression] = field(default_factory=list)
    parse_error: Optional[Report] = None
    internal_error: Optional[str] = None
    light: bool = False  # only registered activity names were collected


# ---------------------------------------------------------------------------------------------
# Per-file analysis
# ---------------------------------------------------------------------------------------------

_NOQA = re.compile(r"#\s*noqa(?::\s*(?P<codes>[A-Z]+[0-9]+(?:[\s,]+[A-Z]+[0-9]+)*))?", re.I)
_IGNORE = re.compile(r"#\s*durable-lint:\s*ignore(?:\[(?P<codes>[^\]]*)\])?")


def _parse_codes(text: Optional[str]) -> tuple[str, ...]:
    if not text:
        return ()
    return tuple(c.strip().upper() for c in re.split(r"[\s,]+", text) if c.strip())


class FileContext:
    """State shared by the rules while one file is traversed."""

    def __init__(
        self,
        path: str,
        module: cst.Module,
        wrapper: MetadataWrapper,
        mod: ModuleNameAndPackage,
        settings: Settings,
        v1: Optional[V1Function],
        source: bytes = b"",
    ) -> None:
        self.path = path
        self.module = module
        self.wrapper = wrapper
        self.mod = mod
        self.settings = settings
        self.v1 = v1
        self.analysis = FileAnalysis(path=path, module=mod.name)
        meta = wrapper.resolve_many(
            [ByteSpanPositionProvider, ParentNodeProvider, FullyQualifiedNameProvider]
        )
        # Lines and columns come from byte spans: PositionProvider would generate the code a
        # second time.
        # resolve_many types every mapping's values as object; these are the providers' types.
        self.spans = cast(Mapping[cst.CSTNode, CodeSpan], meta[ByteSpanPositionProvider])
        self._source = source
        self._line_starts = [0] + [i + 1 for i, b in enumerate(source) if b == 10]
        self.parents = cast(Mapping[cst.CSTNode, cst.CSTNode], meta[ParentNodeProvider])
        self.fqns = cast(Mapping[cst.CSTNode, Collection[QualifiedName]],
                         meta[FullyQualifiedNameProvider])
        self._infos: dict[cst.FunctionDef, FunctionInfo] = {}
        self._owner_cache: dict[cst.CSTNode, Optional[cst.FunctionDef]] = {}
        self._created: dict[str, str] = {}  # function name -> registered name (Orchestrator.create)
        self.def_spans: list[tuple[frozenset[int], int, int]] = []
        self._prepass()

    def start(self, node: cst.CSTNode) -> tuple[int, int]:
        """1-based line and 0-based column (in characters) where ``node`` starts."""
        offset = self.spans[node].start
        line = bisect.bisect_right(self._line_starts, offset)
        begin = self._line_starts[line - 1]
        col = len(self._source[begin:offset].decode("utf-8", errors="replace"))
        return line, col

    def end_line(self, node: cst.CSTNode) -> int:
        span = self.spans[node]
        return bisect.bisect_right(self._line_starts, max(span.start, span.start + span.length - 1))

    # -- names ------------------------------------------------------------------------------

    def qualname(self, node: cst.CSTNode) -> Optional[str]:
        names = self.fqns.get(node, set())
        if len(names) != 1:
            return None
        return next(iter(names)).name

    def _prepass(self) -> None:
        """Module-level imports (for re-exports) and ``Orchestrator.create(fn)`` registrations."""
        for stmt in self.module.body:
            if not isinstance(stmt, cst.SimpleStatementLine):
                continue
            for small in stmt.body:
                if isinstance(small, cst.ImportFrom) and not isinstance(small.names, cst.ImportStar):
                    try:
                        base = get_absolute_module_from_package_for_import(self.mod.package, small)
                    except Exception:
                        base = None
                    if base:
                        for alias in small.names:
                            target = f"{base}.{cst.helpers.get_full_name_for_node(alias.name)}"
                            local = alias.asname.name if alias.asname else alias.name
                            if isinstance(local, cst.Name):
                                self.analysis.aliases[f"{self.mod.name}.{local.value}"] = target
                value = getattr(small, "value", None)
                if isinstance(value, cst.Call) and value.args:
                    name = self.qualname(value.func) or ""
                    if name.endswith("Orchestrator.create"):
                        arg = value.args[0].value
                        if isinstance(arg, cst.Name):
                            registered = arg.value
                            if self.v1 and self.v1.kind == "orchestrationTrigger":
                                registered = self.v1.name
                            self._created[arg.value] = registered

    # -- functions --------------------------------------------------------------------------

    def owner_def(self, node: cst.CSTNode) -> Optional[cst.FunctionDef]:
        """The outermost function definition containing ``node`` (or ``node`` itself)."""
        if node in self._owner_cache:
            return self._owner_cache[node]
        outer: Optional[cst.FunctionDef] = None
        cur: Optional[cst.CSTNode] = node
        while cur is not None:
            if isinstance(cur, cst.FunctionDef):
                outer = cur
            cur = self.parents.get(cur)
        self._owner_cache[node] = outer
        return outer

    def owner_of(self, node: cst.CSTNode) -> Optional[FunctionInfo]:
        fdef = self.owner_def(node)
        return self.info_for(fdef) if fdef is not None else None

    def info_for(self, fdef: cst.FunctionDef) -> FunctionInfo:
        info = self._infos.get(fdef)
        if info is None:
            info = self._build_info(fdef)
            self._infos[fdef] = info
            self.analysis.functions[info.fqn] = info
        return info

    def _build_info(self, fdef: cst.FunctionDef) -> FunctionInfo:
        classes: list[str] = []
        cur = self.parents.get(fdef)
        while cur is not None:
            if isinstance(cur, cst.ClassDef):
                classes.insert(0, cur.name.value)
            cur = self.parents.get(cur)
        name = fdef.name.value
        fqn = ".".join(p for p in [self.mod.name, *classes, name] if p)
        params = tuple(
            p.name.value
            for p in [*fdef.params.posonly_params, *fdef.params.params, *fdef.params.kwonly_params]
        )
        is_orch = False
        registered: list[str] = []
        is_activity = False
        context_name: Optional[str] = None
        for dec in fdef.decorators:
            call = dec.decorator
            func = call.func if isinstance(call, cst.Call) else call
            attr = func.attr.value if isinstance(func, cst.Attribute) else None
            kwargs = _literal_args(call) if isinstance(call, cst.Call) else {}
            if attr == "orchestration_trigger":
                is_orch = True
                context_name = kwargs.get("context_name") or kwargs.get(0)
                if kwargs.get("orchestration"):
                    registered.insert(0, kwargs["orchestration"])
            elif attr == "activity_trigger":
                is_activity = True
                registered.append(kwargs.get("activity") or name)
            elif attr == "function_name" and (kwargs.get("name") or kwargs.get(0)):
                registered.append(kwargs.get("name") or kwargs[0])
        if not classes and name in self._created:
            is_orch = True
            registered.insert(0, self._created[name])
        if (
            not classes
            and self.v1 is not None
            and self.v1.kind == "orchestrationTrigger"
            and name == self.v1.entry_point
            and contains_yield(fdef.body)
        ):
            is_orch = True
            registered.insert(0, self.v1.name)
        if is_orch or is_activity:
            registered.append(name)
        if is_orch:
            if context_name not in params:
                context_name = params[0] if params else None
            context_names = frozenset([context_name]) if context_name else frozenset()
        else:
            context_name = _helper_context_param(fdef)
            context_names = frozenset(p for p in params if p not in ("self", "cls"))
        info = FunctionInfo(
            fqn=fqn,
            name=name,
            path=self.path,
            line=self.start(fdef.name)[0],
            params=params,
            context_name=context_name,
            context_names=context_names,
            is_orchestrator=is_orch,
            registered_names=tuple(dict.fromkeys(registered)),
            is_activity=is_activity,
            is_generator=contains_yield(fdef.body),
            is_async=fdef.asynchronous is not None,
        )
        if is_orch:
            self.analysis.orchestrations.extend(info.registered_names)
        if is_activity:
            # Every name the activity may be registered under: over-inclusion only avoids noise.
            self.analysis.activities.extend(info.registered_names)
        return info

    # -- reports ----------------------------------------------------------------------------

    def add_report(
        self,
        rule: Rule,
        node: cst.CSTNode,
        message: str,
        *,
        replacement: Optional[cst.CSTNode],
        replacement_target: Optional[cst.CSTNode],
        unsafe: bool,
        data: dict[str, Any],
    ) -> None:
        line, col = self.start(node)
        owner = self.owner_of(node)
        edit = None
        fix = None
        if replacement is not None:
            target = replacement_target or node
            span = self.spans[target]
            indent = " " * self.start(target)[1]
            text = self.module.code_for_node(replacement)
            if isinstance(target, cst.BaseStatement):
                text = text.rstrip("\n")
            text = text.replace("\n", "\n" + indent) if "\n" in text.rstrip("\n") else text
            edit = (span.start, span.start + span.length, text)
            fix = "unsafe" if unsafe else "safe"
        self.analysis.reports.append(
            Report(rule.CODE, line, col, message, owner.fqn if owner else None,
                   edit, fix, data)
        )


def _literal_args(call: cst.Call) -> dict[Union[str, int], str]:
    """String literal arguments of a call, by keyword and by position."""
    out: dict[Union[str, int], str] = {}
    for i, arg in enumerate(call.args):
        text = string_value(arg.value)
        if text is not None:
            if arg.keyword is not None:
                out[arg.keyword.value] = text
            else:
                out[i] = text
    return out


def _helper_context_param(fdef: cst.FunctionDef) -> Optional[str]:
    for p in [*fdef.params.posonly_params, *fdef.params.params, *fdef.params.kwonly_params]:
        ann = p.annotation
        if ann is not None:
            ann_code = cst.Module(body=[]).code_for_node(ann.annotation)
            if ann_code.endswith("DurableOrchestrationContext"):
                return p.name.value
        if p.name.value in ("context", "ctx"):
            return p.name.value
    return None


class _Summary(cst.BatchableCSTVisitor):
    """Collects calls per function, function spans and suppression comments."""

    METADATA_DEPENDENCIES = (ByteSpanPositionProvider, ParentNodeProvider, FullyQualifiedNameProvider)

    def __init__(self, ctx: FileContext) -> None:
        super().__init__()
        self.ctx = ctx

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        ctx = self.ctx
        header = {ctx.start(node.name)[0]}
        header.update(ctx.start(d)[0] for d in node.decorators)
        end = ctx.end_line(node)
        ctx.def_spans.append((frozenset(header), min(header), end))
        if ctx.owner_def(node) is node:
            ctx.info_for(node)

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if (isinstance(func, cst.Attribute) and func.attr.value in TASK_METHODS
                and isinstance(func.value, cst.Name)):
            owner = self.ctx.owner_of(node)
            if owner is not None and func.value.value in owner.context_names:
                owner.schedules_tasks = True
        name = self.ctx.qualname(func)
        if name and not name.startswith("builtins.") and ".<locals>." not in name:
            owner = self.ctx.owner_of(node)
            if owner is not None:
                owner.calls.append(name)

    def visit_Comment(self, node: cst.Comment) -> None:
        text = node.value
        if "noqa" not in text.lower() and "durable-lint" not in text:
            return
        m = _IGNORE.search(text) or _NOQA.search(text)
        if not m:
            return
        codes = _parse_codes(m.group("codes"))
        if m.re is _NOQA and codes and not any(c.startswith("DF") for c in codes):
            return  # another tool's noqa
        codes = tuple(c for c in codes if c.startswith("DF"))
        line, col = self.ctx.start(node)
        own_line = isinstance(self.ctx.parents.get(node), cst.EmptyLine)
        target = line + 1 if own_line else line
        self.ctx.analysis.suppressions.append(Suppression(line, col, target, target, codes))


_METHODS: dict[type, tuple[str, ...]] = {}


def _visitor_methods(cls: type) -> tuple[str, ...]:
    """Names of the visit_/leave_ methods a visitor class defines (cached per class)."""
    found = _METHODS.get(cls)
    if found is None:
        base = cst.BatchableCSTVisitor
        found = tuple(
            name for name in dir(cls)
            if name.startswith(("visit_", "leave_"))
            and callable(getattr(cls, name))
            and not getattr(getattr(cls, name), "_is_no_op", False)
            and getattr(cls, name) is not getattr(base, name, None)
        )
        _METHODS[cls] = found
    return found


class _Dispatch(cst.CSTVisitor):
    """One traversal calling every rule's methods.

    libcst's own ``visit_batched`` looks up each visitor's methods with ``inspect.getmembers``
    on every call, which costs more than the traversal for small files.
    """

    def __init__(self, visitors: Sequence[cst.BatchableCSTVisitor]) -> None:
        super().__init__()
        self.visit: dict[str, list[Callable[[cst.CSTNode], None]]] = {}
        self.leave: dict[str, list[Callable[[cst.CSTNode], None]]] = {}
        for v in visitors:
            for name in _visitor_methods(type(v)):
                kind, _, node_type = name.partition("_")
                table = self.visit if kind == "visit" else self.leave
                table.setdefault(node_type, []).append(getattr(v, name))

    def on_visit(self, node: cst.CSTNode) -> bool:
        for method in self.visit.get(type(node).__name__, ()):
            method(node)
        return True

    def on_leave(self, original_node: cst.CSTNode) -> None:
        for method in self.leave.get(type(original_node).__name__, ()):
            method(original_node)


def _cached_get_visitors(
        self: cst.BatchableCSTVisitor) -> dict[str, Callable[[cst.CSTNode], None]]:
    return {name: getattr(self, name) for name in _visitor_methods(type(self))}


@contextmanager
def _fast_libcst() -> Iterator[None]:
    """Cache libcst's per-instance visitor-method lookup by class while we analyse.

    Touches a libcst internal: ``BatchableCSTVisitor.get_visitors`` calls
    ``inspect.getmembers`` over ~1,600 attributes for every metadata provider of every file,
    which cost more than parsing. The cached version returns the same methods (looked up per
    class instead of per instance). Restored on exit.
    """
    original = cst.BatchableCSTVisitor.get_visitors
    cst.BatchableCSTVisitor.get_visitors = _cached_get_visitors  # type: ignore[method-assign]
    try:
        yield
    finally:
        cst.BatchableCSTVisitor.get_visitors = original  # type: ignore[method-assign]


def _visit_batched(wrapper: MetadataWrapper, visitors: Sequence[cst.BatchableCSTVisitor]) -> None:
    from contextlib import ExitStack

    with ExitStack() as stack:
        for v in visitors:
            stack.enter_context(v.resolve(wrapper))
        wrapper.module.visit(_Dispatch(visitors))


def _finish_suppressions(ctx: FileContext) -> None:
    """A suppression on a ``def`` line (or just above it) covers the whole function."""
    out = []
    for sup in ctx.analysis.suppressions:
        first, last = sup.first, sup.last
        for header, start, end in ctx.def_spans:
            if sup.first in header:
                first, last = min(first, start), max(last, end)
                break
        out.append(Suppression(sup.line, sup.col, first, last, sup.codes))
    ctx.analysis.suppressions = out


MAX_BRACKET_DEPTH = 500
_OPEN = frozenset(b"([{")
_CLOSE = frozenset(b")]}")


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
    path: str,
    source: bytes,
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
    depth = _bracket_depth(source)
    if depth > MAX_BRACKET_DEPTH:
        # libcst's native parser overflows its stack (a segfault, not an exception) on brackets
        # nested a few thousand deep; CPython itself refuses more than 200.
        analysis = FileAnalysis(path=path, module=mod.name)
        analysis.parse_error = Report(
            "DF001", 1, 0, f"cannot parse file: brackets nested {depth} deep (Python allows 200)", None)
        return analysis
    try:
        module = cst.parse_module(source)
    except cst.ParserSyntaxError as exc:
        analysis = FileAnalysis(path=path, module=mod.name)
        msg = str(exc.message).strip().splitlines()[0] if exc.message else "invalid syntax"
        analysis.parse_error = Report(
            "DF001", max(exc.raw_line, 1), max(exc.raw_column, 0), f"cannot parse file: {msg}", None
        )
        return analysis
    except Exception as exc:  # e.g. RecursionError, bad encoding declaration
        analysis = FileAnalysis(path=path, module=mod.name)
        analysis.parse_error = Report(
            "DF001", 1, 0, f"cannot parse file: {type(exc).__name__}: {exc}".strip(), None
        )
        return analysis
    if light_ok and not any(m in source for m in ORCHESTRATOR_MARKERS) and not (
            v1 is not None and v1.kind == "orchestrationTrigger"):
        return _light_analysis(path, module, mod)
    with _fast_libcst():
        return _analyze_module(path, source, module, mod, settings, v1, rules)


def _light_analysis(path: str, module: cst.Module, mod: ModuleNameAndPackage) -> FileAnalysis:
    """Activity names registered at module level, read from the decorators alone."""
    analysis = FileAnalysis(path=path, module=mod.name, light=True)
    for stmt in module.body:
        if not isinstance(stmt, cst.FunctionDef):
            continue
        names: list[str] = []
        is_activity = False
        for dec in stmt.decorators:
            call = dec.decorator
            func = call.func if isinstance(call, cst.Call) else call
            attr = func.attr.value if isinstance(func, cst.Attribute) else None
            args = _literal_args(call) if isinstance(call, cst.Call) else {}
            if attr == "activity_trigger":
                is_activity = True
                names.append(args.get("activity") or stmt.name.value)
            elif attr == "function_name" and (args.get("name") or args.get(0)):
                names.append(args.get("name") or args[0])
        if is_activity:
            analysis.activities.extend([*names, stmt.name.value])
    return analysis


def _analyze_module(path: str, source: bytes, module: cst.Module, mod: ModuleNameAndPackage,
                    settings: Settings, v1: Optional[V1Function],
                    rules: Sequence[type[Rule]]) -> FileAnalysis:
    levels = [len(m) for m in _RELATIVE.findall(source)]
    if levels and max(levels) > len([p for p in mod.package.split(".") if p]):
        # Resolving would fail half-way (ImportError below): start with the prefixed names.
        mod = ModuleNameAndPackage(_prefixed(mod.name), _prefixed(mod.package))
    try:
        try:
            wrapper = MetadataWrapper(module, unsafe_skip_copy=True, cache={FullyQualifiedNameProvider: mod})
            ctx = FileContext(path, module, wrapper, mod, settings, v1, source)
        except ImportError:
            # A relative import above the project root: V1 apps run as the package ``__app__``
            # (``from ..shared import x``). Names are compared without that prefix.
            mod = ModuleNameAndPackage(_prefixed(mod.name), _prefixed(mod.package))
            wrapper = MetadataWrapper(module, unsafe_skip_copy=True, cache={FullyQualifiedNameProvider: mod})
            ctx = FileContext(path, module, wrapper, mod, settings, v1, source)
        visitors: list[cst.BatchableCSTVisitor] = [_Summary(ctx)]
        visitors.extend(rule(ctx) for rule in rules)
        _visit_batched(wrapper, visitors)
        _finish_suppressions(ctx)
        return ctx.analysis
    except RecursionError:
        analysis = FileAnalysis(path=path, module=mod.name)
        analysis.parse_error = Report("DF001", 1, 0, "cannot analyse file: nesting too deep", None)
        return analysis
    except Exception:
        analysis = FileAnalysis(path=path, module=mod.name)
        analysis.internal_error = traceback.format_exc(limit=8)
        return analysis


_APP = "__app__"
_RELATIVE = re.compile(rb"^[ \t]*from[ \t]+(\.+)", re.M)
_UP = ".".join([_APP] * 8)


def _prefixed(name: str) -> str:
    return f"{_UP}.{name}" if name else _UP


def norm(name: str) -> str:
    """A qualified name without the ``__app__`` prefix used for V1 relative imports."""
    while name.startswith(_APP + "."):
        name = name[len(_APP) + 1:]
    return name


def _analyze_job(job: tuple[str, str, str, Settings, Optional[V1Function], tuple[str, ...]]) -> FileAnalysis:
    path, name, package, settings, v1, codes = job
    with open(path, "rb") as fh:
        source = fh.read()
    rules = [RULES_BY_CODE[c] for c in codes]
    return analyze_source(path, source, ModuleNameAndPackage(name, package), settings, v1, rules,
                          light_ok=settings.prefilter)


# ---------------------------------------------------------------------------------------------
# Project index and reachability
# ---------------------------------------------------------------------------------------------


class ProjectIndex:
    """Functions, registered names and call graph of one project."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.functions: dict[str, FunctionInfo] = {}
        self.aliases: dict[str, str] = {}
        self.activity_names: set[str] = set(settings.external_activities)
        self.orchestration_names: set[str] = set(settings.external_orchestrators)
        self.defines_activities = False

    def add(self, analysis: FileAnalysis) -> None:
        self.functions.update((norm(k), v) for k, v in analysis.functions.items())
        self.aliases.update((norm(k), norm(v)) for k, v in analysis.aliases.items())
        self.activity_names.update(analysis.activities)
        self.orchestration_names.update(analysis.orchestrations)
        if analysis.activities:
            self.defines_activities = True

    def add_v1(self, fn: V1Function) -> None:
        if fn.kind == "activityTrigger":
            self.activity_names.add(fn.name)
            self.defines_activities = True
        elif fn.kind == "orchestrationTrigger":
            self.orchestration_names.add(fn.name)

    def resolve(self, name: str) -> Optional[FunctionInfo]:
        """The project function ``name`` refers to, following re-exports."""
        name = norm(name)
        for _ in range(8):
            info = self.functions.get(name)
            if info is not None:
                return info
            if name not in self.aliases:
                return None
            name = self.aliases[name]
        return None

    @staticmethod
    def suggest(name: str, candidates: Iterable[str]) -> Optional[str]:
        """A close candidate for "did you mean", case-insensitive first."""
        pool = sorted(candidates)
        for c in pool:
            if c.lower() == name.lower():
                return c
        close = difflib.get_close_matches(name, pool, n=1, cutoff=0.6)
        return close[0] if close else None


# ---------------------------------------------------------------------------------------------
# Projects on disk
# ---------------------------------------------------------------------------------------------


@dataclass
class _Project:
    root: Path
    config_root: Path
    settings: Settings
    targets: set[str] = field(default_factory=set)


def _nearest_host_root(path: Path, stop: Optional[Path]) -> Optional[Path]:
    for folder in path.parents:
        if (folder / "host.json").is_file():
            return folder
        if stop is not None and folder == stop:
            break
    return None


def _expand(paths: Sequence[str], settings: Settings, config_root: Path) -> list[tuple[Path, Path]]:
    """(file, argument) pairs for every Python file named or under a named folder."""
    out: list[tuple[Path, Path]] = []
    for raw in paths:
        p = Path(raw)
        if not p.exists():
            raise UsageError(f"path does not exist: {raw}")
        p = p.resolve()
        if p.is_file():
            if p.suffix in (".py", ".pyi") or p.name.endswith(".py"):
                if not settings.is_excluded(relpath(str(p), str(config_root))):
                    out.append((p, p))
            continue
        for folder, dirs, files in os.walk(p):
            dirs[:] = sorted(d for d in dirs if d not in _SKIP_DIRS)
            for name in sorted(files):
                if name.endswith(".py"):
                    f = Path(folder) / name
                    if not settings.is_excluded(relpath(str(f), str(config_root))):
                        out.append((f, p))
    return out


_SKIP_DIRS = frozenset(DEFAULT_EXCLUDE)


def _scan(project: _Project) -> tuple[dict[str, Path], dict[Path, V1Function], list[Path]]:
    """Module names, V1 function.json entries and every Python file of the project."""
    modules: dict[str, Path] = {}
    v1: dict[Path, V1Function] = {}
    files: list[Path] = []
    root = project.root
    for folder, dirs, names in os.walk(root):
        fpath = Path(folder)
        keep = []
        for d in sorted(dirs):
            if d in _SKIP_DIRS or d.startswith("."):
                continue
            sub = fpath / d
            if (sub / "host.json").is_file() and not (root / "host.json").is_file():
                continue  # a separate function app: its own project
            if project.settings.is_excluded(relpath(str(sub / "x"), str(project.config_root))):
                continue
            keep.append(d)
        dirs[:] = keep
        if "function.json" in names:
            fn = _read_function_json(fpath / "function.json")
            if fn is not None:
                v1[(fpath / fn.script).resolve()] = fn
        for name in sorted(names):
            if not name.endswith(".py"):
                continue
            f = fpath / name
            if project.settings.is_excluded(relpath(str(f), str(project.config_root))):
                continue
            files.append(f)
            modules.setdefault(_module_of(root, f).name, f)
    return modules, v1, files


def _read_function_json(path: Path) -> Optional[V1Function]:
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
        bindings = data.get("bindings", [])
    except Exception:
        return None
    for b in bindings if isinstance(bindings, list) else []:
        kind = b.get("type") if isinstance(b, dict) else None
        if kind in ("orchestrationTrigger", "activityTrigger", "entityTrigger"):
            return V1Function(
                name=path.parent.name,
                kind=kind,
                script=str(data.get("scriptFile") or "__init__.py"),
                entry_point=str(data.get("entryPoint") or "main"),
            )
    return None


def _module_of(root: Path, path: Path) -> ModuleNameAndPackage:
    base = root
    rel = path.relative_to(root) if path.is_relative_to(root) else None
    if rel is not None and rel.parts and rel.parts[0] == "src":
        base = root / "src"
    try:
        return calculate_module_and_package(str(base), str(path))
    except Exception:
        return ModuleNameAndPackage(path.stem, "")


def lint_files(
    paths: Sequence[str],
    settings: Settings,
    project_root: Optional[str] = None,
) -> LintResult:
    """Lint files and folders on disk; see :func:`durable_testkit.lint_rules.lint_paths`."""
    config_root = Path(settings.config_path).parent if settings.config_path else Path.cwd()
    pairs = _expand(paths, settings, config_root)
    projects: dict[Path, _Project] = {}
    explicit = Path(project_root).resolve() if project_root else None
    cfg = config_root.resolve() if settings.config_path else None
    for f, arg in pairs:
        if explicit is not None:
            root = explicit
        else:
            root = _nearest_host_root(f, None) or (
                cfg if cfg is not None and f.is_relative_to(cfg) else (arg if arg.is_dir() else f.parent)
            )
        project = projects.setdefault(root, _Project(root, config_root, settings))
        project.targets.add(str(f))
    results = [_lint_project(p) for p in projects.values()]
    return _merge(results, settings)


def _merge(results: list[LintResult], settings: Settings) -> LintResult:
    return LintResult(
        findings=tuple(sorted(f for r in results for f in r.findings)),
        fixes=tuple(x for r in results for x in r.fixes),
        internal_errors=tuple(e for r in results for e in r.internal_errors),
        files_seen=sum(r.files_seen for r in results),
        files_parsed=sum(r.files_parsed for r in results),
        warnings=settings.warnings,
    )


def _active_codes(settings: Settings) -> tuple[str, ...]:
    return tuple(r.CODE for r in RULES if settings.is_selected(r.CODE))


def _lint_project(project: _Project) -> LintResult:
    settings = project.settings
    modules, v1, files = _scan(project)
    listed = {str(f) for f in files}
    for t in sorted(project.targets - listed):  # explicitly named files outside the scanned tree
        files.append(Path(t))
    codes = _active_codes(settings)
    sources: dict[str, bytes] = {}
    candidates: list[Path] = []
    for f in files:
        try:
            data = f.read_bytes()
        except OSError:
            continue
        if not settings.prefilter or f.resolve() in v1 or any(m in data for m in MARKERS):
            candidates.append(f)
            sources[str(f)] = data
    cache = AnalysisCache(settings.cache_dir)
    options = (codes, settings.banned_calls, settings.deterministic_calls)
    jobs = []
    keys: dict[str, Optional[str]] = {}
    analyses: dict[str, FileAnalysis] = {}
    for f in candidates:
        mod = _module_of(project.root, f)
        v1_entry = v1.get(f.resolve())
        keys[str(f)] = key = cache.key(sources[str(f)], str(f), mod, v1_entry, options, settings.prefilter)
        cached = cache.get(key)
        if cached is not None:
            analyses[str(f)] = cached
        else:
            jobs.append((str(f), mod.name, mod.package, settings, v1_entry, codes))
    workers = settings.jobs if settings.jobs is not None else (os.cpu_count() or 1)
    if len(jobs) >= PARALLEL_THRESHOLD and workers > 1:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            # Largest files first, one at a time: a single big file must not hold up a chunk.
            jobs.sort(key=lambda j: -len(sources[j[0]]))
            for analysis in pool.map(_analyze_job, jobs, chunksize=1):
                analyses[analysis.path] = analysis
                cache.put(keys[analysis.path], analysis)
    else:
        for job in jobs:
            analysis = analyze_source(
                job[0], sources[job[0]], ModuleNameAndPackage(job[1], job[2]), settings, job[4],
                [RULES_BY_CODE[c] for c in codes], light_ok=settings.prefilter,
            )
            analyses[analysis.path] = analysis
            cache.put(keys[analysis.path], analysis)

    def load_module(name: str) -> bool:
        path = modules.get(norm(name))
        if path is None:
            return False
        known = analyses.get(str(path))
        if known is not None and not known.light:
            return False
        try:
            data = path.read_bytes()
        except OSError:
            return False
        sources[str(path)] = data
        mod = _module_of(project.root, path)
        v1_entry = v1.get(path.resolve())
        key = cache.key(data, str(path), mod, v1_entry, options, "full")
        analysis = cache.get(key) or analyze_source(
            str(path), data, mod, settings, v1_entry, [RULES_BY_CODE[c] for c in codes])
        cache.put(key, analysis)
        analyses[analysis.path] = analysis
        index.add(analysis)
        return True

    index = ProjectIndex(settings)
    for fn in v1.values():
        index.add_v1(fn)
    for analysis in analyses.values():
        index.add(analysis)
    reached = reach(index, load_module)
    result = finish(
        analyses, index, reached, settings, project.targets, sources,
        display=lambda p: relpath(p, os.getcwd()),
        relative=lambda p: relpath(p, str(project.config_root)),
    )
    return LintResult(
        findings=result.findings,
        fixes=result.fixes,
        internal_errors=result.internal_errors,
        files_seen=len(files),
        files_parsed=len(analyses),
    )


def reach(index: ProjectIndex, load_module: Optional[Callable[[str], bool]] = None
          ) -> dict[str, set[str]]:
    """Map each function reached from an orchestrator to the orchestrators reaching it."""
    reached: dict[str, set[str]] = {}
    for info in list(index.functions.values()):
        if info.is_orchestrator:
            _walk(index, info, info.display_name, reached, load_module)
    return reached


def _walk(index: ProjectIndex, start: FunctionInfo, orch: str, reached: dict[str, set[str]],
          load_module: Optional[Callable[[str], bool]]) -> None:
    stack = [start]
    while stack:
        info = stack.pop()
        names = reached.setdefault(info.fqn, set())
        if orch in names:
            continue
        names.add(orch)
        for callee in info.calls:
            if index.settings.is_deterministic(callee):
                continue
            target = index.resolve(callee)
            if target is None and load_module is not None:
                parts = callee.split(".")
                for i in range(len(parts) - 1, 0, -1):
                    if load_module(".".join(parts[:i])):
                        break
                target = index.resolve(callee)
                if target is None:  # the alias may point into another module
                    alias = index.aliases.get(callee)
                    if alias:
                        parts = alias.split(".")
                        for i in range(len(parts) - 1, 0, -1):
                            if load_module(".".join(parts[:i])):
                                break
                        target = index.resolve(callee)
            if target is not None and not target.is_activity:
                stack.append(target)


@dataclass
class _Finished:
    findings: tuple[Finding, ...]
    fixes: tuple[FileFix, ...]
    internal_errors: tuple[InternalError, ...]


def finish(
    analyses: dict[str, FileAnalysis],
    index: ProjectIndex,
    reached: dict[str, set[str]],
    settings: Settings,
    targets: set[str],
    sources: dict[str, bytes],
    display: Callable[[str], str],
    relative: Callable[[str], str],
) -> _Finished:
    """Filter reports to findings, apply suppressions and selection, and build fixes."""
    findings: list[Finding] = []
    fixes: list[FileFix] = []
    errors: list[InternalError] = []
    for path in sorted(targets):
        analysis = analyses.get(path)
        if analysis is None:
            continue
        shown, rel = display(path), relative(path)
        if analysis.internal_error:
            errors.append(InternalError(shown, analysis.internal_error))
            continue
        if analysis.parse_error is not None:
            r = analysis.parse_error
            if settings.is_selected("DF001", rel):
                findings.append(Finding(shown, r.line, r.col, r.code, r.message, "error"))
            continue
        kept: list[tuple[Report, str, tuple[str, ...]]] = []
        for report in analysis.reports:
            if report.owner is None or report.owner not in reached:
                continue
            rule = RULES_BY_CODE[report.code]
            message = rule.project_check(report, index)
            if message is None:
                continue
            kept.append((report, message, tuple(sorted(reached[report.owner]))))
        used: set[tuple[int, str]] = set()
        file_findings: list[tuple[Finding, Report]] = []
        for report, message, orchs in kept:
            sup = _suppressing(analysis.suppressions, report)
            if sup is not None:
                used.add((sup.line, report.code))
                continue
            if not settings.is_selected(report.code, rel):
                continue
            rule = RULES_BY_CODE[report.code]
            file_findings.append(
                (Finding(shown, report.line, report.col, report.code, message, rule.SEVERITY,
                         orchs, report.fix), report)
            )
        if settings.is_selected("DF002", rel):
            for sup in analysis.suppressions:
                for code in sup.codes:
                    if code in RULES_BY_CODE and settings.is_selected(code, rel) and (sup.line, code) not in used:
                        file_findings.append((
                            Finding(shown, sup.line, sup.col, "DF002",
                                    f"unused suppression: no {code} finding here",
                                    RULES_BY_CODE["DF002"].SEVERITY), Report("DF002", sup.line, sup.col, "", None)))
        fix = _build_fix(path, shown, sources.get(path), [r for _, r in file_findings], settings)
        if fix is not None:
            fixes.append(fix)
            if settings.fix:  # what was fixed is no longer a finding; skipped overlaps still are
                applied = set(_chosen_edits(r.edit for _, r in file_findings if _allowed(r, settings)))
                file_findings = [(f, r) for f, r in file_findings if r.edit not in applied]
        findings.extend(sorted(f for f, _ in file_findings))
    return _Finished(tuple(findings), tuple(fixes), tuple(errors))


def _suppressing(sups: list[Suppression], report: Report) -> Optional[Suppression]:
    for sup in sups:
        if sup.first <= report.line <= sup.last and (not sup.codes or any(
                report.code.startswith(c) for c in sup.codes)):
            return sup
    return None


def _allowed(report: Report, settings: Settings) -> bool:
    return report.edit is not None and (report.fix == "safe" or settings.unsafe_fixes)


def _chosen_edits(edits: Iterable[Optional[tuple[int, int, str]]]) -> list[tuple[int, int, str]]:
    """Non-overlapping edits, earliest first; the others wait for the next run."""
    chosen: list[tuple[int, int, str]] = []
    end = -1
    for e in sorted((e for e in edits if e is not None), key=lambda e: (e[0], -e[1])):
        if e[0] >= end:
            chosen.append(e)
            end = e[1]
    return chosen


def _build_fix(path: str, shown: str, source: Optional[bytes], reports: list[Report],
               settings: Settings) -> Optional[FileFix]:
    if source is None:
        return None
    chosen = _chosen_edits(r.edit for r in reports if _allowed(r, settings))
    if not chosen:
        return None
    out = source
    for start, stop, text in reversed(chosen):
        out = out[:start] + text.encode("utf-8") + out[stop:]
    try:
        cst.parse_module(out)  # never offer a fix that breaks the file
        original, fixed = source.decode("utf-8"), out.decode("utf-8")
    except Exception:
        return None
    return FileFix(shown, original, fixed, len(chosen))
