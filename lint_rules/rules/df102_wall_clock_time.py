"""DF102: wall-clock time from the time module."""
from __future__ import annotations

from typing import Optional

import libcst as cst

from .base import BannedCallRule, Invalid, Valid, orchestrator_example

_CLOCKS = ("time", "time_ns", "monotonic", "monotonic_ns", "perf_counter", "perf_counter_ns",
           "process_time", "process_time_ns", "thread_time", "thread_time_ns")
#: These read the clock only when called without the time argument.
_FORMATTERS = {"localtime": 0, "gmtime": 0, "ctime": 0, "asctime": 0, "strftime": 1}


class WallClockTime(BannedCallRule):
    """``time.time()``, ``monotonic()``, ``perf_counter()`` and friends in orchestrator code.

    Like DF101, the value differs on every replay. ``time.localtime()``/``gmtime()``/``ctime()``
    and ``time.strftime(fmt)`` read the clock only when no time is passed, so
    ``time.strftime(fmt, t)`` is fine.
    """

    CODE = "DF102"
    NAME = "wall-clock-time"
    MESSAGE = "`{call}()` is not replay-safe: {advice}"
    FIX = "unsafe"
    ADVICE = "use `context.current_utc_datetime`"
    VALID = [
        Valid(orchestrator_example(
            'return time.strftime("%Y", time.gmtime(0))', "import time\n")),
    ]
    INVALID = [
        Invalid(
            orchestrator_example("started = time.time()\nreturn started", "import time\n"),
            expected_fix=orchestrator_example(
                "started = context.current_utc_datetime.timestamp()\nreturn started",
                "import time\n"),
        ),
        Invalid(orchestrator_example("return time.ctime()", "import time\n")),
    ]

    def advice_for(self, node: cst.Call, name: str) -> Optional[str]:
        module, _, func = name.rpartition(".")
        if module != "time":
            return None
        if func in _CLOCKS:
            return self.ADVICE
        if func in _FORMATTERS and len(node.args) <= _FORMATTERS[func]:
            return self.ADVICE
        return None

    def on_banned(self, node: cst.Call, name: str, advice: str) -> None:
        ctx = self.context_expr(node)
        replacement = None
        if ctx and name in ("time.time",):
            replacement = cst.parse_expression(f"{ctx}.current_utc_datetime.timestamp()")
        self.report(node, self.MESSAGE.format(call=name, advice=advice),
                    replacement=replacement, unsafe=True)
