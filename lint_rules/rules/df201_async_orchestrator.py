"""DF201: async orchestrators."""
from __future__ import annotations

import libcst as cst

from .base import Invalid, Rule, Valid, orchestrator_example


class AsyncOrchestrator(Rule):
    """An orchestrator declared ``async def``, or ``await`` in orchestrator code.

    The Python SDK drives orchestrators as generators: it never awaits a coroutine, so an
    ``async def`` orchestrator does nothing and ``await`` bypasses the history. Use ``def`` and
    ``yield`` each task.
    """

    CODE = "DF201"
    NAME = "async-orchestrator"
    MESSAGE = "orchestrators must be generator functions (`def` + `yield`), not `async def`"
    VALID = [Valid(orchestrator_example('return (yield context.call_activity("A"))'))]
    INVALID = [
        Invalid(orchestrator_example('return await context.call_activity("A")').replace(
            "def orchestrator", "async def orchestrator")),
    ]

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        info = self.function(node)
        if info and info.is_orchestrator and self.ctx.owner_def(node) is node and node.asynchronous:
            self.report(node.name)

    def visit_Await(self, node: cst.Await) -> None:
        info = self.function(node)
        if info and not info.is_async:
            self.report(node, "`await` in orchestrator code bypasses the durable history: `yield` the task")
