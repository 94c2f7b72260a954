"""Property tests: any well-formed wire event survives the typed view unchanged."""
from __future__ import annotations

import json
import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable, Dict, List

from hypothesis import given
from hypothesis import strategies as st

from durable_testkit import history as h
from durable_testkit.history import (
    InstanceHistory,
    event_from_wire,
    load_history,
    render_event,
    render_timeline,
    save_history,
)

MODELLED = {int(c.EVENT_TYPE): c for c in h._CLASSES.values()}

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text()
    | st.floats(allow_nan=False, allow_infinity=False),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=8)


@st.composite
def timestamps(draw: Callable[..., Any]) -> str:
    """Timestamps spelled every way the SDK or .NET writes them."""
    moment = draw(st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(2200, 1, 1),
                               timezones=st.just(timezone.utc)))
    base = moment.strftime("%Y-%m-%dT%H:%M:%S")
    style = draw(st.sampled_from(["sdk", "none", "short", "ticks", "offset", "east"]))
    if style == "sdk":
        return base + f".{moment.microsecond:06d}Z"
    if style == "none":
        return base + "Z"
    if style == "short":
        return base + f".{moment.microsecond // 1000:03d}Z"
    if style == "ticks":
        return base + f".{moment.microsecond:06d}{draw(st.integers(0, 9))}Z"
    if style == "offset":
        return base + f".{moment.microsecond:06d}+00:00"
    local = moment.astimezone(timezone(timedelta(hours=9)))
    return local.strftime("%Y-%m-%dT%H:%M:%S") + f".{moment.microsecond:06d}+09:00"


json_text = json_values.map(json.dumps)
VALUES = {
    "text": st.none() | st.text(),
    "payload": st.none() | json_text,
    "int": st.none() | st.integers(-1, 10_000),
    "time": st.none() | timestamps(),
    "object": st.none() | st.dictionaries(st.text(), json_values, max_size=3),
}


@st.composite
def wire_events(draw: Callable[..., Any], event_type: Any = None) -> Dict[str, Any]:
    """A well-formed wire event of any type, keys in any order, with unmodelled keys."""
    if event_type is None:
        event_type = draw(st.sampled_from(sorted(MODELLED)) | st.integers(-5, 60))
    cls = MODELLED.get(event_type, h.OtherEvent)
    d: Dict[str, Any] = {
        "EventType": event_type,
        "EventId": draw(st.integers(-1, 10_000)),
        "IsPlayed": draw(st.booleans()),
        "Timestamp": draw(timestamps()),
    }
    for f in cls.FIELDS:
        if not f.required and draw(st.booleans()):
            continue  # absent keys must stay absent
        if f.key == "OrchestrationInstance":
            d[f.key] = draw(st.none() | st.fixed_dictionaries(
                {}, optional={"InstanceId": st.text(), "ExecutionId": st.text(),
                              "Other": json_values}))
        else:
            d[f.key] = draw(VALUES[f.kind])
    extra_keys = st.text(min_size=1).filter(lambda k: k not in cls.wire_keys())
    d.update(draw(st.dictionaries(extra_keys, json_values, max_size=3)))
    order = draw(st.permutations(list(d)))
    return {k: d[k] for k in order}


@given(wire_events())
def test_wire_to_typed_to_wire_is_identity(d: Dict[str, Any]) -> None:
    back = event_from_wire(d).to_wire()
    assert back == d
    assert list(back) == list(d)


@given(wire_events())
def test_typed_to_wire_to_typed_is_identity(d: Dict[str, Any]) -> None:
    event = event_from_wire(d)
    assert event_from_wire(event.to_wire()) == event
    assert event.timestamp.tzinfo == timezone.utc


@given(st.sampled_from(sorted(MODELLED)).flatmap(lambda t: wire_events(t)))
def test_events_built_without_source_round_trip(d: Dict[str, Any]) -> None:
    import dataclasses

    event = event_from_wire(d)
    fresh = dataclasses.replace(event, _source=None)
    assert event_from_wire(fresh.to_wire()) == event


@given(st.one_of(wire_events(), st.dictionaries(st.text(), json_values), json_values),
       st.none() | st.integers(-5, 5000))
def test_render_event_never_raises(event: Any, index: Any) -> None:
    assert isinstance(render_event(event, index), str)


@given(st.lists(wire_events(), max_size=12), st.none() | st.integers(-3, 15),
       st.none() | st.integers(0, 5))
def test_render_timeline_never_raises(events: List[Dict[str, Any]], mark: Any,
                                      around: Any) -> None:
    text = render_timeline(events, mark=mark, around=around)
    if mark is not None and 0 <= mark < len(events):
        assert sum(line.startswith(">") for line in text.splitlines()) == 1


@given(st.lists(wire_events(), max_size=10), st.text(min_size=1), st.text(min_size=1),
       st.none() | st.text(), st.dictionaries(st.text(), json_values, max_size=3))
def test_save_load_round_trip(events: List[Dict[str, Any]], orchestrator: str,
                              instance_id: str, sdk_version: Any,
                              metadata: Dict[str, Any]) -> None:
    hist = InstanceHistory(orchestrator=orchestrator, instance_id=instance_id,
                           events=tuple(event_from_wire(e) for e in events),
                           sdk_version=sdk_version, metadata=metadata)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "history.json"
        save_history(hist, path)
        loaded = load_history(path)
        assert loaded == hist
        assert loaded.to_wire() == events
        save_history(loaded, path)  # overwrite in place
        assert load_history(path) == hist
