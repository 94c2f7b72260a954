"""Import orchestration histories exported from production into replayable history files.

A team that wants to know whether a code change breaks running instances needs
those instances' histories. What it can export today is not what the SDK replays:

- ``status-api``: the status endpoint / ``client.get_status(show_history=True)``.
  Lossy: the extension drops the episode markers, every sequence number, and
  folds each completed ``TaskScheduled`` into its completion.
- ``storage-table``: the Azure Storage provider's ``<hub>History`` table rows (CSV
  from Storage Explorer, or JSON entities), one row per event.
- ``core-tools``: ``func durable get-history`` output, the full DTFx event list.
- ``durabletask``: durabletask-python's history export (snake_case events).

:func:`import_history` turns any of them into an :class:`InstanceHistory` in the
extension's wire format and records what it had to reconstruct in the
history's ``metadata["import"]["notes"]``. Where the order of the lost events
cannot be read off the export (several tasks scheduled at the same instant), it
replays the orchestrator code through the real SDK, when given, to learn it.

Facts about each format, with their sources: docs/protocol.md, section
"Production history formats"; usage: docs/replay.md.
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import re
import sys
import zlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import (Any, Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Set,
                    Tuple, Union)

from ._files import parse_json_text, read_user_file, reserve_free_name
from .errors import DurableTestkitError, HistoryFormatError, HistoryImportError, InputFileError
from .history import EventType, InstanceHistory, load_history, save_history

__all__ = [
    "FORMATS",
    "ImportOutcome",
    "corpus_path",
    "import_histories",
    "import_history",
    "import_to_corpus",
]

#: The export formats :func:`import_history` reads (``format=`` values besides "auto").
FORMATS: Tuple[str, ...] = ("status-api", "storage-table", "core-tools", "durabletask")

Source = Union[str, "os.PathLike[str]", Mapping[str, Any], Sequence[Any], Any]

# Exports bigger than this (256 MiB), on disk or once decompressed, are refused rather
# than read into memory (a History table export of a busy hub can be huge; split it by
# PartitionKey first). The ``max_bytes`` argument of the import functions overrides it.
_MAX_BYTES = 256 * 1024 * 1024
_GZIP_CHUNK = 1024 * 1024

_TYPE_BY_NAME = {e.name: int(e) for e in EventType}
_NAME_BY_TYPE = {int(e): e.name for e in EventType}
_STATUS_BY_NAME = {"Running": 0, "Completed": 1, "ContinuedAsNew": 2, "Failed": 3,
                   "Canceled": 4, "Terminated": 5, "Pending": 6, "Suspended": 7}

_E = EventType
_SCHEDULING = {int(_E.TaskScheduled), int(_E.SubOrchestrationInstanceCreated),
               int(_E.TimerCreated), int(_E.EventSent)}
_TERMINAL = {int(_E.ExecutionCompleted), int(_E.ContinueAsNew)}


# =========================================================================== errors

@dataclass
class _Ctx:
    """Where we are (for errors) and what we had to make up (for the notes)."""

    path: str
    fmt: str
    notes: List[str] = field(default_factory=list)

    def fail(self, problem: str, index: Optional[int] = None, event_type: Any = None,
             fix: str = "") -> HistoryImportError:
        label = None if event_type is None else (
            _NAME_BY_TYPE.get(event_type, str(event_type)) if isinstance(event_type, int)
            else str(event_type))
        return HistoryImportError(problem, path=self.path, event_index=index,
                                  event_type=label, source_format=self.fmt, fix=fix)

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)


# =========================================================================== timestamps

_LENIENT_TIME = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:[.,](\d+))?\s*"
    r"(Z|z|UTC|[+-]\d{2}:?\d{2})?$")
_STRICT_TIME = re.compile(
    r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,7})?(?:Z|[+-]\d{2}:\d{2})$")


def _time(value: Any, ctx: _Ctx, index: int, event_type: Any, key: str) -> Tuple[datetime, str]:
    """Parse an exported time; return it (UTC) and the wire text to store.

    Text the history model reads as is (``Z`` or ``+hh:mm``, up to 7 digits) is
    kept verbatim; other spellings (ISO with ``+00:00`` from Python, no offset,
    a space for ``T``, more digits) are rewritten the way the SDK writes times.
    """
    if isinstance(value, datetime):
        if value.tzinfo is None:
            ctx.note("times without a UTC offset were read as UTC")
            value = value.replace(tzinfo=timezone.utc)
        value = value.astimezone(timezone.utc)
        return value, value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    m = _LENIENT_TIME.match(value) if isinstance(value, str) else None
    if m is None:
        raise ctx.fail(f"{key} is not a timestamp: {value!r:.80}", index, event_type,
                       "Timestamps must be ISO 8601, like '2024-01-01T00:00:00.000Z'")
    year, month, day, hour, minute, second, frac, zone = m.groups()
    micros = int((frac or "0")[:6].ljust(6, "0"))
    if zone in (None, "Z", "z", "UTC"):
        if zone is None:
            ctx.note("times without a UTC offset were read as UTC")
        offset = 0
    else:
        digits = zone[1:].replace(":", "")
        offset = (int(digits[:2]) * 60 + int(digits[2:])) * (1 if zone[0] == "+" else -1)
    try:
        parsed = (datetime(int(year), int(month), int(day), int(hour), int(minute),
                           int(second), micros, tzinfo=timezone.utc)
                  - timedelta(minutes=offset))
    except ValueError as exc:
        raise ctx.fail(f"{key} is not a valid time: {value!r} ({exc})", index,
                       event_type) from None
    text = value if _STRICT_TIME.match(value) else parsed.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return parsed, text


# =========================================================================== reading

@dataclass
class _Read:
    label: str
    data: Any
    is_csv: bool = False
    hub: Optional[str] = None


def _read(source: Source, max_bytes: int = _MAX_BYTES) -> _Read:
    """A path is read (gzip, JSON, JSON lines or CSV); anything else is taken as parsed.

    Exports come from production and CI artifacts: only a regular file is read, at most
    ``max_bytes`` of it, and at most ``max_bytes`` once decompressed (a small gzip file
    can expand to gigabytes); every failure is a HistoryImportError naming the file.
    """
    if isinstance(source, (str, os.PathLike)):
        path = os.fspath(source)
        try:
            raw = read_user_file(path, max_bytes=max_bytes, what="history export")
        except InputFileError as exc:
            fix = "Split a table export by PartitionKey (instance), or pass a larger " \
                "max_bytes" if exc.advice else ""
            raise HistoryImportError(exc.problem, path=path, fix=fix) from None
        if raw[:2] == b"\x1f\x8b":
            raw = _gunzip(raw, path, max_bytes)
        text = _decode(raw, path)
        del raw
        hub = _hub_from_name(path)
        stripped = text.lstrip()
        if stripped[:1] in ("{", "["):
            return _Read(path, _parse_json_or_lines(text, path), hub=hub)
        first = stripped.splitlines()[0] if stripped else ""
        if "PartitionKey" in first and "," in first:
            return _Read(path, _parse_csv(text, path), is_csv=True, hub=hub)
        raise HistoryImportError(
            "neither JSON nor a History-table CSV (no PartitionKey column in the first line)",
            path=path)
    if isinstance(source, (bytes, bytearray)):
        raise HistoryImportError("got bytes: pass a file path or the parsed JSON "
                                 "(json.loads(...)) instead", path="<object>")
    return _Read("<object>", source)


def _gunzip(raw: bytes, path: str, max_bytes: int) -> bytes:
    """Decompress every gzip member, stopping as soon as the output passes ``max_bytes``."""
    out = bytearray()
    data = raw
    while data:
        stream = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)  # gzip header and trailer
        try:
            while not stream.eof:
                chunk = stream.decompress(data, _GZIP_CHUNK)
                data = stream.unconsumed_tail
                if not chunk and not data:
                    raise HistoryImportError("not a valid gzip file: it ends before its "
                                             "compressed data does (truncated?)", path=path)
                out += chunk
                if len(out) > max_bytes:
                    raise HistoryImportError(
                        f"decompresses to more than the {max_bytes:,} bytes this reads "
                        f"(the file itself is {len(raw):,} bytes)", path=path,
                        fix="Split a table export by PartitionKey (instance), or pass a "
                            "larger max_bytes")
        except zlib.error as exc:
            raise HistoryImportError(f"not a valid gzip file: {exc}", path=path) from None
        # Another member may follow (gzip concatenates them); gzip pads with zeros.
        data = stream.unused_data.lstrip(b"\x00")
    return bytes(out)


def _decode(raw: bytes, path: str) -> str:
    if raw[:2] in (b"\xff\xfe", b"\xfe\xff"):
        raise HistoryImportError("UTF-16 text (it starts with a UTF-16 byte-order mark); this "
                                 "reads UTF-8", path=path,
                                 fix="Save the export as UTF-8 (e.g. iconv -f UTF-16 -t UTF-8)")
    try:
        # utf-8-sig: files saved by Windows tools often start with a BOM.
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise HistoryImportError(f"not UTF-8 text: {exc}", path=path) from None


def _parse_json_or_lines(text: str, path: str) -> Any:
    """One JSON document, or JSON lines (one document per line)."""
    try:
        return parse_json_text(text, path)
    except HistoryFormatError as whole:
        lines = [ln for ln in text.splitlines() if ln.strip()]
        if len(lines) > 1:
            try:
                return [parse_json_text(ln, path) for ln in lines]
            except HistoryFormatError:
                pass
        raise HistoryImportError(whole.problem, path=path) from None


def _parse_csv(text: str, path: str) -> List[Dict[str, Any]]:
    reader = csv.DictReader(io.StringIO(text))
    try:
        return list(reader)
    except csv.Error as exc:
        # A cell over the csv module's field size limit, a NUL byte (before Python 3.13),
        # an unterminated quote under strict parsing...
        # line_num counts the lines read before the failing one.
        raise HistoryImportError(f"not a readable CSV: {exc} (line {reader.line_num + 1})",
                                 path=path) from None


def _hub_from_name(path: str) -> Optional[str]:
    m = re.match(r"^([A-Za-z][A-Za-z0-9]{2,44})History\b", os.path.basename(path))
    return m.group(1) if m else None


def _status_body(data: Any) -> Optional[Mapping[str, Any]]:
    """The status JSON of a DurableOrchestrationStatus object (or None if not one)."""
    events = getattr(data, "historyEvents", None)
    if events is None or isinstance(data, Mapping):
        return None
    body: Dict[str, Any] = {"historyEvents": events}
    for attr, key in (("instance_id", "instanceId"), ("name", "name"), ("input_", "input")):
        value = getattr(data, attr, None)
        if value is not None:
            body[key] = value
    return body


def _sniff(read: _Read) -> str:
    data = read.data
    if read.is_csv:
        return "storage-table"
    if _status_body(data) is not None:
        return "status-api"
    if isinstance(data, Mapping):
        if data.get("format") == "durable-testkit/history":
            raise HistoryImportError("this is already a durable-testkit history file; load "
                                     "it with load_history(), no import needed",
                                     path=read.label)
        if "schema_version" in data or "event_type" in data:
            return "durabletask"
        if "historyEvents" in data:
            return "status-api"
        if any(isinstance(data.get(k), list) for k in ("value", "items")):
            return "storage-table"
    if isinstance(data, list) and data:
        dicts = [d for d in data if isinstance(d, Mapping)]
        if any("PartitionKey" in d or "RowKey" in d for d in dicts):
            return "storage-table"
        if any("event_type" in d or "schema_version" in d for d in dicts):
            return "durabletask"
        if any("EventType" in d for d in dicts):
            return "core-tools" if any("EventId" in d for d in dicts) else "status-api"
    raise HistoryImportError(
        "cannot tell the export format: expected a status response (with historyEvents), "
        "History-table rows (PartitionKey/RowKey), a func durable get-history list "
        "(EventType and EventId) or a durabletask export (schema_version, event_type)",
        path=read.label, source_format="auto",
        fix=f"Pass format= one of {', '.join(FORMATS)}")


# =========================================================================== DTFx JSON

# A number written as text: ASCII digits only (str.isdigit takes "²", which int() refuses),
# and short (int() refuses over 4,300 digits; no event type or status has more than two).
_SMALL_INT = re.compile(r"^\s*-?[0-9]{1,9}\s*$")


def _shown(value: Any, width: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= width else text[:width - 3] + "..."


def _type_code(value: Any, ctx: _Ctx, index: int) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str):
        if _SMALL_INT.match(value):
            return int(value)
        if value in _TYPE_BY_NAME:
            return _TYPE_BY_NAME[value]
        close = [n for n in _TYPE_BY_NAME if n.lower() == value.lower()]
        hint = f" (did you mean {close[0]}?)" if close else ""
        raise ctx.fail(f"unknown event type name {_shown(value)}{hint}; known: "
                       f"{', '.join(_TYPE_BY_NAME)}", index, value,
                       "Newer event kinds (entities, rewind) are not part of the Azure "
                       "Functions Python protocol; remove the event or report it")
    raise ctx.fail(f"EventType must be a name or a number, got {value!r:.60}", index, None)


def _status_code(value: Any, ctx: _Ctx, index: int, event_type: int) -> Any:
    if value is None or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    if isinstance(value, str):
        if _SMALL_INT.match(value) and not value.strip().startswith("-"):
            return int(value)
        if value in _STATUS_BY_NAME:
            return _STATUS_BY_NAME[value]
    raise ctx.fail(f"unknown OrchestrationStatus {_shown(value)}; known: "
                   f"{', '.join(_STATUS_BY_NAME)}", index, event_type)


def _dtfx_to_wire(events: Sequence[Any], ctx: _Ctx) -> List[Dict[str, Any]]:
    """DTFx's own event JSON (names or numbers) to the wire the SDK reads."""
    out = []
    for i, ev in enumerate(events):
        if not isinstance(ev, Mapping):
            raise ctx.fail(f"expected a JSON object, got {type(ev).__name__}", i)
        if "EventType" not in ev:
            raise ctx.fail(f"missing EventType (keys: {', '.join(map(str, ev)) or 'none'})", i)
        code = _type_code(ev["EventType"], ctx, i)
        wire: Dict[str, Any] = {"EventType": code}
        wire.update((k, v) for k, v in ev.items() if k != "EventType")
        if "EventId" not in wire:
            if code in _SCHEDULING:
                raise ctx.fail("missing EventId, the sequence number the SDK matches its "
                               "actions by", i, code)
            wire["EventId"] = -1
        if "IsPlayed" not in wire:
            wire["IsPlayed"] = True
            ctx.note("IsPlayed was not exported: every event marked as played")
        if "Timestamp" not in wire:
            raise ctx.fail("missing Timestamp", i, code)
        for key in ("Timestamp", "FireAt", "ScheduledStartTime"):
            if wire.get(key) is not None:
                wire[key] = _time(wire[key], ctx, i, code, key)[1]
        if code in _TERMINAL and "OrchestrationStatus" in wire:
            wire["OrchestrationStatus"] = _status_code(wire["OrchestrationStatus"], ctx, i, code)
        _fill_required(wire, code)
        out.append(wire)
    _pair_unnumbered_timers(out, ctx)
    return out


def _fill_required(wire: Dict[str, Any], code: int) -> None:
    """Add keys the SDK reads unconditionally; exports leave out nulls (the table never
    stores them), and null is what DTFx had."""
    required = {int(_E.ExecutionStarted): ("Version", "Input"),
                int(_E.TaskCompleted): ("Result",),
                int(_E.SubOrchestrationInstanceCompleted): ("Result",),
                int(_E.EventSent): ("Input",)}.get(code, ())
    for key in required:
        wire.setdefault(key, None)


def _pair_unnumbered_timers(events: List[Dict[str, Any]], ctx: _Ctx) -> None:
    """Give a TimerFired without TimerId the id of the open timer with the same FireAt."""
    open_timers: List[Tuple[int, Any]] = []
    for i, ev in enumerate(events):
        if ev["EventType"] == _E.TimerCreated:
            open_timers.append((ev["EventId"], _fire_key(ev.get("FireAt"))))
        elif ev["EventType"] == _E.TimerFired and ev.get("TimerId") is None:
            fire = _fire_key(ev.get("FireAt"))
            match = next((t for t in open_timers if t[1] == fire), None) or (
                open_timers[0] if open_timers else None)
            if match is None:
                raise ctx.fail("TimerFired has no TimerId and no earlier TimerCreated to "
                               "pair it with", i, int(_E.TimerFired))
            open_timers.remove(match)
            ev["TimerId"] = match[0]
            ctx.note("TimerFired without TimerId paired with the timer of the same FireAt")


def _fire_key(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    m = _LENIENT_TIME.match(value)
    return value if m is None else _time(value, _Ctx("", ""), 0, None, "FireAt")[0]


# =========================================================================== storage table

_TABLE_SYSTEM = {"PartitionKey", "RowKey", "Timestamp", "ExecutionId", "etag", "ETag",
                 "odata.etag", "odata.metadata", "odata.type", "odata.id", "odata.editLink"}
_COMPLEX = ("OrchestrationInstance", "ParentInstance", "FailureDetails", "Tags")
_INT_COLUMNS = {"EventId", "TaskScheduledId", "TimerId", "Generation"}
_BOOL_COLUMNS = {"IsPlayed", "IsCheckpointComplete", "Recurse"}


def _csv_value(text: str, type_name: str, column: str, ctx: _Ctx, row: int) -> Any:
    """A Storage Explorer CSV cell, typed by its ``@type`` column when there is one."""
    kind = type_name.strip().lower().replace("edm.", "")
    if not kind:
        if column in _INT_COLUMNS:
            kind = "int32"
        elif column in _BOOL_COLUMNS:
            kind = "boolean"
        else:
            kind = "string"
    try:
        if kind in ("int32", "int64"):
            return int(text)
        if kind == "double":
            return float(text)
        if kind == "boolean":
            if text.strip().lower() not in ("true", "false"):
                raise ValueError(f"not true/false: {text!r}")
            return text.strip().lower() == "true"
    except ValueError as exc:
        raise ctx.fail(f"column {column} ({type_name or 'untyped'}): {exc}", row) from None
    return text  # String, DateTime (parsed later), Guid, Binary


def _csv_rows(rows: Sequence[Mapping[str, Any]], ctx: _Ctx) -> List[Dict[str, Any]]:
    out = []
    for r, row in enumerate(rows):
        entity: Dict[str, Any] = {}
        for column, text in row.items():
            if column is None or column.endswith("@type"):
                continue
            type_name = row.get(f"{column}@type") or ""
            if text is None or (text == "" and not type_name):
                continue  # Table storage never stores nulls: an empty untyped cell is absent
            entity[column] = _csv_value(text, type_name, column, ctx, r)
        out.append(entity)
    return out


def _table_partitions(read: _Read, ctx: _Ctx) -> Dict[str, List[Dict[str, Any]]]:
    data = read.data
    if isinstance(data, Mapping):
        data = next(data[k] for k in ("value", "items") if isinstance(data.get(k), list))
    if not isinstance(data, list):
        raise ctx.fail(f"expected a list of table rows, got {type(data).__name__}")
    rows = _csv_rows(data, ctx) if read.is_csv else [
        {k: v for k, v in row.items() if "@" not in k} if isinstance(row, Mapping) else row
        for row in data]
    parts: Dict[str, List[Dict[str, Any]]] = {}
    for r, row in enumerate(rows):
        if not isinstance(row, Mapping) or "PartitionKey" not in row or "RowKey" not in row:
            raise ctx.fail("a table row needs PartitionKey and RowKey", r)
        parts.setdefault(str(row["PartitionKey"]), []).append(dict(row))
    if not parts:
        raise ctx.fail("no rows")
    return parts


def _row_order(row: Mapping[str, Any]) -> Tuple[int, int]:
    key = str(row["RowKey"])
    try:
        return (0, int(key, 16))
    except ValueError:
        return (1, 0)


def _table_events(rows: List[Dict[str, Any]], ctx: _Ctx, hub: Optional[str]
                  ) -> List[Dict[str, Any]]:
    """One partition's rows to DTFx event JSON, current execution only, as DTFx reads it."""
    rows = sorted(rows, key=_row_order)
    sentinel = next((r for r in rows if r["RowKey"] == "sentinel"), None)
    events = [r for r in rows if r["RowKey"] != "sentinel"]
    current = sentinel.get("ExecutionId") if sentinel is not None else None
    if current is None:
        starts = [r for r in events if r.get("EventType") in ("ExecutionStarted", 0)]
        if starts:
            current = max(starts, key=lambda r: str(r.get("_Timestamp", ""))).get("ExecutionId")
        elif events:
            current = events[0].get("ExecutionId")
    if current is not None:
        dropped = [r for r in events if r.get("ExecutionId") != current]
        if dropped:
            ctx.note(f"{len(dropped)} row(s) of an earlier execution (continue-as-new) "
                     "skipped, as DTFx skips them")
        events = [r for r in events if r.get("ExecutionId") == current]
    out = []
    container = f"{hub.lower()}-largemessages" if hub else "<taskhub>-largemessages"
    for i, row in enumerate(events):
        for column in row:
            if not column.endswith("BlobName") or not row[column]:
                continue
            prop = column[: -len("BlobName")]
            raise ctx.fail(
                f"{prop} (row {row['RowKey']}) was too large for the table and is stored in "
                f"blob {row[column]!r} of container {container!r}", i, row.get("EventType"),
                f"Download that blob (e.g. az storage blob download --container-name "
                f"{container} --name '{row[column]}' --file blob.json.gz), gunzip it, put "
                f"its text in the row's {prop} column, delete {column}, and import again")
        event: Dict[str, Any] = {}
        for k, v in row.items():
            if k in _TABLE_SYSTEM or k.startswith("odata."):
                continue
            if k == "_Timestamp":
                k = "Timestamp"
            if k in _COMPLEX and isinstance(v, str) and v.strip()[:1] in ("{", "["):
                try:
                    v = parse_json_text(v)
                except HistoryFormatError as exc:
                    raise ctx.fail(f"{k} is {exc.problem}", i, row.get("EventType")) from None
            event[k] = v
        out.append(event)
    return out


# =========================================================================== durabletask

_DT_TYPES = {
    "ExecutionStartedEvent": _E.ExecutionStarted, "ExecutionCompletedEvent": _E.ExecutionCompleted,
    "ExecutionTerminatedEvent": _E.ExecutionTerminated, "TaskScheduledEvent": _E.TaskScheduled,
    "TaskCompletedEvent": _E.TaskCompleted, "TaskFailedEvent": _E.TaskFailed,
    "SubOrchestrationInstanceCreatedEvent": _E.SubOrchestrationInstanceCreated,
    "SubOrchestrationInstanceCompletedEvent": _E.SubOrchestrationInstanceCompleted,
    "SubOrchestrationInstanceFailedEvent": _E.SubOrchestrationInstanceFailed,
    "TimerCreatedEvent": _E.TimerCreated, "TimerFiredEvent": _E.TimerFired,
    "OrchestratorStartedEvent": _E.OrchestratorStarted,
    "OrchestratorCompletedEvent": _E.OrchestratorCompleted, "EventSentEvent": _E.EventSent,
    "EventRaisedEvent": _E.EventRaised, "GenericEvent": _E.GenericEvent,
    "HistoryStateEvent": _E.HistoryState, "ContinueAsNewEvent": _E.ContinueAsNew,
    "ExecutionSuspendedEvent": _E.ExecutionSuspended,
    "ExecutionResumedEvent": _E.ExecutionResumed,
}
# snake_case field -> wire key, per event type; fields not listed are tracing data.
_DT_FIELDS: Dict[int, Tuple[Tuple[str, str], ...]] = {
    int(_E.ExecutionStarted): (("name", "Name"), ("version", "Version"), ("input", "Input")),
    int(_E.ExecutionCompleted): (("orchestration_status", "OrchestrationStatus"),
                                 ("result", "Result")),
    int(_E.ExecutionTerminated): (("input", "Input"),),
    int(_E.TaskScheduled): (("name", "Name"), ("version", "Version"), ("input", "Input")),
    int(_E.TaskCompleted): (("task_scheduled_id", "TaskScheduledId"), ("result", "Result")),
    int(_E.TaskFailed): (("task_scheduled_id", "TaskScheduledId"),),
    int(_E.SubOrchestrationInstanceCreated): (("name", "Name"), ("version", "Version"),
                                              ("instance_id", "InstanceId"), ("input", "Input")),
    int(_E.SubOrchestrationInstanceCompleted): (("task_scheduled_id", "TaskScheduledId"),
                                                ("result", "Result")),
    int(_E.SubOrchestrationInstanceFailed): (("task_scheduled_id", "TaskScheduledId"),),
    int(_E.TimerCreated): (("fire_at", "FireAt"),),
    int(_E.TimerFired): (("fire_at", "FireAt"), ("timer_id", "TimerId")),
    int(_E.EventSent): (("instance_id", "InstanceId"), ("name", "Name"), ("input", "Input")),
    int(_E.EventRaised): (("name", "Name"), ("input", "Input")),
    int(_E.GenericEvent): (("data", "Data"),),
    int(_E.ContinueAsNew): (("input", "Input"),),
    int(_E.ExecutionSuspended): (("input", "Reason"),),
    int(_E.ExecutionResumed): (("input", "Reason"),),
}
_DT_STATUS = {"RUNNING": 0, "COMPLETED": 1, "CONTINUED_AS_NEW": 2, "FAILED": 3,
              "CANCELED": 4, "TERMINATED": 5, "PENDING": 6, "SUSPENDED": 7}


def _dt_document(read: _Read, ctx: _Ctx) -> Tuple[Optional[str], List[Any]]:
    data = read.data
    if isinstance(data, list) and data and isinstance(data[0], Mapping) and \
            data[0].get("kind") == "metadata":  # JSON lines: an envelope line, then events
        return data[0].get("instance_id"), list(data[1:])
    if isinstance(data, Mapping):
        version = data.get("schema_version")
        if version is not None and str(version).split(".")[0] != "1":
            raise ctx.fail(f"schema_version {version!r} is not supported (this reads 1.x)")
        events = data.get("events")
        if not isinstance(events, list):
            raise ctx.fail("a durabletask export needs an \"events\" list")
        return data.get("instance_id"), events
    if isinstance(data, list):
        return None, data
    raise ctx.fail(f"expected a JSON object or list, got {type(data).__name__}")


def _dt_instance(value: Any) -> Optional[Dict[str, Any]]:
    if not isinstance(value, Mapping):
        return None
    return {"InstanceId": value.get("instance_id"), "ExecutionId": value.get("execution_id")}


def _dt_failure(value: Any) -> Optional[Dict[str, Any]]:
    if not isinstance(value, Mapping):
        return None
    return {"ErrorType": value.get("error_type"), "ErrorMessage": value.get("message"),
            "StackTrace": value.get("stack_trace")}


def _dt_to_wire(events: Sequence[Any], ctx: _Ctx) -> List[Dict[str, Any]]:
    out = []
    for i, ev in enumerate(events):
        if not isinstance(ev, Mapping):
            raise ctx.fail(f"expected a JSON object, got {type(ev).__name__}", i)
        kind = ev.get("event_type")
        if kind not in _DT_TYPES:
            why = ("entity and rewind events belong to durabletask's own entities; the Azure "
                   "Functions Python SDK never sees them" if isinstance(kind, str) and (
                       kind.startswith("Entity") or kind.startswith("ExecutionRewound"))
                   else f"known: {', '.join(_DT_TYPES)}")
            raise ctx.fail(f"unknown event type name {kind!r}; {why}", i, kind)
        code = int(_DT_TYPES[kind])
        if "timestamp" not in ev:
            raise ctx.fail("missing timestamp", i, code)
        event_id = ev.get("event_id", -1)
        wire: Dict[str, Any] = {"EventType": code,
                                "EventId": event_id if isinstance(event_id, int) else -1,
                                "IsPlayed": True,
                                "Timestamp": _time(ev["timestamp"], ctx, i, code, "timestamp")[1]}
        if code == _E.ExecutionStarted:
            wire["OrchestrationInstance"] = _dt_instance(ev.get("orchestration_instance"))
            parent = ev.get("parent_instance")
            wire["ParentInstance"] = None if not isinstance(parent, Mapping) else {
                "Name": parent.get("name"), "Version": parent.get("version"),
                "TaskScheduledId": parent.get("task_scheduled_id"),
                "OrchestrationInstance": _dt_instance(parent.get("orchestration_instance"))}
            if ev.get("tags"):
                wire["Tags"] = ev["tags"]
        for src, key in _DT_FIELDS.get(code, ()):
            value = ev.get(src)
            if key == "FireAt" and value is not None:
                value = _time(value, ctx, i, code, src)[1]
            if key == "OrchestrationStatus":
                value = (_DT_STATUS.get(value.upper().replace("ORCHESTRATION_STATUS_", ""))
                         if isinstance(value, str) else value)
                if value is None:
                    raise ctx.fail(f"unknown orchestration_status {ev.get(src)!r}", i, code)
            wire[key] = value
        if code in (_E.TaskFailed, _E.SubOrchestrationInstanceFailed):
            failure = ev.get("failure_details") or {}
            # The SDK raises Exception(f"{Reason} \n {Details}"): message and stack trace.
            wire["Reason"] = failure.get("message") if isinstance(failure, Mapping) else None
            wire["Details"] = failure.get("stack_trace") if isinstance(failure, Mapping) else None
        if code == _E.ExecutionCompleted and _dt_failure(ev.get("failure_details")):
            wire["FailureDetails"] = _dt_failure(ev.get("failure_details"))
        _fill_required(wire, code)
        out.append(wire)
    ctx.note("durabletask exports have no IsPlayed: every event marked as played")
    return out


# =========================================================================== status API

@dataclass
class _Item:
    """A scheduling event the status API dropped (folded into its completion) or kept."""

    kind: str  # "activity" | "sub_orchestration" | "timer" | "event_sent"
    wire: Dict[str, Any]
    time: datetime
    pos: int
    name: Optional[str] = None
    input: Optional[str] = None
    target: Optional[str] = None
    fire_at: Optional[datetime] = None
    completion: Optional[Dict[str, Any]] = None
    seq: Optional[int] = None

    @property
    def order(self) -> Tuple[datetime, int]:
        return self.time, self.pos


@dataclass
class _Status:
    started: Dict[str, Any]
    start_time: datetime
    items: List[_Item]
    delivered: List[Tuple[int, Dict[str, Any], datetime, Optional[_Item]]]
    terminal: List[Dict[str, Any]]


_KIND_OF = {int(_E.TaskScheduled): "activity", int(_E.SubOrchestrationInstanceCreated):
            "sub_orchestration", int(_E.TimerCreated): "timer", int(_E.EventSent): "event_sent"}
_FOLDED = {int(_E.TaskCompleted): int(_E.TaskScheduled),
           int(_E.TaskFailed): int(_E.TaskScheduled),
           int(_E.SubOrchestrationInstanceCompleted): int(_E.SubOrchestrationInstanceCreated),
           int(_E.SubOrchestrationInstanceFailed): int(_E.SubOrchestrationInstanceCreated)}


def _result_text(value: Any) -> Optional[str]:
    """The status API parsed Result JSON into a value; the SDK wants the JSON text back."""
    return json.dumps(value)


def _parse_status(body: Mapping[str, Any], ctx: _Ctx, instance_id: Optional[str]
                  ) -> Tuple[_Status, str]:
    events = body.get("historyEvents")
    if not isinstance(events, list):
        raise ctx.fail("historyEvents is missing or not a list (was the status fetched with "
                       "showHistory=true?)",
                       fix="Fetch .../instances/{id}?showHistory=true&showHistoryOutput=true"
                           "&showInput=true")
    iid = instance_id or body.get("instanceId")
    if not isinstance(iid, str) or not iid:
        raise ctx.fail("the instance id is unknown: a bare historyEvents list does not say "
                       "which instance it is", fix="Pass instance_id=, or import the whole "
                                                   "status response (it has instanceId)")
    started: Optional[Dict[str, Any]] = None
    start_time: Optional[datetime] = None
    items: List[_Item] = []
    delivered: List[Tuple[int, Dict[str, Any], datetime, Optional[_Item]]] = []
    terminal: List[Dict[str, Any]] = []
    saw_result = saw_input = False
    for i, ev in enumerate(events):
        if not isinstance(ev, Mapping):
            raise ctx.fail(f"expected a JSON object, got {type(ev).__name__}", i)
        if "EventType" not in ev:
            raise ctx.fail("missing EventType", i)
        code = _type_code(ev["EventType"], ctx, i)
        if "Timestamp" not in ev:
            raise ctx.fail("missing Timestamp", i, code)
        when, stamp = _time(ev["Timestamp"], ctx, i, code, "Timestamp")
        wire: Dict[str, Any] = {"EventType": code, "EventId": -1, "IsPlayed": True,
                                "Timestamp": stamp}
        rest = {k: v for k, v in ev.items()
                if k not in ("EventType", "Timestamp", "EventId", "IsPlayed")}
        if code == _E.ExecutionStarted:
            if started is not None:
                raise ctx.fail("a second ExecutionStarted: the status API shows one execution",
                               i, code)
            name = rest.pop("FunctionName", None) or rest.pop("Name", None) or body.get("name")
            if "Input" in rest:
                saw_input = True
            elif "input" in body:
                rest["Input"] = json.dumps(body["input"])
                ctx.note("orchestration input taken from the status response's input")
            wire.update({"OrchestrationInstance": {"InstanceId": iid, "ExecutionId": None},
                         "ParentInstance": None, "Name": name, "Version": None,
                         "Input": rest.pop("Input", None)})
            wire.update(rest)
            started, start_time = wire, when
            continue
        if code in _FOLDED:
            if "ScheduledTime" not in rest or "FunctionName" not in rest:
                raise ctx.fail(
                    "has no ScheduledTime/FunctionName, so the event that scheduled it is "
                    "lost: the extension found no matching scheduling event", i, code,
                    "Export this instance another way (func durable get-history or the "
                    "History table): the status API cannot rebuild it")
            sched_time, sched_stamp = _time(rest.pop("ScheduledTime"), ctx, i, code,
                                            "ScheduledTime")
            name = rest.pop("FunctionName")
            has_input = "Input" in rest
            saw_input = saw_input or has_input
            sched_input = rest.pop("Input", None)
            sched_code = _FOLDED[code]
            sched = {"EventType": sched_code, "EventId": None, "IsPlayed": True,
                     "Timestamp": sched_stamp, "Name": name, "Version": None,
                     "Input": sched_input}
            if sched_code == _E.SubOrchestrationInstanceCreated:
                sched["InstanceId"] = None
            if code in (_E.TaskCompleted, _E.SubOrchestrationInstanceCompleted):
                if "Result" in rest:
                    saw_result = True
                    rest["Result"] = _result_text(rest["Result"])
                else:
                    rest["Result"] = None
            wire["TaskScheduledId"] = None
            wire.update(rest)
            item = _Item(_KIND_OF[sched_code], sched, sched_time, i, name=name,
                         input=sched_input if has_input else None, completion=wire)
            items.append(item)
            delivered.append((i, wire, when, item))
            continue
        if code in _KIND_OF:
            wire.update(rest)
            if code in (_E.TaskScheduled, _E.SubOrchestrationInstanceCreated):
                wire.setdefault("Version", None)
            if code == _E.TimerCreated and wire.get("FireAt") is not None:
                fire, wire["FireAt"] = _time(wire["FireAt"], ctx, i, code, "FireAt")
            else:
                fire = None
            if code == _E.EventSent:
                wire.setdefault("Input", None)
            items.append(_Item(_KIND_OF[code], wire, when, i, name=wire.get("Name"),
                               input=wire.get("Input"), target=wire.get("InstanceId"),
                               fire_at=fire))
            continue
        if code in _TERMINAL:
            if "OrchestrationStatus" in rest:
                rest["OrchestrationStatus"] = _status_code(rest["OrchestrationStatus"], ctx,
                                                           i, code)
            if code == _E.ExecutionCompleted:
                rest["Result"] = _result_text(rest["Result"]) if "Result" in rest else None
            wire.update(rest)
            terminal.append(wire)
            continue
        if code in (_E.OrchestratorStarted, _E.OrchestratorCompleted):
            continue  # never in a status response; tolerated in hand-edited ones
        wire.update(rest)
        if code == _E.EventRaised and "Input" not in wire:
            wire["Input"] = None
            ctx.note("external event data was not exported (showInput=false): events "
                     "deliver null on replay")
        effective = when
        if code == _E.TimerFired:
            wire["TimerId"] = None
            if wire.get("FireAt") is not None:
                fire, wire["FireAt"] = _time(wire["FireAt"], ctx, i, code, "FireAt")
                effective = max(when, fire)  # a timer cannot fire before its time
        delivered.append((i, wire, effective, None))
    if started is None or start_time is None:
        raise ctx.fail("no ExecutionStarted event: the export does not start at the "
                       "beginning of an execution", fix="Export the full history "
                                                        "(showHistory=true)")
    if not saw_result and any(d[1]["EventType"] in (_E.TaskCompleted,
                                                    _E.SubOrchestrationInstanceCompleted)
                              for d in delivered):
        ctx.note("task results were not exported (showHistoryOutput=false): tasks "
                 "resolve to null on replay")
    if not saw_input:
        ctx.note("inputs were not exported (showInput=false or StoreInputsInOrchestration"
                 "History off): scheduled inputs are null")
    ctx.note("episodes (OrchestratorStarted/Completed) rebuilt from timestamps")
    ctx.note("TaskScheduled/SubOrchestrationInstanceCreated rebuilt from ScheduledTime and "
             "FunctionName; sequence numbers, TaskScheduledId and TimerId re-assigned")
    return _Status(started, start_time, items, delivered, terminal), iid


def _marker(code: int, when: datetime) -> Dict[str, Any]:
    return {"EventType": code, "EventId": -1, "IsPlayed": True,
            "Timestamp": when.strftime("%Y-%m-%dT%H:%M:%S.%fZ")}


def _deliver(wire: Dict[str, Any], item: Optional[_Item], timers: List[_Item],
             fired: Set[int]) -> bool:
    """Fill the ids a delivered event needs; False if its scheduling event is not placed."""
    if item is not None:
        if item.seq is None:
            return False
        wire["TaskScheduledId"] = item.seq
    elif wire["EventType"] == _E.TimerFired:
        fire = _fire_key(wire.get("FireAt"))
        open_timers = [t for t in timers if t.seq not in fired]
        match = next((t for t in open_timers if t.fire_at == fire), None) or (
            open_timers[0] if open_timers else None)
        if match is None or match.seq is None:
            return False
        fired.add(match.seq)
        wire["TimerId"] = match.seq
    return True


def _place(item: _Item, seq: int, out: List[Dict[str, Any]], timers: List[_Item]) -> None:
    item.seq = seq
    item.wire["EventId"] = seq
    out.append(item.wire)
    if item.kind == "timer":
        timers.append(item)


def _rebuild_by_time(st: _Status, ctx: _Ctx) -> List[Dict[str, Any]]:
    """Order the lost scheduling events by their time, ties by export position.

    The kept events stay in export order (it is the history's order); each dropped
    TaskScheduled goes before the first kept event that is later than it, and
    always before its own completion.
    """
    pending = list(st.items)
    ties: Dict[datetime, int] = {}
    for it in st.items:
        if it.completion is not None:
            ties[it.time] = ties.get(it.time, 0) + 1
    if any(n > 1 for n in ties.values()):
        ctx.note("several tasks were scheduled at the same instant; with no orchestrator "
                 "code their order is guessed from the order they completed (pass app= "
                 "to order them as the code does)")
    out: List[Dict[str, Any]] = [_marker(_E.OrchestratorStarted, st.start_time), st.started]
    timers: List[_Item] = []
    fired: Set[int] = set()
    seq = 0
    now = st.start_time
    last_was_scheduling = True  # the first delivered event always opens a new episode
    end = (len(st.items) + len(st.delivered) + 1, None, datetime.max.replace(
        tzinfo=timezone.utc), None)
    for pos, wire, when, item in [*st.delivered, end]:
        due = sorted((p for p in pending if p is item or (
            p.pos < pos if p.completion is None else p.order < (when, pos))),
            key=lambda p: p.order)
        for p in due:
            pending.remove(p)
            _place(p, seq, out, timers)
            seq += 1
            last_was_scheduling = True
        if wire is None:
            break
        if last_was_scheduling:
            out.append(_marker(_E.OrchestratorCompleted, now))
            now = max(now, when)
            out.append(_marker(_E.OrchestratorStarted, now))
        if not _deliver(wire, item, timers, fired):
            raise ctx.fail("TimerFired has no earlier TimerCreated to pair it with", pos,
                           wire["EventType"])
        out.append(wire)
        last_was_scheduling = False
    out.extend(st.terminal)
    out.append(_marker(_E.OrchestratorCompleted, now))
    return out


class _CodeMismatch(Exception):
    """The orchestrator code does not reproduce the export; fall back to timestamps."""


def _rebuild_by_code(st: _Status, orchestrator: Any, iid: str, name: str,
                     ctx: _Ctx) -> List[Dict[str, Any]]:
    """Replay the code through the real SDK after each delivered event and place the
    scheduling events in the order (and with the numbers) the code gives them."""
    from .scenario import next_actions

    out: List[Dict[str, Any]] = [_marker(_E.OrchestratorStarted, st.start_time), st.started]
    unmatched = sorted(st.items, key=lambda i: i.order)
    timers: List[_Item] = []
    fired: Set[int] = set()
    now = st.start_time
    ambiguous: List[str] = []
    filled: List[str] = []

    def schedule() -> None:
        try:
            tasks = next_actions(orchestrator, InstanceHistory.from_events(
                out, orchestrator=name, instance_id=iid))
        except Exception as exc:  # noqa: BLE001 - whatever the code does, fall back
            raise _CodeMismatch(f"the code failed on the rebuilt history: "
                                f"{type(exc).__name__}: {str(exc).splitlines()[0]:.200}")
        for task in tasks:
            if str(getattr(task.kind, "value", task.kind)) == "external_event":
                continue
            item = _pick(task, unmatched, ambiguous)
            if item is None:
                raise _CodeMismatch(f"the code schedules {task}, which the export does not "
                                    "record")
            unmatched.remove(item)
            assert task.seq is not None
            if item.kind == "sub_orchestration" and item.wire.get("InstanceId") is None \
                    and task.instance_id:
                # The status API folds SubOrchestrationInstanceCreated into its completion
                # and loses the child's id; the code says which id it passes.
                item.wire["InstanceId"] = task.instance_id
                filled.append(task.instance_id)
            _place(item, task.seq, out, timers)

    schedule()
    for pos, wire, when, item in st.delivered:
        out.append(_marker(_E.OrchestratorCompleted, now))
        now = max(now, when)
        out.append(_marker(_E.OrchestratorStarted, now))
        if not _deliver(wire, item, timers, fired):
            raise _CodeMismatch(f"event {pos} ({_NAME_BY_TYPE.get(wire['EventType'])}) "
                                "completes work the code had not scheduled")
        out.append(wire)
        if unmatched:
            schedule()
    if unmatched:
        raise _CodeMismatch(f"the export records {unmatched[0].kind} "
                            f"{unmatched[0].name or ''} that the code never schedules")
    out.extend(st.terminal)
    out.append(_marker(_E.OrchestratorCompleted, now))
    if ambiguous:
        ctx.note("same-named tasks scheduled at the same instant without exported inputs "
                 f"were matched in completion order: {', '.join(sorted(set(ambiguous)))}")
    if filled:
        ctx.note("sub-orchestration instance ids taken from the code: "
                 f"{', '.join(filled)}")
    ctx.note("scheduling order and sequence numbers taken from replaying the orchestrator "
             "code")
    return out


def _pick(task: Any, unmatched: List[_Item], ambiguous: List[str]) -> Optional[_Item]:
    raw = str(getattr(task.kind, "value", task.kind))  # a str or a str-valued enum
    kind = {"http": "activity", "entity_call": "event_sent",
            "entity_signal": "event_sent"}.get(raw, raw)
    candidates = []
    for it in unmatched:
        if it.kind != kind:
            continue
        if kind in ("activity", "sub_orchestration") and \
                (it.name or "").lower() != (task.name or "").lower():
            continue
        if kind == "event_sent" and (it.target or "").lower() != (task.instance_id or "").lower():
            continue
        if it.input is not None and kind != "event_sent":
            try:
                if json.loads(it.input) != task.input:
                    continue
            except (TypeError, ValueError):
                pass
        candidates.append(it)
    if not candidates:
        return None
    if kind == "timer" and task.fire_at is not None:
        exact = [c for c in candidates if c.fire_at == task.fire_at]
        candidates = exact or candidates
    first = candidates[0]
    if kind != "timer" and first.input is None and any(
            c.time == first.time for c in candidates[1:]):
        ambiguous.append(first.name or kind)
    return first


# =========================================================================== assembling

def _resolve_orchestrator(app: Any, orchestrator: Any, name: str) -> Any:
    if orchestrator is not None:
        return orchestrator
    if app is None:
        return None
    from .app import AppFunctions, discover_app

    functions = app if isinstance(app, AppFunctions) else discover_app(app)
    return functions.get(name, "orchestrator").function


def _finish(wire: List[Dict[str, Any]], ctx: _Ctx, version: Optional[str],
            instance_id: Optional[str]) -> InstanceHistory:
    started = next((e for e in wire if e.get("EventType") == _E.ExecutionStarted), None)
    if started is None:
        raise ctx.fail("no ExecutionStarted event: the export does not start at the "
                       "beginning of an execution, so its input, name and version are "
                       "unknown", fix="Export the whole history of the instance")
    starts = [e for e in wire if e.get("EventType") == _E.ExecutionStarted]
    for e in starts:
        if e.get("Version") in (None, "") and version is not None:
            e["Version"] = version
            ctx.note(f"ExecutionStarted Version set to {version!r} from version=")
        elif e.get("Version") not in (None, "") and version is not None \
                and e["Version"] != version:
            ctx.note(f"version={version!r} ignored: the export records Version "
                     f"{e['Version']!r}")
    name = started.get("Name")
    oi = started.get("OrchestrationInstance")
    iid = instance_id or (oi.get("InstanceId") if isinstance(oi, Mapping) else None)
    if not isinstance(name, str) or not name:
        raise ctx.fail("ExecutionStarted has no Name: the orchestrator is unknown", None,
                       None)
    if not isinstance(iid, str) or not iid:
        raise ctx.fail("ExecutionStarted has no OrchestrationInstance.InstanceId",
                       fix="Pass instance_id=")
    metadata = {"import": {"format": ctx.fmt, "source": ctx.path, "notes": list(ctx.notes)}}
    try:
        return InstanceHistory.from_events(wire, orchestrator=name, instance_id=iid,
                                           metadata=metadata, path=ctx.path)
    except HistoryImportError:
        raise
    except HistoryFormatError as exc:
        raise HistoryImportError(f"the rebuilt history is not valid: {exc.problem}",
                                 path=ctx.path, event_index=exc.event_index,
                                 source_format=ctx.fmt) from None


def import_histories(source: Source, *, format: str = "auto", app: Any = None,
                     orchestrator: Any = None, version: Optional[str] = None,
                     instance_id: Optional[str] = None,
                     max_bytes: int = _MAX_BYTES) -> List[InstanceHistory]:
    """Like :func:`import_history`, for exports that hold several instances.

    A History-table export holds one instance per PartitionKey; every other format
    holds one instance. Returns one history per instance, in PartitionKey order.
    """
    try:
        return _import_histories(_read(source, max_bytes), format, app, orchestrator,
                                 version, instance_id)
    except RecursionError:
        # The parser takes ~1,000 levels, the rebuild (deep copies, JSON text) fewer.
        raise HistoryImportError(
            f"a value is nested too deeply to process (over about {sys.getrecursionlimit()} "
            "levels)", path=_read_label(source)) from None


def _import_histories(read: _Read, format: str, app: Any, orchestrator: Any,
                      version: Optional[str], instance_id: Optional[str]
                      ) -> List[InstanceHistory]:
    fmt = _sniff(read) if format == "auto" else format
    if fmt not in FORMATS:
        raise HistoryImportError(f"unknown format {format!r}", path=read.label,
                                 fix=f"Use one of auto, {', '.join(FORMATS)}")
    ctx = _Ctx(read.label, fmt)
    if fmt == "storage-table":
        histories = []
        for _, rows in sorted(_table_partitions(read, ctx).items()):
            part = _Ctx(read.label, fmt)
            events = _table_events(rows, part, read.hub)
            histories.append(_finish(_dtfx_to_wire(events, part), part, version, instance_id))
        return histories
    if fmt == "core-tools":
        if not isinstance(read.data, list):
            raise ctx.fail("expected the JSON list func durable get-history prints, got "
                           f"{type(read.data).__name__}")
        return [_finish(_dtfx_to_wire(read.data, ctx), ctx, version, instance_id)]
    if fmt == "durabletask":
        doc_iid, events = _dt_document(read, ctx)
        return [_finish(_dt_to_wire(events, ctx), ctx, version, instance_id or doc_iid)]
    body = _status_body(read.data)
    if body is None:
        data = read.data
        body = data if isinstance(data, Mapping) else {"historyEvents": data}
    status, iid = _parse_status(body, ctx, instance_id)
    name = status.started.get("Name")
    code = _resolve_orchestrator(app, orchestrator, name) if isinstance(name, str) else None
    wire = None
    if code is not None:
        try:
            wire = _rebuild_by_code(_copy_status(status), code, iid, str(name), ctx)
        except _CodeMismatch as exc:
            ctx.note(f"the orchestrator code did not reproduce the export ({exc}); fell back "
                     "to timestamp order")
    if wire is None:
        wire = _rebuild_by_time(status, ctx)
    return [_finish(wire, ctx, version, iid)]


def _copy_status(st: _Status) -> _Status:
    """A deep copy, so a failed code-driven rebuild leaves the parse intact for the fallback."""
    import copy

    return copy.deepcopy(st)


def import_history(source: Source, *, format: str = "auto", app: Any = None,
                   orchestrator: Any = None, version: Optional[str] = None,
                   instance_id: Optional[str] = None,
                   max_bytes: int = _MAX_BYTES) -> InstanceHistory:
    """Turn a production history export into a replayable :class:`InstanceHistory`.

    Args:
        source: the path of an export file (JSON, JSON lines, History-table CSV, any of
            them gzipped), or the export already parsed: a dict or list from
            ``json.loads``, or the ``DurableOrchestrationStatus`` that
            ``client.get_status(show_history=True, ...)`` returns. A ``str`` is always
            a path, never JSON text (parse text with ``json.loads`` first).
        format: "auto" (sniff the shape) or one of :data:`FORMATS`.
        app: anything :func:`durable_testkit.app.discover_app` accepts; its
            orchestrator of the history's name orders what the status API leaves
            ambiguous (tasks scheduled at the same instant).
        orchestrator: the orchestrator function itself, instead of ``app``.
        version: the orchestration version to record in ExecutionStarted ``Version``
            when the export has none (the status API drops it).
        instance_id: the instance id, for a bare ``historyEvents`` list that lacks it.
        max_bytes: refuse a file larger than this, or one that decompresses to more
            (default 256 MiB). Only regular files are read: a FIFO or device is
            refused by name before it is opened.

    Returns:
        The history; ``metadata["import"]`` holds the format, the source and
        ``notes``: one line per thing that was reconstructed or assumed.

    Raises:
        HistoryImportError: the export cannot be read or rebuilt; names the file, the
            event (index and type) and what is missing.
    """
    histories = import_histories(source, format=format, app=app, orchestrator=orchestrator,
                                 version=version, instance_id=instance_id,
                                 max_bytes=max_bytes)
    if len(histories) != 1:
        ids = ", ".join(h.instance_id for h in histories[:5])
        raise HistoryImportError(
            f"the export holds {len(histories)} instances ({ids}"
            f"{', ...' if len(histories) > 5 else ''})",
            path=_read_label(source), source_format=format,
            fix="Use import_histories() or durable-testkit import, which write one file "
                "per instance")
    return histories[0]


def _read_label(source: Source) -> str:
    return os.fspath(source) if isinstance(source, (str, os.PathLike)) else "<object>"


# =========================================================================== the corpus

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


def _safe(part: str) -> str:
    """A file-name-safe spelling; a short hash keeps ids that differ only in unsafe
    characters (``a:b`` and ``a_b``) from sharing a file."""
    clean = _UNSAFE.sub("_", part).strip(".") or "_"
    if clean != part:
        clean = f"{clean[:80]}-{hashlib.sha1(part.encode('utf-8')).hexdigest()[:8]}"
    return clean[:120]


def corpus_path(history: InstanceHistory, out_dir: Union[str, "os.PathLike[str]"]) -> str:
    """Where a history goes in a corpus: ``DIR/<orchestrator>/<version>/<instance>.json``.

    ``<version>`` is the first ExecutionStarted's ``Version``, or ``unversioned``.
    Each part is made file-name safe.
    """
    started = next((e for e in history.events if int(e.event_type) == _E.ExecutionStarted),
                   None)
    version = getattr(started, "version", None) or "unversioned"
    return os.path.join(os.fspath(out_dir), _safe(history.orchestrator), _safe(version),
                        _safe(history.instance_id) + ".json")


def _save_to_corpus(history: InstanceHistory, target: str) -> str:
    """Save under ``target``, or ``<instance>-2.json``... when a *different* history holds it.

    Importing the same export again rewrites its file; a different history of the
    same instance id (a second hub, an id reused after a purge) is never written over:
    it gets the next free name, as ``--durable-record`` names its files.
    """
    os.makedirs(os.path.dirname(target), exist_ok=True)
    path, reserved = reserve_free_name(target[:-len(".json")],
                                       lambda taken: _holds(taken, history))
    try:
        save_history(history, path)
    except BaseException:
        if reserved:
            os.unlink(path)  # no empty reservation left to look like a history
        raise
    return path


def _holds(path: str, history: InstanceHistory) -> bool:
    """Whether the corpus file at ``path`` is this very history (same events)."""
    try:
        return load_history(path).events == history.events
    except DurableTestkitError:
        return False


@dataclass(frozen=True)
class ImportOutcome:
    """What importing one source did: the files written, or why it failed."""

    source: str
    ok: bool
    written: Tuple[str, ...]
    message: str


def import_to_corpus(sources: Iterable[Union[str, "os.PathLike[str]"]],
                     out_dir: Union[str, "os.PathLike[str]"], *, format: str = "auto",
                     app: Any = None, version: Optional[str] = None,
                     on_outcome: Optional[Callable[[ImportOutcome], None]] = None,
                     max_bytes: int = _MAX_BYTES) -> List[ImportOutcome]:
    """Import each source and save its instances into the corpus under ``out_dir``.

    A source that fails is reported (a one-line message naming it) and the next one
    is imported. The app, if given, is loaded once for all sources. ``max_bytes``
    bounds each source as in :func:`import_history`.

    Raises:
        AppDiscoveryError: the app cannot be loaded (nothing is imported).
    """
    if app is not None:
        from .app import AppFunctions, discover_app

        app = app if isinstance(app, AppFunctions) else discover_app(app)
    outcomes = []
    for source in sources:
        label = os.fspath(source)
        try:
            histories = import_histories(source, format=format, app=app, version=version,
                                         max_bytes=max_bytes)
            written, labels = [], []
            for h in histories:
                wanted = corpus_path(h, out_dir)
                target = _save_to_corpus(h, wanted)
                written.append(target)
                taken = "" if target == wanted else \
                    f" ({os.path.basename(wanted)} holds a different history of it)"
                labels.append(f"{h.orchestrator} {h.instance_id} -> {target}{taken}")
            notes = sum(len(h.metadata["import"]["notes"]) for h in histories)
            summary = ", ".join(labels)
            outcome = ImportOutcome(label, True, tuple(written),
                                    f"{summary} ({notes} note{'s' if notes != 1 else ''})")
        except (DurableTestkitError, OSError) as exc:
            outcome = ImportOutcome(label, False, (), str(exc))
        except Exception as exc:  # noqa: BLE001 - a bug here must not stop the other sources
            outcome = ImportOutcome(
                label, False, (), f"{label}: the import failed unexpectedly "
                f"({type(exc).__name__}: {exc}); please report it with this file")
        outcomes.append(outcome)
        if on_outcome is not None:
            on_outcome(outcome)
    return outcomes
