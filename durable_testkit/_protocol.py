"""The out-of-process protocol of azure-functions-durable 1.x, as the host speaks it.

The numbers and shapes both sides of the protocol share: history event types,
action types, wire timestamps, entity ids. What depends on the Python SDK
itself (the context JSON it takes, the answer it gives, its payload codec)
lives in ``_sdk``, the adapter a 2.x SDK would replace. See docs/protocol.md
for each fact and its source.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any, Dict, Sequence, Tuple

from . import _fastjson

# pytest hides this module's frames in failure reports (--full-trace shows them):
# what the user needs is the line of their own code.
__tracebackhide__ = True

# EventType numbers (azure/durable_functions/models/history/HistoryEventType.py).
EXECUTION_STARTED = 0
EXECUTION_COMPLETED = 1
EXECUTION_FAILED = 2
EXECUTION_TERMINATED = 3
TASK_SCHEDULED = 4
TASK_COMPLETED = 5
TASK_FAILED = 6
SUB_ORCHESTRATION_CREATED = 7
SUB_ORCHESTRATION_COMPLETED = 8
SUB_ORCHESTRATION_FAILED = 9
TIMER_CREATED = 10
TIMER_FIRED = 11
ORCHESTRATOR_STARTED = 12
ORCHESTRATOR_COMPLETED = 13
EVENT_SENT = 14
EVENT_RAISED = 15
CONTINUE_AS_NEW = 16
GENERIC_EVENT = 17
HISTORY_STATE = 18
EXECUTION_SUSPENDED = 19
EXECUTION_RESUMED = 20

# ActionType numbers (azure/durable_functions/models/actions/ActionType.py).
CALL_ACTIVITY = 0
CALL_ACTIVITY_WITH_RETRY = 1
CALL_SUB_ORCHESTRATOR = 2
CALL_SUB_ORCHESTRATOR_WITH_RETRY = 3
ACTION_CONTINUE_AS_NEW = 4
CREATE_TIMER = 5
WAIT_FOR_EXTERNAL_EVENT = 6
CALL_ENTITY = 7
CALL_HTTP = 8
SIGNAL_ENTITY = 9
WHEN_ANY = 11
WHEN_ALL = 12

# The name the extension schedules call_http under (one activity, no 202 polling for Python).
HTTP_ACTIVITY_NAME = "BuiltIn::HttpActivity"

# The longest timer the extension creates in one piece (longer ones are chained).
MAX_SHORT_TIMER = timedelta(days=6)
_TS_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def format_timestamp(t: datetime) -> str:
    """Wire form of an instant: UTC, microseconds, literal Z (what the SDK itself writes)."""
    if t.tzinfo is not None:
        t = t.astimezone(timezone.utc).replace(tzinfo=None)
    if t.year >= 1000:  # isoformat pads the year to 4 digits, strftime's %Y does not
        return t.isoformat(timespec="microseconds") + "Z"  # same text, a few times faster
    return t.strftime(_TS_FORMAT)


def parse_timestamp(text: str) -> datetime:
    """Parse the wire timestamps we and .NET write (Z or offset, up to 7 fraction digits)."""
    if len(text) == 27 and text[26] == "Z" and text[19] == "." and text[10] == "T":
        try:  # the host's own shape (format_timestamp): the general path gives the same
            return datetime.fromisoformat(text[:26]).replace(tzinfo=timezone.utc)
        except ValueError:
            pass
    s = text.strip()
    if s.endswith("Z") or s.endswith("z"):
        s = s[:-1] + "+00:00"
    if "." in s:
        head, _, rest = s.partition(".")
        frac = ""
        i = 0
        while i < len(rest) and rest[i].isdigit():
            frac += rest[i]
            i += 1
        s = head + "." + (frac[:6].ljust(6, "0")) + rest[i:]
    t = datetime.fromisoformat(s)
    if t.tzinfo is None:
        t = t.replace(tzinfo=timezone.utc)
    return t.astimezone(timezone.utc)


def dumps_wire_many(events: Sequence[Dict[str, Any]]) -> str:
    """Serialize events as their comma-joined wire texts, in one encoder call.

    Equal to ``",".join(json.dumps(e, separators=(",", ":")) for e in events)``
    (compact separators put exactly one comma between list items), at about a third
    of the cost per event.
    """
    if not events:
        return ""
    return _fastjson.dumps_compact(events if isinstance(events, list) else list(events))[1:-1]


def entity_scheduler_id(name: str, key: str) -> str:
    """``@name@key`` with the name lower-cased, as df.EntityId and the extension write it."""
    return f"@{name.lower()}@{key}"


def split_scheduler_id(scheduler_id: str) -> Tuple[str, str]:
    """Inverse of :func:`entity_scheduler_id`."""
    if not scheduler_id.startswith("@") or scheduler_id.count("@") < 2:
        raise ValueError(f"not an entity id: {scheduler_id!r}")
    _, name, key = scheduler_id.split("@", 2)
    return name, key
