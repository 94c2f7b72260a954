"""Host behaviours of InMemoryRuntime, each as the Durable extension behaves."""
from __future__ import annotations

import json
from datetime import timedelta

import azure.durable_functions as df
import pytest

from durable_testkit import (InMemoryRuntime, InvalidOperationError, OrchestrationStuck,
                             RunawayFunction,
                             RunawayOrchestrator, SerializationError, UnknownFunctionError,
                             UnknownInstanceError)
from durable_testkit import OrchestrationRuntimeStatus as S


def types_of(result) -> list:
    return [type(e).__name__ for e in result.history.events]


def make(**orchestrators) -> InMemoryRuntime:
    rt = InMemoryRuntime()
    for name, fn in orchestrators.items():
        rt.register_orchestrator(name, fn)
    rt.register_activity("echo", lambda x: x)
    return rt


# -------------------------------------------------------------- continue_as_new
def counter_loop(context):
    n = context.get_input()
    yield context.call_activity("echo", n)
    if n < 2:
        context.continue_as_new(n + 1)
        return
    return f"finished at {n}"


def test_continue_as_new_starts_a_new_execution_with_fresh_ids() -> None:
    rt = make(loop=counter_loop)
    iid = rt.start("loop", 0)
    result = rt.wait(iid)
    assert result.output == "finished at 2"
    assert result.history.events[1].input == "2"
    # sequence numbers restart in every execution
    assert [e.event_id for e in result.history.events if type(e).__name__ == "TaskScheduled"] == [0]
    exported = rt.export_history(iid)
    assert types_of(result).count("ExecutionStarted") == 1
    assert [type(e).__name__ for e in exported.events].count("ExecutionStarted") == 3
    assert len({e.execution_id for e in exported.events
                if type(e).__name__ == "ExecutionStarted"}) == 3


def actor(context):
    n = context.get_input()
    op = yield context.wait_for_external_event("op")
    if op == "end":
        return n
    context.continue_as_new(n + 1)


def test_events_after_the_continue_as_new_are_carried_to_the_next_execution() -> None:
    # dtfx: with Azure Storage's EventBehaviourForContinueAsNew = Carryover, events of the
    # batch that come after the orchestration continued as new go to the next execution.
    rt = make(actor=actor)
    iid = rt.start("actor", 0)
    rt.run_until_idle()
    for op in ("incr", "incr", "incr", "end"):  # one batch: one episode receives all four
        rt.raise_event(iid, "op", op)
    result = rt.wait(iid)
    assert (result.runtime_status, result.output) == (S.Completed, 3)
    executions = rt.export_history(iid).events
    assert [type(e).__name__ for e in executions].count("ExecutionStarted") == 4
    # Each execution's history holds the batch it received, as the old one did in Azure.
    raised = [e.input for e in result.history.events if type(e).__name__ == "EventRaised"]
    assert raised == ['"end"']


def waits_for_a_then_b(context):
    yield context.wait_for_external_event("a")
    if context.get_input() == "again":
        return (yield context.wait_for_external_event("b"))
    context.continue_as_new("again")


def test_an_event_buffered_before_the_continue_as_new_is_dropped() -> None:
    # ext: ContinueAsNew(input) without preserveUnprocessedEvents drops the events the
    # extension buffered; only those after the continue-as-new are carried over.
    rt = make(w=waits_for_a_then_b)
    iid = rt.start("w", None)
    rt.run_until_idle()
    rt.raise_event(iid, "b", "early")  # nobody waits for "b" yet: buffered, then dropped
    rt.raise_event(iid, "a", 1)
    rt.raise_event(iid, "a", 2)  # after the continue-as-new: the next execution's "a"
    rt.run_until_idle()
    status = rt.status(iid)
    assert status.runtime_status == S.Running and status.input == "again"
    with pytest.raises(OrchestrationStuck, match="external event 'b'"):
        rt.wait(iid)
    rt.raise_event(iid, "b", "late")
    assert rt.wait(iid).output == "late"


def _episodes_a_minute_apart(**orchestrators) -> InMemoryRuntime:
    rt = InMemoryRuntime()
    for name, fn in orchestrators.items():
        rt.register_orchestrator(name, fn)
    rt.register_activity("slow", lambda x: x, duration=timedelta(minutes=1))
    return rt


def test_a_custom_status_not_set_again_in_an_episode_is_cleared() -> None:
    # dtfx TaskOrchestrationDispatcher: runtimeState.Status = result?.CustomStatus every
    # episode, and the SDK leaves a falsy status out: one set only while not replaying, or
    # set to 0, is gone after the next episode.
    def steps(context):
        if not context.is_replaying:
            context.set_custom_status("fresh")
        yield context.call_activity("slow", 1)
        context.set_custom_status("one")
        yield context.call_activity("slow", 2)
        context.set_custom_status(0)
        return "done"

    rt = _episodes_a_minute_apart(steps=steps)
    iid = rt.start("steps")
    seen = []
    rt.run_until_idle()
    seen.append(rt.status(iid).custom_status)  # episode 1: "fresh"
    rt.advance(timedelta(minutes=1))
    seen.append(rt.status(iid).custom_status)  # episode 2 replays: "one" only
    rt.advance(timedelta(minutes=1))
    seen.append(rt.status(iid).custom_status)  # episode 3: 0, left out by the SDK
    assert seen == ["fresh", "one", None]
    assert rt.status(iid).output == "done"


def carried(context):
    n = context.get_input()
    if n == 0:
        context.set_custom_status("from the first execution")
        context.continue_as_new(1)
        return
    yield context.call_activity("slow", n)
    return n


def test_the_first_episode_after_continue_as_new_keeps_the_status() -> None:
    # dtfx: the new execution starts with the old status (carryOverStatus) if its first
    # episode sets none; its later episodes set their own.
    rt = _episodes_a_minute_apart(carried=carried)
    iid = rt.start("carried", 0)
    rt.run_until_idle()
    assert rt.status(iid).custom_status == "from the first execution"
    rt.advance(timedelta(minutes=1))
    result = rt.status(iid)
    assert (result.output, result.custom_status) == (1, None)


# -------------------------------------------------------------- retries
def retrying(context):
    opts = df.RetryOptions(first_retry_interval_in_milliseconds=5000, max_number_of_attempts=3)
    try:
        return (yield context.call_activity_with_retry("flaky", opts, "x"))
    except Exception as e:
        return "gave up: " + str(e).splitlines()[0]


def test_the_timer_after_the_last_attempt_fires_at_once() -> None:
    # dtfx RetryInterceptor: after the last failed attempt a "dummy timer for back-compat" at
    # CurrentUtcDateTime, so the failure surfaces without waiting another interval.
    rt = make(retrying=retrying)
    rt.mock_activity("flaky", side_effect=ValueError("always"))
    result = rt.run("retrying")
    assert result.output.startswith("gave up: Activity function 'flaky' failed:")
    timers = [e for e in result.history.events if type(e).__name__ == "TimerCreated"]
    assert [e.fire_at - e.timestamp for e in timers] == [
        timedelta(seconds=5), timedelta(seconds=5), timedelta(0)]
    assert rt.now - result.created_time == timedelta(seconds=10)  # two waits, not three


def test_retry_without_retry_options_fails_as_the_extension_does() -> None:
    # The SDK leaves out falsy retry options; ext CallActivityWithRetryAsync then throws
    # ArgumentNullException synchronously, outside the shim's try: the instance fails.
    def orch(context):
        return (yield context.call_activity_with_retry("echo", None, 1))

    result = make(orch=orch).run("orch")
    assert result.runtime_status == S.Failed
    assert result.error == ("Orchestrator function 'orch' failed: Value cannot be null. "
                            "(Parameter 'retryOptions')")
    assert "TaskScheduled" not in types_of(result)


def test_retry_records_timers_as_the_host_does() -> None:
    rt = make(retrying=retrying)
    rt.mock_activity("flaky", side_effect=[ValueError("one"), ValueError("two"), "ok"])
    result = rt.run("retrying")
    assert result.output == "ok"
    events = [e for e in result.history.events
              if type(e).__name__ in ("TaskScheduled", "TaskFailed", "TimerCreated", "TimerFired",
                                      "TaskCompleted")]
    def seq(e) -> int:
        for field in ("task_scheduled_id", "timer_id"):
            if hasattr(e, field):
                return getattr(e, field)
        return e.event_id

    assert [(type(e).__name__, seq(e)) for e in events] == [
        ("TaskScheduled", 0), ("TaskFailed", 0), ("TimerCreated", 1), ("TimerFired", 1),
        ("TaskScheduled", 2), ("TaskFailed", 2), ("TimerCreated", 3), ("TimerFired", 3),
        ("TaskScheduled", 4), ("TaskCompleted", 4)]
    timer = next(e for e in result.history.events if type(e).__name__ == "TimerCreated")
    assert timer.fire_at.isoformat() == "2024-01-01T00:00:05+00:00"
    assert [c.attempt for c in rt.activity_calls] == [1, 2, 3]


def test_retry_exhausted_waits_for_one_more_timer_then_fails() -> None:
    rt = make(retrying=retrying)
    rt.mock_activity("flaky", side_effect=ValueError("always"))
    result = rt.run("retrying")
    assert result.output == "gave up: Activity function 'flaky' failed:  ValueError: always "
    assert types_of(result).count("TimerCreated") == 3  # one after each of the 3 attempts
    assert len(rt.activity_calls) == 3


# -------------------------------------------------------------- sub-orchestrations
def child(context):
    value = context.get_input()
    if value == "fail":
        raise ValueError("child failed")
    return (yield context.call_activity("echo", value))


def parent(context):
    a = yield context.call_sub_orchestrator("child", "a")
    b = yield context.call_sub_orchestrator("child", "b", instance_id="fixed-child")
    try:
        yield context.call_sub_orchestrator("child", "fail")
    except Exception as e:
        return [a, b, str(e).splitlines()[0]]


def test_sub_orchestrations_with_and_without_ids_and_failure() -> None:
    rt = make(child=child, parent=parent)
    iid = rt.start("parent", instance_id="p1")
    result = rt.wait(iid)
    assert result.output == ["a", "b", "Orchestrator function 'child' failed: child failed "]
    created = [e for e in result.history.events
               if type(e).__name__ == "SubOrchestrationInstanceCreated"]
    assert created[0].instance_id == f"{result.execution_id}:0"
    assert created[1].instance_id == "fixed-child"
    assert rt.status("fixed-child").runtime_status == S.Completed
    assert rt.status(created[2].instance_id).runtime_status == S.Failed


def test_sub_orchestration_with_retry() -> None:
    attempts = {"n": 0}

    def shaky(context):
        attempts["n"] += 1
        if attempts["n"] < 2:
            raise RuntimeError("not yet")
        return "steady"
        yield  # pragma: no cover

    def caller(context):
        opts = df.RetryOptions(1000, 3)
        return (yield context.call_sub_orchestrator_with_retry("shaky", opts, None, "kid"))

    rt = make(shaky=shaky, caller=caller)
    assert rt.run("caller").output == "steady"


# -------------------------------------------------------------- timers
def long_sleep(context):
    yield context.create_timer(context.current_utc_datetime + timedelta(days=10))
    return context.current_utc_datetime.isoformat()


def test_long_timers_are_split_as_the_sdk_splits_them() -> None:
    rt = make(sleep=long_sleep)
    result = rt.run("sleep")
    assert result.output == "2024-01-11T00:00:00+00:00"
    fire_times = [e.fire_at.isoformat() for e in result.history.events
                  if type(e).__name__ == "TimerCreated"]
    assert fire_times == ["2024-01-04T00:00:00+00:00", "2024-01-07T00:00:00+00:00",
                          "2024-01-11T00:00:00+00:00"]


def race(cancel: bool):
    def orchestrator(context):
        timer = context.create_timer(context.current_utc_datetime + timedelta(days=1))
        event = context.wait_for_external_event("go")
        winner = yield context.task_any([event, timer])
        if cancel:
            timer.cancel()
        return winner == event
    return orchestrator


def test_cancelled_timer_lets_the_instance_complete_at_once() -> None:
    rt = make(race=race(cancel=True))
    iid = rt.start("race")
    rt.run_until_idle()
    rt.raise_event(iid, "go")
    rt.run_until_idle()
    assert rt.status(iid).runtime_status == S.Completed
    assert rt.status(iid).output is True


def test_uncancelled_timer_keeps_the_instance_running_until_it_fires() -> None:
    rt = make(race=race(cancel=False))
    iid = rt.start("race")
    rt.run_until_idle()
    rt.raise_event(iid, "go")
    rt.run_until_idle()
    assert rt.status(iid).runtime_status == S.Running
    result = rt.wait(iid)
    assert result.runtime_status == S.Completed and result.output is True
    assert rt.now.isoformat() == "2024-01-02T00:00:00+00:00"


def test_advance_fires_timers_in_order_and_moves_the_clock() -> None:
    rt = make(sleep=long_sleep)
    iid = rt.start("sleep")
    rt.advance(timedelta(days=5))
    assert rt.status(iid).runtime_status == S.Running
    assert rt.now.isoformat() == "2024-01-06T00:00:00+00:00"
    rt.advance(timedelta(days=5))
    assert rt.status(iid).runtime_status == S.Completed


# -------------------------------------------------------------- external events
def two_waits(context):
    yield context.create_timer(context.current_utc_datetime + timedelta(minutes=1))
    first = yield context.wait_for_external_event("e")
    second = yield context.wait_for_external_event("e")
    return [first, second]


def test_early_events_are_last_one_wins_as_the_sdk_does() -> None:
    # Both arrive before either wait is yielded: the SDK keeps only the last and never
    # consumes it (sdk-protocol.md section 5); this is what user code sees in Azure.
    rt = make(two=two_waits)
    iid = rt.start("two")
    rt.run_until_idle()
    rt.raise_event(iid, "e", 1)
    rt.raise_event(iid, "e", 2)
    with pytest.warns(UserWarning, match="Potential duplicate Task completion"):
        assert rt.wait(iid).output == [2, 2]


def test_events_raised_while_waiting_are_delivered_in_order() -> None:
    def waits(context):
        first = yield context.wait_for_external_event("e")
        second = yield context.wait_for_external_event("e")
        return [first, second]

    rt = make(w=waits)
    iid = rt.start("w")
    rt.run_until_idle()
    rt.raise_event(iid, "e", {"n": 1})
    rt.run_until_idle()
    rt.raise_event(iid, "e", {"n": 2})
    assert rt.wait(iid).output == [{"n": 1}, {"n": 2}]


def test_event_names_match_case_sensitively_in_the_sdk() -> None:
    def wait_upper(context):
        return (yield context.wait_for_external_event("Approval"))

    rt = make(w=wait_upper)
    iid = rt.start("w")
    rt.run_until_idle()
    rt.raise_event(iid, "approval", True)
    with pytest.raises(OrchestrationStuck):
        rt.wait(iid)


def test_event_to_unknown_instance_is_an_error() -> None:
    rt = make()
    with pytest.raises(UnknownInstanceError, match="No orchestration instance with id 'nope'"):
        rt.raise_event("nope", "e")


# -------------------------------------------------------------- lifecycle
def waiter(context):
    context.set_custom_status({"stage": "waiting"})
    value = yield context.wait_for_external_event("go")
    context.set_custom_status({"stage": "done"})
    return value


def test_terminate_sets_status_and_output_to_the_reason() -> None:
    rt = make(w=waiter)
    iid = rt.start("w")
    rt.run_until_idle()
    assert rt.status(iid).custom_status == {"stage": "waiting"}
    rt.terminate(iid, "operator said so")
    status = rt.status(iid)
    assert status.runtime_status == S.Terminated
    assert status.output == "operator said so"
    assert "ExecutionTerminated" in types_of(status)


def test_a_terminated_history_ends_as_dtfx_completes_it() -> None:
    """DTFx's HandleExecutionTerminatedEvent calls CompleteOrchestration(reason, null,
    Terminated): ExecutionCompleted follows, numbered like any completion."""
    def one_step(context):
        yield context.call_activity("a", None)
        yield context.wait_for_external_event("x")

    rt = make(o=one_step)
    rt.mock_activity("a", return_value=1)
    iid = rt.start("o")
    rt.run_until_idle()
    rt.terminate(iid, "stop")
    wire = [e.to_wire() for e in rt.history(iid).events]
    assert [e["EventType"] for e in wire[-4:]] == [12, 3, 1, 13]
    assert {k: wire[-2][k] for k in ("EventId", "OrchestrationStatus", "Result")} == \
        {"EventId": 1, "OrchestrationStatus": 5, "Result": "stop"}
    # A pending instance: its ExecutionStarted is processed with the terminate message.
    pending = rt.start("o")
    rt.terminate(pending, "never mind")
    assert [e["EventType"] for e in (e.to_wire() for e in rt.history(pending).events)] == \
        [12, 0, 3, 1, 13]
    assert rt.status(pending).output == "never mind"


def test_suspend_queues_events_until_resume() -> None:
    rt = make(w=waiter)
    iid = rt.start("w")
    rt.run_until_idle()
    rt.suspend(iid, "pause")
    rt.raise_event(iid, "go", 7)
    rt.run_until_idle()
    assert rt.status(iid).runtime_status == S.Suspended
    with pytest.raises(OrchestrationStuck, match="suspended"):
        rt.wait(iid)
    rt.resume(iid, "carry on")
    result = rt.wait(iid)
    assert result.output == 7 and result.custom_status == {"stage": "done"}
    assert {"ExecutionSuspended", "ExecutionResumed"} <= set(types_of(result))


def test_purge_by_id_deletes_whatever_the_status() -> None:
    # ext: DurableClient.PurgeInstanceHistoryAsync(id) -> the Azure Storage provider deletes
    # the instance without looking at its status (docs/protocol.md, Lifecycle operations).
    rt = make(w=waiter)
    iid = rt.start("w")
    rt.run_until_idle()
    assert rt.purge(iid) == 1
    assert rt.purge(iid) == 0
    done = rt.start("w")
    rt.run_until_idle()
    rt.terminate(done, "x")
    assert rt.purge(done) == 1
    with pytest.raises(UnknownInstanceError):
        rt.status(iid)


def test_instance_ids_are_unique_among_running_instances() -> None:
    rt = make(w=waiter)
    rt.start("w", instance_id="same")
    with pytest.raises(InvalidOperationError, match="already exists"):
        rt.start("w", instance_id="same")
    with pytest.raises(InvalidOperationError, match="reserved for entities"):
        rt.start("w", instance_id="@counter@x")


# -------------------------------------------------------------- failures
def test_non_determinism_fails_the_instance_with_the_hosts_text() -> None:
    calls = {"n": 0}

    def flips(context):
        calls["n"] += 1
        yield context.call_activity("echo" if calls["n"] == 1 else "other", 1)
        yield context.call_activity("echo", 2)

    rt = make(flips=flips)
    rt.register_activity("other", lambda x: x)
    result = rt.run("flips")
    assert result.runtime_status == S.Failed
    assert result.error == (
        "Non-Deterministic workflow detected: A previous execution of this orchestration "
        "scheduled an activity task with sequence number 0 named 'echo', but the current "
        "orchestration replay instead scheduled an activity task named 'other' with this "
        "sequence number.  Was a change made to the orchestrator code after this instance "
        "had already started running?")


def test_orchestrator_exception_fails_with_the_hosts_text() -> None:
    def boom(context):
        yield context.call_activity("echo", 1)
        raise KeyError("missing")

    result = make(boom=boom).run("boom")
    assert result.runtime_status == S.Failed
    assert result.error == "Orchestrator function 'boom' failed: 'missing'"


def test_output_that_is_not_json_fails_the_instance() -> None:
    def returns_set(context):
        yield context.call_activity("echo", 1)
        return {1, 2}

    result = make(s=returns_set).run("s")
    assert result.error == "Orchestrator function 's' failed: Object of type set is not JSON serializable"


def test_a_call_to_an_unknown_activity_is_ignored_as_the_extension_ignores_it() -> None:
    # ext: ThrowIfFunctionDoesNotExist runs inside the async CallDurableTaskFunctionAsync, so
    # it faults the task, which OutOfProcOrchestrationShim awaits under "silently ignore":
    # nothing is scheduled and the instance waits forever (durable-python#132).
    def typo(context):
        yield context.call_activity("ehco", 1)

    rt = make(typo=typo)
    iid = rt.start("typo")
    with pytest.raises(OrchestrationStuck) as info:
        rt.wait(iid)
    assert rt.status(iid).runtime_status == S.Running
    assert "TaskScheduled" not in types_of(rt.status(iid))
    message = str(info.value)
    assert ("the activity call to 'ehco', which the host never scheduled: The function 'ehco' "
            "doesn't exist, is disabled, or is not an activity function. Additional info: The "
            "following are the known activity functions: 'echo'. Did you mean 'echo'?") in message
    assert "in Azure this instance would stay Running forever" in message


def test_an_ignored_call_uses_no_sequence_number_and_the_rest_still_runs() -> None:
    def fan(context):
        results = yield context.task_all([context.call_activity("nope", 1),
                                          context.call_activity("echo", 2)])
        return results

    rt = make(fan=fan)
    iid = rt.start("fan")
    rt.run_until_idle()
    scheduled = [e for e in rt.history(iid).events if type(e).__name__ == "TaskScheduled"]
    assert [(e.event_id, e.name) for e in scheduled] == [(0, "echo")]
    assert [c.name for c in rt.activity_calls] == ["echo"]
    assert rt.status(iid).runtime_status == S.Running  # task_all waits for 'nope' forever


def test_an_unknown_sub_orchestrator_is_ignored_too() -> None:
    def parent(context):
        return (yield context.call_sub_orchestrator("chidl", 1))

    rt = make(parent=parent)
    with pytest.raises(OrchestrationStuck, match="the sub-orchestration call to 'chidl'"):
        rt.run("parent")


def test_a_sub_orchestration_reusing_its_parents_id_is_ignored_as_the_extension_ignores_it(
        ) -> None:
    # ext CallDurableTaskFunctionAsync: "The instance ID of a sub-orchestration must be
    # different than the instance ID of a parent orchestration." (checked against the caller's
    # own id and its parent's), thrown in the async method, so the shim ignores it.
    def parent(context):
        return (yield context.call_sub_orchestrator("child", None, "p1"))

    def child(context):
        return (yield context.call_sub_orchestrator("leaf", None, "P1"))  # the caller's parent

    rt = make(parent=parent, child=child, leaf=lambda context: "never")
    iid = rt.start("parent", instance_id="top")
    rt.run_until_idle()
    assert rt.status(iid).runtime_status == S.Running
    with pytest.raises(OrchestrationStuck, match="must be different than the instance ID of a "
                                                 "parent orchestration"):
        rt.wait("p1")  # the child, whose call to 'leaf' was ignored
    assert "SubOrchestrationInstanceCreated" not in types_of(rt.status("p1"))
    rt2 = make(parent=parent, child=child)
    rt2.start("parent", instance_id="p1")  # its own id
    with pytest.raises(OrchestrationStuck, match=r"the sub-orchestration call to 'child'.*\('p1'\)"):
        rt2.wait("p1")


def test_with_nothing_registered_the_text_says_so() -> None:
    def calls(context):
        yield context.call_activity("anything", 1)

    rt = InMemoryRuntime()
    rt.register_orchestrator("calls", calls)
    with pytest.raises(OrchestrationStuck, match="Additional info: No activity functions are "
                                                 "currently registered!"):
        rt.run("calls")


def test_starting_an_unknown_orchestrator_suggests_the_closest_name() -> None:
    rt = make(waiter=waiter)
    with pytest.raises(UnknownFunctionError, match="Did you mean 'waiter'"):
        rt.start("waitr")


def test_activity_output_that_would_not_serialize_fails_the_task_naming_it() -> None:
    def calls_bad(context):
        try:
            yield context.call_activity("bad", 1)
        except Exception as e:
            return str(e).splitlines()[0]

    rt = make(c=calls_bad)
    rt.register_activity("bad", lambda x: object())
    assert rt.run("c").output.startswith(
        "Activity function 'bad' failed:  ValueError: activity trigger output must be json "
        "serializable")


def test_activity_failure_details_parse_like_azure() -> None:
    # The workaround users apply in Azure (Azure/azure-functions-durable-extension#2990).
    def catches(context):
        try:
            yield context.call_activity("fails", 1)
        except Exception as e:
            escaped = str(e).split("\n")[1]
            return json.loads(escaped)["Message"].split(":", 1)[1].lstrip()

    rt = make(c=catches)
    rt.mock_activity("fails", side_effect=ValueError("card declined"))
    # The extension's message keeps the space after "Exception:" (the Python worker's text
    # follows it), so the workaround gets the activity's own message, as in Azure.
    assert rt.run("c").output == "card declined"


def test_input_that_cannot_serialize_is_rejected_at_start() -> None:
    rt = make(w=waiter)
    with pytest.raises(SerializationError, match="The input of orchestrator 'w' is not JSON"):
        rt.start("w", object())


# -------------------------------------------------------------- guards
def test_runaway_episode_is_stopped() -> None:
    def spins(context):
        n = 0
        while True:
            n += 1
        yield  # pragma: no cover

    rt = InMemoryRuntime(episode_timeout=0.3)
    rt.register_orchestrator("spins", spins)
    with pytest.raises(RunawayOrchestrator, match=r"limit of 0\.3 seconds in one episode without "
                       r"yielding\..* Raise the limit with InMemoryRuntime\(episode_timeout=\.\.\.\)"):
        rt.run("spins")


def test_endless_yielding_loop_hits_the_episode_limit() -> None:
    def forever(context):
        while True:
            yield context.call_activity("echo", 1)

    rt = InMemoryRuntime(max_episodes=50)
    rt.register_orchestrator("forever", forever)
    rt.register_activity("echo", lambda x: x)
    with pytest.raises(RunawayOrchestrator,
                       match=r"limit of 50 episodes.* InMemoryRuntime\(max_episodes=\.\.\.\)"):
        rt.run("forever")


def test_stuck_instance_lists_what_it_waits_for() -> None:
    def stuck(context):
        yield context.task_any([context.wait_for_external_event("a"),
                                context.wait_for_external_event("b")])

    rt = make(stuck=stuck)
    iid = rt.start("stuck", instance_id="s1")
    with pytest.raises(OrchestrationStuck) as info:
        rt.wait(iid)
    assert "any of: external event 'a'; external event 'b'" in str(info.value)
    assert info.value.instance_id == "s1"


# -------------------------------------------------------------- activities
def test_mock_activity_forms_and_unused_mocks() -> None:
    def uses(context):
        a = yield context.call_activity("a", 1)
        b = yield context.call_activity("b", 2)
        try:
            yield context.call_activity("c", 3)
        except Exception as e:
            return [a, b, str(e).splitlines()[0]]

    rt = make(uses=uses)
    rt.mock_activity("a", return_value={"x": (1, 2)})
    rt.mock_activity("b", side_effect=lambda v: v * 10)
    rt.mock_activity("c", side_effect=KeyError)
    rt.mock_activity("never", return_value=1)
    assert rt.run("uses").output == [{"x": [1, 2]}, 20,
                                     "Activity function 'c' failed:  KeyError:  "]
    assert rt.unused_mocks == ["never"]
    call = rt.activity_calls[0]
    assert (call.name, call.input, call.result, call.attempt, call.task_id) == (
        "a", 1, {"x": [1, 2]}, 1, 0)


def test_async_activities_run_in_process() -> None:
    async def double(x: int) -> int:
        return x * 2

    def uses(context):
        return (yield context.call_activity("double", 21))

    rt = make(uses=uses)
    rt.register_activity("double", double)
    assert rt.run("uses").output == 42


def test_call_http_needs_a_handler_and_uses_it() -> None:
    def fetch(context):
        response = yield context.call_http("GET", "https://example.org/items")
        return response

    rt = make(fetch=fetch)
    rt.set_http_handler(lambda req: {"statusCode": 200, "headers": {},
                                     "content": f"{req['method']} {req['uri']}"})
    result = rt.run("fetch")
    assert result.output["content"] == "GET https://example.org/items"
    scheduled = next(e for e in result.history.events if type(e).__name__ == "TaskScheduled")
    assert scheduled.name == "BuiltIn::HttpActivity"


def test_runs_are_reproducible_with_a_seed() -> None:
    def ids(context):
        return [context.instance_id, context.new_uuid()]
        yield  # pragma: no cover

    first = make(ids=ids).run("ids").output
    second = make(ids=ids).run("ids").output
    assert first == second


def test_task_all_failure_holds_later_work_until_all_children_finish() -> None:
    # ext: the shim awaits Task.WhenAll, which waits for every child even after one fails,
    # so work the orchestrator yields after catching the failure is scheduled only then.
    def fan(context):
        try:
            yield context.task_all([context.call_activity("fails", 1),
                                    context.call_activity("slow", 2)])
        except Exception:
            pass
        yield context.call_activity("echo", "after")
        return "ok"

    rt = make(fan=fan)
    rt.mock_activity("fails", side_effect=ValueError("x"))
    order = []
    rt.mock_activity("slow", side_effect=lambda v: order.append("slow") or v)
    result = rt.run("fan")
    assert result.output == "ok"
    assert [c.name for c in rt.activity_calls] == ["fails", "slow", "echo"]


def test_a_non_determinism_failure_says_where_it_diverged() -> None:
    calls = {"n": 0}

    def flips(context):
        calls["n"] += 1
        yield context.call_activity("echo", 1)
        yield context.call_activity("echo" if calls["n"] < 3 else "other", 2)
        yield context.call_activity("echo", 3)

    rt = make(flips=flips)
    rt.register_activity("other", lambda x: x)
    result = rt.run("flips")
    d = result.divergence
    assert d is not None
    assert (d.expected, d.actual) == ("activity 'echo' #1", "activity 'other' #1")
    assert type(result.history.events[d.event_index]).__name__ == "TaskScheduled"
    assert result.history.events[d.event_index].event_id == 1
    assert make(flips=counter_loop).run("flips", 2).divergence is None


def test_yielding_something_that_is_not_a_task_explains_itself() -> None:
    def yields_list(context):
        yield [context.call_activity("echo", 1)]

    result = make(y=yields_list).run("y")
    assert result.runtime_status == S.Failed
    assert result.error.startswith(
        "Orchestrator function 'y' failed: AttributeError: 'list' object has no attribute "
        "'_is_scheduled' (durable-testkit: the orchestrator yielded a list, which is not a "
        "durable task.")
    assert "context.task_all([...])" in result.error


def test_an_activity_that_never_returns_is_stopped() -> None:
    def spins(value):
        while True:
            value += 1

    def calls(context):
        yield context.call_activity("spins", 1)

    rt = InMemoryRuntime(function_timeout=0.3)
    rt.register_orchestrator("calls", calls)
    rt.register_activity("spins", spins)
    iid = rt.start("calls", instance_id="a-1")
    with pytest.raises(RunawayFunction) as info:
        rt.wait(iid)
    assert str(info.value).startswith(
        "The activity 'spins' (for instance 'a-1') ran for more than 0.3 seconds of real time "
        "and was stopped.")


def test_an_event_goes_to_the_latest_waiter_as_in_a_reminder_loop() -> None:
    # ext: DurableOrchestrationContext.WaitForExternalEvent keeps waiters on a stack "to make
    # it easier for users to abandon external events ... The common case is a Task.WhenAny
    # in a loop": the event completes the newest wait, not the abandoned ones. (This loop
    # forgets to cancel its timer, so nothing else unblocks the extension's replay.)
    def reminders(context):
        sent = 0
        while True:
            timer = context.create_timer(context.current_utc_datetime + timedelta(hours=1))
            approval = context.wait_for_external_event("approval")
            winner = yield context.task_any([approval, timer])
            if winner == approval:
                return (yield context.call_activity("echo", f"approved after {sent} reminders"))
            sent += 1
            yield context.call_activity("echo", "reminder")

    rt = make(reminders=reminders)
    iid = rt.start("reminders")
    rt.advance(timedelta(hours=3, minutes=30))
    rt.raise_event(iid, "approval", True)
    rt.run_until_idle()  # no virtual time passes: the approval is acted on at once
    assert rt.activity_calls[-1].input == "approved after 3 reminders"
    # ...but the uncancelled timer keeps the instance running until it fires
    assert rt.status(iid).runtime_status == S.Running
    result = rt.wait(iid)
    assert result.output == "approved after 3 reminders"
    assert rt.now.isoformat() == "2024-01-01T04:00:00+00:00"


def test_virtual_time_never_moves_backwards_and_says_so() -> None:
    from durable_testkit import InvalidOperationError, OrchestrationScenario, ScenarioError

    rt = make(w=waiter)
    with pytest.raises(InvalidOperationError, match=r"never moves backwards"):
        rt.advance(timedelta(hours=-1))
    scenario = OrchestrationScenario(waiter)
    scenario.start()
    with pytest.raises(ScenarioError, match=r"never moves backwards"):
        scenario.advance(timedelta(hours=-1))


def test_a_result_is_a_value_editing_it_changes_no_later_result() -> None:
    def lists(context):
        context.set_custom_status({"seen": [1]})
        return {"out": [1, 2]}
        yield  # a generator

    rt = make(lists=lists)
    first = rt.run("lists", instance_id="l-1")
    first.output["out"].append(99)
    first.custom_status["seen"].clear()
    again = rt.status("l-1")
    assert again.output == {"out": [1, 2]} and again.custom_status == {"seen": [1]}
