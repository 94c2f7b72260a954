"""DF210: a timer raced in ``task_any`` and never cancelled."""
from __future__ import annotations

from typing import Optional

import libcst as cst

from ..context import FileContext
from .base import Invalid, Rule, Valid, orchestrator_example


class _Race:
    """Timers, cancellations and ``task_any`` races of one top-level function's body."""

    def __init__(self, owner: cst.FunctionDef) -> None:
        self.owner = owner
        self.in_body = False
        self.timers: set[str] = set()
        self.cancelled: set[str] = set()
        self.races: list[tuple[cst.Call, list[str]]] = []


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

    def __init__(self, ctx: FileContext) -> None:
        super().__init__(ctx)
        self._race: Optional[_Race] = None

    # Collected during the one traversal of the file, over the body of each top-level
    # function (nested functions included), and decided when the function is left.

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        if self.ctx.owner_def(node) is node:
            self._race = _Race(node)

    def _enter_body(self, node: cst.BaseSuite) -> None:
        if self._race is not None and node is self._race.owner.body:
            self._race.in_body = True

    def visit_IndentedBlock(self, node: cst.IndentedBlock) -> None:
        self._enter_body(node)

    def visit_SimpleStatementSuite(self, node: cst.SimpleStatementSuite) -> None:
        self._enter_body(node)

    def visit_Assign(self, node: cst.Assign) -> None:
        race = self._race
        if race is None or not race.in_body:
            return
        if self.durable_method(node.value) == "create_timer":
            for t in node.targets:
                if isinstance(t.target, cst.Name):
                    race.timers.add(t.target.value)

    def visit_Call(self, node: cst.Call) -> None:
        race = self._race
        if race is None or not race.in_body:
            return
        func = node.func
        if (isinstance(func, cst.Attribute) and func.attr.value == "cancel"
                and isinstance(func.value, cst.Name)):
            race.cancelled.add(func.value.value)
        if self.durable_method(node) == "task_any" and node.args:
            arg = node.args[0].value
            if isinstance(arg, (cst.List, cst.Tuple)):
                names = [e.value.value for e in arg.elements if isinstance(e.value, cst.Name)]
                race.races.append((node, names))

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        race = self._race
        if race is None or race.owner is not original_node:
            return
        self._race = None
        for call, names in race.races:
            for name in names:
                if name in race.timers and name not in race.cancelled:
                    self.report(call, self.MESSAGE.format(name=name))
