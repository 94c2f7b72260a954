"""Failure reports: when a test that drove orchestrations fails, show what they did.

A ``pytest_runtest_makereport`` hookwrapper adds one report section, "durable-testkit
orchestrations", to a failed test's report: every instance the test's runtimes (and
scenarios) know, with status, output or error, and the current execution's history
as a timeline; a non-deterministic replay is marked at the diverging event. Sections
travel with the report, so pytest-xdist workers show them too. ``--show-capture=no``
hides them, like captured output.
"""
from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Generator, List, Optional, Sequence

import pytest

from ._stash import involved, record_report

if TYPE_CHECKING:  # pragma: no cover - imported when a report is rendered
    from pluggy import Result

    from durable_testkit.runtime import InMemoryRuntime

__all__ = ["SECTION_TITLE", "pytest_runtest_makereport", "render_runtime"]

SECTION_TITLE = "durable-testkit orchestrations"

#: Histories up to this many events are shown whole.
FULL_HISTORY = 40
#: Longer ones show this many events either side of the interesting one ...
AROUND = 8
#: ... or, with nothing to point at, the last this many events.
TAIL = 20
#: At most this many instances per runtime (sub-orchestrations add up).
MAX_INSTANCES = 10
_TEXT_WIDTH = 300
_INDENT = "    "


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]
                              ) -> Generator[None, Result[pytest.TestReport], None]:
    outcome = yield
    report: pytest.TestReport = outcome.get_result()
    record_report(item, report)
    if report.when != "call" or not report.failed:
        return
    record = involved(item)
    if not record:
        return
    try:
        text = render_involved(record.runtimes, record.scenarios)
    except Exception as exc:  # a report must never hide the failure it explains
        text = f"(durable-testkit could not render the orchestrations: {type(exc).__name__}: {exc})"
    report.sections.append((SECTION_TITLE, text))


def render_involved(runtimes: Sequence[Any], scenarios: Sequence[Any]) -> str:
    blocks: List[str] = []
    for number, rt in enumerate(runtimes, 1):
        label = "durable_runtime" if len(runtimes) == 1 else f"durable_runtime #{number}"
        blocks.append(render_runtime(rt, label))
    for number, scenario in enumerate(scenarios, 1):
        blocks.append(_render_scenario(scenario, f"orchestration_scenario #{number}"))
    return "\n\n".join(blocks)


def _render_scenario(scenario: Any, label: str) -> str:
    # Read through the scenario's public attributes only.
    history = scenario.history
    events = list(history.events)
    error = scenario.error
    status = ("Failed" if error else "Completed" if scenario.is_done
              else "Running" if events else "Pending")
    lines = [f"{label}: virtual time now {_time(scenario.now)}", ""]
    lines.extend(_render_instance(
        history.instance_id, history.orchestrator, status, scenario.output, error,
        scenario.custom_status, events, scenario.divergence))
    return "\n".join(lines)


def render_runtime(rt: InMemoryRuntime, label: str) -> str:
    """Every instance of one runtime, oldest first."""
    ids = rt.instance_ids
    count = f"{len(ids)} orchestration instance{'' if len(ids) == 1 else 's'}"
    lines = [f"{label}: {count}, virtual time now {_time(rt.now)}"]
    from .faults import render_faults  # a plugin pytest imports itself: see fixtures.py

    lines.extend("  " + line for line in render_faults(rt))
    if not ids:
        lines.append("  (no orchestration was started)")
    for iid in ids[:MAX_INSTANCES]:
        result = rt.status(iid)
        lines.append("")
        lines.extend(_render_instance(
            iid, result.name, result.runtime_status.value, result.output, result.error,
            result.custom_status, list(result.history.events), result.divergence))
    if len(ids) > MAX_INSTANCES:
        lines.append("")
        lines.append(f"... and {len(ids) - MAX_INSTANCES} more instances "
                     "(rt.instance_ids, rt.history(instance_id))")
    return "\n".join(lines)


def _render_instance(iid: str, name: str, status: str, output: Any, error: Optional[str],
                     custom_status: Any, events: List[Any], divergence: Any) -> List[str]:
    lines = [f"instance '{iid}' of orchestrator '{name}': {status}"]
    if error:
        # The first line is the reason; the rest (exception details) is in status().error.
        first, _, rest = error.partition("\n")
        more = f" (+{len(rest)} more characters)" if rest.strip() else ""
        lines.append("  error: " + _short(first.rstrip()) + more)
    elif status in ("Completed", "Terminated") or output is not None:
        lines.append("  output: " + _short(_json(output)))
    if custom_status is not None:
        lines.append("  custom status: " + _short(_json(custom_status)))

    mark: Optional[int] = None
    marks = ""
    if divergence is not None:
        mark = divergence.event_index
        marks = ", '>' marks where replay diverged"
        lines.append(f"  non-determinism at history event {divergence.event_index}:")
        lines.append(f"    expected (history): {divergence.expected}")
        lines.append(f"    actual (code):      {divergence.actual}")
    elif status == "Failed":
        mark = _last_failed_task(events)
        if mark is not None:
            marks = ", '>' marks the last failed task"
    lines.append(f"  history of the current execution ({len(events)} events{marks}):")
    lines.extend(_INDENT + line for line in _timeline(events, mark).splitlines())
    return lines


def _timeline(events: Sequence[Any], mark: Optional[int]) -> str:
    from durable_testkit.history import render_event, render_timeline

    if len(events) <= FULL_HISTORY:
        return render_timeline(events, mark=mark)
    if mark is not None and 0 <= mark < len(events):
        return render_timeline(events, mark=mark, around=AROUND)
    start = len(events) - TAIL
    head = f"     ... {start} earlier events"
    return "\n".join([head] + ["  " + render_event(e, i)
                               for i, e in enumerate(events) if i >= start])


def _last_failed_task(events: Sequence[Any]) -> Optional[int]:
    failed = {"TaskFailed", "SubOrchestrationInstanceFailed"}
    for index in range(len(events) - 1, -1, -1):
        if getattr(events[index].event_type, "name", None) in failed:
            return index
    return None


def _json(value: Any) -> str:
    try:
        return json.dumps(value, ensure_ascii=False, default=repr)
    except (TypeError, ValueError):
        return repr(value)


def _short(text: str) -> str:
    return text if len(text) <= _TEXT_WIDTH else text[: _TEXT_WIDTH - 3] + "..."


def _time(value: Any) -> str:
    text: str = value.isoformat()
    return text.replace("+00:00", "Z")
