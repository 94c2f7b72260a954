"""The rule base class and helpers for rule authors: one rule is one class with its docs,
examples and visitor methods."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Optional, Sequence

import libcst as cst
from libcst.metadata import ScopeProvider

from ..context import FileContext
from ..index import ProjectIndex
from ..model import FunctionInfo, Report
from ..syntax import code_of, contains_yield, string_value

#: Durable context methods that create a task which must be yielded.
TASK_METHODS = frozenset(
    {
        "call_activity",
        "call_activity_with_retry",
        "call_sub_orchestrator",
        "call_sub_orchestrator_with_retry",
        "create_timer",
        "wait_for_external_event",
        "call_entity",
        "call_http",
        "task_all",
        "task_any",
    }
)
#: Durable context methods that are fire-and-forget (nothing to yield).
FIRE_AND_FORGET_METHODS = frozenset({"signal_entity", "continue_as_new", "set_custom_status"})
DURABLE_METHODS = TASK_METHODS | FIRE_AND_FORGET_METHODS


@dataclass(frozen=True)
class Valid:
    """Code the rule must not flag."""

    code: str
    settings: dict[str, Any] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class Invalid:
    """Code the rule must flag; ``expected_fix`` is the code after ``--fix --unsafe-fixes``."""

    code: str
    expected_fix: Optional[str] = None
    settings: dict[str, Any] = field(default_factory=dict, compare=False)


class Rule(cst.BatchableCSTVisitor):
    """Base class of every durable-lint rule.

    Subclasses set ``CODE``, ``NAME``, ``MESSAGE``, ``SEVERITY``, ``FIX`` (None, "safe" or
    "unsafe"), ``VALID`` and ``INVALID``, and implement ``visit_*`` methods that call
    :meth:`report`. Reports outside code reached from an orchestrator are dropped by the engine.
    """

    CODE: ClassVar[str] = ""
    NAME: ClassVar[str] = ""
    MESSAGE: ClassVar[str] = ""
    SEVERITY: ClassVar[str] = "error"
    FIX: ClassVar[Optional[str]] = None
    #: Keys of ``Report.data`` that :meth:`project_check` reads (a cache entry must have them).
    DATA: ClassVar[tuple[str, ...]] = ()
    VALID: ClassVar[Sequence[Valid]] = ()
    INVALID: ClassVar[Sequence[Invalid]] = ()

    METADATA_DEPENDENCIES = (ScopeProvider,)

    def __init__(self, ctx: FileContext) -> None:
        super().__init__()
        self.ctx = ctx

    # -- helpers for rule authors -------------------------------------------------------------

    def qualname(self, node: cst.CSTNode) -> Optional[str]:
        """The single fully qualified name of ``node``, or None if unknown or ambiguous."""
        return self.ctx.qualname(node)

    def function(self, node: cst.CSTNode) -> Optional[FunctionInfo]:
        """The indexed function (top-level function or method) that contains ``node``."""
        return self.ctx.owner_of(node)

    def context_names(self, node: cst.CSTNode) -> frozenset[str]:
        """Names that hold the orchestration context in the function containing ``node``."""
        info = self.function(node)
        return info.context_names if info else frozenset()

    def context_expr(self, node: cst.CSTNode) -> Optional[str]:
        """The context parameter to use in a fix, if the function has an unambiguous one."""
        info = self.function(node)
        return info.context_name if info else None

    def durable_method(self, call: cst.CSTNode) -> Optional[str]:
        """``call_activity`` for ``context.call_activity(...)`` where ``context`` is the context."""
        if not isinstance(call, cst.Call) or not isinstance(call.func, cst.Attribute):
            return None
        recv, attr = call.func.value, call.func.attr.value
        if attr in DURABLE_METHODS and isinstance(recv, cst.Name):
            if recv.value in self.context_names(call):
                return attr
        return None

    def report(
        self,
        node: cst.CSTNode,
        message: Optional[str] = None,
        *,
        replacement: Optional[cst.CSTNode] = None,
        replacement_target: Optional[cst.CSTNode] = None,
        unsafe: bool = False,
        data: Optional[dict[str, str]] = None,
    ) -> None:
        """Report ``node``; ``replacement`` replaces ``replacement_target`` (default ``node``)."""
        self.ctx.add_report(
            self.CODE,
            node,
            message or self.MESSAGE,
            replacement=replacement,
            replacement_target=replacement_target,
            unsafe=unsafe,
            data=data or {},
        )

    # -- project-wide hook ----------------------------------------------------------------------

    @classmethod
    def project_check(cls, report: Report, index: ProjectIndex) -> Optional[str]:
        """Final message for a report once the whole project is indexed; None drops it."""
        return report.message


def orchestrator_example(body: str, imports: str = "") -> str:
    """A minimal V2 app around ``body`` (indented four spaces), for rule examples."""
    lines = "".join(f"    {line}\n" if line else "\n" for line in body.strip("\n").split("\n"))
    return (
        f"{imports}import azure.durable_functions as df\n\napp = df.DFApp()\n\n\n"
        '@app.orchestration_trigger(context_name="context")\n'
        f"def orchestrator(context):\n{lines}"
    )


class BannedCallRule(Rule):
    """A rule that flags calls by qualified name: ``NAMES`` exactly, ``PREFIXES`` by module."""

    NAMES: ClassVar[dict[str, str]] = {}
    PREFIXES: ClassVar[tuple[str, ...]] = ()
    ADVICE: ClassVar[str] = ""

    def advice_for(self, node: cst.Call, name: str) -> Optional[str]:
        """Advice for a banned call, or None when the call is fine."""
        if name in self.NAMES:
            return self.NAMES[name] or self.ADVICE
        if any(name.startswith(p) for p in self.PREFIXES):
            return self.ADVICE
        return None

    def visit_Call(self, node: cst.Call) -> None:
        name = self.qualname(node.func)
        if name is None or self.ctx.settings.is_deterministic(name):
            return
        advice = self.advice_for(node, name)
        if advice is not None:
            self.on_banned(node, name, advice)

    def on_banned(self, node: cst.Call, name: str, advice: str) -> None:
        self.report(node, self.MESSAGE.format(call=name, advice=advice))


__all__ = [
    "DURABLE_METHODS", "FIRE_AND_FORGET_METHODS", "TASK_METHODS", "BannedCallRule", "Invalid",
    "Report", "Rule", "Valid", "code_of", "contains_yield", "orchestrator_example", "string_value",
]
