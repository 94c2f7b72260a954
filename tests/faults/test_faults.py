"""Each fault on the real SDK: what runs, what the history records, what rt.activity_calls says."""
from __future__ import annotations

from datetime import timedelta

import pytest

from durable_testkit import (EventType, OrchestrationRuntimeStatus as S, SeededPolicy,
                             UnknownFunctionError, faults)
from fault_apps import EPISODES, LEDGER, runtime


def _types(result):
    return [e.event_type for e in result.history.events]


def _completions(result):
    return [e.task_scheduled_id for e in result.history.events
            if e.event_type in (EventType.TaskCompleted, EventType.TaskFailed)]


def _calls(rt):
    return [(c.name, c.input, c.task_id, c.attempt, c.recorded, c.fault)
            for c in rt.activity_calls]


# -- crash_after_activity ---------------------------------------------------------------
def test_crash_after_activity_runs_the_same_work_item_again_and_records_one_completion():
    baseline = runtime().run("chain")
    rt = runtime()
    fault = rt.inject(faults.crash_after_activity("double", when=2))
    result = rt.run("chain")
    assert result.output == baseline.output == 8
    assert fault.fired == 1
    assert _calls(rt) == [
        ("double", 1, 0, 1, True, None),
        ("double", 2, 1, 1, False, "crash_after_activity"),  # ran; its completion was lost
        ("double", 2, 1, 2, True, None),  # the same work item again: same input and seq
        ("double", 4, 2, 1, True, None),
    ]
    assert _types(result) == _types(baseline)
    assert _completions(result) == [0, 1, 2]


def test_a_crashed_activity_runs_again_after_the_visibility_timeout():
    """The queue message comes back 5 minutes after the crash: a shorter timer wins."""
    from durable_testkit import InMemoryRuntime

    def race(context):
        timer = context.create_timer(context.current_utc_datetime + timedelta(minutes=1))
        charge = context.call_activity("charge", 1)
        winner = yield context.task_any([timer, charge])
        if winner == charge:
            timer.cancel()
            return "charged"
        return "timed out"

    def make(fault: bool) -> InMemoryRuntime:
        rt = InMemoryRuntime()
        rt.register_orchestrator("race", race)
        rt.register_activity("charge", lambda amount: amount,
                             duration=timedelta(seconds=30))
        if fault:
            rt.inject(faults.crash_after_activity("charge"))
        return rt

    assert make(False).run("race").output == "charged"
    rt = make(True)
    start = rt.now
    assert rt.run("race").output == "timed out"
    assert rt.now - start == timedelta(minutes=1)
    assert [c.attempt for c in rt.activity_calls] == [1]
    # It ran for 30 s and crashed; its message comes back 5 minutes later and the activity
    # runs again, although the orchestration has finished.
    rt.advance(timedelta(minutes=4, seconds=29))  # to 0:05:29
    assert [c.attempt for c in rt.activity_calls] == [1]
    rt.advance(timedelta(seconds=1))
    assert [c.attempt for c in rt.activity_calls] == [1, 2]


def test_crash_after_activity_side_effect_happens_twice():
    rt = runtime()
    rt.inject(faults.crash_after_activity("charge"))
    result = rt.run("checkout", {"amount": 10})
    assert result.runtime_status == S.Completed
    assert LEDGER == [10, 10]
    assert result.output == "receipt-2"  # the orchestrator sees the second execution's answer


def test_crash_after_activity_times_crashes_the_rerun_too():
    rt = runtime()
    fault = rt.inject(faults.crash_after_activity("charge", times=3))
    rt.run("checkout", {"amount": 1})
    assert fault.fired == 3
    assert [c.attempt for c in rt.activity_calls] == [1, 2, 3, 4]
    assert [c.recorded for c in rt.activity_calls] == [False, False, False, True]


def test_crash_after_activity_in_a_fan_out_takes_only_the_selected_branch():
    rt = runtime()
    rt.inject(faults.crash_after_activity("double", when=lambda c: c.input == 2))
    result = rt.run("fan_out", 4)
    assert result.output == 12
    assert [(c.input, c.recorded) for c in rt.activity_calls] == [
        (0, True), (1, True), (2, False), (3, True), (2, True)]
    assert sorted(_completions(result)) == [0, 1, 2, 3]


def test_crash_after_activity_in_a_sub_orchestration():
    rt = runtime()
    rt.inject(faults.crash_after_activity("double", when=lambda c: c.orchestrator == "chain"
                                          and c.seq == 0))
    result = rt.run("parent")
    assert result.output == 16
    child = [c for c in rt.activity_calls if c.instance_id != result.instance_id]
    assert [(c.input, c.recorded) for c in child] == [(1, False), (1, True), (2, True), (4, True)]


# -- duplicate_activity -----------------------------------------------------------------
def test_duplicate_activity_runs_twice_and_the_host_keeps_the_first_completion():
    rt = runtime()
    fault = rt.inject(faults.duplicate_activity("charge"))
    result = rt.run("checkout", {"amount": 5})
    assert fault.fired == 1
    assert LEDGER == [5, 5]
    assert result.output == "receipt-1"  # the first completion; the duplicate's is dropped
    assert [(c.result, c.recorded, c.fault) for c in rt.activity_calls] == [
        ("receipt-1", True, "duplicate_activity"), ("receipt-2", False, "duplicate_activity")]
    assert _completions(result) == [0]


def test_duplicate_activity_in_a_chain_keeps_one_completion_per_sequence_number():
    baseline = runtime().run("chain")
    rt = runtime()
    rt.inject(faults.duplicate_activity("double", when=1, times=3))
    result = rt.run("chain")
    assert result.output == 8
    assert len(rt.activity_calls) == 6
    assert _types(result) == _types(baseline)
    assert _completions(result) == [0, 1, 2]


# -- crash_episode ----------------------------------------------------------------------
def test_crash_episode_runs_the_episode_again_and_commits_it_once():
    baseline = runtime().run("chain")
    baseline_runs = EPISODES["chain"]
    rt = runtime()
    fault = rt.inject(faults.crash_episode("chain", when=2))
    result = rt.run("chain")
    assert fault.fired == 1
    assert result.output == 8
    assert EPISODES["chain"] == baseline_runs + 1  # the lost episode's code ran again
    assert _types(result) == _types(baseline)
    assert [c.input for c in rt.activity_calls] == [1, 2, 4]  # nothing ran twice


def test_crash_episode_of_the_first_episode_starts_the_execution_again():
    rt = runtime()
    rt.inject(faults.crash_episode("chain", when=1))
    result = rt.run("chain")
    assert result.output == 8
    types = _types(result)
    assert types.count(EventType.ExecutionStarted) == 1
    assert [c.input for c in rt.activity_calls] == [1, 2, 4]


def test_crash_episode_loses_entity_messages_until_the_rerun_sends_them():
    rt = runtime()
    rt.inject(faults.crash_episode("counted", when=1))
    rt.inject(faults.crash_episode("counted", when=3))
    result = rt.run("counted")
    assert result.output == 2  # one "add", not two: the lost episode's signal never went
    assert rt.entity_state("@counter@orders") == 1
    assert [f.fired for f in rt.faults] == [1, 1]


def test_crash_episode_of_any_orchestrator_with_a_predicate():
    rt = runtime()
    fault = rt.inject(faults.crash_episode(when=lambda c: c.orchestrator == "chain", times=10))
    result = rt.run("parent")
    assert result.output == 16
    assert fault.fired == 10
    assert all(c.recorded for c in rt.activity_calls)


def test_crash_episode_of_a_sub_orchestration_keeps_the_parent_waiting_for_one_result():
    baseline = runtime().run("parent")
    rt = runtime()
    rt.inject(faults.crash_episode("chain", when=4))  # the child's completing episode
    result = rt.run("parent")
    assert result.output == 16
    assert _types(result) == _types(baseline)


# -- duplicate_event --------------------------------------------------------------------
def test_duplicate_event_completes_a_second_wait_for_the_same_name():
    rt = runtime()
    iid = rt.start("approval")
    rt.run_until_idle()
    fault = rt.inject(faults.duplicate_event("approve"))
    rt.raise_event(iid, "approve", "yes")
    result = rt.wait(iid)
    assert fault.fired == 1
    assert result.output == ["yes", "yes"]
    assert _types(result).count(EventType.EventRaised) == 2


def test_duplicate_event_when_selects_the_delivery():
    rt = runtime()
    fault = rt.inject(faults.duplicate_event("approve", when=lambda c: c.input == "second"))
    iid = rt.start("approval")
    rt.run_until_idle()
    rt.raise_event(iid, "approve", "first")
    rt.run_until_idle()
    assert fault.seen == 1 and fault.fired == 0
    rt.raise_event(iid, "approve", "second")
    assert rt.wait(iid).output == ["first", "second"]
    assert fault.fired == 1


# -- fail_activity ----------------------------------------------------------------------
def test_fail_activity_raises_instead_of_running():
    rt = runtime()
    rt.inject(faults.fail_activity("charge", ConnectionError("card network down")))
    result = rt.run("checkout", {"amount": 3})
    assert result.runtime_status == S.Failed
    assert "ConnectionError: card network down" in result.error
    assert LEDGER == []
    assert [(c.exception.__class__, c.fault) for c in rt.activity_calls] == [
        (ConnectionError, "fail_activity")]


def test_fail_activity_on_a_mock_with_an_exception_class():
    rt = runtime()
    rt.mock_activity("double", return_value=7)
    rt.inject(faults.fail_activity("double", TimeoutError, when=2))
    result = rt.run("chain")
    assert result.runtime_status == S.Failed
    assert "TimeoutError: injected by faults.fail_activity('double')" in result.error


def test_fail_activity_then_retry_succeeds():
    rt = runtime()
    fault = rt.inject(faults.fail_activity("double", OSError("transient"), times=2))
    result = rt.run("with_retry")
    assert result.output == 42
    assert fault.fired == 2
    assert [(c.attempt, c.fault) for c in rt.activity_calls] == [
        (1, "fail_activity"), (2, "fail_activity"), (3, None)]
    assert rt.now - result.created_time >= timedelta(seconds=2)  # two retry intervals


def test_fail_activity_beyond_the_retry_budget_fails_the_orchestration():
    rt = runtime()
    rt.inject(faults.fail_activity("double", OSError("down"), times=3))
    result = rt.run("with_retry")
    assert result.runtime_status == S.Failed
    assert len(rt.activity_calls) == 3


def test_crash_after_activity_on_a_retried_activity_reruns_within_the_same_attempt_count():
    rt = runtime()
    rt.inject(faults.fail_activity("double", OSError("transient")))
    rt.inject(faults.crash_after_activity("double", when=2))
    result = rt.run("with_retry")
    assert result.output == 42
    assert [(c.recorded, c.fault) for c in rt.activity_calls] == [
        (True, "fail_activity"), (False, "crash_after_activity"), (True, None)]
    # One TaskFailed, then one TaskCompleted for the retry's sequence number.
    failed = [e for e in result.history.events if e.event_type is EventType.TaskFailed]
    completed = [e for e in result.history.events if e.event_type is EventType.TaskCompleted]
    assert len(failed) == 1 and len(completed) == 1


# -- delay_activity ---------------------------------------------------------------------
def test_delay_activity_loses_the_race_against_a_shorter_timer():
    assert runtime().run("race").output == "work"
    rt = runtime()
    fault = rt.inject(faults.delay_activity("double", timedelta(minutes=5)))
    result = rt.run("race")
    assert fault.fired == 1
    assert result.output == "timeout"
    assert rt.activity_calls[0].fault == "delay_activity"


def test_delay_activity_shorter_than_the_timer_still_wins():
    rt = runtime()
    rt.inject(faults.delay_activity("double", timedelta(seconds=30)))
    assert rt.run("race").output == "work"


def test_delay_activity_stamps_the_completion_when_it_arrives():
    rt = runtime()
    rt.inject(faults.delay_activity("double", timedelta(hours=1), when=1))
    result = rt.run("chain")
    assert result.output == 8
    completed = [e for e in result.history.events if e.event_type is EventType.TaskCompleted]
    scheduled = [e for e in result.history.events if e.event_type is EventType.TaskScheduled]
    assert completed[0].timestamp - scheduled[0].timestamp == timedelta(hours=1)


# -- selection, counting, errors --------------------------------------------------------
def test_when_n_counts_matching_executions_only_and_names_ignore_case():
    rt = runtime()
    fault = rt.inject(faults.crash_after_activity("DOUBLE", when=3))
    rt.run("chain")
    assert fault.seen == 4  # three executions, then the re-run (not selected: times=1)
    assert [c.recorded for c in rt.activity_calls] == [True, True, False, True]


def test_the_predicate_sees_the_execution():
    seen = []
    rt = runtime()
    rt.inject(faults.crash_after_activity("double", when=lambda c: seen.append(c) or False))
    result = rt.run("chain")
    first = seen[0]
    assert (first.kind, first.name, first.input, first.input_text, first.seq, first.attempt,
            first.execution, first.orchestrator, first.instance_id) == (
        "activity", "double", 1, "1", 0, 1, 1, "chain", result.instance_id)


def test_unfired_faults_lists_faults_that_never_fired():
    rt = runtime()
    fired = rt.inject(faults.crash_after_activity("double"))
    never = rt.inject(faults.crash_after_activity("charge"))
    rt.run("chain")
    assert rt.faults == [fired, never]
    assert rt.unfired_faults == [never]
    assert repr(never) == "<faults.crash_after_activity('charge'): fired 0 of 1>"


def test_an_unknown_function_name_says_did_you_mean():
    rt = runtime()
    with pytest.raises(UnknownFunctionError, match="Did you mean 'charge'"):
        rt.inject(faults.crash_after_activity("charg"))
    with pytest.raises(UnknownFunctionError, match="Did you mean 'chain'"):
        rt.inject(faults.crash_episode("chian"))


@pytest.mark.parametrize("build, message", [
    (lambda: faults.crash_after_activity("x", when=0), "when takes an int n"),
    (lambda: faults.crash_after_activity("x", when=True), "when takes an int n"),
    (lambda: faults.duplicate_activity("x", times=0), "times must be an int >= 1"),
    (lambda: faults.fail_activity("x", "boom"), "the exception to raise"),
    (lambda: faults.delay_activity("x", 5), "positive timedelta"),
    (lambda: faults.crash_after_activity(""), "non-empty string"),
])
def test_bad_arguments_say_what_is_expected(build, message):
    with pytest.raises(TypeError, match=message):
        build()


def test_inject_takes_only_faults():
    with pytest.raises(TypeError, match="rt.inject\\(\\) takes a fault"):
        runtime().inject("crash")


def test_describe_is_the_expression_that_builds_the_fault():
    assert faults.crash_after_activity("charge", when=1).describe() == \
        "faults.crash_after_activity('charge', when=1)"
    assert faults.fail_activity("charge", ValueError("no"), times=2).describe() == \
        "faults.fail_activity('charge', ValueError('no'), times=2)"
    assert faults.delay_activity("x", timedelta(minutes=2)).describe() == \
        "faults.delay_activity('x', timedelta(seconds=120))"
    assert faults.crash_episode().describe() == "faults.crash_episode()"


# -- under a SeededPolicy ---------------------------------------------------------------
@pytest.mark.parametrize("seed", range(8))
def test_faults_under_a_seeded_policy_keep_one_completion_per_sequence_number(seed):
    rt = runtime(policy=SeededPolicy(seed))
    rt.inject(faults.crash_after_activity("double", when=2))
    rt.inject(faults.duplicate_activity("double", when=4))
    rt.inject(faults.crash_episode("fan_out", when=2))
    result = rt.run("fan_out", 5)
    assert result.output == 20
    assert sorted(_completions(result)) == [0, 1, 2, 3, 4]
    assert all(f.fired == 1 for f in rt.faults)


def test_a_seeded_run_with_faults_replays_from_its_trace():
    from durable_testkit import PlannedPolicy

    def run(policy):
        rt = runtime(policy=policy)
        rt.inject(faults.duplicate_activity("double", when=2))
        result = rt.run("fan_out", 4)
        return rt, [(c.input, c.recorded) for c in rt.activity_calls], result.output

    first, calls, output = run(SeededPolicy(3))
    _, again, output_again = run(PlannedPolicy(first.trace))
    assert (again, output_again) == (calls, output)


def test_no_fault_means_no_change():
    rt = runtime()
    result = rt.run("fan_out", 3)
    assert rt.faults == [] and rt.unfired_faults == []
    assert all(c.fault is None and c.recorded for c in rt.activity_calls)
    assert result.output == 6
