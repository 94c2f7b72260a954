"""The scenario driver on every orchestration pattern, with the real SDK."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import azure.durable_functions as df

from durable_testkit.history import EventType
from durable_testkit.scenario import OrchestrationScenario, PendingTask

import scenario_orchestrators as o

T0 = datetime(2024, 1, 1, tzinfo=timezone.utc)


def test_chaining():
    sc = OrchestrationScenario(o.chain, input="x")
    assert sc.start() == [PendingTask("activity", "step_a", "x", seq=0)]
    assert sc.complete("step_a", "A") == [PendingTask("activity", "step_b", "A", seq=1)]
    assert sc.complete("step_b", "B") == []
    assert sc.is_done and sc.output == ["A", "B"] and sc.error is None
    assert sc.pending == []


def test_chaining_history_has_one_episode_per_step():
    sc = OrchestrationScenario(o.chain, input="x")
    sc.start()
    sc.complete("step_a", "A")
    sc.complete("step_b", "B")
    types = [e.event_type.name for e in sc.history.events]
    assert types == [
        "OrchestratorStarted", "ExecutionStarted", "TaskScheduled", "OrchestratorCompleted",
        "OrchestratorStarted", "TaskCompleted", "TaskScheduled", "OrchestratorCompleted",
        "OrchestratorStarted", "TaskCompleted", "ExecutionCompleted", "OrchestratorCompleted"]


def test_fan_out_completed_in_reverse_order():
    sc = OrchestrationScenario(o.fan_out)
    sc.start()
    work = sc.complete("get_items", [1, 2, 3])
    assert [(t.name, t.input, t.seq) for t in work] == [("work", 1, 1), ("work", 2, 2),
                                                        ("work", 3, 3)]
    for task in reversed(work):
        assert sc.complete(task, task.input * 10) == []
    assert sc.output == 60
    completions = [e.task_scheduled_id for e in sc.history.events
                   if e.event_type == EventType.TaskCompleted]
    assert completions == [0, 3, 2, 1]


def test_fan_out_completed_in_one_batch():
    sc = OrchestrationScenario(o.fan_out)
    sc.start()
    work = sc.complete("get_items", [1, 2, 3])
    with sc.batch() as b:
        for task in work:
            assert sc.complete(task, task.input) == []  # queued, not yet delivered
        assert sc.pending == []
    assert b.scheduled == []
    assert sc.output == 6
    # One episode delivered all three completions.
    started = [i for i, e in enumerate(sc.history.events)
               if e.event_type == EventType.OrchestratorStarted]
    last = [e.event_type.name for e in sc.history.events[started[-1]:]]
    assert last == ["OrchestratorStarted", "TaskCompleted", "TaskCompleted", "TaskCompleted",
                    "ExecutionCompleted", "OrchestratorCompleted"]


def test_partial_batch_leaves_the_rest_pending():
    sc = OrchestrationScenario(o.fan_out)
    sc.start()
    work = sc.complete("get_items", [1, 2, 3])
    with sc.batch():
        sc.complete(work[0], 1)
        sc.complete(work[2], 3)
    assert sc.pending == [work[1]] and not sc.is_done


def test_approval_arrives_before_the_deadline():
    sc = OrchestrationScenario(o.approval, input="order-1")
    timer, wait = sc.start()
    assert timer == PendingTask("timer", None, seq=0, fire_at=T0 + timedelta(hours=24))
    assert wait == PendingTask("external_event", "approval")
    sc.advance(timedelta(hours=1))
    assert sc.raise_event("approval", True) == [PendingTask("activity", "approve", "order-1",
                                                            seq=1)]
    # The cancelled timer is nobody's concern any more.
    assert sc.pending == [PendingTask("activity", "approve", "order-1", seq=1)]
    sc.complete("approve", "approved")
    assert sc.output == "approved"


def test_approval_times_out():
    sc = OrchestrationScenario(o.approval, input="order-1")
    sc.start()
    assert sc.advance(timedelta(hours=23)) == []
    assert sc.advance(timedelta(hours=1)) == [PendingTask("activity", "escalate", "order-1",
                                                          seq=1)]
    assert sc.now == T0 + timedelta(hours=24)
    assert sc.pending == [PendingTask("activity", "escalate", "order-1", seq=1)]
    sc.complete("escalate", "escalated")
    assert sc.output == "escalated"


def test_fire_timers_moves_time_to_the_timer():
    sc = OrchestrationScenario(o.approval, input="order-1")
    sc.start()
    sc.fire_timers()
    assert sc.now == T0 + timedelta(hours=24)
    assert [t.name for t in sc.pending] == ["escalate"]


def test_event_raised_early_is_buffered():
    def late_waiter(context):
        yield context.call_activity("first", None)
        return (yield context.wait_for_external_event("go"))

    sc = OrchestrationScenario(late_waiter)
    sc.start()
    assert sc.raise_event("go", 42) == []  # nobody waits yet: buffered, as the host does
    sc.complete("first", None)
    assert sc.output == 42


def test_retry_timer_then_next_attempt():
    sc = OrchestrationScenario(o.retrying)
    first = sc.start()
    assert first == [PendingTask("activity", "flaky", "payload", seq=0)]
    timer = sc.fail("flaky", "boom")
    assert timer == [PendingTask("timer", None, seq=1, fire_at=T0 + timedelta(seconds=5),
                                 retry_of="flaky")]
    assert str(timer[0]) == "timer #1 firing at 2024-01-01T00:00:05.000000Z (retry of 'flaky')"
    again = sc.advance(timedelta(seconds=5))
    assert again == [PendingTask("activity", "flaky", "payload", seq=2, attempt=2)]
    assert str(again[0]) == "activity 'flaky' #2 (input: \"payload\"), retry attempt 2"
    sc.complete("flaky", "ok")
    assert sc.output == "ok"


def test_retry_exhausted_fails_after_the_last_timer():
    sc = OrchestrationScenario(o.retrying)
    sc.start()
    for _ in range(3):
        sc.fail("flaky", "boom")
        sc.fire_timers()
    assert sc.is_done
    assert sc.error.startswith("Orchestrator function 'retrying' failed: "
                               "Activity function 'flaky' failed:  boom")


def test_sub_orchestration_completes():
    sc = OrchestrationScenario(o.parent)
    (child,) = sc.start()
    assert child == PendingTask("sub_orchestration", "child", {"n": 1}, seq=0,
                                instance_id="child-1")
    sc.complete_sub_orchestration("child", "hi")
    assert sc.output == "child said hi"


def test_sub_orchestration_fails():
    sc = OrchestrationScenario(o.parent)
    sc.start()
    sc.fail_sub_orchestration("child-1", "ValueError: no")
    assert sc.output == "child failed: Orchestrator function 'child' failed: ValueError: no "


def test_continue_as_new_reports_the_new_input_and_the_new_work():
    sc = OrchestrationScenario(o.counter_loop, input=0)
    sc.start()
    new = sc.complete("tick", None)
    assert sc.continued_as_new and sc.continued_as_new_inputs == [1]
    assert new == [PendingTask("activity", "tick", 1, seq=0)]  # ids restart in the new execution
    sc.complete("tick", None)
    sc.complete("tick", None)
    assert sc.continued_as_new_inputs == [1, 2] and sc.output == "finished"
    assert [len(ex) > 0 for ex in sc.export_history().executions] == [True, True, True]
    assert sc.history.events[1].input == "2"


def test_custom_status_follows_each_episode():
    sc = OrchestrationScenario(o.with_status)
    sc.start()
    assert sc.custom_status == {"stage": "loading"}
    sc.complete("load", [1, 2, 3])
    assert sc.custom_status == {"stage": "saving", "rows": 3}
    sc.complete("save", None)
    assert sc.output == 3


def test_entity_call_answered_by_the_test():
    sc = OrchestrationScenario(o.entity_user)
    signal, call = sc.start()
    assert signal == PendingTask("entity_signal", "reset", None, seq=0, instance_id="@counter@k1")
    assert call == PendingTask("entity_call", "add", 5, seq=1, instance_id="@counter@k1")
    assert sc.pending == [call]  # signals are fire-and-forget
    sc.complete_entity_call(df.EntityId("Counter", "k1"), 5)
    assert sc.output == 5


def test_entity_call_error():
    sc = OrchestrationScenario(o.entity_user)
    sc.start()
    sc.complete_entity_call("counter", error="overflow")
    assert sc.error == "Orchestrator function 'entity_user' failed: overflow"


def test_http_call():
    sc = OrchestrationScenario(o.http_caller)
    (request,) = sc.start()
    assert request.kind == "http" and request.input["uri"] == "https://example.com/api"
    assert str(request) == "http GET https://example.com/api #0"
    sc.complete(request, {"statusCode": 200, "headers": {}, "content": "ok"})
    assert sc.output == 200


def test_orchestrator_exception_fails_the_scenario():
    def broken(context):
        yield context.call_activity("a", None)
        raise ValueError("bad data")

    sc = OrchestrationScenario(broken)
    sc.start()
    sc.complete("a", None)
    assert sc.is_done and sc.output is None
    assert sc.error == "Orchestrator function 'broken' failed: bad data"


def test_activity_failure_reaches_the_orchestrator():
    def catches(context):
        try:
            yield context.call_activity("a", None)
        except Exception as exc:
            return str(exc)

    sc = OrchestrationScenario(catches)
    sc.start()
    sc.fail("a", ValueError("boom"), details="trace")
    assert sc.output == "Activity function 'a' failed:  ValueError: boom \n trace"


def test_accepts_a_handle_and_a_v2_function(tmp_path):
    handle = df.Orchestrator.create(o.chain)
    sc = OrchestrationScenario(handle, input=1)
    assert sc.name == "chain" and sc.start()[0].name == "step_a"

    app = df.DFApp()

    @app.orchestration_trigger(context_name="context")
    def v2_chain(context):
        return (yield context.call_activity("step", 1))

    sc = OrchestrationScenario(v2_chain)
    assert sc.name == "v2_chain"
    sc.start()
    sc.complete("step", 2)
    assert sc.output == 2


def test_start_time_and_instance_id_reach_the_sdk():
    sc = OrchestrationScenario(o.uses_new_uuid, instance_id="abc",
                               start_time=datetime(2030, 5, 1, tzinfo=timezone.utc))
    sc.start()
    again = OrchestrationScenario(o.uses_new_uuid, instance_id="abc",
                                  start_time=datetime(2030, 5, 1, tzinfo=timezone.utc))
    again.start()
    other = OrchestrationScenario(o.uses_new_uuid, instance_id="xyz",
                                  start_time=datetime(2030, 5, 1, tzinfo=timezone.utc))
    other.start()
    assert sc.output == again.output != other.output
    assert sc.history.events[0].timestamp == datetime(2030, 5, 1, tzinfo=timezone.utc)


def test_pending_task_str_forms():
    assert str(PendingTask("activity", "a", {"x": 1}, seq=3)) == "activity 'a' #3 (input: {\"x\": 1})"
    assert str(PendingTask("external_event", "go")) == "external event 'go'"
    assert str(PendingTask("sub_orchestration", "c", None, seq=0, instance_id="i")) == \
        "sub-orchestration 'c' #0 (input: null) instance 'i'"
    assert str(PendingTask("entity_call", "add", 5, seq=1, instance_id="@counter@k1")) == \
        "entity call 'add' on @counter@k1 #1 (input: 5)"
