"""DF303: ``call_activity(fn)`` where ``fn`` is not an activity."""
from __future__ import annotations

from typing import Optional

import libcst as cst

from ..index import ProjectIndex
from .base import Invalid, Report, Rule, Valid
from .df301_unknown_activity import _APP, name_argument


class NotAnActivity(Rule):
    """``call_activity(fn)`` where ``fn`` is a project function without ``activity_trigger``.

    The SDK can take the decorated activity itself, but a plain function is not registered with
    the host, and the call fails at run time.
    """

    CODE = "DF303"
    DATA = ("callee",)
    NAME = "not-an-activity"
    MESSAGE = "`{name}` is not an activity (no `activity_trigger`): pass a registered activity"
    VALID = [Valid(_APP + '    return (yield context.call_activity(say_hello, "Tokyo"))\n')]
    INVALID = [Invalid(
        _APP.replace('@app.activity_trigger(input_name="city")\n', "")
        + '    return (yield context.call_activity(say_hello, "Tokyo"))\n')]

    def visit_Call(self, node: cst.Call) -> None:
        if self.durable_method(node) in ("call_activity", "call_activity_with_retry"):
            arg = name_argument(node)
            if isinstance(arg, (cst.Name, cst.Attribute)):
                name = self.qualname(arg)
                if name and not name.startswith("builtins."):
                    self.report(arg, data={"callee": name})

    @classmethod
    def project_check(cls, report: Report, index: ProjectIndex) -> Optional[str]:
        info = index.resolve(report.data["callee"])
        if info is None or info.is_activity:
            return None
        return cls.MESSAGE.format(name=info.name)
