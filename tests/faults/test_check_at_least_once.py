"""check_at_least_once: every single fault point tried; a non-idempotent charge is found."""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from durable_testkit import (FaultCheckFailed, FaultCheckReport, check_at_least_once, faults)
from fault_apps import LEDGER, runtime


def charged_once(result, rt):
    assert result.runtime_status.value == "Completed", result.error
    assert LEDGER == [10], f"the customer was charged {LEDGER}"


def test_a_non_idempotent_charge_is_found_and_the_message_says_how_to_reproduce():
    with pytest.raises(FaultCheckFailed) as caught:
        check_at_least_once(runtime, "checkout", {"amount": 10}, check=charged_once)
    err = caught.value
    text = str(err)
    assert err.fault == "faults.crash_after_activity('charge', when=1)"
    assert text.startswith(
        "check_at_least_once('checkout'): the check failed when the 1st execution of activity "
        "'charge' (task #0 of instance '")
    assert "lost its completion after it ran (faults.crash_after_activity('charge', when=1))." \
        in text
    assert "  AssertionError: the customer was charged [10, 10]" in text
    assert "In Azure this happens in production: an activity runs at least once" in text
    assert f"History of instance '{err.instance_id}' under this fault:" in text
    assert '2  TaskScheduled      #0 "charge"' in text
    assert ("2 of 4 fault points broke the check: also "
            "faults.duplicate_activity('charge', when=1).") in text
    assert ("Reproduce it in one line: rt.inject(faults.crash_after_activity('charge', "
            "when=1)) before running 'checkout'.") in text
    assert "idempotency key" in text
    report = err.report
    assert isinstance(report, FaultCheckReport)
    assert [(r.point.kind, r.passed, r.fired) for r in report.results] == [
        ("crash_after_activity", False, 1), ("duplicate_activity", False, 1),
        ("crash_episode", True, 1), ("crash_episode", True, 1)]


def test_the_idempotent_charge_passes_every_fault_point():
    report = check_at_least_once(runtime, "checkout_once", {"amount": 10}, check=charged_once)
    assert report.passed
    assert [str(r.point).split(":")[0] for r in report.results] == [
        "faults.crash_after_activity('charge_once', when=1)",
        "faults.duplicate_activity('charge_once', when=1)",
        "faults.crash_episode('checkout_once', when=1)",
        "faults.crash_episode('checkout_once', when=2)",
    ]
    assert report.baseline.output == report.results[0].result.output
    assert str(report).splitlines()[0] == (
        "check_at_least_once('checkout_once'): 4 fault points, 0 failed")


def test_the_reproduce_line_reproduces_the_failure():
    report = check_at_least_once(runtime, "checkout", {"amount": 10}, check=charged_once,
                                 raise_on_failure=False)
    first = report.failures[0]
    assert first.point.reproduce == "rt.inject(faults.crash_after_activity('charge', when=1))"
    rt = runtime()
    rt.inject(faults.crash_after_activity("charge", when=1))
    rt.run("checkout", {"amount": 10})
    assert LEDGER == [10, 10]


def test_points_cover_sub_orchestrations_and_every_execution():
    report = check_at_least_once(runtime, "parent", check=lambda r, rt: None,
                                 kinds=("crash_after_activity", "crash_episode"))
    kinds = [(r.point.kind, r.point.name, r.point.when) for r in report.results]
    assert kinds[5] == ("crash_episode", "chain", 1)  # episodes in the order they ran
    assert sorted(kinds) == sorted([("crash_after_activity", "double", n) for n in (1, 2, 3, 4)] + [
        ("crash_episode", "parent", 1), ("crash_episode", "parent", 2),
        ("crash_episode", "parent", 3)] + [("crash_episode", "chain", n) for n in (1, 2, 3, 4)])
    assert all(r.passed and r.fired == 1 for r in report.results)


def test_events_are_fault_points_when_the_drive_raises_them():
    def drive(rt):
        iid = rt.start("approval")
        rt.run_until_idle()
        rt.raise_event(iid, "approve", "first")
        rt.run_until_idle()
        rt.raise_event(iid, "approve", "second")
        return rt.wait(iid)

    def check(result, rt):
        assert result.output == ["first", "second"]

    with pytest.raises(FaultCheckFailed) as caught:
        check_at_least_once(runtime, "approval", check=check, drive=drive,
                            kinds=("duplicate_event",))
    assert caught.value.fault == "faults.duplicate_event('approve', when=1)"
    assert caught.value.failed == ["faults.duplicate_event('approve', when=1)"]
    assert "the 1st delivery of event 'approve'" in str(caught.value)


def test_a_check_that_fails_without_faults_fails_as_itself():
    def never(result, rt):
        raise AssertionError("wrong from the start")

    with pytest.raises(AssertionError, match="wrong from the start") as caught:
        check_at_least_once(runtime, "chain", check=never)
    assert not isinstance(caught.value, FaultCheckFailed)


def test_a_run_that_breaks_under_a_fault_is_a_failure_too():
    def check(result, rt):
        assert result.output == 8

    def drive(rt):
        result = rt.run("chain")
        if any(not c.recorded for c in rt.activity_calls):
            raise RuntimeError("my harness cannot cope")
        return result

    report = check_at_least_once(runtime, "chain", check=check, drive=drive,
                                 kinds=("crash_after_activity",), raise_on_failure=False)
    assert [type(r.error) for r in report.failures] == [RuntimeError] * 3


def test_unknown_kinds_and_a_bad_factory_are_refused():
    with pytest.raises(ValueError, match="unknown fault kinds \\['crash'\\]"):
        check_at_least_once(runtime, "chain", check=lambda r, rt: None, kinds=("crash",))
    with pytest.raises(TypeError, match="make_runtime\\(\\) must return a fresh"):
        check_at_least_once(lambda: None, "chain", check=lambda r, rt: None)


# -- the property: idempotent activities give the same output under any single fault -----
KINDS = ("crash_after_activity", "duplicate_activity", "crash_episode")
BUILD = {"crash_after_activity": faults.crash_after_activity,
         "duplicate_activity": faults.duplicate_activity,
         "crash_episode": lambda name, when: faults.crash_episode("shaped", when=when)}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(shape=st.lists(st.integers(1, 4), min_size=1, max_size=4), data=st.data())
def test_any_single_fault_leaves_the_output_of_idempotent_activities_unchanged(shape, data):
    baseline_rt = runtime()
    baseline = baseline_rt.run("shaped", shape)
    executions = len(baseline_rt.activity_calls)
    episodes = baseline_rt.stats.episodes  # every episode of the one instance
    kind = data.draw(st.sampled_from(KINDS))
    limit = episodes if kind == "crash_episode" else executions
    when = data.draw(st.integers(1, limit))
    rt = runtime()
    fault = rt.inject(BUILD[kind]("double", when=when))
    result = rt.run("shaped", shape)
    assert fault.fired == 1
    assert result.output == baseline.output
    assert result.runtime_status == baseline.runtime_status
    recorded = sorted(c.task_id for c in rt.activity_calls if c.recorded)
    assert recorded == sorted(c.task_id for c in baseline_rt.activity_calls)
