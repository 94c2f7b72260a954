"""The history model: wire round trips, validation messages, files and rendering."""
from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Dict

import pytest

from durable_testkit import history as h
from durable_testkit.errors import HistoryFormatError
from durable_testkit.history import (
    EventType,
    ExecutionStarted,
    InstanceHistory,
    OtherEvent,
    TaskCompleted,
    TaskScheduled,
    event_from_wire,
    events_from_wire,
    events_to_wire,
    load_history,
    render_event,
    render_timeline,
    save_history,
)

DATA = Path(__file__).parent / "data"
GOLDEN = DATA / "history_golden.json"
T0 = datetime(2024, 1, 1, tzinfo=timezone.utc)


def wire(event_type: int, **keys: Any) -> Dict[str, Any]:
    d: Dict[str, Any] = {"EventType": event_type, "EventId": -1, "IsPlayed": False,
                         "Timestamp": "2024-01-01T00:00:00.000000Z"}
    d.update(keys)
    return d


# ------------------------------------------------------------------ the enum and the SDK

def test_event_type_matches_the_sdk_enum() -> None:
    from azure.durable_functions.models.history.HistoryEventType import HistoryEventType

    sdk = {m.name.replace("_", ""): m.value for m in HistoryEventType}
    ours = {m.name.upper(): m.value for m in EventType}
    assert ours == sdk


def test_all_is_the_public_surface() -> None:
    public = {n for n, v in vars(h).items()
              if not n.startswith("_") and getattr(v, "__module__", None) == h.__name__}
    public |= {"FORMAT_NAME", "FORMAT_VERSION", "SUPPORTED_FORMAT_VERSIONS"}
    assert set(h.__all__) == public - {"WireEvent", "EventLike"}
    assert len(h.__all__) == len(set(h.__all__))


# ------------------------------------------------------------------ golden round trip

def test_golden_file_round_trips_exactly() -> None:
    raw = json.loads(GOLDEN.read_text(encoding="utf-8"))
    loaded = load_history(GOLDEN)
    assert loaded.to_json() == raw
    # key order too, event by event
    for event, original in zip(loaded.to_json()["events"], raw["events"]):
        assert list(event) == list(original)


def test_golden_file_covers_every_modelled_event_type() -> None:
    loaded = load_history(GOLDEN)
    seen = {type(e) for e in loaded.events}
    modelled = {c for c in vars(h).values()
                if isinstance(c, type) and issubclass(c, h.HistoryEvent)
                and c not in (h.HistoryEvent, OtherEvent)}
    assert seen == modelled


def test_golden_save_reproduces_the_file_byte_for_byte(tmp_path: Path) -> None:
    out = tmp_path / "copy.json"
    save_history(load_history(GOLDEN), out)
    assert out.read_text(encoding="utf-8") == GOLDEN.read_text(encoding="utf-8")


def test_golden_typed_view() -> None:
    loaded = load_history(GOLDEN)
    assert loaded.orchestrator == "ProcessOrder"
    assert loaded.instance_id == "order-42"
    assert loaded.sdk_version == "1.7.0"
    started = loaded.events[1]
    assert isinstance(started, ExecutionStarted)
    assert started.execution_id == "9f1c2b7e0d3a4c55a1b2c3d4e5f60718"
    assert started.payload == {"order": 42, "city": "Tokyo"}
    assert started.extra["Generation"] == 0
    assert loaded.input == '{"order": 42, "city": "Tokyo"}'
    assert [len(x) for x in loaded.executions] == [29, 7]
    assert isinstance(loaded.executions[1][1], ExecutionStarted)
    completed = loaded.events[5]
    assert isinstance(completed, TaskCompleted)
    assert (completed.task_scheduled_id, completed.payload) == (0, "Hello Tokyo")
    # 7 fractional digits are truncated to microseconds, and the text is kept.
    assert started.timestamp == datetime(2024, 3, 1, 9, 0, 0, 1234, tzinfo=timezone.utc)
    assert started.to_wire()["Timestamp"] == "2024-03-01T09:00:00.0012345Z"


def test_other_event_types_are_kept() -> None:
    loaded = load_history(DATA / "history_bare_list.json")
    others = [e for e in loaded.events if isinstance(e, OtherEvent)]
    assert [e.event_type for e in others] == [EventType.ExecutionFailed,
                                              EventType.GenericEvent,
                                              EventType.HistoryState, 21]
    assert others[-1].extra == {"Note": "a type newer than SDK 1.7.0 knows"}
    assert events_to_wire(loaded.events) == json.loads(
        (DATA / "history_bare_list.json").read_text())


# ------------------------------------------------------------------ typed construction

def test_constructed_event_writes_every_modelled_key_in_order() -> None:
    e = TaskScheduled(event_id=0, timestamp=T0, name="Hello", input='"Tokyo"')
    assert list(e.to_wire().items()) == [
        ("EventType", 4), ("EventId", 0), ("IsPlayed", False),
        ("Timestamp", "2024-01-01T00:00:00.000000Z"), ("Name", "Hello"), ("Version", None),
        ("Input", '"Tokyo"')]
    assert event_from_wire(e.to_wire()) == e


def test_changed_value_replaces_the_original_text() -> None:
    import dataclasses

    e = event_from_wire(wire(5, TaskScheduledId=0, Result='"a"',
                             Timestamp="2024-01-01T00:00:00Z"))
    changed = dataclasses.replace(e, result='"b"')
    assert changed.to_wire()["Result"] == '"b"'
    assert changed.to_wire()["Timestamp"] == "2024-01-01T00:00:00Z"
    moved = dataclasses.replace(e, timestamp=datetime(2024, 1, 2, tzinfo=timezone.utc))
    assert moved.to_wire()["Timestamp"] == "2024-01-02T00:00:00.000000Z"


def test_naive_timestamp_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        TaskScheduled(event_id=0, timestamp=datetime(2024, 1, 1))


def test_events_are_immutable_and_hashable() -> None:
    e = event_from_wire(wire(15, Name="Go", Input="1", Extra={"a": 1}))
    with pytest.raises(Exception):
        e.name = "x"  # type: ignore[misc]
    with pytest.raises(TypeError):
        e.extra["Extra"] = 2  # type: ignore[index]
    assert hash(e) == hash(event_from_wire(wire(15, Name="Go", Input="1")))


def test_payload_is_plain_json() -> None:
    assert event_from_wire(wire(15, Name="Go", Input='{"__class__": "X"}')).payload == {
        "__class__": "X"}
    assert event_from_wire(wire(15, Name="Go", Input=None)).payload is None
    assert event_from_wire(wire(6, TaskScheduledId=1, Reason="r", Details="d")).payload is None


@pytest.mark.parametrize("text, expected", [
    ("2024-01-01T00:00:00Z", datetime(2024, 1, 1, tzinfo=timezone.utc)),
    ("2024-01-01T00:00:00.1234567Z", datetime(2024, 1, 1, 0, 0, 0, 123456, tzinfo=timezone.utc)),
    ("2024-01-01T00:00:00.5Z", datetime(2024, 1, 1, 0, 0, 0, 500000, tzinfo=timezone.utc)),
    ("2024-01-01T00:00:00+00:00", datetime(2024, 1, 1, tzinfo=timezone.utc)),
    ("2024-01-01T09:00:00+09:00", datetime(2024, 1, 1, tzinfo=timezone.utc)),
])
def test_timestamps_as_dotnet_writes_them(text: str, expected: datetime) -> None:
    e = event_from_wire(wire(12, Timestamp=text))
    assert e.timestamp == expected and e.timestamp.tzinfo == timezone.utc
    assert e.to_wire()["Timestamp"] == text


# ------------------------------------------------------------------ validation messages

#: What every "this is an export, not a history" message ends with.
IMPORT = ("A production export (the status API's response, History table rows, func durable "
          "get-history, a durabletask export) is imported first: durable-testkit import FILE "
          "--out DIR (or durable_testkit.importers.import_history)")

@pytest.mark.parametrize("events, message", [
    ([{"EventId": -1}],
     "event 0: missing EventType; every wire event needs an int EventType "
     "(keys present: EventId)"),
    ([wire(12), wire("TaskCompleted")],  # type: ignore[arg-type]
     "event 1: EventType must be an int, got str 'TaskCompleted' (TaskCompleted is 5). "
     "Status-API and table exports name event types as strings; the SDK only accepts "
     f"numbers. {IMPORT}"),
    ([wire(12), wire(0, Name="X", OrchestrationInstance={"InstanceId": "i"})],
     "event 1: ExecutionStarted is missing Version: the SDK (1.3+) reads it for "
     "context.version and crashes without it; null is fine"),
    ([wire(5, TaskScheduledId=0)],
     "event 0: TaskCompleted is missing Result: the SDK reads it to resolve the task and "
     "crashes without it; use \"null\" text for None"),
    ([wire(8, TaskScheduledId=0)],
     "event 0: SubOrchestrationInstanceCompleted is missing Result: the SDK reads it to "
     "resolve the task and crashes without it; use \"null\" text for None"),
    ([wire(11, FireAt="2024-01-01T00:00:00Z")],
     "event 0: TimerFired is missing TimerId: the SDK resolves timers by TimerId and "
     "crashes without it"),
    ([wire(14, InstanceId="@c@k", Name="op")],
     "event 0: EventSent is missing Input: the SDK reads it for entity calls and crashes "
     "without it"),
    ([wire(12, Timestamp="yesterday")],
     "event 0: OrchestratorStarted: bad Timestamp: 'yesterday' is not an ISO 8601 UTC time "
     "like '2024-01-01T00:00:00.000000Z'."),
    ([wire(12, Timestamp="2024-01-01T00:00:00")],
     "event 0: OrchestratorStarted: bad Timestamp: '2024-01-01T00:00:00' is not an ISO 8601 "
     "UTC time like '2024-01-01T00:00:00.000000Z'. It has no UTC offset: the extension "
     "always writes 'Z', and the SDK would compare it with aware datetimes and fail."),
    ([wire(12, Timestamp="2024-02-30T00:00:00Z")],
     "event 0: OrchestratorStarted: bad Timestamp: '2024-02-30T00:00:00Z' is not a valid "
     "time: day is out of range for month"),
    ([{"EventType": 13, "EventId": -1, "IsPlayed": False}],
     "event 0: OrchestratorCompleted is missing Timestamp; the SDK requires EventType, "
     "EventId, IsPlayed and Timestamp on every event"),
    ([wire(5, TaskScheduledId="0", Result="1")],
     "event 0: TaskCompleted: TaskScheduledId must be an int, got str '0'"),
    ([wire(15, Name="Go", Input={"a": 1})],
     "event 0: EventRaised: Input must be JSON text (a str) or null, got dict {'a': 1}"),
    ([wire(12, IsPlayed="no")],
     "event 0: OrchestratorStarted: IsPlayed must be true or false, got 'no'"),
    (["nope"], "event 0: expected a JSON object (a wire event), got str 'nope'"),
])
def test_malformed_event_messages(events: Any, message: str) -> None:
    with pytest.raises(HistoryFormatError) as info:
        events_from_wire(events)
    assert str(info.value) == message


def test_single_event_error_has_no_index() -> None:
    with pytest.raises(HistoryFormatError) as info:
        event_from_wire(wire(11))
    assert info.value.event_index is None
    assert str(info.value).startswith("TimerFired is missing TimerId")


# ------------------------------------------------------------------ files

def write(tmp_path: Path, content: str, name: str = "h.json") -> Path:
    p = tmp_path / name
    p.write_text(content, encoding="utf-8")
    return p


def test_load_reports_invalid_json_position(tmp_path: Path) -> None:
    p = write(tmp_path, '{\n  "format": "durable-testkit/history",\n  "version": 1,,\n}')
    with pytest.raises(HistoryFormatError) as info:
        load_history(p)
    assert str(info.value) == (
        f"{p}: not valid JSON: Expecting property name enclosed in double quotes "
        "at line 3, column 16")


def test_load_reports_unsupported_version(tmp_path: Path) -> None:
    p = write(tmp_path, json.dumps({"format": "durable-testkit/history", "version": 2}))
    with pytest.raises(HistoryFormatError) as info:
        load_history(p)
    assert str(info.value) == (
        f"{p}: unsupported history format version 2; this durable-testkit reads version(s) "
        "1. A newer file needs a newer durable-testkit.")


def test_load_reports_file_and_event_index(tmp_path: Path) -> None:
    doc = load_history(GOLDEN).to_json()
    del doc["events"][5]["Result"]
    p = write(tmp_path, json.dumps(doc))
    with pytest.raises(HistoryFormatError) as info:
        load_history(p)
    assert (info.value.path, info.value.event_index) == (str(p), 5)
    assert str(info.value).startswith(f"{p}, event 5: TaskCompleted is missing Result:")


@pytest.mark.parametrize("doc, problem", [
    ({"format": "other"}, "\"format\" is 'other', expected 'durable-testkit/history'"),
    ({"format": "durable-testkit/history", "version": 1, "instanceId": "i", "events": []},
     "missing \"orchestrator\""),
    ({"format": "durable-testkit/history", "version": 1, "orchestrator": "o",
      "instanceId": "i", "events": {}}, "\"events\" must be a list, got dict"),
    ({"hello": 1}, "not a history file: expected an object with \"format\": "
     "\"durable-testkit/history\", a list of wire events, or an orchestration context "
     f"object with \"history\". {IMPORT}"),
    ({"instanceId": "i", "historyEvents": []}, "not a history file: a status API response "
     "(\"historyEvents\"), expected an object with \"format\": \"durable-testkit/history\", "
     f"a list of wire events, or an orchestration context object with \"history\". {IMPORT}"),
])
def test_load_reports_bad_documents(tmp_path: Path, doc: Any, problem: str) -> None:
    p = write(tmp_path, json.dumps(doc))
    with pytest.raises(HistoryFormatError) as info:
        load_history(p)
    assert str(info.value) == f"{p}: {problem}"


def test_load_bare_list_without_execution_started(tmp_path: Path) -> None:
    p = write(tmp_path, json.dumps([wire(12)]))
    with pytest.raises(HistoryFormatError) as info:
        load_history(p)
    assert str(info.value) == (f"{p}: cannot tell the orchestrator's name: no "
                               "ExecutionStarted event (EventType 0) with a Name")


def test_load_bare_list_and_context_json() -> None:
    bare = load_history(DATA / "history_bare_list.json")
    ctx = load_history(DATA / "history_context.json")
    assert (bare.orchestrator, bare.instance_id) == ("Odd", "odd-1")
    assert (ctx.orchestrator, ctx.instance_id) == ("Odd", "odd-1")
    assert bare.events == ctx.events
    assert bare.sdk_version is None


def test_load_accepts_a_byte_order_mark(tmp_path: Path) -> None:
    p = tmp_path / "bom.json"
    p.write_bytes(b"\xef\xbb\xbf" + GOLDEN.read_bytes())
    assert load_history(p) == load_history(GOLDEN)


def test_save_is_pretty_stable_and_ends_with_newline(tmp_path: Path) -> None:
    hist = InstanceHistory.from_events(
        [wire(12), wire(0, Name="Hello", Version=None, Input='"x"',
                        OrchestrationInstance={"InstanceId": "abc", "ExecutionId": "e"})],
        sdk_version="1.7.0", metadata={"b": 1, "a": 2})
    p = tmp_path / "h.json"
    save_history(hist, p)
    text = p.read_text(encoding="utf-8")
    assert text.endswith("}\n") and text.startswith('{\n  "format": "durable-testkit/history"')
    assert list(json.loads(text)) == ["format", "version", "orchestrator", "instanceId",
                                      "sdkVersion", "metadata", "events"]
    assert list(json.loads(text)["metadata"]) == ["a", "b"]
    assert load_history(p) == hist


def test_failed_serialization_leaves_the_old_file(tmp_path: Path) -> None:
    p = tmp_path / "h.json"
    save_history(load_history(GOLDEN), p)
    before = p.read_bytes()
    bad = InstanceHistory.from_events(load_history(GOLDEN).events,
                                      metadata={"zz": object()})
    with pytest.raises(HistoryFormatError) as info:
        save_history(bad, p)
    assert str(info.value).startswith(f"{p}: cannot save: not JSON serializable:")
    assert p.read_bytes() == before
    assert os.listdir(tmp_path) == ["h.json"]


def test_failed_fsync_leaves_the_old_file(tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    p = tmp_path / "h.json"
    p.write_text("old\n")

    def boom(fd: int) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(h.os, "fsync", boom)
    with pytest.raises(OSError, match="disk full"):
        save_history(load_history(GOLDEN), p)
    assert p.read_text() == "old\n"
    assert os.listdir(tmp_path) == ["h.json"]


# ------------------------------------------------------------------ rendering

def test_render_event_lines() -> None:
    loaded = load_history(GOLDEN)
    assert render_event(loaded.events[5], 5) == '  5  TaskCompleted      #0 result="Hello Tokyo"'
    assert render_event(loaded.events[13]) == "TimerCreated       #4 fire_at=2024-03-01T09:07:02.5Z"
    assert render_event(loaded.events[0]) == "OrchestratorStarted at 2024-03-01T09:00:00Z"
    assert render_event(loaded.to_wire()[27]) == (
        'ExecutionCompleted status=ContinuedAsNew result={"order": 43}')


def test_render_truncates_long_payloads() -> None:
    line = render_event(wire(15, Name="Big", Input=json.dumps("x" * 500)))
    assert line == 'EventRaised        "Big" input="' + "x" * 56 + "..."


def test_render_never_raises_on_malformed_wire() -> None:
    assert render_event({"EventType": 5}, 2) == (
        "  2  <malformed event: TaskCompleted is missing EventId; the SDK requires EventType, "
        "EventId, IsPlayed and Timestamp on every event>")


def test_render_timeline_window_and_marker() -> None:
    events = load_history(GOLDEN).events
    text = render_timeline(events, mark=5, around=1)
    assert text == "\n".join([
        "     ... 4 earlier events",
        "    4  OrchestratorStarted at 2024-03-01T09:00:01.1Z",
        '>   5  TaskCompleted      #0 result="Hello Tokyo"',
        '    6  TaskScheduled      #1 "Charge" input={"amount": 12.5}',
        "     ... 29 later events",
    ])
    assert len(render_timeline(events).splitlines()) == len(events)
    assert render_timeline([]) == "  (no events)"


def test_the_documented_example_loads(tmp_path: Path) -> None:
    doc = (Path(__file__).parents[2] / "docs" / "history-format.md").read_text(encoding="utf-8")
    example = doc.split("```json\n", 1)[1].split("```", 1)[0]
    loaded = load_history(write(tmp_path, example))
    assert (loaded.orchestrator, loaded.instance_id) == ("Hello", "abc123")
    assert loaded.events[-1].payload == "Hello Tokyo"
