"""Per-file state the rules share while one file is traversed: positions, names, functions.

A :class:`FileContext` turns libcst nodes into what the rest of durable-lint stores: line and
column, fully qualified names, the :class:`~.model.FunctionInfo` of the function that owns a
node, and :class:`~.model.Report` values with their byte-range edits.
"""
from __future__ import annotations

import bisect
from typing import Collection, Mapping, Optional, Union

import libcst as cst
from libcst.helpers import ModuleNameAndPackage, get_absolute_module_from_package_for_import
from libcst.metadata import (
    CodeSpan,
    MetadataWrapper,
    QualifiedName,
    QualifiedNameSource,
)

from .config import Settings
from .model import FileAnalysis, FunctionInfo, Report, V1Function
from .scopes import Scopes, resolve_scopes
from .spans import byte_spans
from .syntax import contains_yield, string_value
from .traversal import children


class FileContext:
    """State shared by the rules while one file is traversed.

    ``source`` is the file as UTF-8 bytes (whatever its encoding on disk), which is what
    libcst's byte spans and the fixes' edits measure.
    """

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
        # Lines and columns come from byte spans: PositionProvider would generate the code a
        # second time.
        ascii_source = source.isascii() if source else module.code.isascii()
        self.spans: Mapping[cst.CSTNode, CodeSpan] = byte_spans(module, ascii_source)
        self.scopes: Scopes = resolve_scopes(wrapper)
        self._source = source
        self._ascii = source.isascii()
        self._line_starts = _line_starts(source)
        self.parents = ParentMap(module)
        self._names: dict[cst.CSTNode, Collection[QualifiedName]] = {}
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
        if self._ascii:  # O(1): a decode per node is quadratic on a file of one long line
            return line, offset - begin
        col = len(self._source[begin:offset].decode("utf-8", errors="replace"))
        return line, col

    def end_line(self, node: cst.CSTNode) -> int:
        span = self.spans[node]
        return bisect.bisect_right(self._line_starts, max(span.start, span.start + span.length - 1))

    # -- names ------------------------------------------------------------------------------

    def qualified_names(self, node: cst.CSTNode) -> Collection[QualifiedName]:
        """Fully qualified names of ``node``, from libcst's scope analysis, computed on demand.

        The same names as ``FullyQualifiedNameProvider``, which would compute them for every
        node of the file; rules ask about a few.
        """
        found = self._names.get(node)
        if found is None:
            scope = self.scopes.get(node)
            found = set()
            if scope is not None:
                try:
                    found = {self._absolute(q) for q in scope.get_qualified_names_for(node)}
                except ImportError:  # a relative import above the top-level package
                    found = set()
            self._names[node] = found
        return found

    def _absolute(self, qname: QualifiedName) -> QualifiedName:
        if qname.source == QualifiedNameSource.BUILTIN:
            return qname
        name = qname.name
        if qname.source == QualifiedNameSource.IMPORT and not name.startswith("."):
            return qname
        module = self.mod.name
        bare = name.lstrip(".")
        dots = len(name) - len(bare)
        if dots:  # as importlib._bootstrap._resolve_name does
            bits = self.mod.package.rsplit(".", dots - 1)
            if len(bits) < dots:
                raise ImportError("attempted relative import beyond top-level package")
            module, name = bits[0], bare
        return QualifiedName(name=f"{module}.{name}" if module else name, source=qname.source)

    def qualname(self, node: cst.CSTNode) -> Optional[str]:
        """The single fully qualified name of ``node``, or None if unknown or ambiguous."""
        names = self.qualified_names(node)
        if len(names) != 1:
            return None
        return next(iter(names)).name

    def _prepass(self) -> None:
        """Module-level imports (for re-exports), loggers and ``Orchestrator.create(fn)``."""
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
                if (isinstance(small, cst.Assign) and isinstance(small.value, cst.Call)
                        and len(small.targets) == 1
                        and isinstance(small.targets[0].target, cst.Name)
                        and _is_logger_factory(self.qualname(small.value.func))):
                    self.analysis.loggers.append(small.targets[0].target.value)
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
        known, outer = self.parents.outermost_def(node)
        if not known:
            known, outer = self._inside_visited_def(node)
        if known:
            self._owner_cache[node] = outer
            return outer
        cur: Optional[cst.CSTNode] = node
        last = node
        while cur is not None:
            if isinstance(cur, cst.FunctionDef):
                outer = cur
            last = cur
            cur = self.parents.get(cur)
        if last is self.module:  # a complete chain: safe to remember
            self._owner_cache[node] = outer
        return outer

    def _inside_visited_def(self, node: cst.CSTNode) -> tuple[bool, Optional[cst.FunctionDef]]:
        """``(True, def)`` for a node deeper below the visited node, inside a function.

        Syntactic spans nest, so a node of positive length within the visited node's span is
        its descendant, or an ancestor with the same span (those are on the stack).
        """
        parents = self.parents
        if not parents.stack or parents.outermost is None:
            return False, None
        top = parents.stack[-1]
        span, outer = self.spans.get(node), self.spans.get(top)
        if (span is None or outer is None or span.length <= 0 or span.start < outer.start
                or span.start + span.length > outer.start + outer.length
                or any(n is node for n in parents.stack)):
            return False, None
        return True, parents.outermost

    def owner_of(self, node: cst.CSTNode) -> Optional[FunctionInfo]:
        """The indexed function (top-level function or method) that contains ``node``."""
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
        trigger = registered_name(fdef)
        is_orch = trigger is not None and trigger[0] == "orchestration"
        is_activity = trigger is not None and trigger[0] == "activity"
        context_name = trigger[2] if is_orch and trigger is not None else None
        registered: list[str] = [trigger[1]] if trigger is not None else []
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
            self.analysis.activities.extend(info.registered_names)
        return info

    # -- reports ----------------------------------------------------------------------------

    def add_report(
        self,
        code: str,
        node: cst.CSTNode,
        message: str,
        *,
        replacement: Optional[cst.CSTNode] = None,
        replacement_target: Optional[cst.CSTNode] = None,
        unsafe: bool = False,
        data: Optional[dict[str, str]] = None,
    ) -> None:
        """Record a report at ``node``; ``replacement`` replaces ``replacement_target``."""
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
            Report(code, line, col, message, owner.fqn if owner else None, edit, fix, data or {})
        )


class ParentMap:
    """Each node's parent, recorded by the rules' traversal as it descends.

    Cheaper than ``ParentNodeProvider``, which walks the whole tree once more. Ancestors of the
    node being visited are always known; a rule asking about a node below it (a visit_Expr
    looking at its call) gets that subtree filled in on demand.
    """

    def __init__(self, module: cst.Module) -> None:
        self._map: dict[cst.CSTNode, cst.CSTNode] = {}
        self._module = module
        self._filled: set[int] = set()  # nodes whose whole subtree is recorded
        self._children_known: set[int] = set()  # nodes whose direct children are recorded
        self.stack: list[cst.CSTNode] = []
        self._defs: list[cst.FunctionDef] = []  # function definitions on the stack

    def enter(self, node: cst.CSTNode) -> None:
        stack = self.stack
        if stack:
            self._map[node] = stack[-1]
        stack.append(node)
        if type(node) is cst.FunctionDef:
            self._defs.append(node)

    def leave(self) -> None:
        node = self.stack.pop()
        if self._defs and self._defs[-1] is node:
            self._defs.pop()

    def outermost_def(self, node: cst.CSTNode) -> tuple[bool, Optional[cst.FunctionDef]]:
        """``(True, def)`` for the node being visited or a child of it, without walking up.

        The traversal keeps the function definitions on its path; for any other node the
        answer is ``(False, None)`` and the caller walks the parents.
        """
        stack = self.stack
        if not stack:
            return False, None
        top = stack[-1]
        if node is top or self._map.get(node) is top or self._child_of_top(node) is top:
            if self._defs:
                return True, self._defs[0]
            if node is not top and isinstance(node, cst.FunctionDef):
                return True, node
            return True, None
        return False, None

    @property
    def outermost(self) -> Optional[cst.FunctionDef]:
        """The outermost function definition on the traversal's path, if any."""
        return self._defs[0] if self._defs else None

    def _child_of_top(self, node: cst.CSTNode) -> Optional[cst.CSTNode]:
        """Record the direct children of the node being visited (most questions are about
        them: ``node.value``, ``node.func``) and return ``node``'s parent if known now."""
        top = self.stack[-1]
        if id(top) not in self._children_known:
            self._children_known.add(id(top))
            for child in children(top):
                self._map.setdefault(child, top)
        return self._map.get(node)

    def get(self, node: cst.CSTNode, default: Optional[cst.CSTNode] = None
            ) -> Optional[cst.CSTNode]:
        found = self._map.get(node)
        if found is None and node is not self._module and self.stack:
            top = self.stack[-1]
            found = self._child_of_top(node)
            if found is None and id(top) not in self._filled:
                self._filled.add(id(top))
                todo = [top]
                while todo:
                    parent = todo.pop()
                    for child in children(parent):
                        self._map.setdefault(child, parent)
                        todo.append(child)
                found = self._map.get(node)
        return found if found is not None else default


#: ``logging.getLogger``, and the ``get_logger`` of structlog or of a shared package outside the
#: linted root (``from common.log import get_logger``): what they return is a logger.
_LOGGER_FACTORIES = frozenset({"getLogger", "get_logger"})


def _is_logger_factory(name: Optional[str]) -> bool:
    return name is not None and name.rpartition(".")[2] in _LOGGER_FACTORIES


def _line_starts(source: bytes) -> list[int]:
    """Offsets where each line starts (a scan per line, not per byte)."""
    starts = [0]
    at = source.find(b"\n")
    while at >= 0:
        starts.append(at + 1)
        at = source.find(b"\n", at + 1)
    return starts


def literal_args(call: cst.Call) -> dict[Union[str, int], str]:
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


def registered_name(fdef: cst.FunctionDef) -> Optional[tuple[str, str, Optional[str]]]:
    """``(kind, name, context_name)`` for a V2 trigger function, else None.

    The Durable extension registers exactly one name: the trigger's ``activity=`` (or
    ``orchestration=``), else ``@app.function_name(...)``, else the Python name. Calling the
    function by any other name fails with "function not found", so only that one counts.
    """
    kind: Optional[str] = None
    trigger_name: Optional[str] = None
    function_name: Optional[str] = None
    context_name: Optional[str] = None
    for dec in fdef.decorators:
        call = dec.decorator
        func = call.func if isinstance(call, cst.Call) else call
        attr = func.attr.value if isinstance(func, cst.Attribute) else None
        kwargs = literal_args(call) if isinstance(call, cst.Call) else {}
        if attr == "orchestration_trigger":
            kind = "orchestration"
            context_name = kwargs.get("context_name") or kwargs.get(0)
            trigger_name = kwargs.get("orchestration")
        elif attr == "activity_trigger":
            kind = "activity"
            trigger_name = kwargs.get("activity")
        elif attr == "function_name" and (kwargs.get("name") or kwargs.get(0)):
            function_name = kwargs.get("name") or kwargs[0]
    if kind is None:
        return None
    return kind, trigger_name or function_name or fdef.name.value, context_name


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
