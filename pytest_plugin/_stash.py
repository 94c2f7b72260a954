"""What a test leaves on its item for the plugin's hooks: stash keys, no globals.

Everything lives on ``item.stash``, so parallel workers (pytest-xdist) and
nested pytester sessions share nothing.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List

import pytest

__all__ = ["Involved", "involved", "phase_failed", "did_not_pass", "record_report"]


@dataclass
class Involved:
    """The runtimes and scenarios a test used, in the order its fixtures made them."""

    runtimes: List[Any] = field(default_factory=list)
    scenarios: List[Any] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.runtimes or self.scenarios)


_INVOLVED = pytest.StashKey[Involved]()
_REPORTS = pytest.StashKey[Dict[str, pytest.TestReport]]()


def involved(item: pytest.Item) -> Involved:
    """The item's record, created on first use."""
    return item.stash.setdefault(_INVOLVED, Involved())


def record_report(item: pytest.Item, report: pytest.TestReport) -> None:
    """Keep each phase's report, so fixture teardown can see how the test went."""
    item.stash.setdefault(_REPORTS, {})[report.when] = report


def phase_failed(item: pytest.Item, when: str) -> bool:
    report = item.stash.get(_REPORTS, {}).get(when)
    return report is not None and report.failed


def did_not_pass(item: pytest.Item) -> bool:
    """The test failed, was skipped or xfailed, or its set-up failed: it has its outcome.

    Teardown checks (an unused mock, an unfired fault, unfinished instances) then stay
    quiet: blaming such a test again would report one test twice, or turn a skip into
    an error.
    """
    reports = item.stash.get(_REPORTS, {})
    return any(r.failed or r.skipped for r in (reports.get("setup"), reports.get("call"))
               if r is not None)
