"""DF301: ``call_activity`` with a name no activity has."""
from __future__ import annotations

from typing import Optional

import libcst as cst

from ..index import ProjectIndex
from .base import Invalid, Report, Rule, Valid, string_value

_APP = (
    "import azure.durable_functions as df\n\napp = df.DFApp()\n\n\n"
    '@app.activity_trigger(input_name="city")\n'
    "def say_hello(city: str) -> str:\n"
    '    return f"Hello {city}"\n\n\n'
    '@app.orchestration_trigger(context_name="context")\n'
    "def orchestrator(context):\n"
)


def name_argument(call: cst.Call) -> Optional[cst.BaseExpression]:
    """The ``name`` argument of a ``call_*`` method: first positional or ``name=``."""
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == "name":
            return arg.value
    for arg in call.args:
        if arg.keyword is None and arg.star == "":
            return arg.value
    return None


def literal(node: Optional[cst.BaseExpression]) -> Optional[str]:
    return string_value(node)


class UnknownActivity(Rule):
    """``call_activity("Name")`` where no activity in the project is registered as ``Name``.

    The orchestration fails at run time with a "function not found" error. Activity names are
    collected across the project: V2 ``activity_trigger(activity=...)`` or the function name,
    and V1 folders whose ``function.json`` has an ``activityTrigger`` binding. Activities defined
    in another app go in ``external-activities``. Not checked when the project defines no
    activity at all, nor for names that are not string literals (no guessing: near-zero false
    positives matter more here than recall). Names match ignoring case, as the extension's
    ``FunctionName`` compares them (``OrdinalIgnoreCase``).
    """

    CODE = "DF301"
    DATA = ("name",)
    NAME = "unknown-activity"
    MESSAGE = "no activity named `{name}` in this project{hint}"
    SEVERITY = "warning"
    METHODS = ("call_activity", "call_activity_with_retry")
    VALID = [
        Valid(_APP + '    return (yield context.call_activity("say_hello", "Tokyo"))\n'),
        # The extension compares function names ignoring case (FunctionName.Equals).
        Valid(_APP + '    return (yield context.call_activity("Say_Hello", "Tokyo"))\n'),
    ]
    INVALID = [Invalid(_APP + '    return (yield context.call_activity("say_helo", "Tokyo"))\n')]

    def visit_Call(self, node: cst.Call) -> None:
        if self.durable_method(node) in self.METHODS:
            name = literal(name_argument(node))
            if name is not None:
                self.report(node, data={"name": name})

    @classmethod
    def known(cls, index: ProjectIndex) -> set[str]:
        return index.activity_names if index.defines_activities or index.activity_names else set()

    @classmethod
    def project_check(cls, report: Report, index: ProjectIndex) -> Optional[str]:
        name = report.data["name"]
        if not index.defines_activities and not index.settings.external_activities:
            return None
        if index.registers(index.activity_names, name):  # case-insensitive, as the extension
            return None
        guess = index.suggest(name, index.activity_names)
        hint = f": did you mean `{guess}`?" if guess else ""
        return cls.MESSAGE.format(name=name, hint=hint)
