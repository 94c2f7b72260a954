"""DF209: ``while True`` that grows the history forever."""
from __future__ import annotations

import libcst as cst

from .base import TASK_METHODS, Invalid, Rule, Valid, orchestrator_example


class _Scan(cst.CSTVisitor):
    def __init__(self, rule: Rule) -> None:
        self.rule = rule
        self.durable = False
        self.exits = False

    def visit_Call(self, node: cst.Call) -> None:
        method = self.rule.durable_method(node)
        if method in TASK_METHODS:
            self.durable = True
        elif method == "continue_as_new":
            self.exits = True

    def visit_Yield(self, node: cst.Yield) -> None:
        self.durable = True

    def visit_Break(self, node: cst.Break) -> None:
        self.exits = True

    def visit_Return(self, node: cst.Return) -> None:
        self.exits = True

    def visit_Raise(self, node: cst.Raise) -> None:
        self.exits = True


class UnboundedLoop(Rule):
    """``while True:`` with durable calls and no ``continue_as_new``, ``break``, ``return``.

    Every iteration appends to the history, which is replayed in full on each wake-up: the
    orchestration gets slower and finally fails. Eternal orchestrations should call
    ``context.continue_as_new(...)`` to start over with a fresh history.
    """

    CODE = "DF209"
    NAME = "unbounded-loop"
    MESSAGE = "`while True` with durable calls grows the history forever: use `context.continue_as_new(...)`"
    SEVERITY = "warning"
    VALID = [Valid(orchestrator_example(
        'yield context.call_activity("Poll")\n'
        "yield context.create_timer(context.current_utc_datetime)\n"
        "context.continue_as_new(None)"))]
    INVALID = [Invalid(orchestrator_example(
        'while True:\n    yield context.call_activity("Poll")\n'
        "    yield context.create_timer(context.current_utc_datetime)"))]

    def visit_While(self, node: cst.While) -> None:
        test = node.test
        forever = (isinstance(test, cst.Name) and test.value == "True") or (
            isinstance(test, cst.Integer) and test.value == "1")
        if not forever:
            return
        scan = _Scan(self)
        node.body.visit(scan)
        if scan.durable and not scan.exits:
            self.report(node)
