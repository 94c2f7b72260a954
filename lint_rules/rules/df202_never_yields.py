"""DF202: an orchestrator that schedules work but never yields."""
from __future__ import annotations

import libcst as cst

from .base import TASK_METHODS, Invalid, Rule, Valid, orchestrator_example


class NeverYields(Rule):
    """An orchestrator that calls durable APIs but contains no ``yield``.

    A plain function completes at once: the SDK sends no actions, so no activity runs and the
    orchestration completes with whatever the function returned. ``yield`` each task.
    """

    CODE = "DF202"
    NAME = "never-yields"
    MESSAGE = "orchestrator schedules durable tasks but never yields: nothing will run; `yield` each task"
    VALID = [Valid(orchestrator_example('return (yield context.call_activity("A"))'))]
    INVALID = [Invalid(orchestrator_example('task = context.call_activity("A")\nreturn task'))]

    def __init__(self, ctx: object) -> None:
        super().__init__(ctx)  # type: ignore[arg-type]
        self._seen: set[str] = set()

    def visit_Call(self, node: cst.Call) -> None:
        if self.durable_method(node) not in TASK_METHODS:
            return
        info = self.function(node)
        if info and info.is_orchestrator and not info.is_generator and not info.is_async:
            if info.fqn not in self._seen:
                self._seen.add(info.fqn)
                fdef = self.ctx.owner_def(node)
                if fdef is not None:
                    self.report(fdef.name)
