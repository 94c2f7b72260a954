"""Every misuse of the scenario driver, and non-determinism, compared by message text."""
from __future__ import annotations

import pytest

from durable_testkit.errors import DurableTestkitError, NonDeterminismError
from durable_testkit.scenario import OrchestrationScenario, PendingTask, ScenarioError

import scenario_orchestrators as o

STEP_A = "Pending:\n  - activity 'step_a' #0 (input: \"x\")"


def error_of(call) -> str:
    with pytest.raises(ScenarioError) as info:
        call()
    assert isinstance(info.value, DurableTestkitError)
    return str(info.value)


@pytest.fixture
def sc() -> OrchestrationScenario:
    scenario = OrchestrationScenario(o.chain, input="x")
    scenario.start()
    return scenario


def test_step_before_start():
    fresh = OrchestrationScenario(o.chain, input="x")
    assert error_of(lambda: fresh.complete("step_a", 1)) == (
        "complete(): orchestration 'chain' has not started; call sc.start() first.\n"
        "Nothing is pending.")


def test_start_twice(sc):
    assert error_of(sc.start) == (
        "Orchestration 'chain' (instance 'scenario-instance') has already started; start() "
        "runs only once.\n" + STEP_A)


def test_unknown_name(sc):
    assert error_of(lambda: sc.complete("step_b", 1)) == (
        "complete('step_b'): no pending activity matches 'step_b'.\n" + STEP_A)


def test_task_not_pending(sc):
    stale = PendingTask("activity", "step_a", "x", seq=5)
    assert error_of(lambda: sc.complete(stale, 1)) == (
        "complete(): activity 'step_a' #5 (input: \"x\") is not pending. It may have completed "
        "already, or belong to an earlier execution.\n" + STEP_A)


def test_ambiguous_name():
    sc = OrchestrationScenario(o.two_of_a_kind)
    sc.start()
    assert error_of(lambda: sc.complete("work", 1)) == (
        "complete('work') is ambiguous: 2 pending activity tasks match:\n"
        "    activity 'work' #0 (input: 1)\n"
        "    activity 'work' #1 (input: 2)\n"
        "Pass the PendingTask itself, e.g. sc.complete(sc.pending[i], ...).\n"
        "Pending:\n"
        "  - activity 'work' #0 (input: 1)\n"
        "  - activity 'work' #1 (input: 2)")


def test_completing_a_timer_or_an_event():
    sc = OrchestrationScenario(o.approval)
    timer, event = sc.start()
    pending = ("Pending:\n  - timer #0 firing at 2024-01-02T00:00:00.000000Z\n"
               "  - external event 'approval'")
    assert error_of(lambda: sc.complete(timer, 1)) == (
        "complete(): cannot complete or fail timer #0 firing at 2024-01-02T00:00:00.000000Z. "
        "Timers fire with sc.advance(...) or sc.fire_timers().\n" + pending)
    assert error_of(lambda: sc.fail(event, "x")) == (
        "fail(): cannot complete or fail external event 'approval'. Events arrive with "
        "sc.raise_event(name, data).\n" + pending)


def test_fire_timers_without_timers(sc):
    assert error_of(sc.fire_timers) == (
        "fire_timers(): orchestration 'chain' has no pending timer.\n" + STEP_A)


def test_wrong_kind_by_name_points_at_the_match():
    sc = OrchestrationScenario(o.parent)
    sc.start()
    child = "sub-orchestration 'child' #0 (input: {\"n\": 1}) instance 'child-1'"
    assert error_of(lambda: sc.fail("child", "x")) == (
        f"fail('child'): no pending activity matches 'child'. {child} matches; pass that "
        "PendingTask (sc.fail(task, ...)) or use the method for its kind.\n"
        f"Pending:\n  - {child}")
    assert error_of(lambda: sc.complete_entity_call("counter", 1)) == (
        "complete_entity_call('counter'): no pending entity call matches 'counter'.\n"
        f"Pending:\n  - {child}")


def test_wrong_kind_by_task(sc):
    (task,) = sc.pending
    assert error_of(lambda: sc.complete_sub_orchestration(task, 1)) == (
        "complete_sub_orchestration(): activity 'step_a' #0 (input: \"x\") is not a "
        "sub-orchestration; use sc.complete(task, ...) or sc.fail(task, ...).\n" + STEP_A)


def test_completing_twice_in_one_batch():
    sc = OrchestrationScenario(o.two_of_a_kind)
    first, second = sc.start()
    with sc.batch():
        sc.complete(first, 1)
        message = error_of(lambda: sc.complete(first, 1))
    assert message == ("complete(): activity 'work' #0 (input: 1) is not pending. It was "
                       "already completed in this batch.\nPending:\n"
                       "  - activity 'work' #1 (input: 2)")
    assert sc.pending == [second]


def test_batches_do_not_nest(sc):
    with sc.batch():
        assert error_of(lambda: sc.batch().__enter__()) == (
            "batches do not nest: a batch is already open.\n" + STEP_A)


def test_stepping_a_finished_orchestration(sc):
    sc.complete("step_a", 1)
    sc.complete("step_b", 2)
    done = ("orchestration 'chain' (instance 'scenario-instance') has already completed with "
            "output [1, 2]. There is nothing left to drive.\nNothing is pending.")
    assert error_of(lambda: sc.complete("step_b", 1)) == "complete(): " + done
    assert error_of(lambda: sc.raise_event("late")) == "raise_event(): " + done


def test_stepping_a_failed_orchestration():
    def broken(context):
        yield context.call_activity("a", None)
        raise ValueError("bad")

    sc = OrchestrationScenario(broken)
    sc.start()
    sc.complete("a", None)
    assert error_of(lambda: sc.advance(__import__("datetime").timedelta(1))) == (
        "advance(): orchestration 'broken' (instance 'scenario-instance') has already failed "
        "with: Orchestrator function 'broken' failed: bad. There is nothing left to drive.\n"
        "Nothing is pending.")


def test_wrong_target_type(sc):
    with pytest.raises(TypeError, match=r"complete\(\) takes a name or a PendingTask, got 3"):
        sc.complete(3, 1)


# ---------------------------------------------------------------- non-determinism
def make_drifting():
    """An orchestrator whose first call differs from its replays, as random or now() would."""
    calls = []

    def drifting(context):
        calls.append(1)
        first = "original" if len(calls) == 1 else "changed"
        yield context.call_activity(first, None)
        yield context.call_activity("second", None)
        return "done"

    return drifting


def test_non_determinism_names_expected_actual_and_timeline():
    sc = OrchestrationScenario(make_drifting())
    sc.start()
    with pytest.raises(NonDeterminismError) as info:
        sc.complete("original", None)
    err = info.value
    assert (err.event_index, err.expected, err.actual) == (
        2, "activity 'original' #0", "activity 'changed' #0")
    assert str(err) == (
        "Non-deterministic replay of orchestrator 'drifting', instance 'scenario-instance' at "
        "history event 2:\n"
        "  expected (history): activity 'original' #0\n"
        "  actual (code):      activity 'changed' #0\n"
        "Non-Deterministic workflow detected: A previous execution of this orchestration "
        "scheduled an activity task with sequence number 0 named 'original', but the current "
        "orchestration replay instead scheduled an activity task named 'changed' with this "
        "sequence number.  Was a change made to the orchestrator code after this instance had "
        "already started running?\n"
        "What to do: instances already running replay their recorded decisions, so keep the "
        "old path for them behind a version check (if context.version == ...: old code) or "
        "deploy the change as a new orchestrator name and let running instances finish on the "
        "old one.\n"
        "History:\n"
        "    0  OrchestratorStarted at 2024-01-01T00:00:00Z\n"
        "    1  ExecutionStarted   \"drifting\" instance=\"scenario-instance\" input=null\n"
        ">   2  TaskScheduled      #0 \"original\" input=null\n"
        "    3  OrchestratorCompleted\n"
        "    4  OrchestratorStarted at 2024-01-01T00:00:00Z\n"
        "    5  TaskCompleted      #0 result=null")
    # The scenario is over, as the host fails the instance.
    assert sc.is_done and sc.error.startswith("Non-Deterministic workflow detected: ")
    assert sc.divergence.event_index == 2  # also in the pytest report's timeline
