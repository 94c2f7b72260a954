"""Orchestration history: a typed view of the wire events, a file format, a rendering.

The in-memory host keeps histories as *wire dicts*, the PascalCase JSON objects
the Durable extension sends the SDK. This module gives those dicts a typed,
immutable face without losing anything: unknown keys, key order and the exact
timestamp text all survive ``event_from_wire`` -> ``to_wire``, so a history
exported from production can be loaded, inspected and written back unchanged.

The file format is described in ``docs/history-format.md``.
"""
from __future__ import annotations

import dataclasses
import enum
import json
import os
import re
import stat
import sys
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from types import MappingProxyType
from typing import (
    TYPE_CHECKING,
    Any,
    ClassVar,
    Dict,
    FrozenSet,
    Iterable,
    List,
    Mapping,
    NamedTuple,
    Optional,
    Sequence,
    Tuple,
    Type,
    Union,
)

from ._files import DEFAULT_MAX_BYTES, parse_json_text, read_user_file
from .errors import HistoryFormatError

__all__ = [
    "EventType",
    "HistoryEvent",
    "ExecutionStarted",
    "ExecutionCompleted",
    "ExecutionTerminated",
    "TaskScheduled",
    "TaskCompleted",
    "TaskFailed",
    "SubOrchestrationInstanceCreated",
    "SubOrchestrationInstanceCompleted",
    "SubOrchestrationInstanceFailed",
    "TimerCreated",
    "TimerFired",
    "OrchestratorStarted",
    "OrchestratorCompleted",
    "EventSent",
    "EventRaised",
    "ContinueAsNew",
    "ExecutionSuspended",
    "ExecutionResumed",
    "OtherEvent",
    "event_from_wire",
    "events_from_wire",
    "events_to_wire",
    "InstanceHistory",
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "SUPPORTED_FORMAT_VERSIONS",
    "load_history",
    "save_history",
    "render_event",
    "render_timeline",
]

FORMAT_NAME = "durable-testkit/history"

#: Said when a file is a production export rather than a history: how to turn it into one.
_IMPORT_HINT = ("A production export (the status API's response, History table rows, "
               "func durable get-history, a durabletask export) is imported first: "
               "durable-testkit import FILE --out DIR (or "
               "durable_testkit.importers.import_history)")
FORMAT_VERSION = 1
SUPPORTED_FORMAT_VERSIONS: Tuple[int, ...] = (1,)

WireEvent = Mapping[str, Any]
EventLike = Union["HistoryEvent", Mapping[str, Any]]


class EventType(enum.IntEnum):
    """The ``EventType`` numbers on the wire.

    Mirrors ``azure/durable_functions/models/history/HistoryEventType.py``
    (SDK 1.7.0), which mirrors DurableTask.Core. Names are PascalCase like the
    wire and the .NET enum, so they match what users see in Azure Storage.
    """

    ExecutionStarted = 0
    ExecutionCompleted = 1
    ExecutionFailed = 2
    ExecutionTerminated = 3
    TaskScheduled = 4
    TaskCompleted = 5
    TaskFailed = 6
    SubOrchestrationInstanceCreated = 7
    SubOrchestrationInstanceCompleted = 8
    SubOrchestrationInstanceFailed = 9
    TimerCreated = 10
    TimerFired = 11
    OrchestratorStarted = 12
    OrchestratorCompleted = 13
    EventSent = 14
    EventRaised = 15
    ContinueAsNew = 16
    GenericEvent = 17
    HistoryState = 18
    ExecutionSuspended = 19
    ExecutionResumed = 20


# DurableTask.Core OrchestrationStatus, as ExecutionCompleted.OrchestrationStatus carries it.
_ORCHESTRATION_STATUS = {0: "Running", 1: "Completed", 2: "ContinuedAsNew", 3: "Failed",
                         4: "Canceled", 5: "Terminated", 6: "Pending", 7: "Suspended"}

# --------------------------------------------------------------------------- timestamps

_TIME_RE = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,7}))?"
    r"(Z|[+-]\d{2}:\d{2})$")


def _parse_time(text: Any) -> datetime:
    """Parse a wire timestamp as the extension (.NET) or the SDK writes it; UTC, tz-aware."""
    if not isinstance(text, str):
        raise ValueError(f"must be a string like '2024-01-01T00:00:00.000000Z', "
                         f"got {type(text).__name__} {text!r}")
    m = _TIME_RE.match(text)
    if m is None:
        hint = ""
        if re.match(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?$", text):
            hint = (" It has no UTC offset: the extension always writes 'Z', and the SDK "
                    "would compare it with aware datetimes and fail.")
        raise ValueError(f"{text!r} is not an ISO 8601 UTC time like "
                         f"'2024-01-01T00:00:00.000000Z'.{hint}")
    year, month, day, hour, minute, second, frac, zone = m.groups()
    # .NET writes up to 7 fractional digits (100 ns ticks); Python keeps microseconds.
    micros = int((frac or "0").ljust(6, "0")[:6])
    try:
        if zone == "Z":
            tz = timezone.utc
        else:
            sign = 1 if zone[0] == "+" else -1
            tz = timezone(sign * timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6])))
        value = datetime(int(year), int(month), int(day), int(hour), int(minute),
                         int(second), micros, tzinfo=tz)
    except ValueError as exc:
        raise ValueError(f"{text!r} is not a valid time: {exc}") from None
    try:
        return value.astimezone(timezone.utc)
    except OverflowError:
        # e.g. 0001-01-01T00:00:00+14:00: a valid local time whose UTC instant is before
        # year 1, which no Python datetime (and so no SDK history) can hold.
        raise ValueError(f"{text!r} is outside what a Python datetime can hold in UTC "
                         "(0001-01-01 to 9999-12-31)") from None


def _format_time(value: datetime) -> str:
    """Write a time exactly as the SDK writes ``fireAt``: ``%Y-%m-%dT%H:%M:%S.%fZ`` in UTC."""
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _to_utc(value: datetime, what: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware (UTC): the SDK compares history "
                         f"times with aware datetimes. Got naive {value!r}.")
    return value.astimezone(timezone.utc)


# --------------------------------------------------------------------------- wire fields

@dataclass(frozen=True)
class _Field:
    """How one modelled wire key maps to one attribute."""

    key: str
    attr: str
    kind: str  # "text" | "payload" | "int" | "time" | "object" | "any"
    required: bool = False


_BASE_KEYS = ("EventType", "EventId", "IsPlayed", "Timestamp")


def _check_kind(f: _Field, value: Any) -> Any:
    """Validate one wire value and return the attribute value; raise ValueError if wrong."""
    if value is None or f.kind == "any":
        return value
    if f.kind == "time":
        return _parse_time(value)
    if f.kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"{f.key} must be an int, got {type(value).__name__} {value!r}")
        return value
    if f.kind in ("text", "payload"):
        if not isinstance(value, str):
            what = "JSON text (a str) or null" if f.kind == "payload" else "a string or null"
            raise ValueError(f"{f.key} must be {what}, got {type(value).__name__} "
                             f"{_short(repr(value))}")
        return value
    if f.kind == "object":
        if not isinstance(value, Mapping):
            raise ValueError(f"{f.key} must be a JSON object or null, got "
                             f"{type(value).__name__} {_short(repr(value))}")
        return MappingProxyType(dict(value))
    raise AssertionError(f.kind)  # pragma: no cover


def _wire_value(f: _Field, value: Any) -> Any:
    if value is None:
        return None
    if f.kind == "time":
        return _format_time(value)
    if f.kind == "object":
        return _thaw(value)
    return value


def _thaw(value: Any) -> Any:
    """Turn read-only mappings back into plain dicts for JSON."""
    if isinstance(value, Mapping):
        return {k: _thaw(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_thaw(v) for v in value]
    return value


# --------------------------------------------------------------------------- events

@dataclass(frozen=True)
class HistoryEvent:
    """One history event, immutable, with the wire keys it does not model kept in ``extra``.

    Construct subclasses with keyword arguments. Equality compares values, not
    the exact wire text an event was parsed from (timestamp spelling, key
    order, absent-versus-null keys); ``to_wire`` still reproduces that text.

    Attributes:
        event_id: ``EventId``; the sequence number for scheduling events, -1 otherwise.
        timestamp: ``Timestamp``, tz-aware UTC.
        is_played: ``IsPlayed``; true for events of earlier episodes.
        extra: wire keys this class does not model, kept so nothing is lost.
    """

    event_id: int
    timestamp: datetime
    is_played: bool = False
    extra: Mapping[str, Any] = field(default_factory=dict, hash=False)
    _source: Optional[Mapping[str, Any]] = field(
        default=None, compare=False, hash=False, repr=False)

    EVENT_TYPE: ClassVar[int] = -1
    FIELDS: ClassVar[Tuple[_Field, ...]] = ()
    PAYLOAD: ClassVar[Optional[str]] = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "timestamp", _to_utc(self.timestamp, "timestamp"))
        object.__setattr__(self, "extra", MappingProxyType(dict(self.extra)))
        for f in self.FIELDS:
            value = getattr(self, f.attr)
            if f.kind == "time" and value is not None:
                object.__setattr__(self, f.attr, _to_utc(value, f.attr))
            elif f.kind == "object" and value is not None:
                object.__setattr__(self, f.attr, MappingProxyType(dict(value)))

    @property
    def event_type(self) -> Union[EventType, int]:
        """The ``EventType`` number, as an ``EventType`` member when the SDK knows it."""
        return _as_event_type(self.EVENT_TYPE)

    @classmethod
    def wire_keys(cls) -> Tuple[str, ...]:
        """The wire keys this class models, base keys first; why ``extra`` holds the rest."""
        return _BASE_KEYS + tuple(f.key for f in cls.FIELDS)

    @property
    def payload(self) -> Any:
        """The event's ``Input`` or ``Result`` decoded with plain ``json.loads``.

        No custom-class decoding (``to_json``/``from_json`` objects stay dicts),
        so reading a history never runs user code. ``None`` when the event has
        no payload. Raises ``json.JSONDecodeError`` if the text is not JSON.
        """
        if self.PAYLOAD is None:
            return None
        text = getattr(self, self.PAYLOAD)
        return None if text is None else json.loads(text)

    def _wire_type(self) -> int:
        return int(self.EVENT_TYPE)

    def to_wire(self) -> Dict[str, Any]:
        """The wire dict the SDK would receive; the exact inverse of ``event_from_wire``."""
        fresh: Dict[str, Any] = {
            "EventType": self._wire_type(),
            "EventId": self.event_id,
            "IsPlayed": self.is_played,
            "Timestamp": _format_time(self.timestamp),
        }
        for f in self.FIELDS:
            fresh[f.key] = _wire_value(f, getattr(self, f.attr))
        for k, v in self.extra.items():
            fresh.setdefault(k, _thaw(v))
        src = self._source
        if src is None:
            return fresh
        # Reuse the parsed text wherever the value is unchanged, so that key order,
        # .NET timestamp spellings and absent keys survive a round trip.
        out: Dict[str, Any] = {}
        for k, v in src.items():
            if k in fresh:
                out[k] = v if _same_wire_value(self, k, v) else fresh[k]
        modelled = {f.key for f in self.FIELDS}
        for k, v in fresh.items():
            if k not in out and not (k in modelled and v is None):
                out[k] = v
        return out


def _same_wire_value(event: HistoryEvent, key: str, src_value: Any) -> bool:
    """Whether the original wire value still decodes to the event's current value."""
    if key == "Timestamp":
        return isinstance(src_value, str) and _safe_time(src_value) == event.timestamp
    if key in ("EventType", "EventId", "IsPlayed"):
        current = {"EventType": event._wire_type(), "EventId": event.event_id,
                   "IsPlayed": event.is_played}[key]
        return type(src_value) is type(current) and bool(src_value == current)
    if key == "OrchestrationInstance" and isinstance(event, ExecutionStarted):
        oi = src_value if isinstance(src_value, Mapping) else {}
        return (src_value is None or isinstance(src_value, Mapping)) and (
            oi.get("InstanceId"), oi.get("ExecutionId")) == (event.instance_id,
                                                             event.execution_id)
    for f in event.FIELDS:
        if f.key == key:
            current = getattr(event, f.attr)
            if f.kind == "time":
                return (current is None and src_value is None) or (
                    isinstance(src_value, str) and _safe_time(src_value) == current)
            return bool(_thaw(current) == src_value)
    return bool(key in event.extra and _thaw(event.extra[key]) == src_value)


def _safe_time(text: str) -> Optional[datetime]:
    try:
        return _parse_time(text)
    except ValueError:
        return None


def _as_event_type(number: int) -> Union[EventType, int]:
    try:
        return EventType(number)
    except ValueError:
        return number


def _payload(key: str, attr: str, required: bool = False) -> _Field:
    return _Field(key, attr, "payload", required)


@dataclass(frozen=True)
class ExecutionStarted(HistoryEvent):
    """An execution began; carries the orchestration input and, for the SDK, ``Version``.

    The SDK (1.3+) crashes if the ``Version`` key is missing, so it is required
    on the wire even though null is fine.
    """

    name: Optional[str] = None
    input: Optional[str] = None
    instance_id: Optional[str] = None
    execution_id: Optional[str] = None
    parent_instance: Optional[Mapping[str, Any]] = field(default=None, hash=False)
    version: Optional[str] = None

    EVENT_TYPE: ClassVar[int] = EventType.ExecutionStarted
    FIELDS: ClassVar[Tuple[_Field, ...]] = (
        _Field("OrchestrationInstance", "_orchestration_instance", "any"),
        _Field("ParentInstance", "parent_instance", "object"),
        _Field("Name", "name", "text"),
        _Field("Version", "version", "text", required=True),
        _payload("Input", "input"),
    )
    PAYLOAD: ClassVar[Optional[str]] = "input"

    @property
    def _orchestration_instance(self) -> Optional[Dict[str, Any]]:
        if self.instance_id is None and self.execution_id is None:
            return None
        return {"InstanceId": self.instance_id, "ExecutionId": self.execution_id}


@dataclass(frozen=True)
class ExecutionCompleted(HistoryEvent):
    """The execution ended; ``orchestration_status`` is DurableTask's OrchestrationStatus number."""

    orchestration_status: Optional[int] = None
    result: Optional[str] = None
    failure_details: Optional[Mapping[str, Any]] = field(default=None, hash=False)

    EVENT_TYPE: ClassVar[int] = EventType.ExecutionCompleted
    FIELDS: ClassVar[Tuple[_Field, ...]] = (
        _Field("OrchestrationStatus", "orchestration_status", "int"),
        _payload("Result", "result"),
        _Field("FailureDetails", "failure_details", "object"),
    )
    PAYLOAD: ClassVar[Optional[str]] = "result"


@dataclass(frozen=True)
class ExecutionTerminated(HistoryEvent):
    """The instance was terminated; ``input`` is the reason, as JSON text."""

    input: Optional[str] = None

    EVENT_TYPE: ClassVar[int] = EventType.ExecutionTerminated
    FIELDS: ClassVar[Tuple[_Field, ...]] = (_payload("Input", "input"),)
    PAYLOAD: ClassVar[Optional[str]] = "input"


@dataclass(frozen=True)
class TaskScheduled(HistoryEvent):
    """An activity was scheduled; ``event_id`` is the SDK's sequence number for it."""

    name: Optional[str] = None
    input: Optional[str] = None
    version: Optional[str] = None

    EVENT_TYPE: ClassVar[int] = EventType.TaskScheduled
    FIELDS: ClassVar[Tuple[_Field, ...]] = (
        _Field("Name", "name", "text"),
        _Field("Version", "version", "text"),
        _payload("Input", "input"),
    )
    PAYLOAD: ClassVar[Optional[str]] = "input"


@dataclass(frozen=True)
class TaskCompleted(HistoryEvent):
    """An activity returned; the SDK resolves the task numbered ``task_scheduled_id``."""

    task_scheduled_id: Optional[int] = None
    result: Optional[str] = None

    EVENT_TYPE: ClassVar[int] = EventType.TaskCompleted
    FIELDS: ClassVar[Tuple[_Field, ...]] = (
        _Field("TaskScheduledId", "task_scheduled_id", "int"),
        _payload("Result", "result", required=True),
    )
    PAYLOAD: ClassVar[Optional[str]] = "result"


@dataclass(frozen=True)
class TaskFailed(HistoryEvent):
    """An activity raised; user code sees ``Exception(f"{reason} \\n {details}")``."""

    task_scheduled_id: Optional[int] = None
    reason: Optional[str] = None
    details: Optional[str] = None

    EVENT_TYPE: ClassVar[int] = EventType.TaskFailed
    FIELDS: ClassVar[Tuple[_Field, ...]] = (
        _Field("TaskScheduledId", "task_scheduled_id", "int"),
        _Field("Reason", "reason", "text"),
        _Field("Details", "details", "text"),
    )


@dataclass(frozen=True)
class SubOrchestrationInstanceCreated(HistoryEvent):
    """A sub-orchestration was started; ``event_id`` is its sequence number."""

    name: Optional[str] = None
    instance_id: Optional[str] = None
    input: Optional[str] = None
    version: Optional[str] = None

    EVENT_TYPE: ClassVar[int] = EventType.SubOrchestrationInstanceCreated
    FIELDS: ClassVar[Tuple[_Field, ...]] = (
        _Field("Name", "name", "text"),
        _Field("Version", "version", "text"),
        _Field("InstanceId", "instance_id", "text"),
        _payload("Input", "input"),
    )
    PAYLOAD: ClassVar[Optional[str]] = "input"


@dataclass(frozen=True)
class SubOrchestrationInstanceCompleted(HistoryEvent):
    """A sub-orchestration finished; ``result`` is the JSON of its output."""

    task_scheduled_id: Optional[int] = None
    result: Optional[str] = None

    EVENT_TYPE: ClassVar[int] = EventType.SubOrchestrationInstanceCompleted
    FIELDS: ClassVar[Tuple[_Field, ...]] = (
        _Field("TaskScheduledId", "task_scheduled_id", "int"),
        _payload("Result", "result", required=True),
    )
    PAYLOAD: ClassVar[Optional[str]] = "result"


@dataclass(frozen=True)
class SubOrchestrationInstanceFailed(HistoryEvent):
    """A sub-orchestration failed; the parent sees ``Exception(f"{reason} \\n {details}")``."""

    task_scheduled_id: Optional[int] = None
    reason: Optional[str] = None
    details: Optional[str] = None

    EVENT_TYPE: ClassVar[int] = EventType.SubOrchestrationInstanceFailed
    FIELDS: ClassVar[Tuple[_Field, ...]] = (
        _Field("TaskScheduledId", "task_scheduled_id", "int"),
        _Field("Reason", "reason", "text"),
        _Field("Details", "details", "text"),
    )


@dataclass(frozen=True)
class TimerCreated(HistoryEvent):
    """A durable timer was created; ``event_id`` is its sequence number."""

    fire_at: Optional[datetime] = None

    EVENT_TYPE: ClassVar[int] = EventType.TimerCreated
    FIELDS: ClassVar[Tuple[_Field, ...]] = (_Field("FireAt", "fire_at", "time"),)


@dataclass(frozen=True)
class TimerFired(HistoryEvent):
    """A timer fired; the SDK resolves the timer numbered ``timer_id``."""

    timer_id: Optional[int] = None
    fire_at: Optional[datetime] = None

    EVENT_TYPE: ClassVar[int] = EventType.TimerFired
    FIELDS: ClassVar[Tuple[_Field, ...]] = (
        _Field("FireAt", "fire_at", "time"),
        _Field("TimerId", "timer_id", "int", required=True),
    )


@dataclass(frozen=True)
class OrchestratorStarted(HistoryEvent):
    """An episode began; its timestamp drives ``context.current_utc_datetime``."""

    EVENT_TYPE: ClassVar[int] = EventType.OrchestratorStarted


@dataclass(frozen=True)
class OrchestratorCompleted(HistoryEvent):
    """An episode ended."""

    EVENT_TYPE: ClassVar[int] = EventType.OrchestratorCompleted


@dataclass(frozen=True)
class EventSent(HistoryEvent):
    """A message to another instance (entity call or signal); the SDK needs ``Input``."""

    instance_id: Optional[str] = None
    name: Optional[str] = None
    input: Optional[str] = None

    EVENT_TYPE: ClassVar[int] = EventType.EventSent
    FIELDS: ClassVar[Tuple[_Field, ...]] = (
        _Field("InstanceId", "instance_id", "text"),
        _Field("Name", "name", "text"),
        _payload("Input", "input", required=True),
    )
    PAYLOAD: ClassVar[Optional[str]] = "input"


@dataclass(frozen=True)
class EventRaised(HistoryEvent):
    """An external event arrived; the SDK matches ``name`` case-sensitively.

    Through the real host ``input`` is one JSON level too encoded (SDK issue
    #295), so ``payload`` may itself be JSON text.
    """

    name: Optional[str] = None
    input: Optional[str] = None

    EVENT_TYPE: ClassVar[int] = EventType.EventRaised
    FIELDS: ClassVar[Tuple[_Field, ...]] = (
        _Field("Name", "name", "text"),
        _payload("Input", "input"),
    )
    PAYLOAD: ClassVar[Optional[str]] = "input"


@dataclass(frozen=True)
class ContinueAsNew(HistoryEvent):
    """The execution restarted with ``input``; sequence numbers start again at 0."""

    input: Optional[str] = None

    EVENT_TYPE: ClassVar[int] = EventType.ContinueAsNew
    FIELDS: ClassVar[Tuple[_Field, ...]] = (_payload("Input", "input"),)
    PAYLOAD: ClassVar[Optional[str]] = "input"


@dataclass(frozen=True)
class ExecutionSuspended(HistoryEvent):
    """The instance was suspended; events arriving now wait for ``ExecutionResumed``."""

    reason: Optional[str] = None

    EVENT_TYPE: ClassVar[int] = EventType.ExecutionSuspended
    FIELDS: ClassVar[Tuple[_Field, ...]] = (_Field("Reason", "reason", "text"),)


@dataclass(frozen=True)
class ExecutionResumed(HistoryEvent):
    """The instance was resumed."""

    reason: Optional[str] = None

    EVENT_TYPE: ClassVar[int] = EventType.ExecutionResumed
    FIELDS: ClassVar[Tuple[_Field, ...]] = (_Field("Reason", "reason", "text"),)


@dataclass(frozen=True)
class OtherEvent(HistoryEvent):
    """Any other ``EventType`` (ExecutionFailed, GenericEvent, HistoryState, or a newer one).

    The SDK ignores these; they are kept, all keys in ``extra``, so that a
    production history round-trips.
    """

    type_code: int = -1

    @property
    def event_type(self) -> Union[EventType, int]:
        """The ``EventType`` number, as an ``EventType`` member when the SDK knows it."""
        return _as_event_type(self.type_code)

    def _wire_type(self) -> int:
        return self.type_code


_CLASSES: Dict[int, Type[HistoryEvent]] = {
    int(cls.EVENT_TYPE): cls
    for cls in (ExecutionStarted, ExecutionCompleted, ExecutionTerminated, TaskScheduled,
                TaskCompleted, TaskFailed, SubOrchestrationInstanceCreated,
                SubOrchestrationInstanceCompleted, SubOrchestrationInstanceFailed,
                TimerCreated, TimerFired, OrchestratorStarted, OrchestratorCompleted,
                EventSent, EventRaised, ContinueAsNew, ExecutionSuspended, ExecutionResumed)
}


# --------------------------------------------------------------------------- parsing

def _parse_event(d: Any, index: Optional[int], path: Optional[str]) -> HistoryEvent:
    if type(d) is dict:
        event = _parse_fast(d, False)
        if event is not None:
            return event
    try:
        return _parse_event_checked(d, index, path)
    except RecursionError:
        raise HistoryFormatError(
            f"a value is nested too deeply to process (over about {sys.getrecursionlimit()} "
            "levels)", path=path, event_index=index) from None


def _parse_event_checked(d: Any, index: Optional[int], path: Optional[str]) -> HistoryEvent:
    def fail(problem: str) -> HistoryFormatError:
        return HistoryFormatError(problem, path=path, event_index=index)

    if not isinstance(d, Mapping):
        raise fail(f"expected a JSON object (a wire event), got {type(d).__name__} "
                   f"{_short(repr(d))}")
    if "EventType" not in d:
        raise fail("missing EventType; every wire event needs an int EventType "
                   f"(keys present: {_short(', '.join(map(str, d)), 200) or 'none'})")
    raw_type = d["EventType"]
    if isinstance(raw_type, bool) or not isinstance(raw_type, int):
        hint = ""
        if isinstance(raw_type, str) and raw_type in EventType.__members__:
            hint = (f" ({raw_type} is {EventType[raw_type].value}). Status-API and table "
                    "exports name event types as strings; the SDK only accepts numbers. "
                    f"{_IMPORT_HINT}")
        raise fail(f"EventType must be an int, got {type(raw_type).__name__} "
                   f"{raw_type!r}{hint}")
    cls = _CLASSES.get(raw_type, OtherEvent)
    name = _as_event_type(raw_type)
    label = name.name if isinstance(name, EventType) else f"EventType {raw_type}"
    for key in _BASE_KEYS[1:]:
        if key not in d:
            raise fail(f"{label} is missing {key}; the SDK requires EventType, EventId, "
                       "IsPlayed and Timestamp on every event")
    event_id = d["EventId"]
    if isinstance(event_id, bool) or not isinstance(event_id, int):
        raise fail(f"{label}: EventId must be an int, got {event_id!r}")
    is_played = d["IsPlayed"]
    if not isinstance(is_played, bool):
        raise fail(f"{label}: IsPlayed must be true or false, got {is_played!r}")
    try:
        timestamp = _parse_time(d["Timestamp"])
    except ValueError as exc:
        raise fail(f"{label}: bad Timestamp: {exc}") from None

    kwargs: Dict[str, Any] = {}
    for f in cls.FIELDS:
        if f.key not in d:
            if f.required:
                raise fail(_missing_message(label, f.key))
            continue
        value = d[f.key]
        if f.key == "OrchestrationInstance":
            if value is not None and not isinstance(value, Mapping):
                raise fail(f"{label}: OrchestrationInstance must be an object with "
                           f"InstanceId and ExecutionId, got {_short(repr(value))}")
            oi = value or {}
            for sub, attr in (("InstanceId", "instance_id"), ("ExecutionId", "execution_id")):
                sub_value = oi.get(sub)
                if sub_value is not None and not isinstance(sub_value, str):
                    raise fail(f"{label}: OrchestrationInstance.{sub} must be a string, "
                               f"got {sub_value!r}")
                kwargs[attr] = sub_value
            continue
        try:
            kwargs[f.attr] = _check_kind(f, value)
        except ValueError as exc:
            raise fail(f"{label}: {exc}") from None
    known = set(cls.wire_keys())
    extra = {k: v for k, v in d.items() if k not in known}
    if cls is OtherEvent:
        kwargs["type_code"] = raw_type
    return cls(event_id=event_id, timestamp=timestamp, is_played=is_played, extra=extra,
               _source=MappingProxyType(dict(d)), **kwargs)


_MISSING_WHY = {
    "Version": "the SDK (1.3+) reads it for context.version and crashes without it; "
               "null is fine",
    "Result": "the SDK reads it to resolve the task and crashes without it; use \"null\" "
              "text for None",
    "TimerId": "the SDK resolves timers by TimerId and crashes without it",
    "Input": "the SDK reads it for entity calls and crashes without it",
}


def _missing_message(label: str, key: str) -> str:
    return f"{label} is missing {key}: {_MISSING_WHY[key]}"


# ------------------------------------------------------------------ the fast path
# Typing a long history one checked event at a time (error texts prepared, the event
# copied twice, a dataclass __init__ and __post_init__ validating again) took longer than
# running the orchestration that made it: a 10,000-activity fan-out's rt.history() was
# about half of its test. The fast path checks the same things with plain type tests and
# builds the frozen event directly; whatever it is unsure of (a missing or odd key, a
# subclass of str or int, a time that does not parse) goes to the checked path, which
# decides and words the error. So it only ever returns what the checked path returns.

# HistoryEvent fields the parse sets itself; the rest start at their class defaults.
_PARSED = frozenset(("event_id", "timestamp", "is_played", "extra", "_source"))
_EMPTY: Mapping[str, Any] = MappingProxyType({})


class _Plan(NamedTuple):
    """How to type one event class's wire dicts without the checked path."""

    cls: Type[HistoryEvent]
    required: Tuple[str, ...]  # wire keys that must be present (null is fine)
    # (wire key, attribute) per kind of value: str, int, time text, object.
    texts: Tuple[Tuple[str, str], ...]
    ints: Tuple[Tuple[str, str], ...]
    times: Tuple[Tuple[str, str], ...]
    objects: Tuple[Tuple[str, str], ...]
    instance: bool  # OrchestrationInstance: its ids become instance_id and execution_id
    known: FrozenSet[str]  # the wire keys the class models; the others go to ``extra``
    defaults: Dict[str, Any]


def _plan(cls: Type[HistoryEvent]) -> _Plan:
    def of(*kinds: str) -> Tuple[Tuple[str, str], ...]:
        return tuple((f.key, f.attr) for f in cls.FIELDS
                     if f.kind in kinds and f.key != "OrchestrationInstance")

    defaults = {}
    for f in dataclasses.fields(cls):
        if f.name not in _PARSED:
            assert f.default is not dataclasses.MISSING, (cls, f.name)
            defaults[f.name] = f.default
    modelled = {f.key for f in cls.FIELDS}
    assert modelled - {"OrchestrationInstance"} == {k for k, _ in of("text", "payload", "int",
                                                                     "time", "object")}
    return _Plan(cls, tuple(f.key for f in cls.FIELDS if f.required), of("text", "payload"),
                 of("int"), of("time"), of("object"), "OrchestrationInstance" in modelled,
                 frozenset(cls.wire_keys()), defaults)


_PLANS: Dict[int, _Plan] = {code: _plan(cls) for code, cls in _CLASSES.items()}
_OTHER_PLAN = _plan(OtherEvent)

# Timestamps repeat (a virtual clock stands still while a fan-out is scheduled): parse
# each text once. Bounded; datetimes are immutable, so events may share them.
_TIMES: Dict[str, datetime] = {}
_TIMES_MAX = 4096


def _time(text: str) -> datetime:
    value = _TIMES.get(text)
    if value is None:
        value = _parse_time(text)
        if len(_TIMES) >= _TIMES_MAX:
            _TIMES.clear()
        _TIMES[text] = value
    return value


def _parse_fast(d: Dict[str, Any], owned: bool) -> Optional[HistoryEvent]:
    """``d`` typed as the checked path would type it, or None to let that path decide.

    ``owned``: ``d`` is the caller's to give away (a fresh copy), kept as the
    event's source instead of copied again.
    """
    raw_type, event_id = d.get("EventType"), d.get("EventId")
    played, stamp = d.get("IsPlayed"), d.get("Timestamp")
    if type(raw_type) is not int or type(event_id) is not int or type(stamp) is not str \
            or (played is not True and played is not False):
        return None
    plan = _PLANS.get(raw_type, _OTHER_PLAN)
    for key in plan.required:
        if key not in d:
            return None
    values = plan.defaults.copy()
    # A null value keeps the attribute's default (None), as on the checked path.
    for fields, kind in ((plan.texts, str), (plan.ints, int)):
        for key, attr in fields:
            value = d.get(key)
            if value is not None:
                if type(value) is not kind:
                    return None
                values[attr] = value
    try:
        values["timestamp"] = _TIMES.get(stamp) or _time(stamp)
        for key, attr in plan.times:
            value = d.get(key)
            if value is not None:
                if type(value) is not str:
                    return None
                values[attr] = _TIMES.get(value) or _time(value)
    except ValueError:
        return None  # a time that does not parse: the checked path says why
    for key, attr in plan.objects:
        value = d.get(key)
        if value is not None:
            if type(value) is not dict:
                return None
            values[attr] = MappingProxyType(dict(value))
    if plan.instance:
        value = d.get("OrchestrationInstance")
        if value is not None:
            if type(value) is not dict:
                return None
            iid, eid = value.get("InstanceId"), value.get("ExecutionId")
            if (iid is not None and type(iid) is not str) or \
                    (eid is not None and type(eid) is not str):
                return None
            values["instance_id"], values["execution_id"] = iid, eid
    known = plan.known
    values["extra"] = _EMPTY if known.issuperset(d) else MappingProxyType(
        {k: v for k, v in d.items() if k not in known})
    if plan is _OTHER_PLAN:
        values["type_code"] = raw_type
    values["event_id"] = event_id
    values["is_played"] = played
    values["_source"] = MappingProxyType(d if owned else dict(d))
    event = _new(plan.cls)
    event.__dict__.update(values)  # frozen: no __setattr__; what __init__ would store
    return event


_new = object.__new__


def _played_events(events: Iterable[Mapping[str, Any]]) -> Tuple[HistoryEvent, ...]:
    """Host-made wire events typed as an export shows them: every one marked played.

    The host's events are valid, so nearly all take the fast path; one that is
    not is reported by the checked path, naming its index.
    """
    out: List[HistoryEvent] = []
    append = out.append
    for i, e in enumerate(events):
        own = dict(e)
        own["IsPlayed"] = True
        event = _parse_fast(own, True) if type(e) is dict else None
        append(event if event is not None else _parse_event(own, i, None))
    return tuple(out)


def event_from_wire(d: Mapping[str, Any]) -> HistoryEvent:
    """Type one wire event, checking what the SDK would choke on.

    Args:
        d: a wire dict as the extension sends it (PascalCase keys).

    Raises:
        HistoryFormatError: the event lacks a key the SDK requires or has a bad value.
    """
    return _parse_event(d, None, None)


def events_from_wire(events: Iterable[Mapping[str, Any]], *,
                     path: Optional[str] = None) -> Tuple[HistoryEvent, ...]:
    """Type a whole history; errors name the event index (and ``path``, if given)."""
    if isinstance(events, (str, bytes, Mapping)):
        raise HistoryFormatError(
            f"events must be a list of wire events, got {type(events).__name__}", path=path)
    return tuple(_parse_event(d, i, path) for i, d in enumerate(events))


def events_to_wire(events: Iterable[EventLike]) -> List[Dict[str, Any]]:
    """Wire dicts for typed events (wire dicts pass through, checked and copied)."""
    return [_coerce(e, i).to_wire() for i, e in enumerate(events)]


def _coerce(event: EventLike, index: Optional[int] = None,
            path: Optional[str] = None) -> HistoryEvent:
    if isinstance(event, HistoryEvent):
        return event
    return _parse_event(event, index, path)


# --------------------------------------------------------------------------- instances

@dataclass(frozen=True)
class InstanceHistory:
    """The history of one orchestration instance, as saved in one history file.

    Attributes:
        orchestrator: the orchestrator function name (ExecutionStarted ``Name``).
        instance_id: the instance id.
        events: the events, oldest first; all executions if it continued as new.
        sdk_version: the ``azure-functions-durable`` version that produced it, if known.
        metadata: free-form facts worth keeping with the file (test name, notes).
        format_version: the file format version it was read from or will be written as.
    """

    orchestrator: str
    instance_id: str
    events: Tuple[HistoryEvent, ...]
    sdk_version: Optional[str] = None
    metadata: Mapping[str, Any] = field(default_factory=dict, hash=False)
    format_version: int = FORMAT_VERSION

    if TYPE_CHECKING:  # pragma: no cover
        # What the generated __init__ accepts: ``events`` may also hold wire dicts, which
        # __post_init__ converts, so the attribute is always a tuple of HistoryEvent.
        def __init__(self, orchestrator: str, instance_id: str, events: Iterable[EventLike],
                     sdk_version: Optional[str] = None, metadata: Mapping[str, Any] = ...,
                     format_version: int = FORMAT_VERSION) -> None: ...

    def __post_init__(self) -> None:
        object.__setattr__(self, "events", tuple(_coerce(e, i)
                                                 for i, e in enumerate(self.events)))
        object.__setattr__(self, "metadata", MappingProxyType(dict(self.metadata)))

    @classmethod
    def from_events(cls, events: Iterable[EventLike], *, orchestrator: Optional[str] = None,
                    instance_id: Optional[str] = None, sdk_version: Optional[str] = None,
                    metadata: Optional[Mapping[str, Any]] = None,
                    path: Optional[str] = None) -> InstanceHistory:
        """Build from events alone, reading the name and id from ExecutionStarted.

        Raises:
            HistoryFormatError: the name or id is not given and cannot be found.
        """
        if isinstance(events, (str, bytes, Mapping)):
            raise HistoryFormatError(
                f"events must be a list of wire events, got {type(events).__name__}", path=path)
        typed = tuple(_coerce(e, i, path) for i, e in enumerate(events))
        started = next((e for e in typed if isinstance(e, ExecutionStarted)), None)
        if orchestrator is None:
            orchestrator = started.name if started is not None else None
            if orchestrator is None:
                raise HistoryFormatError(
                    "cannot tell the orchestrator's name: no ExecutionStarted event "
                    "(EventType 0) with a Name", path=path)
        if instance_id is None:
            instance_id = started.instance_id if started is not None else None
            if instance_id is None:
                raise HistoryFormatError(
                    "cannot tell the instance id: no ExecutionStarted event with "
                    "OrchestrationInstance.InstanceId", path=path)
        return cls(orchestrator=orchestrator, instance_id=instance_id, events=typed,
                   sdk_version=sdk_version, metadata=metadata or {})

    @property
    def input(self) -> Optional[str]:
        """The orchestration input (JSON text) of the first execution."""
        started = next((e for e in self.events if isinstance(e, ExecutionStarted)), None)
        return None if started is None else started.input

    @property
    def executions(self) -> Tuple[Tuple[HistoryEvent, ...], ...]:
        """The events split per execution, so each part is what the SDK sees after continue-as-new.

        A new execution starts at each ExecutionStarted after the first, taking the
        OrchestratorStarted just before it along.
        """
        cuts = [0]
        for i, e in enumerate(self.events):
            if isinstance(e, ExecutionStarted) and i > 0 and any(
                    isinstance(p, ExecutionStarted) for p in self.events[cuts[-1]:i]):
                start = i - 1 if isinstance(self.events[i - 1], OrchestratorStarted) else i
                cuts.append(max(start, cuts[-1]))
        cuts.append(len(self.events))
        return tuple(self.events[a:b] for a, b in zip(cuts, cuts[1:]) if b > a)

    def to_wire(self) -> List[Dict[str, Any]]:
        """The events as wire dicts, ready to hand to the SDK or the host."""
        return events_to_wire(self.events)

    def to_json(self) -> Dict[str, Any]:
        """The history file's JSON document, keys in a stable order."""
        return {
            "format": FORMAT_NAME,
            "version": self.format_version,
            "orchestrator": self.orchestrator,
            "instanceId": self.instance_id,
            "sdkVersion": self.sdk_version,
            "metadata": {k: _thaw(self.metadata[k]) for k in sorted(self.metadata)},
            "events": self.to_wire(),
        }

    @classmethod
    def from_json(cls, data: Any, path: Optional[str] = None) -> InstanceHistory:
        """Read a history file's JSON document.

        Args:
            data: the parsed document.
            path: the file it came from, named in errors.

        Raises:
            HistoryFormatError: the document is not a supported history file.
        """
        if not isinstance(data, Mapping):
            raise HistoryFormatError(
                f"expected a JSON object with \"format\": \"{FORMAT_NAME}\", got "
                f"{type(data).__name__}", path=path)
        fmt = data.get("format")
        if fmt != FORMAT_NAME:
            raise HistoryFormatError(
                f"\"format\" is {fmt!r}, expected {FORMAT_NAME!r}", path=path)
        version = data.get("version")
        if version not in SUPPORTED_FORMAT_VERSIONS or isinstance(version, bool):
            supported = ", ".join(map(str, SUPPORTED_FORMAT_VERSIONS))
            raise HistoryFormatError(
                f"unsupported history format version {version!r}; this durable-testkit "
                f"reads version(s) {supported}. A newer file needs a newer durable-testkit.",
                path=path)
        for key, kind in (("orchestrator", str), ("instanceId", str), ("events", list)):
            if key not in data:
                raise HistoryFormatError(f"missing \"{key}\"", path=path)
            if not isinstance(data[key], kind):
                raise HistoryFormatError(
                    f"\"{key}\" must be a {'string' if kind is str else 'list'}, got "
                    f"{type(data[key]).__name__}", path=path)
        sdk_version = data.get("sdkVersion")
        if sdk_version is not None and not isinstance(sdk_version, str):
            raise HistoryFormatError(f"\"sdkVersion\" must be a string or null, got "
                                     f"{sdk_version!r}", path=path)
        metadata = data.get("metadata") or {}
        if not isinstance(metadata, Mapping):
            raise HistoryFormatError(f"\"metadata\" must be an object, got "
                                     f"{type(metadata).__name__}", path=path)
        return cls(orchestrator=data["orchestrator"], instance_id=data["instanceId"],
                   events=events_from_wire(data["events"], path=path),
                   sdk_version=sdk_version, metadata=metadata, format_version=version)


# --------------------------------------------------------------------------- files

def load_history(path: Union[str, os.PathLike[str]], *,
                 max_bytes: int = DEFAULT_MAX_BYTES) -> InstanceHistory:
    """Load a history file, a bare list of wire events, or an SDK context JSON.

    Bare lists (pasted from Azure Storage or an export) and context JSON
    (``{"history": [...], "instanceId": ...}``) take the orchestrator name
    from ExecutionStarted. Only regular files are read (a FIFO or device is
    refused before it is opened), at most ``max_bytes`` of them.

    Args:
        path: the file.
        max_bytes: refuse larger files (default 64 MiB, ``_files.DEFAULT_MAX_BYTES``).

    Raises:
        InputFileError: the file is missing, unreadable, not a regular file or too big.
        HistoryFormatError: naming the file, the event index and what is wrong.
    """
    where = os.fspath(path)
    raw = read_user_file(where, max_bytes=max_bytes, what="history file")
    try:
        # utf-8-sig: files saved by Windows tools often start with a BOM.
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise HistoryFormatError(f"not UTF-8 text: {exc}", path=where) from None
    del raw
    data = parse_json_text(text, where)
    del text
    try:
        return _history_from_document(data, where)
    except RecursionError:
        raise HistoryFormatError(
            "a value is nested too deeply to process (over about "
            f"{sys.getrecursionlimit()} levels)", path=where) from None


class _SavedEvents(NamedTuple):
    """A saved history file read for replay, untyped (see :func:`_load_wire_events`)."""

    orchestrator: str
    instance_id: str
    events: List[Dict[str, Any]]
    # The events' JSON text as the file holds it, comma-joined without the brackets, when
    # every event is already played and the text can be cut out safely; else None.
    text: Optional[str]


def _load_wire_events(path: Union[str, os.PathLike[str]], *,
                     max_bytes: int = DEFAULT_MAX_BYTES) -> Optional[_SavedEvents]:
    """The wire events of a saved history file, untyped, and their text; or None.

    The fast path of stored-history replay: parsing every event into its typed
    class (and serializing it back with ``to_wire``) cost replay more than the
    SDK's own handle. A file in this format written by :func:`save_history`
    holds exactly the wire dicts ``to_wire`` gives, so they are handed on as
    read, and their text is handed to the SDK as read (JSON whitespace is no
    change to what it parses) instead of serializing them again. Anything else
    -- other formats, a file that does not read, an event that is not a plain
    dict with an integer ``EventType`` and ``EventId``, a bool ``IsPlayed`` and
    a text ``Timestamp``, no ExecutionStarted with a name and an instance id --
    answers None, and the caller takes :func:`load_history`, which explains
    what is wrong.
    """
    try:
        raw = read_user_file(os.fspath(path), max_bytes=max_bytes, what="history file")
        text = raw.decode("utf-8-sig")
        del raw
        data = json.loads(text)
    except Exception:  # noqa: BLE001 - load_history reports it properly
        return None
    if type(data) is not dict or data.get("format") != FORMAT_NAME or \
            data.get("version") not in SUPPORTED_FORMAT_VERSIONS:
        return None
    orchestrator, instance_id, events = (data.get("orchestrator"), data.get("instanceId"),
                                         data.get("events"))
    if not (isinstance(orchestrator, str) and isinstance(instance_id, str)
            and type(events) is list):
        return None
    started = False
    all_played = True
    for event in events:
        # type() is: a bool is no EventType, and the check runs per event of every file.
        if type(event) is not dict or type(event.get("EventType")) is not int or \
                type(event.get("Timestamp")) is not str or \
                type(event.get("EventId")) is not int:
            return None
        played = event.get("IsPlayed")
        if played is not True:
            if played is not False:
                return None
            all_played = False
        if event["EventType"] == 0:  # ExecutionStarted
            instance = event.get("OrchestrationInstance")
            if not (isinstance(event.get("Name"), str) and type(instance) is dict
                    and isinstance(instance.get("InstanceId"), str)):
                return None
            started = True
    if not started:
        return None
    return _SavedEvents(orchestrator, instance_id, events,
                        _events_text(text, data) if all_played else None)


def _events_text(text: str, data: Dict[str, Any]) -> Optional[str]:
    """The text inside the brackets of the document's "events" list, if it can be cut safely.

    Safe when "events" is the document's last key and the only "events" string in
    the text: then the list runs from its key to the document's closing brace.
    (Were the only literal one a nested key, with the document's own spelt with
    escapes, the cut would leave unbalanced brackets: the SDK refuses that text and
    the replay falls back to the typed path.) A name or key "events" inside an
    event answers None, and the events are serialized instead.
    """
    if next(reversed(data)) != "events":
        return None
    at = text.find('"events"')
    if at < 0 or text.find('"events"', at + 1) >= 0:
        return None
    colon = text.find(":", at + 8)
    bracket = text.find("[", colon + 1)
    if colon < 0 or bracket < 0 or text[at + 8:colon].strip() or text[colon + 1:bracket].strip():
        return None  # a nested "events" that is not a list
    body = text[bracket + 1:text.rindex("}")].rstrip()
    if not body.endswith("]"):
        return None  # pragma: no cover - the document parsed with "events" last
    return body[:-1]


def _history_from_document(data: Any, where: str) -> InstanceHistory:
    if isinstance(data, list):
        return InstanceHistory.from_events(events_from_wire(data, path=where), path=where)
    if isinstance(data, Mapping) and "format" not in data and "history" in data:
        events = events_from_wire(_list_at(data, "history", where), path=where)
        instance_id = data.get("instanceId")
        if instance_id is not None and not isinstance(instance_id, str):
            raise HistoryFormatError(f"\"instanceId\" must be a string, got "
                                     f"{_short(repr(instance_id))}", path=where)
        return InstanceHistory.from_events(events, instance_id=instance_id, path=where)
    if isinstance(data, Mapping) and "format" not in data:
        what = ("a status API response (\"historyEvents\"), "
                if "historyEvents" in data else "")
        raise HistoryFormatError(
            f"not a history file: {what}expected an object with \"format\": "
            f"\"{FORMAT_NAME}\", a list of wire events, or an orchestration context object "
            f"with \"history\". {_IMPORT_HINT}", path=where)
    return InstanceHistory.from_json(data, path=where)


def _list_at(data: Mapping[str, Any], key: str, path: str) -> List[Any]:
    value = data[key]
    if not isinstance(value, list):
        raise HistoryFormatError(f"\"{key}\" must be a list of wire events, got "
                                 f"{type(value).__name__}", path=path)
    return value


# Temporary files are named ".<target>.<pid>.<random>.dtk-tmp" beside the target, so a save
# can find the ones an earlier, killed save left and remove them once their process is gone.
_TMP_SUFFIX = ".dtk-tmp"


def save_history(history: InstanceHistory, path: Union[str, os.PathLike[str]]) -> None:
    """Write a history file atomically, so a crash never leaves half a golden file.

    Writes a temporary file beside the target, fsyncs it and renames it over
    the target. A symlink is written through: its target is replaced and the
    link kept. An existing file keeps its permission bits (a 0600 file stays
    0600); a new one gets the umask's. Temporary files left by a save that was
    killed are removed by the next save to the same file. Output is indented,
    in a stable key order, with a trailing newline, so files diff well under
    version control; it is strict JSON (no NaN or Infinity).

    Raises:
        HistoryFormatError: the history (e.g. its metadata) is not strict JSON.
        OSError: the file cannot be written.
    """
    shown = os.fspath(path)
    # realpath: write through a symlink (chains too) instead of replacing the link.
    target = os.path.realpath(shown) if os.path.islink(shown) else os.path.abspath(shown)
    folder, name = os.path.split(target)
    try:
        text = json.dumps(history.to_json(), indent=2, ensure_ascii=False, allow_nan=False)
    except ValueError as exc:
        if "JSON compliant" in str(exc):
            raise HistoryFormatError(
                f"cannot save: {exc}: a NaN or Infinity float, which strict JSON has no "
                "spelling for and other JSON readers reject; store it as null or a string",
                path=shown) from None
        raise HistoryFormatError(f"cannot save: not JSON serializable: {exc}",
                                 path=shown) from exc
    except (TypeError, RecursionError) as exc:
        raise HistoryFormatError(f"cannot save: not JSON serializable: {exc}",
                                 path=shown) from None
    # A lone surrogate (from a production history's "\\udc80") has no UTF-8 spelling; its
    # JSON escape is exactly what backslashreplace writes, so it loads back unchanged.
    data = (text + "\n").encode("utf-8", errors="backslashreplace")
    try:
        mode: Optional[int] = stat.S_IMODE(os.stat(target).st_mode)
    except FileNotFoundError:
        mode = None
    _remove_stale_temporaries(folder, name)
    tmp = os.path.join(folder, f".{name}.{os.getpid()}.{uuid.uuid4().hex[:12]}{_TMP_SUFFIX}")
    # os.open with 0o666 lets the umask decide the mode of a new file; 0o600 until the
    # final mode is set, so a private file is never readable by others, even briefly.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0),
                 0o600 if mode is not None else 0o666)
    try:
        try:
            if mode is not None:
                os.chmod(tmp, mode)
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    _fsync_folder(folder)


def _remove_stale_temporaries(folder: str, name: str) -> None:
    """Remove temporary files of earlier saves to ``name`` whose process is gone."""
    prefix = f".{name}."
    try:
        entries = os.listdir(folder)
    except OSError:
        return
    for entry in entries:
        if not (entry.startswith(prefix) and entry.endswith(_TMP_SUFFIX)):
            continue
        pid_text = entry[len(prefix):-len(_TMP_SUFFIX)].split(".")[0]
        if not pid_text.isdigit() or not _stale(int(pid_text), os.path.join(folder, entry)):
            continue
        try:
            os.unlink(os.path.join(folder, entry))
        except OSError:
            pass  # another save got there first, or it is not ours to remove


def _stale(pid: int, tmp: str) -> bool:
    if os.name != "posix":
        # No safe liveness probe here (os.kill(pid, 0) would terminate it on Windows):
        # a temporary file an hour old belongs to no save still running.
        try:
            return time.time() - os.stat(tmp).st_mtime > 3600
        except OSError:
            return False
    if pid == os.getpid():
        return False  # maybe another thread of ours, mid-save
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:
        return False  # alive, someone else's
    return False


def _fsync_folder(folder: str) -> None:
    """Make the rename itself durable (POSIX); best effort."""
    if os.name != "posix":
        return
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# --------------------------------------------------------------------------- rendering

_PAYLOAD_WIDTH = 60
_NAME_WIDTH = 19


def _short(text: str, width: int = _PAYLOAD_WIDTH) -> str:
    text = text.replace("\r", "\\r").replace("\n", "\\n")
    return text if len(text) <= width else text[: width - 3] + "..."


def _time_text(value: Optional[datetime]) -> str:
    if value is None:
        return "null"
    text = value.strftime("%Y-%m-%dT%H:%M:%S")
    if value.microsecond:
        text += f".{value.microsecond:06d}".rstrip("0")
    return text + "Z"


def _pl(text: Optional[str]) -> str:
    return "null" if text is None else _short(text)


def _text(value: Optional[str]) -> str:
    return "null" if value is None else _short(json.dumps(value, ensure_ascii=False))


def _details(e: HistoryEvent) -> List[str]:
    if isinstance(e, ExecutionStarted):
        parts = [_text(e.name), f"instance={_text(e.instance_id)}", f"input={_pl(e.input)}"]
        if e.version is not None:
            parts.append(f"version={_text(e.version)}")
        if e.parent_instance is not None:
            parent = e.parent_instance.get("OrchestrationInstance") or {}
            pid = parent.get("InstanceId") if isinstance(parent, Mapping) else None
            parts.append(f"parent={_text(pid if isinstance(pid, str) else None)}")
        return parts
    if isinstance(e, ExecutionCompleted):
        status = e.orchestration_status
        label = _ORCHESTRATION_STATUS.get(status, str(status)) if status is not None else "null"
        parts = [f"status={label}", f"result={_pl(e.result)}"]
        if e.failure_details is not None:
            parts.append("failure_details={...}")
        return parts
    if isinstance(e, (ExecutionTerminated, ContinueAsNew)):
        return [f"input={_pl(e.input)}"]
    if isinstance(e, TaskScheduled):
        return [f"#{e.event_id}", _text(e.name), f"input={_pl(e.input)}"]
    if isinstance(e, (TaskCompleted, SubOrchestrationInstanceCompleted)):
        return [f"#{e.task_scheduled_id}", f"result={_pl(e.result)}"]
    if isinstance(e, (TaskFailed, SubOrchestrationInstanceFailed)):
        return [f"#{e.task_scheduled_id}", f"reason={_text(e.reason)}"]
    if isinstance(e, SubOrchestrationInstanceCreated):
        return [f"#{e.event_id}", _text(e.name), f"instance={_text(e.instance_id)}",
                f"input={_pl(e.input)}"]
    if isinstance(e, TimerCreated):
        return [f"#{e.event_id}", f"fire_at={_time_text(e.fire_at)}"]
    if isinstance(e, TimerFired):
        return [f"#{e.timer_id}", f"fire_at={_time_text(e.fire_at)}"]
    if isinstance(e, OrchestratorStarted):
        return [f"at {_time_text(e.timestamp)}"]
    if isinstance(e, EventSent):
        return [f"#{e.event_id}", _text(e.name), f"to={_text(e.instance_id)}",
                f"input={_pl(e.input)}"]
    if isinstance(e, EventRaised):
        return [_text(e.name), f"input={_pl(e.input)}"]
    if isinstance(e, (ExecutionSuspended, ExecutionResumed)):
        return [f"reason={_text(e.reason)}"]
    if isinstance(e, OtherEvent):
        keys = ", ".join(k for k in e.extra)
        return [f"(not modelled) keys: {_short(keys)}"] if keys else ["(not modelled)"]
    return []


def _type_label(e: HistoryEvent) -> str:
    t = e.event_type
    return t.name if isinstance(t, EventType) else f"EventType({t})"


def render_event(event: EventLike, index: Optional[int] = None) -> str:
    """One line describing an event, for error messages and reports.

    Never raises: a malformed wire dict renders as ``<malformed event: ...>``,
    since it is usually shown while reporting another problem.

    Args:
        event: a typed event or a wire dict.
        index: its position in the history, shown first when given.
    """
    prefix = "" if index is None else f"{index:>3}  "
    try:
        typed = _coerce(event)
        body = _type_label(typed).ljust(_NAME_WIDTH - 1) + " " + " ".join(_details(typed))
    except HistoryFormatError as exc:
        body = f"<malformed event: {_short(exc.problem, 200)}>"
    except Exception as exc:  # rendering must never hide the error it is helping report
        body = f"<unrenderable event: {type(exc).__name__}: {_short(str(exc), 100)}>"
    return (prefix + body).rstrip()


def render_timeline(events: Sequence[EventLike], *, mark: Optional[int] = None,
                    around: Optional[int] = None) -> str:
    """Render a history one event per line, optionally pointing at one event.

    Args:
        events: typed events or wire dicts.
        mark: index of the event to flag with ``>``.
        around: with ``mark``, show only this many events either side of it.
    """
    events = list(events)
    lo, hi = 0, len(events)
    if mark is not None and around is not None:
        lo, hi = max(0, mark - around), min(len(events), mark + around + 1)
        lo = min(lo, hi)
    lines = []
    if lo > 0:
        lines.append(f"     ... {lo} earlier event{'s' if lo != 1 else ''}")
    for i in range(lo, hi):
        lines.append(("> " if i == mark else "  ") + render_event(events[i], i))
    if hi < len(events):
        rest = len(events) - hi
        lines.append(f"     ... {rest} later event{'s' if rest != 1 else ''}")
    if not events:
        lines.append("  (no events)")
    return "\n".join(lines)

