"""Instances a test leaves running or waiting: warn at teardown (or fail, or say nothing).

A plugin of its own (loaded through ``pytest_plugins`` in ``__init__``). In Azure an
orchestration the code under test started keeps running after the test's last line; a
test that never waits for it usually asserts on a state the app has not reached yet.
``durable_unfinished = warn | fail | ignore`` (ini, default ``warn``) decides what
``durable_runtime``'s teardown does about it; the message names each instance, its
orchestrator and what it waits for.
"""
from __future__ import annotations

import warnings
from typing import Any, List, Optional

import pytest

# pytest hides this module's frames in failure reports (--full-trace shows them):
# what the user needs is the line of their own code.
__tracebackhide__ = True

__all__ = ["DurableUnfinishedWarning", "INI_UNFINISHED", "check_unfinished",
           "unfinished_message"]

INI_UNFINISHED = "durable_unfinished"
_CHOICES = ("warn", "fail", "ignore")
_SHOWN = 10  # instances listed in one message


class DurableUnfinishedWarning(UserWarning):
    """A test left orchestration instances running or waiting."""


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini(INI_UNFINISHED, default="warn",
                  help="what durable_runtime's teardown does when the test left orchestration "
                       "instances running or waiting: warn (default), fail or ignore")


def _mode(config: pytest.Config) -> str:
    value = str(config.getini(INI_UNFINISHED) or "warn").strip().lower()
    if value not in _CHOICES:
        raise pytest.UsageError(
            f"durable_unfinished = {value!r} is not one of {', '.join(_CHOICES)}")
    return value


def _waits(rt: Any, instance_id: str) -> List[str]:
    ask = getattr(rt, "waiting_for", None)
    if callable(ask):
        return list(ask(instance_id))
    core = rt._core  # no public query yet (durable_testkit._host.scheduler.Scheduler)
    return list(core.waiting_for(core.instance(instance_id)))


def unfinished_message(rt: Any, nodeid: str) -> str:
    """The teardown text for ``rt``'s unfinished instances, or "" when there are none."""
    open_ones = []
    for iid in rt.instance_ids:
        status = rt.status(iid)
        if not status.is_terminal:
            open_ones.append((iid, status))
    if not open_ones:
        return ""
    lines = []
    for iid, status in open_ones[:_SHOWN]:
        waits = "; ".join(_waits(rt, iid)) or "nothing the host can see"
        lines.append(f"  - '{status.name}' [{iid}] {status.runtime_status.value}, "
                     f"waiting for: {waits}")
    if len(open_ones) > _SHOWN:
        lines.append(f"  - ... and {len(open_ones) - _SHOWN} more")
    return (f"{nodeid} left {len(open_ones)} orchestration instance(s) unfinished:\n"
            + "\n".join(lines) + "\nIn Azure they would go on running after the test's last "
            "line, so assertions may have seen a state the app had not reached yet. Wait for "
            "them (rt.wait(instance_id)), drive time (rt.advance(...)) or terminate them; set "
            "durable_unfinished = ignore in the ini file if that is intended, or = fail to "
            "make it fail the test.")


def check_unfinished(item: pytest.Item, rt: Any, test_failed: bool) -> Optional[str]:
    """Warn about instances ``rt`` still has running at teardown; with ``fail``, the
    text the test fails with (the caller fails it, with its other unmet expectations)."""
    mode = _mode(item.config)
    if mode == "ignore" or test_failed:  # a failed test has said what went wrong
        return None
    text = unfinished_message(rt, item.nodeid)
    if not text:
        return None
    if mode == "fail":
        return text
    warnings.warn(DurableUnfinishedWarning(text), stacklevel=2)
    return None
