"""DF203: a durable task that is created but never yielded."""
from __future__ import annotations

import libcst as cst
from libcst.metadata import ScopeProvider

from .base import TASK_METHODS, Invalid, Rule, Valid, orchestrator_example


class TaskNotYielded(Rule):
    """A task from ``call_activity``, ``create_timer``... that is dropped instead of yielded.

    A task only runs when it is yielded (or passed to ``task_all``/``task_any`` that is
    yielded); a dropped task silently never runs. ``signal_entity``, ``continue_as_new`` and
    ``set_custom_status`` are fire-and-forget and fine. The fix adds ``yield``; it is unsafe
    because it changes when the orchestrator waits.
    """

    CODE = "DF203"
    NAME = "task-not-yielded"
    MESSAGE = "`{method}(...)` creates a task that is never yielded, so it never runs: `yield` it"
    FIX = "unsafe"
    VALID = [
        Valid(orchestrator_example(
            'first = context.call_activity("A")\nsecond = context.call_activity("B")\n'
            "return (yield context.task_all([first, second]))")),
        Valid(orchestrator_example('context.signal_entity(df.EntityId("Counter", "c"), "add", 1)\n'
                                   "return 1")),
    ]
    INVALID = [
        Invalid(
            orchestrator_example('context.call_activity("Notify")\nreturn 1'),
            expected_fix=orchestrator_example('yield context.call_activity("Notify")\nreturn 1'),
        ),
        Invalid(orchestrator_example('task = context.call_activity("Notify")\nreturn 1')),
    ]

    def visit_Expr(self, node: cst.Expr) -> None:
        method = self.durable_method(node.value)
        if method in TASK_METHODS:
            self.report(node.value, self.MESSAGE.format(method=method),
                        replacement=cst.Yield(value=node.value), unsafe=True)

    def visit_Assign(self, node: cst.Assign) -> None:
        method = self.durable_method(node.value)
        if method not in TASK_METHODS or len(node.targets) != 1:
            return
        target = node.targets[0].target
        if not isinstance(target, cst.Name):
            return
        scope = self.get_metadata(ScopeProvider, target, None)
        if scope is None:
            return
        for assignment in scope.assignments[target.value]:
            if getattr(assignment, "node", None) is target and not assignment.references:
                self.report(node.value, self.MESSAGE.format(method=method))
