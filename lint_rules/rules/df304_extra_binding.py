"""DF304: other bindings on an orchestrator."""
from __future__ import annotations

import libcst as cst

from .base import Invalid, Rule, Valid, orchestrator_example

_ALLOWED = frozenset({"orchestration_trigger", "function_name"})


class ExtraBinding(Rule):
    """Input, output or trigger bindings (``durable_client_input``, blob, queue...) on an orchestrator.

    Orchestrators may only have the orchestration trigger: bindings do I/O outside the history.
    Move the binding to an activity or a client function.
    """

    CODE = "DF304"
    NAME = "extra-binding"
    MESSAGE = "`{binding}` on an orchestrator does I/O outside the history: move it to an activity"
    SEVERITY = "warning"
    VALID = [Valid(orchestrator_example("return 1").replace(
        "@app.orchestration_trigger", '@app.function_name("Orch")\n@app.orchestration_trigger'))]
    INVALID = [Invalid(orchestrator_example("return 1").replace(
        "def orchestrator(context):", "def orchestrator(context, client):").replace(
        "@app.orchestration_trigger", '@app.durable_client_input(client_name="client")\n'
        "@app.orchestration_trigger"))]

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        info = self.function(node)
        if info is None or not info.is_orchestrator or self.ctx.owner_def(node) is not node:
            return
        for dec in node.decorators:
            expr = dec.decorator.func if isinstance(dec.decorator, cst.Call) else dec.decorator
            if isinstance(expr, cst.Attribute):
                attr = expr.attr.value
                if attr not in _ALLOWED and attr.endswith(("_input", "_output", "_trigger", "route")):
                    self.report(dec, self.MESSAGE.format(binding=attr))
