"""DF302: ``call_sub_orchestrator`` with a name no orchestrator has."""
from __future__ import annotations

from typing import Optional

import libcst as cst

from ..index import ProjectIndex
from .base import Invalid, Report, Rule, Valid, orchestrator_example
from .df301_unknown_activity import literal, name_argument


class UnknownSubOrchestrator(Rule):
    """``call_sub_orchestrator("Name")`` where no orchestrator in the project is ``Name``.

    Orchestrator names come from V2 ``orchestration_trigger(orchestration=...)`` or the
    function name, and V1 ``orchestrationTrigger`` folders; list others in
    ``external-orchestrators``. Names match ignoring case, as the extension compares them.
    """

    CODE = "DF302"
    DATA = ("name",)
    NAME = "unknown-sub-orchestrator"
    MESSAGE = "no orchestrator named `{name}` in this project{hint}"
    SEVERITY = "warning"
    VALID = [
        Valid(orchestrator_example('return (yield context.call_sub_orchestrator("orchestrator"))')),
        Valid(orchestrator_example('return (yield context.call_sub_orchestrator("Orchestrator"))')),
    ]
    INVALID = [Invalid(orchestrator_example('return (yield context.call_sub_orchestrator("orchestrater"))'))]

    def visit_Call(self, node: cst.Call) -> None:
        if self.durable_method(node) in ("call_sub_orchestrator", "call_sub_orchestrator_with_retry"):
            name = literal(name_argument(node))
            if name is not None:
                self.report(node, data={"name": name})

    @classmethod
    def project_check(cls, report: Report, index: ProjectIndex) -> Optional[str]:
        name = report.data["name"]
        if index.registers(index.orchestration_names, name):  # case-insensitive, as the extension
            return None
        guess = index.suggest(name, index.orchestration_names)
        hint = f": did you mean `{guess}`?" if guess else ""
        return cls.MESSAGE.format(name=name, hint=hint)
