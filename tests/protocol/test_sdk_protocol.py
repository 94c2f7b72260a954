"""The SDK facts the host builds on, checked against the installed SDK.

CI runs this folder against the newest 1.x and the oldest supported SDK, so a
protocol change in either shows up here first (docs/protocol.md lists each fact).
"""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import azure.durable_functions as df
import pytest

from durable_testkit import _protocol as p
from durable_testkit import _sdk

T0 = datetime(2024, 1, 1, tzinfo=timezone.utc)


def ev(event_type: int, **fields) -> dict:
    base = {"EventType": event_type, "EventId": fields.pop("EventId", -1), "IsPlayed": False,
            "Timestamp": p.format_timestamp(fields.pop("at", T0))}
    base.update(fields)
    return base


def started(name: str = "orch", input_text: str = "null") -> list:
    return [ev(p.ORCHESTRATOR_STARTED),
            ev(p.EXECUTION_STARTED, Name=name, Input=input_text, Version=None,
               OrchestrationInstance={"InstanceId": "i1", "ExecutionId": "e1"})]


def episode(fn, history: list, input_text: str = "null") -> _sdk.EpisodeResponse:
    joined = ",".join(json.dumps(e) for e in history)
    return _sdk.invoke_orchestrator(df.Orchestrator.create(fn),
                                 _sdk.build_context_json(joined, input_text, "i1", None))


def test_the_sdk_answers_with_schema_v3_and_one_flat_action_list() -> None:
    def orch(context):
        yield context.call_activity("A", "x")

    resp = episode(orch, started())
    state = json.loads(resp.raw)
    assert state["schemaVersion"] == 2
    assert resp.actions == [{"actionType": p.CALL_ACTIVITY, "functionName": "A",
                             "input": '"x"'}]


def test_input_is_json_text_decoded_by_get_input() -> None:
    def orch(context):
        return context.get_input()
        yield  # pragma: no cover

    resp = episode(orch, started(input_text='{"a": [1, 2]}'), input_text='{"a": [1, 2]}')
    assert resp.is_done and resp.output == {"a": [1, 2]}


def test_task_all_becomes_one_when_all_with_children_in_order() -> None:
    def orch(context):
        yield context.task_all([context.call_activity("C", 1), context.call_activity("C", 2)])

    resp = episode(orch, started())
    assert resp.actions[0]["actionType"] == p.WHEN_ALL
    assert [a["input"] for a in resp.actions[0]["compoundActions"]] == ["1", "2"]


def test_completions_are_matched_by_the_sdks_own_sequence_numbers() -> None:
    def orch(context):
        a = yield context.call_activity("A", 1)
        b = yield context.task_all([context.call_activity("B", 2), context.call_activity("B", 3)])
        return [a, b]

    history = started() + [
        ev(p.TASK_SCHEDULED, EventId=0, Name="A", Input="1"), ev(p.ORCHESTRATOR_COMPLETED),
        ev(p.ORCHESTRATOR_STARTED), ev(p.TASK_COMPLETED, TaskScheduledId=0, Result='"a"'),
        ev(p.TASK_SCHEDULED, EventId=1, Name="B", Input="2"),
        ev(p.TASK_SCHEDULED, EventId=2, Name="B", Input="3"), ev(p.ORCHESTRATOR_COMPLETED),
        ev(p.ORCHESTRATOR_STARTED), ev(p.TASK_COMPLETED, TaskScheduledId=2, Result='"c"'),
        ev(p.TASK_COMPLETED, TaskScheduledId=1, Result='"b"')]
    resp = episode(orch, history)
    assert resp.is_done and resp.output == ["a", ["b", "c"]]


def test_retry_is_one_action_and_the_host_runs_the_loop() -> None:
    def orch(context):
        yield context.call_activity_with_retry("B", df.RetryOptions(1000, 2), "r")

    resp = episode(orch, started())
    retry = resp.actions[0]["compoundActions"][0]
    assert retry["actionType"] == p.CALL_ACTIVITY_WITH_RETRY
    assert retry["retryOptions"] == {"firstRetryIntervalInMilliseconds": 1000,
                                     "maxNumberOfAttempts": 2}


def test_failure_surfaces_only_after_the_extra_retry_timer() -> None:
    def orch(context):
        try:
            yield context.call_activity_with_retry("B", df.RetryOptions(1000, 1), "r")
        except Exception as e:
            return str(e)

    failed = started() + [
        ev(p.TASK_SCHEDULED, EventId=0, Name="B"), ev(p.ORCHESTRATOR_COMPLETED),
        ev(p.ORCHESTRATOR_STARTED), ev(p.TASK_FAILED, TaskScheduledId=0, Reason="R", Details="D")]
    assert not episode(orch, failed).is_done
    fired = failed + [ev(p.TIMER_CREATED, EventId=1, FireAt="2024-01-01T00:00:01.000000Z"),
                      ev(p.ORCHESTRATOR_COMPLETED), ev(p.ORCHESTRATOR_STARTED),
                      ev(p.TIMER_FIRED, TimerId=1, FireAt="2024-01-01T00:00:01.000000Z")]
    resp = episode(orch, fired)
    assert resp.is_done and resp.output == "R \n D"


def test_long_timers_are_split_by_the_sdk_into_three_day_steps() -> None:
    def orch(context):
        yield context.create_timer(context.current_utc_datetime + timedelta(days=10))

    resp = episode(orch, started())
    first = resp.actions[0]
    timer = first["compoundActions"][0] if first["actionType"] == p.WHEN_ALL else first
    assert timer["actionType"] == p.CREATE_TIMER
    assert timer["fireAt"] == "2024-01-04T00:00:00.000000Z"


def test_orchestrator_errors_carry_the_out_of_proc_state() -> None:
    def orch(context):
        yield context.call_activity("A", 1)
        raise ValueError("boom")

    history = started() + [ev(p.TASK_SCHEDULED, EventId=0, Name="A"),
                           ev(p.ORCHESTRATOR_COMPLETED), ev(p.ORCHESTRATOR_STARTED),
                           ev(p.TASK_COMPLETED, TaskScheduledId=0, Result="1")]
    resp = episode(orch, history)
    assert resp.error == "boom"
    assert resp.actions[0]["functionName"] == "A"
    assert "ValueError: boom" in resp.stack


def test_early_events_are_last_one_wins_and_never_consumed() -> None:
    def orch(context):
        yield context.create_timer(context.current_utc_datetime + timedelta(minutes=1))
        a = yield context.wait_for_external_event("e")
        b = yield context.wait_for_external_event("e")
        return [a, b]

    fire = "2024-01-01T00:01:00.000000Z"
    history = started() + [ev(p.TIMER_CREATED, EventId=0, FireAt=fire),
                           ev(p.ORCHESTRATOR_COMPLETED), ev(p.ORCHESTRATOR_STARTED),
                           ev(p.EVENT_RAISED, Name="e", Input="1"),
                           ev(p.EVENT_RAISED, Name="e", Input="2"),
                           ev(p.ORCHESTRATOR_COMPLETED), ev(p.ORCHESTRATOR_STARTED),
                           ev(p.TIMER_FIRED, TimerId=0, FireAt=fire)]
    with pytest.warns(UserWarning, match="Potential duplicate Task completion"):
        resp = episode(orch, history)
    assert resp.output == [2, 2]


def test_events_raised_after_the_wait_is_yielded_are_taken_in_order() -> None:
    def orch(context):
        a = yield context.wait_for_external_event("e")
        b = yield context.wait_for_external_event("e")
        return [a, b]

    history = started() + [ev(p.EVENT_RAISED, Name="e", Input="1"),
                           ev(p.EVENT_RAISED, Name="e", Input="2")]
    assert episode(orch, history).output == [1, 2]


def test_new_uuid_depends_only_on_instance_time_and_counter() -> None:
    def orch(context):
        return [context.new_uuid(), context.new_uuid()]
        yield  # pragma: no cover

    first = episode(orch, started()).output
    assert first == episode(orch, started()).output
    assert first[0] != first[1]


def test_custom_status_is_sent_only_when_truthy() -> None:
    def orch(context):
        context.set_custom_status(0)
        yield context.call_activity("A", 1)

    assert episode(orch, started()).custom_status is None


def test_continue_as_new_is_an_action_and_ends_the_episode() -> None:
    def orch(context):
        context.continue_as_new({"n": 1})
        yield context.call_activity("never", 1)

    resp = episode(orch, started())
    assert resp.is_done
    assert [a["actionType"] for a in resp.actions] == [p.ACTION_CONTINUE_AS_NEW]
