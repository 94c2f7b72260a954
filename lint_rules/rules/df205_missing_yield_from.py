"""DF205: a helper generator called without ``yield from``."""
from __future__ import annotations

from typing import Optional

import libcst as cst

from ..index import ProjectIndex
from .base import Invalid, Report, Rule, Valid

_APP = (
    "import azure.durable_functions as df\n\napp = df.DFApp()\n\n\n"
    "def charge(context, order):\n"
    '    receipt = yield context.call_activity("Charge", order)\n'
    "    return receipt\n\n\n"
    '@app.orchestration_trigger(context_name="context")\n'
    "def orchestrator(context):\n"
)


class MissingYieldFrom(Rule):
    """Calling a generator helper that schedules durable tasks without ``yield from``.

    The call only creates a generator object: none of the helper's tasks run, and the SDK later
    fails with "generator is not JSON serializable". The fix adds ``yield from``; it is safe
    when the caller is already a generator.
    """

    CODE = "DF205"
    NAME = "missing-yield-from"
    MESSAGE = "`{callee}` is a generator: call it with `yield from`, or its tasks never run"
    FIX = "safe"
    VALID = [
        Valid(_APP + "    receipt = yield from charge(context, 1)\n    return receipt\n"),
        Valid(_APP.replace("def charge", "def chunks(items):\n    yield items[:1]\n\n\ndef charge")
              + "    batches = chunks([1, 2])\n    return [b for b in batches]\n"),
    ]
    INVALID = [
        Invalid(
            _APP + '    receipt = charge(context, 1)\n    yield context.call_activity("Ship")\n'
            "    return receipt\n",
            expected_fix=_APP + "    receipt = yield from charge(context, 1)\n"
            '    yield context.call_activity("Ship")\n    return receipt\n',
        ),
    ]

    def visit_Call(self, node: cst.Call) -> None:
        parent = self.ctx.parents.get(node)
        if not isinstance(parent, (cst.Expr, cst.Assign, cst.AnnAssign)):
            return
        name = self.qualname(node.func)
        if not name or name.startswith("builtins.") or ".<locals>." in name:
            return
        info = self.function(node)
        if info is None:
            return
        self.report(
            node,
            self.MESSAGE.format(callee=name.rpartition(".")[2]),
            replacement=cst.Yield(value=cst.From(item=node)),
            unsafe=not info.is_generator,
            data={"callee": name},
        )

    @classmethod
    def project_check(cls, report: Report, index: ProjectIndex) -> Optional[str]:
        info = index.resolve(report.data.get("callee", ""))
        # Only generators that schedule durable tasks: a generator of plain values
        # (``for batch in chunks(items)``) is used correctly without ``yield from``.
        if (info is None or not info.is_generator or not info.schedules_tasks
                or info.is_orchestrator or info.is_activity):
            return None
        return report.message
