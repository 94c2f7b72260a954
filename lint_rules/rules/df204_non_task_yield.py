"""DF204: yielding something that is not a durable task."""
from __future__ import annotations

import libcst as cst

from .base import Invalid, Rule, Valid, orchestrator_example

_LITERALS = (cst.SimpleString, cst.ConcatenatedString, cst.FormattedString, cst.Integer,
             cst.Float, cst.Imaginary, cst.Dict, cst.DictComp, cst.Set, cst.SetComp, cst.Tuple)


class NonTaskYield(Rule):
    """``yield`` of a list of tasks, a literal, or a bare ``yield``.

    The SDK expects every yielded value to be a task; a list of tasks is not awaited as a
    group and the orchestration fails. Wrap a list with ``context.task_all([...])`` (the fix,
    offered as unsafe because it changes what the ``yield`` evaluates to).
    """

    CODE = "DF204"
    NAME = "non-task-yield"
    MESSAGE = "yielded value is not a durable task: yield `context.task_all([...])` for many tasks"
    FIX = "unsafe"
    VALID = [Valid(orchestrator_example(
        'tasks = [context.call_activity("A", i) for i in range(3)]\n'
        "return (yield context.task_all(tasks))"))]
    INVALID = [
        Invalid(
            orchestrator_example(
                'results = yield [context.call_activity("A", i) for i in range(3)]\nreturn results'),
            expected_fix=orchestrator_example(
                'results = yield context.task_all([context.call_activity("A", i) for i in range(3)])\n'
                "return results"),
        ),
        Invalid(orchestrator_example("yield\nreturn 1")),
        Invalid(orchestrator_example('yield "done"')),
    ]

    def visit_Yield(self, node: cst.Yield) -> None:
        value = node.value
        if isinstance(value, cst.From):
            return
        if value is None:
            self.report(node, "bare `yield` gives the SDK nothing to schedule: yield a durable task")
            return
        if isinstance(value, (cst.List, cst.ListComp)):
            ctx = self.context_expr(node)
            replacement = None
            if ctx:
                replacement = cst.Call(func=cst.parse_expression(f"{ctx}.task_all"), args=[cst.Arg(value)])
            self.report(value, replacement=replacement, unsafe=True)
        elif isinstance(value, _LITERALS) or (
                isinstance(value, cst.Name) and value.value in ("None", "True", "False")):
            self.report(value)
