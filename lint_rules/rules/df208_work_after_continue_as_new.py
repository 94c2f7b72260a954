"""DF208: scheduling work after ``continue_as_new``."""
from __future__ import annotations

from typing import Sequence

import libcst as cst

from .base import TASK_METHODS, Invalid, Rule, Valid, orchestrator_example


class _Finder(cst.CSTVisitor):
    def __init__(self, rule: Rule) -> None:
        self.rule = rule
        self.found = False

    def visit_Call(self, node: cst.Call) -> None:
        if self.rule.durable_method(node) in TASK_METHODS:
            self.found = True

    def visit_Yield(self, node: cst.Yield) -> None:
        self.found = True


class WorkAfterContinueAsNew(Rule):
    """Tasks scheduled after ``context.continue_as_new(...)`` in the same block.

    ``continue_as_new`` ends the episode: actions scheduled after it are dropped without an
    error. Return right after calling it.
    """

    CODE = "DF208"
    NAME = "work-after-continue-as-new"
    MESSAGE = "work scheduled after `continue_as_new` is dropped: return right after it"
    VALID = [Valid(orchestrator_example(
        'yield context.call_activity("A")\ncontext.continue_as_new(None)\nreturn')) ]
    INVALID = [Invalid(orchestrator_example(
        'context.continue_as_new(None)\nyield context.call_activity("A")'))]

    def _check(self, body: Sequence[cst.BaseStatement]) -> None:
        seen = False
        for stmt in body:
            if seen:
                finder = _Finder(self)
                stmt.visit(finder)
                if finder.found:
                    self.report(stmt)
                    return
            elif isinstance(stmt, cst.SimpleStatementLine):
                for small in stmt.body:
                    value = getattr(small, "value", None)
                    if isinstance(value, cst.Yield):
                        value = value.value
                    if self.durable_method(value) == "continue_as_new":  # type: ignore[arg-type]
                        seen = True

    def visit_IndentedBlock(self, node: cst.IndentedBlock) -> None:
        self._check(node.body)
