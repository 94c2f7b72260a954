"""DF210: a timer raced in ``task_any`` and never cancelled."""
from __future__ import annotations

import libcst as cst

from .base import Invalid, Rule, Valid, orchestrator_example


class _Collect(cst.CSTVisitor):
    def __init__(self, rule: Rule) -> None:
        self.rule = rule
        self.timers: set[str] = set()
        self.cancelled: set[str] = set()
        self.races: list[tuple[cst.Call, list[str]]] = []

    def visit_Assign(self, node: cst.Assign) -> None:
        if self.rule.durable_method(node.value) == "create_timer":
            for t in node.targets:
                if isinstance(t.target, cst.Name):
                    self.timers.add(t.target.value)

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if isinstance(func, cst.Attribute) and func.attr.value == "cancel" and isinstance(func.value, cst.Name):
            self.cancelled.add(func.value.value)
        if self.rule.durable_method(node) == "task_any" and node.args:
            arg = node.args[0].value
            if isinstance(arg, (cst.List, cst.Tuple)):
                names = [e.value.value for e in arg.elements if isinstance(e.value, cst.Name)]
                self.races.append((node, names))


class UncancelledTimer(Rule):
    """A durable timer raced against other tasks in ``task_any`` and never cancelled.

    An orchestration does not complete while a timer is pending, so the instance stays
    "Running" until the timer fires, possibly days later. Call ``timer.cancel()`` when another
    task wins.
    """

    CODE = "DF210"
    NAME = "uncancelled-timer"
    MESSAGE = "timer `{name}` raced in `task_any` is never cancelled: call `{name}.cancel()` when another task wins"
    _BODY = (
        "deadline = context.current_utc_datetime + timedelta(hours=1)\n"
        "timeout = context.create_timer(deadline)\n"
        'approval = context.wait_for_external_event("Approved")\n'
        "winner = yield context.task_any([approval, timeout])\n"
    )
    VALID = [Valid(orchestrator_example(
        _BODY + "if winner == approval:\n    timeout.cancel()\nreturn 1",
        "from datetime import timedelta\n"))]
    INVALID = [Invalid(orchestrator_example(_BODY + "return 1", "from datetime import timedelta\n"))]

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        if self.ctx.owner_def(node) is not node:
            return
        collect = _Collect(self)
        node.body.visit(collect)
        for call, names in collect.races:
            for name in names:
                if name in collect.timers and name not in collect.cancelled:
                    self.report(call, self.MESSAGE.format(name=name))
