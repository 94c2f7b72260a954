"""Runaway growth fails fast with a message: depth, instances, history, actions, episodes.

Each case used to grow without bound (a recursion made 77,000 instances and 450 MB in
30 s) or to report the wrong thing. Limits are small here so every test is quick; each
body runs under ``bounded`` so a regression fails instead of eating the CI machine.
"""
from __future__ import annotations

from datetime import timedelta
from typing import Any

import azure.durable_functions as df
import pytest

from durable_testkit import InMemoryRuntime, OrchestrationRuntimeStatus, RunawayOrchestrator
from durable_testkit.errors import HostLimitExceeded, LongRunningOrchestrator

from test_guards import bounded

Status = OrchestrationRuntimeStatus


def recurse(context: df.DurableOrchestrationContext) -> Any:
    depth = context.get_input() or 0
    return (yield context.call_sub_orchestrator("recurse", depth + 1))


def test_endless_sub_orchestration_recursion_stops_at_max_depth() -> None:
    rt = InMemoryRuntime(max_depth=10)
    rt.register_orchestrator("recurse", recurse)
    with pytest.raises(HostLimitExceeded) as info:
        bounded(lambda: rt.run("recurse", 0))
    text = str(info.value)
    assert "the depth of nested sub-orchestrations reached 11, past the limit of 10" in text
    assert "InMemoryRuntime(max_depth=...)" in text
    assert len(rt.instance_ids) == 10
    deepest = rt.status(rt.instance_ids[-1])
    assert deepest.runtime_status == Status.Failed
    assert "past the limit of 10" in (deepest.error or "")


def test_the_default_depth_limit_stops_a_recursion_quickly() -> None:
    rt = InMemoryRuntime()
    rt.register_orchestrator("recurse", recurse)
    with pytest.raises(HostLimitExceeded, match="past the limit of 100"):
        bounded(lambda: rt.run("recurse", 0), seconds=60)
    assert len(rt.instance_ids) == 100


def test_a_fan_out_of_sub_orchestrations_past_max_instances_is_refused() -> None:
    def child(context: df.DurableOrchestrationContext) -> int:
        return 1
        yield  # pragma: no cover

    def fans(context: df.DurableOrchestrationContext) -> Any:
        return sum((yield context.task_all(
            [context.call_sub_orchestrator("child", i) for i in range(50)])))

    rt = InMemoryRuntime(max_instances=20)
    rt.register_orchestrator("child", child)
    rt.register_orchestrator("fans", fans)
    with pytest.raises(HostLimitExceeded, match=r"the instances of this runtime reached 51, "
                                                r"past the limit of 20"):
        bounded(lambda: rt.run("fans", instance_id="f-1"))
    assert rt.instance_ids == ["f-1"]  # no child started


def test_starting_past_max_instances_is_refused() -> None:
    def quick(context: df.DurableOrchestrationContext) -> int:
        return 1
        yield  # pragma: no cover

    rt = InMemoryRuntime(max_instances=3)
    rt.register_orchestrator("quick", quick)
    for _ in range(3):
        rt.run("quick")
    with pytest.raises(HostLimitExceeded, match=r"Starting orchestrator 'quick': the instances "
                                                r"of this runtime reached 4.*rt\.purge"):
        rt.start("quick")
    rt.purge(rt.instance_ids[0])
    assert rt.run("quick").output == 1


def test_a_history_past_max_history_events_fails_the_instance() -> None:
    def chain(context: df.DurableOrchestrationContext) -> Any:
        for i in range(100):
            yield context.call_activity("echo", i)

    rt = InMemoryRuntime(max_history_events=40)
    rt.register_orchestrator("chain", chain)
    rt.register_activity("echo", lambda x: x)
    iid = rt.start("chain", instance_id="h-1")
    with pytest.raises(HostLimitExceeded, match=r"the history of one execution reached 4[0-9], "
                                                r"past the limit of 40.*continue_as_new"):
        bounded(lambda: rt.wait(iid))
    assert rt.status(iid).runtime_status == Status.Failed


def test_too_many_actions_fail_before_the_replay_and_run_nothing() -> None:
    def wide(context: df.DurableOrchestrationContext) -> Any:
        return (yield context.task_all([context.call_activity("echo", i) for i in range(2000)]))

    ran = []
    rt = InMemoryRuntime(max_actions=100)
    rt.register_orchestrator("wide", wide)
    rt.register_activity("echo", ran.append)
    result = bounded(lambda: rt.run("wide"))
    assert result.runtime_status == Status.Failed
    assert "produced 2000 actions, more than the maximum of 100 (InMemoryRuntime(max_actions" \
        in (result.error or "")
    assert ran == []


def test_many_timer_episodes_are_a_long_loop_not_an_endless_one() -> None:
    def monitor(context: df.DurableOrchestrationContext) -> Any:
        while True:
            yield context.create_timer(context.current_utc_datetime + timedelta(minutes=5))

    rt = InMemoryRuntime(max_episodes=50)
    rt.register_orchestrator("monitor", monitor)
    with pytest.raises(LongRunningOrchestrator) as info:
        bounded(lambda: rt.run("monitor", instance_id="m-1"))
    assert isinstance(info.value, RunawayOrchestrator)  # still caught as before
    text = str(info.value)
    assert text.startswith("Orchestration 'monitor' (instance 'm-1') ran 50 episodes in one "
                           "execution over 4:10:00 of virtual time.")
    assert "not an endless loop at one instant" in text and "continue_as_new" in text


def test_many_episodes_at_one_instant_are_still_an_endless_loop() -> None:
    def busy(context: df.DurableOrchestrationContext) -> Any:
        i = 0
        while True:
            i = yield context.call_activity("echo", i + 1)  # a new input every time

    rt = InMemoryRuntime(max_episodes=50)
    rt.register_orchestrator("busy", busy)
    rt.register_activity("echo", lambda x: x)
    with pytest.raises(RunawayOrchestrator) as info:
        bounded(lambda: rt.run("busy"))
    assert not isinstance(info.value, LongRunningOrchestrator)
    assert "limit of 50 episodes in one execution" in str(info.value)


def test_an_orchestrator_failing_in_replay_reports_its_exception_first() -> None:
    episodes = {"n": 0}

    def fails_on_replay(context: df.DurableOrchestrationContext) -> Any:
        episodes["n"] += 1
        if episodes["n"] > 1:
            raise ValueError("cannot read the input: the real error")
        return (yield context.call_activity("echo", 1))

    rt = InMemoryRuntime()
    rt.register_orchestrator("fails_on_replay", fails_on_replay)
    rt.register_activity("echo", lambda x: x)
    result = bounded(lambda: rt.run("fails_on_replay"))
    error = result.error or ""
    assert error.startswith("Orchestrator function 'fails_on_replay' failed: cannot read the "
                            "input: the real error (durable-testkit: the replay also diverged")
    assert "Non-Deterministic" not in error.split("(")[0]
    assert result.divergence is None
