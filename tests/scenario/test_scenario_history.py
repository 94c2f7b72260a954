"""HistoryBuilder against what the in-memory host records, and next_actions on histories."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest

from durable_testkit import InMemoryRuntime, save_history
from durable_testkit.errors import NonDeterminismError
from durable_testkit.scenario import (HistoryBuilder, OrchestrationScenario, PendingTask,
                                      ScenarioError, next_actions)

import scenario_orchestrators as o


def chain_with_timer(context):
    a = yield context.call_activity("step_a", context.get_input())
    yield context.create_timer(context.current_utc_datetime + timedelta(hours=1))
    b = yield context.call_activity("step_b", a)
    return [a, b]


def without_execution_ids(events):
    out = []
    for e in events:
        wire = e.to_wire()
        if "OrchestrationInstance" in wire:
            wire["OrchestrationInstance"] = dict(wire["OrchestrationInstance"], ExecutionId="-")
        out.append(wire)
    return out


def test_builder_equals_the_runtime_for_a_chain():
    rt = InMemoryRuntime()
    rt.register_orchestrator("chain_with_timer", chain_with_timer)
    rt.mock_activity("step_a", side_effect=lambda x: x + 1)
    rt.mock_activity("step_b", side_effect=lambda x: x * 10)
    result = rt.run("chain_with_timer", 1, instance_id="inst-1")
    assert result.output == [2, 20]

    built = (HistoryBuilder("chain_with_timer", input=1, instance_id="inst-1")
             .activity("step_a", input=1, result=2)
             .timer(hours=1)
             .activity("step_b", input=2, result=20)
             .completed([2, 20])
             .build())
    assert without_execution_ids(built.events) == without_execution_ids(result.history.events)




def test_builder_ends_open_for_the_next_decision():
    history = HistoryBuilder("chain", input="x").activity("step_a", "A", input="x").build()
    types = [e.event_type.name for e in history.events]
    assert types == ["OrchestratorStarted", "ExecutionStarted", "TaskScheduled",
                     "OrchestratorCompleted", "OrchestratorStarted", "TaskCompleted"]
    assert next_actions(o.chain, history) == [PendingTask("activity", "step_b", "A", seq=1)]


def test_next_actions_on_a_fresh_history_and_on_wire_events():
    fresh = HistoryBuilder("fan_out").build()
    assert next_actions(o.fan_out, fresh) == [PendingTask("activity", "get_items", None, seq=0)]
    wire = HistoryBuilder("fan_out").activity("get_items", [5, 6]).build().to_wire()
    assert next_actions(o.fan_out, wire) == [PendingTask("activity", "work", 5, seq=1),
                                             PendingTask("activity", "work", 6, seq=2)]


def test_next_actions_reads_a_history_file(tmp_path):
    path = tmp_path / "approval.json"
    save_history(HistoryBuilder("approval", input="o-1").build(), path)
    timer, event = next_actions(o.approval, str(path))
    assert (timer.kind, event) == ("timer", PendingTask("external_event", "approval"))
    after = (HistoryBuilder("approval", input="o-1").timer(hours=24, pending=True)
             .event("approval", True).build())
    # The timer was scheduled by the history already; only the new work is listed.
    assert next_actions(o.approval, after) == [PendingTask("activity", "approve", "o-1", seq=1)]


def test_pending_activities_model_a_fan_out_in_flight():
    history = (HistoryBuilder("fan_out").activity("get_items", [1, 2])
               .activity("work", input=1, pending=True).activity("work", input=2, pending=True)
               .build())
    assert next_actions(o.fan_out, history) == []  # both already scheduled: it just waits


def test_next_actions_for_a_finished_history_is_empty():
    done = (HistoryBuilder("chain", input="x").activity("step_a", "A")
            .activity("step_b", "B").completed(["A", "B"]).build())
    assert next_actions(o.chain, done) == []


def test_next_actions_detects_a_changed_orchestrator():
    history = HistoryBuilder("chain").activity("renamed_step", 1).build()
    with pytest.raises(NonDeterminismError) as info:
        next_actions(o.chain, history)
    assert (info.value.expected, info.value.actual) == ("activity 'renamed_step' #0",
                                                        "activity 'step_a' #0")
    assert ">   2  TaskScheduled      #0 \"renamed_step\"" in info.value.timeline


def test_next_actions_reports_an_orchestrator_failure():
    history = HistoryBuilder("parent").sub_orchestration("child", error="boom").build()
    assert next_actions(o.parent, history) == []  # it catches the failure and returns

    def strict(context):
        yield context.call_activity("a", None)
        raise RuntimeError("no good")

    with pytest.raises(ScenarioError) as info:
        next_actions(strict, HistoryBuilder("strict").activity("a").build())
    assert str(info.value) == ("next_actions(): orchestrator 'strict' failed on this history: "
                               "no good\nNothing is pending.")


def test_builder_refuses_events_after_completion():
    builder = HistoryBuilder("chain").completed(None)
    with pytest.raises(ScenarioError) as info:
        builder.activity("late")
    assert str(info.value) == (
        "HistoryBuilder('chain'): the history already ends with the orchestration's "
        "completion; nothing can follow it.\nNothing is pending.")


def test_scenario_history_replays_through_next_actions():
    sc = OrchestrationScenario(o.fan_out)
    sc.start()
    sc.complete("get_items", [1, 2])
    # A saved history of a running instance: everything it asked for is already scheduled.
    assert next_actions(o.fan_out, sc.history) == []
    assert json.loads(sc.history.events[1].input or "null") is None
