"""DF101: wall-clock time from datetime."""
from __future__ import annotations

import libcst as cst

from .base import BannedCallRule, Invalid, Valid, orchestrator_example

_IMPORT = "import datetime\n"


class WallClockDatetime(BannedCallRule):
    """``datetime.now()``, ``utcnow()``, ``today()`` and ``date.today()`` in orchestrator code.

    On replay the call returns a different time than on the first run, so any decision based on
    it can take a different branch and break the history. ``context.current_utc_datetime`` is
    replayed from history. The fix is unsafe: it returns an aware UTC datetime, where
    ``datetime.now()`` returned a naive local one.
    """

    CODE = "DF101"
    NAME = "wall-clock-datetime"
    MESSAGE = "`{call}()` is not replay-safe: {advice}"
    FIX = "unsafe"
    ADVICE = "use `context.current_utc_datetime`"
    NAMES = {
        "datetime.datetime.now": "",
        "datetime.datetime.utcnow": "",
        "datetime.datetime.today": "",
        "datetime.date.today": "use `context.current_utc_datetime.date()`",
    }
    VALID = [
        Valid(orchestrator_example("return context.current_utc_datetime", _IMPORT)),
        Valid(orchestrator_example(
            "start = datetime.datetime(2024, 1, 1)\n"
            "return start + datetime.timedelta(days=1)", _IMPORT)),
        Valid(orchestrator_example(
            "def helper(datetime):\n    return datetime.now()\nreturn 1")),
        Valid(_IMPORT + "STARTED = datetime.datetime.now()  # import time is fine\n"
              + orchestrator_example("return 1")),
    ]
    INVALID = [
        Invalid(
            orchestrator_example("return dt.datetime.utcnow()", "import datetime as dt\n"),
            expected_fix=orchestrator_example(
                "return context.current_utc_datetime", "import datetime as dt\n"),
        ),
        Invalid(orchestrator_example("day = date.today()\nreturn day", "from datetime import date\n")),
    ]

    def on_banned(self, node: cst.Call, name: str, advice: str) -> None:
        ctx = self.context_expr(node)
        replacement = None
        if ctx and not node.args:
            expr = f"{ctx}.current_utc_datetime"
            if name.endswith("date.today"):
                expr += ".date()"
            replacement = cst.parse_expression(expr)
        self.report(node, self.MESSAGE.format(call=name, advice=advice),
                    replacement=replacement, unsafe=True)
