"""DF110: sleeping instead of a durable timer."""
from __future__ import annotations

from .base import BannedCallRule, Invalid, Valid, orchestrator_example


class Sleep(BannedCallRule):
    """``time.sleep()`` and ``asyncio.sleep()`` in orchestrator code.

    A sleep blocks the worker and is repeated on every replay; the wait is not recorded. Use a
    durable timer: ``yield context.create_timer(context.current_utc_datetime + timedelta(...))``.
    """

    CODE = "DF110"
    NAME = "sleep"
    MESSAGE = "`{call}()` blocks and repeats on every replay: {advice}"
    ADVICE = "`yield context.create_timer(context.current_utc_datetime + timedelta(...))`"
    NAMES = {"time.sleep": "", "asyncio.sleep": ""}
    VALID = [
        Valid(orchestrator_example(
            "yield context.create_timer(context.current_utc_datetime + timedelta(seconds=5))",
            "from datetime import timedelta\n")),
    ]
    INVALID = [Invalid(orchestrator_example("sleep(5)\nreturn 1", "from time import sleep\n"))]
