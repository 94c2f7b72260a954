"""DF002: a suppression comment that suppresses nothing."""
from __future__ import annotations

from .base import Invalid, Rule, Valid, orchestrator_example


class UnusedSuppression(Rule):
    """A ``# noqa: DF1xx`` or ``# durable-lint: ignore[DF1xx]`` comment with no finding to hide.

    Stale suppressions hide the next real problem on that line. Only codes that are selected are
    checked, and ``# noqa`` comments naming other tools' codes are left alone.
    """

    CODE = "DF002"
    NAME = "unused-suppression"
    MESSAGE = "unused suppression"
    SEVERITY = "warning"
    VALID = [
        Valid(orchestrator_example(
            "now = datetime.datetime.now()  # noqa: DF101\nreturn now", "import datetime\n")),
        Valid(orchestrator_example("x = 1  # noqa: E501\nreturn x")),
    ]
    INVALID = [Invalid(orchestrator_example("x = 1  # noqa: DF101\nreturn x"))]
