"""The typed history's fast path types events exactly as the checked path does.

``rt.history()`` types host-made events on the fast path (plain type tests, the
frozen event built directly); anything it is unsure of goes to the checked path,
which words the errors. These tests hold the two paths equal on host-made
histories (chains, fan-outs, timers, sub-orchestrations, external events,
entities, failures, terminations, continue-as-new) and show that on any other
input the fast path either agrees or steps aside.
"""
from __future__ import annotations

from datetime import timedelta
from typing import Any, Dict, List, Optional

import azure.durable_functions as df
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import _host_made
from durable_testkit import InMemoryRuntime, InstanceHistory
from durable_testkit.errors import HistoryFormatError
from durable_testkit.history import (HistoryEvent, _parse_event_checked, _parse_fast,
                                     _played_events, event_from_wire, events_from_wire)


# ---------------------------------------------------------------- host-made histories
def workflow(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
    plan = context.get_input()
    total = 0
    for i in range(plan["chain"]):
        total = yield context.call_activity("double", total + i)
    if plan["fan"]:
        parts = yield context.task_all([context.call_activity("double", i)
                                        for i in range(plan["fan"])])
        total += sum(parts)
    for _ in range(plan["timers"]):
        yield context.create_timer(context.current_utc_datetime + timedelta(minutes=7))
    if plan["children"]:
        kids = yield context.task_all([context.call_sub_orchestrator("child", i)
                                       for i in range(plan["children"])])
        total += sum(kids)
    if plan["event"]:
        total += yield context.wait_for_external_event("Approval")
    if plan["entity"]:
        eid = df.EntityId("counter", "c")
        context.signal_entity(eid, "add", 2)
        total += yield context.call_entity(eid, "get")
    if plan["fail"]:
        try:
            yield context.call_activity("explode", "boom")
        except Exception:  # noqa: BLE001 - the failure is the point: TaskFailed in history
            total += 1
    if plan["again"] and not context.is_replaying and plan["again"] > 0:
        context.continue_as_new(dict(plan, again=plan["again"] - 1))
        return None
    context.set_custom_status({"total": total})
    return total


def _runtime() -> InMemoryRuntime:
    return _host_made.runtime(workflow)


def _host_histories(plan: Dict[str, Any], terminate: bool) -> List[InstanceHistory]:
    rt = _runtime()
    try:
        iid = rt.start("workflow", plan)
        rt.run_until_idle()
        if terminate and not rt.status(iid).runtime_status.name == "Completed":
            rt.terminate(iid, "enough")
        else:
            if plan["timers"]:
                rt.advance(timedelta(minutes=7 * plan["timers"] + 1))
            if plan["event"]:
                # a dict payload makes the orchestrator itself fail (int + dict)
                rt.raise_event(iid, "Approval", {"ok": True} if plan["event"] > 1 else 5)
            rt.advance(timedelta(hours=1))
        rt.run_until_idle()
        return [rt.history(i) for i in rt.instance_ids] + [rt.export_history(iid)]
    finally:
        rt.close()


def _checked(history: InstanceHistory) -> List[HistoryEvent]:
    """The same events typed on the checked path alone."""
    return [_parse_event_checked(dict(e.to_wire()), i, None)
            for i, e in enumerate(history.events)]


def _assert_same(fast: HistoryEvent, checked: HistoryEvent) -> None:
    assert type(fast) is type(checked)
    assert fast == checked
    assert repr(fast) == repr(checked)
    assert hash(fast) == hash(checked)
    assert fast.to_wire() == checked.to_wire()
    assert list(fast.to_wire()) == list(checked.to_wire())  # key order too
    assert dict(fast.extra) == dict(checked.extra)
    assert vars(fast).keys() == vars(checked).keys()


plans = st.fixed_dictionaries({
    "chain": st.integers(0, 3), "fan": st.integers(0, 4), "timers": st.integers(0, 2),
    "children": st.integers(0, 2), "event": st.integers(0, 2), "entity": st.booleans(),
    "fail": st.booleans(), "again": st.integers(0, 1)})


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plan=plans, terminate=st.booleans())
def test_host_made_histories_type_alike_on_both_paths(plan: Dict[str, Any],
                                                      terminate: bool) -> None:
    for history in _host_histories(plan, terminate):
        checked = _checked(history)
        assert len(checked) == len(history.events)
        for fast, slow in zip(history.events, checked):
            _assert_same(fast, slow)
        rebuilt = InstanceHistory(history.orchestrator, history.instance_id, checked,
                                  sdk_version=history.sdk_version)
        assert rebuilt == history and rebuilt.to_json() == history.to_json()


def test_the_mixed_history_covers_every_kind_of_event() -> None:
    plan = {"chain": 1, "fan": 2, "timers": 1, "children": 1, "event": 1, "entity": True,
            "fail": True, "again": 1}
    seen = {type(e).__name__ for h in _host_histories(plan, False) for e in h.events}
    assert {"ExecutionStarted", "ExecutionCompleted", "TaskScheduled", "TaskCompleted",
            "TaskFailed", "SubOrchestrationInstanceCreated",
            "SubOrchestrationInstanceCompleted", "TimerCreated", "TimerFired",
            "OrchestratorStarted", "OrchestratorCompleted", "EventSent", "EventRaised"} <= seen
    terminated = {type(e).__name__ for e in _host_histories(plan, True)[-1].events}
    assert "ExecutionTerminated" in terminated


def test_played_events_mark_every_event_played_and_keep_the_hosts_dicts() -> None:
    wire = [{"EventType": 12, "EventId": -1, "IsPlayed": False,
             "Timestamp": "2024-01-01T00:00:00.000000Z"}]
    (event,) = _played_events(wire)
    assert event.is_played and event.to_wire()["IsPlayed"] is True
    assert wire[0]["IsPlayed"] is False  # the host's record is not touched
    wire[0]["Timestamp"] = "2030-01-01T00:00:00.000000Z"
    assert event.to_wire()["Timestamp"] == "2024-01-01T00:00:00.000000Z"  # a snapshot


def test_an_invalid_host_event_is_reported_by_the_checked_path_with_its_index() -> None:
    wire = [{"EventType": 12, "EventId": -1, "IsPlayed": True,
             "Timestamp": "2024-01-01T00:00:00.000000Z"},
            {"EventType": 4, "EventId": 0, "IsPlayed": True,
             "Timestamp": "2024-01-01T00:00:00.000000Z", "Name": 7}]
    with pytest.raises(HistoryFormatError) as info:
        _played_events(wire)
    assert info.value.event_index == 1
    assert "TaskScheduled: Name must be a string or null, got int 7" in str(info.value)


# ---------------------------------------------------------------- any other input
_STAMP = "2024-01-01T00:00:00.000000Z"

base_events = st.sampled_from([
    {"EventType": 0, "EventId": -1, "IsPlayed": True, "Timestamp": _STAMP, "Name": "o",
     "Version": "", "Input": "1", "OrchestrationInstance": {"InstanceId": "i",
                                                            "ExecutionId": "e"},
     "ParentInstance": None},
    {"EventType": 1, "EventId": -1, "IsPlayed": False, "Timestamp": _STAMP,
     "OrchestrationStatus": 3, "Result": "null", "FailureDetails": {"a": [1]}},
    {"EventType": 4, "EventId": 3, "IsPlayed": True, "Timestamp": _STAMP, "Name": "a",
     "Version": None, "Input": "2"},
    {"EventType": 5, "EventId": -1, "IsPlayed": True, "Timestamp": _STAMP,
     "TaskScheduledId": 3, "Result": "4"},
    {"EventType": 6, "EventId": -1, "IsPlayed": True, "Timestamp": _STAMP,
     "TaskScheduledId": 3, "Reason": "r", "Details": "d"},
    {"EventType": 10, "EventId": 1, "IsPlayed": True, "Timestamp": _STAMP, "FireAt": _STAMP},
    {"EventType": 11, "EventId": -1, "IsPlayed": True, "Timestamp": _STAMP, "TimerId": 1,
     "FireAt": "2024-01-01T00:00:00.1234567+01:00"},
    {"EventType": 14, "EventId": 2, "IsPlayed": True, "Timestamp": _STAMP,
     "InstanceId": "@e@k", "Name": "op", "Input": "{}"},
    {"EventType": 15, "EventId": -1, "IsPlayed": True, "Timestamp": _STAMP, "Name": "E",
     "Input": None},
    {"EventType": 17, "EventId": -1, "IsPlayed": True, "Timestamp": _STAMP, "Data": "x"},
    {"EventType": 99, "EventId": -1, "IsPlayed": True, "Timestamp": _STAMP},
])

odd_values = st.one_of(
    st.none(), st.booleans(), st.integers(-3, 3), st.text(max_size=4),
    st.sampled_from(["2024-01-01T00:00:00Z", "2024-02-30T00:00:00Z", "2024-01-01T00:00:00",
                     "0001-01-01T00:00:00+14:00", "2024-01-01T00:00:00.000000Z"]),
    st.lists(st.integers(), max_size=2), st.dictionaries(st.text(max_size=2),
                                                         st.integers(), max_size=2),
    st.just({"InstanceId": 1}), st.just({"InstanceId": "i", "ExecutionId": None}),
    st.floats(allow_nan=False))

keys = st.sampled_from(["EventType", "EventId", "IsPlayed", "Timestamp", "Name", "Input",
                        "Version", "Result", "TaskScheduledId", "TimerId", "FireAt",
                        "OrchestrationInstance", "ParentInstance", "FailureDetails",
                        "InstanceId", "Reason", "Extra"])


@st.composite
def edited_events(draw: st.DrawFn) -> Dict[str, Any]:
    event = dict(draw(base_events))
    for _ in range(draw(st.integers(0, 3))):
        key = draw(keys)
        if draw(st.booleans()):
            event.pop(key, None)
        else:
            event[key] = draw(odd_values)
    return event


def _checked_or_error(d: Dict[str, Any]) -> Optional[HistoryEvent]:
    try:
        return _parse_event_checked(dict(d), None, None)
    except HistoryFormatError:
        return None


@settings(max_examples=600, deadline=None)
@given(event=edited_events())
def test_the_fast_path_agrees_with_the_checked_path_or_steps_aside(event: Dict[str, Any]
                                                                   ) -> None:
    fast = _parse_fast(dict(event), False)
    checked = _checked_or_error(event)
    if fast is not None:
        assert checked is not None, "the fast path accepted what the checked path refuses"
        _assert_same(fast, checked)
    # The public entry points answer what the checked path answers, errors included.
    if checked is None:
        with pytest.raises(HistoryFormatError) as fast_error:
            event_from_wire(event)
        with pytest.raises(HistoryFormatError) as slow_error:
            _parse_event_checked(event, None, None)
        assert str(fast_error.value) == str(slow_error.value)
    else:
        _assert_same(event_from_wire(event), checked)


def test_a_bad_event_in_a_list_keeps_its_error_text() -> None:
    events = [{"EventType": 12, "EventId": -1, "IsPlayed": True, "Timestamp": _STAMP},
              {"EventType": 11, "EventId": -1, "IsPlayed": True, "Timestamp": _STAMP}]
    with pytest.raises(HistoryFormatError) as info:
        events_from_wire(events, path="h.json")
    assert str(info.value).startswith("h.json, event 1: TimerFired is missing TimerId")


def test_an_event_typed_from_a_users_dict_does_not_follow_later_edits_to_it() -> None:
    # to_wire reuses the source's spelling of unchanged values: the source is a copy.
    d = {"EventType": 4, "EventId": 0, "IsPlayed": True, "Timestamp": "2024-01-01T00:00:00Z",
         "Name": "a", "Input": "1"}
    event = event_from_wire(d)
    d["Timestamp"] = "2024-01-01T00:00:00.0000000Z"  # the same instant, spelt otherwise
    d["Extra"] = 1
    assert event.to_wire() == {"EventType": 4, "EventId": 0, "IsPlayed": True,
                               "Timestamp": "2024-01-01T00:00:00Z", "Name": "a", "Input": "1"}
