"""Runaway loops and common mistakes are reported fast, naming the user's code."""
from __future__ import annotations

import json

import textwrap
import time
from pathlib import Path

import azure.durable_functions as df
import pytest

from durable_testkit import (InMemoryRuntime, RunawayOrchestrator, SpinningOrchestrator,
                             UnknownFunctionError)

pytest_plugins = ["pytester"]


def poll(context: df.DurableOrchestrationContext):
    while True:
        status = yield context.call_activity("get_status", "job-1")
        if status == "done":
            return status


def test_a_poll_without_a_timer_is_reported_within_seconds() -> None:
    rt = InMemoryRuntime()
    rt.register_orchestrator("poll", poll)
    rt.mock_activity("get_status", "running")
    wall = time.perf_counter()
    with pytest.raises(SpinningOrchestrator) as info:
        rt.run("poll")
    assert time.perf_counter() - wall < 30
    assert isinstance(info.value, RunawayOrchestrator)
    assert info.value.schedules == ("activity 'get_status'(\"job-1\")",)
    assert "ran 100 episodes in a row at one virtual instant" in str(info.value)
    assert "create_timer" in str(info.value) and "max_repeats" in str(info.value)


def test_the_same_poll_with_a_timer_or_a_changing_answer_is_fine() -> None:
    def polite(context: df.DurableOrchestrationContext):
        while True:
            status = yield context.call_activity("get_status", "job-1")
            if status == "done":
                return status
            yield context.create_timer(context.current_utc_datetime + df_minutes(1))

    answers = ["running"] * 150 + ["done"]
    rt = InMemoryRuntime(max_episodes=1000)
    rt.register_orchestrator("polite", polite)
    rt.mock_activity("get_status", side_effect=answers)
    assert rt.run("polite").output == "done"

    rt2 = InMemoryRuntime()
    rt2.register_orchestrator("poll", poll)
    rt2.mock_activity("get_status", side_effect=["running"] * 50 + ["done"])
    assert rt2.run("poll").output == "done"  # fewer repeats than the limit


def df_minutes(n: int):
    from datetime import timedelta

    return timedelta(minutes=n)


def test_continue_as_new_without_a_timer_and_the_limit_knob() -> None:
    def eternal(context: df.DurableOrchestrationContext):
        context.continue_as_new(context.get_input() + 1)
        yield from ()

    rt = InMemoryRuntime()
    rt.register_orchestrator("eternal", eternal)
    with pytest.raises(SpinningOrchestrator, match="nothing but continue_as_new"):
        rt.run("eternal", 0)

    rt2 = InMemoryRuntime(max_repeats=1000)
    rt2.register_orchestrator("poll", poll)
    rt2.mock_activity("get_status", side_effect=["running"] * 200 + ["done"])
    assert rt2.run("poll").output == "done"


def test_a_poll_carrying_a_counter_is_reported_within_seconds() -> None:
    def counting(context: df.DurableOrchestrationContext):
        attempt = 0
        while True:
            attempt += 1
            status = yield context.call_activity("check_status", {"attempt": attempt})
            if status == "done":
                return status

    rt = InMemoryRuntime()
    rt.register_orchestrator("counting", counting)
    rt.mock_activity("check_status", return_value="pending")
    wall = time.perf_counter()
    with pytest.raises(SpinningOrchestrator) as info:
        rt.run("counting")
    assert time.perf_counter() - wall < 30
    assert info.value.inputs_change and info.value.limit == 300
    assert "only their inputs changing, for the same answers: activity 'check_status'(" \
        in str(info.value)


def test_a_loop_over_items_getting_other_answers_is_not_a_poll() -> None:
    def each_item(context: df.DurableOrchestrationContext):
        total = 0
        for item in range(320):  # more than the spin bounds (300), at one instant
            total += yield context.call_activity("price", item)
        return total

    rt = InMemoryRuntime()
    rt.register_orchestrator("each_item", each_item)
    rt.mock_activity("price", side_effect=lambda item: item * 2)
    assert rt.run("each_item").output == 2 * sum(range(320))


def test_a_poll_that_continues_as_new_is_reported_as_a_cycle() -> None:
    def polling_execution(context: df.DurableOrchestrationContext):
        status = yield context.call_activity("check_status", None)
        if status != "done":
            context.continue_as_new(None)
            return None
        return status

    rt = InMemoryRuntime()
    rt.register_orchestrator("p", polling_execution)
    rt.mock_activity("check_status", return_value="pending")
    wall = time.perf_counter()
    with pytest.raises(SpinningOrchestrator) as info:
        rt.run("p")
    assert time.perf_counter() - wall < 30
    assert info.value.schedules == ("activity 'check_status'(null)",)
    assert "ran 200 episodes in a row" in str(info.value)  # 100 cycles of two episodes
    assert len(rt.activity_calls) == 100


def _app(tmp_path: Path, body: str) -> Path:
    tmp_path.mkdir(exist_ok=True)
    (tmp_path / "host.json").write_text('{"version": "2.0"}')
    (tmp_path / "function_app.py").write_text(textwrap.dedent(body))
    return tmp_path


APP = """
import azure.durable_functions as df
app = df.DFApp()

@app.orchestration_trigger(context_name="context")
def signup(context):
    return (yield context.call_activity("create_account", context.get_input()))

@app.activity_trigger(input_name="user")
def create_account(user):
    return {"id": 1, "user": user}
"""


def test_mocking_a_misspelt_activity_of_an_app_says_did_you_mean(tmp_path: Path) -> None:
    rt = InMemoryRuntime.from_app(_app(tmp_path / "a", APP))
    with pytest.raises(UnknownFunctionError) as info:
        rt.mock_activity("create_acount", {"id": 2})
    assert "Did you mean 'create_account'?" in str(info.value)
    assert "allow_new=True" in str(info.value)
    rt.mock_activity("create_account", {"id": 2})
    rt.mock_activity("audit", None, allow_new=True)  # explicitly new
    assert rt.run("signup", "ann").output == {"id": 2}


def test_an_async_orchestrator_fails_at_load_time(tmp_path: Path) -> None:
    app = _app(tmp_path / "b", """
        import azure.durable_functions as df
        app = df.DFApp()

        @app.orchestration_trigger(context_name="context")
        async def flow(context):
            return 1
        """)
    with pytest.raises(TypeError, match="orchestrator 'flow' is an async function; Durable "
                                        "Functions orchestrators in Python are generator"):
        InMemoryRuntime.from_app(app)


class Opaque:
    pass


def test_an_unserializable_input_names_the_activity_and_the_orchestrator() -> None:
    def sends(context: df.DurableOrchestrationContext):
        return (yield context.call_activity("store", Opaque()))

    rt = InMemoryRuntime()
    rt.register_orchestrator("sends", sends)
    rt.register_activity("store", lambda x: x)
    error = rt.run("sends").error or ""
    assert error.startswith("Orchestrator function 'sends' failed: class ")  # the SDK's words
    assert "the input of activity 'store', called by orchestrator 'sends' at " in error
    assert "test_mistakes.py" in error and 'call_activity("store", Opaque())' in error


def test_one_exception_instance_raised_on_every_retry_keeps_one_traceback() -> None:
    def retries(context: df.DurableOrchestrationContext):
        options = df.RetryOptions(first_retry_interval_in_milliseconds=1000,
                                  max_number_of_attempts=5)
        return (yield context.call_activity_with_retry("connect", options, None))

    rt = InMemoryRuntime()
    rt.register_orchestrator("retries", retries)
    rt.mock_activity("connect", side_effect=ConnectionError("refused"))
    result = rt.run("retries")
    failures = [e for e in result.history.to_wire() if e["EventType"] == 6]  # TaskFailed
    assert len(failures) == 5
    # The worker's stack, as the host keeps it (its RpcException's message repeats it).
    stacks = [json.loads(f["Details"])["InnerException"]["RemoteStackTrace"] for f in failures]
    assert all(stack.count("Traceback") == 1 for stack in stacks)
    assert len(failures[-1]["Details"]) < 2 * len(failures[0]["Details"])


def test_failures_in_pytest_point_at_the_users_code(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_stuck="""
        from durable_testkit import InMemoryRuntime

        def waits(context):
            return (yield context.wait_for_external_event("never"))

        def test_it():
            rt = InMemoryRuntime()
            rt.register_orchestrator("waits", waits)
            rt.run("waits")
        """)
    short = pytester.runpytest_inprocess("-p", "no:cacheprovider")
    short.assert_outcomes(failed=1)
    text = short.stdout.str()
    assert 'rt.run("waits")' in text and "OrchestrationStuck" in text
    assert "scheduler.py" not in text and "runtime.py" not in text
    full = pytester.runpytest_inprocess("-p", "no:cacheprovider", "--full-trace")
    assert "scheduler.py" in full.stdout.str()
