"""The ``durable_faults`` marker: faults injected into ``durable_runtime``, checked at teardown.

``@pytest.mark.durable_faults(faults.crash_after_activity("charge"), ...)`` injects
each fault into the test's runtime before the test runs. A fault that never fired
fails the test at teardown, as pytest-httpx fails on a response nobody asked
for: the test meant to exercise that fault and did not (another path, a
misspelt name). ``@pytest.mark.durable_app(assert_all_faults_fired=False)`` opts out.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, List

import pytest

from durable_testkit.errors import UnknownFunctionError

from .options import MARKER as APP_MARKER

if TYPE_CHECKING:  # pragma: no cover - imported when a marker is read (it loads the SDK)
    from durable_testkit.faults import Fault

# pytest hides this module's frames in failure reports (--full-trace shows them):
# what the user needs is the line of their own code.
__tracebackhide__ = True

__all__ = ["MARKER", "pytest_configure", "marked_faults", "inject_marked_faults",
           "unfired_faults_message", "render_faults"]

MARKER = "durable_faults"

_MARKER_DOC = (
    "durable_faults(fault, ...): inject durable_testkit.faults faults (e.g. "
    "faults.crash_after_activity('charge')) into the durable_runtime fixture's runtime; a "
    "fault that never fired fails the test at teardown (opt out with "
    f"@pytest.mark.{APP_MARKER}(assert_all_faults_fired=False)). Markers on the test, its "
    "class and its module all apply.")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", _MARKER_DOC)


def marked_faults(item: pytest.Item) -> List[Fault]:
    """Fresh copies of the faults every ``durable_faults`` marker of the test names.

    Copies, because a class or module marker's fault objects are shared by its tests
    and a fault counts how often it fired.
    """
    found: List[Fault] = []
    for node, mark in item.iter_markers_with_node(MARKER):
        from durable_testkit.faults import Fault  # the test module has imported it already

        bad = [a for a in mark.args if not isinstance(a, Fault)]
        if bad or mark.kwargs or not mark.args:
            shown = ", ".join([repr(a) for a in mark.args]
                              + [f"{k}={v!r}" for k, v in mark.kwargs.items()])
            pytest.fail(f"@pytest.mark.{MARKER}({shown}) on {node.nodeid}: it takes one or "
                        "more faults built by durable_testkit.faults, e.g. "
                        f"@pytest.mark.{MARKER}(faults.crash_after_activity('charge')).",
                        pytrace=False)
        found.extend(a.fresh() for a in mark.args)
    return found


def inject_marked_faults(item: pytest.Item, rt: Any) -> None:
    # With a function app the names are known now; an empty runtime gets its functions
    # in the test body, so its faults' names can only be judged by whether they fire.
    known = rt.app is not None
    for fault in marked_faults(item):
        try:
            rt.inject(fault, check_name=known)
        except UnknownFunctionError as exc:
            pytest.fail(f"@pytest.mark.{MARKER}({fault.describe()}) on {item.nodeid}: {exc}",
                        pytrace=False)


def unfired_faults_message(unfired: List[Fault], nodeid: str) -> str:
    """The teardown failure for injected faults that never fired."""
    listed = ", ".join(f.describe() for f in unfired)
    one = len(unfired) == 1
    return (
        f"{nodeid}: {len(unfired)} injected fault{' was' if one else 's were'} never "
        f"fired: {listed}.\n"
        "A fault that never fires means the test did not exercise what it meant to: the "
        "orchestration took another path, ran fewer times than 'when' expects, or the name "
        "is misspelt (names are matched without regard to case).\n"
        "If the fault is deliberately optional, opt out for this test, class or module with "
        f"@pytest.mark.{APP_MARKER}(assert_all_faults_fired=False).")


def render_faults(rt: Any) -> List[str]:
    """Report lines: every fault injected into ``rt`` and how often it fired."""
    injected = getattr(rt, "faults", None) or []
    if not injected:
        return []
    lines = [f"faults injected ({len(injected)}):"]
    for fault in injected:
        lines.append(f"  {fault.describe()}: fired {fault.fired} of {fault.times}"
                     + ("" if fault.fired else " (never fired)"))
    return lines
