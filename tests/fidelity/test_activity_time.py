"""Activities take virtual time: completions arrive at start + duration (docs/runtime.md)."""
from __future__ import annotations

import asyncio
import datetime as dt
import time
from datetime import datetime, timedelta, timezone

import azure.durable_functions as df

from durable_testkit import InMemoryRuntime

START = datetime(2024, 1, 1, tzinfo=timezone.utc)


def race(context: df.DurableOrchestrationContext):
    timer = context.create_timer(context.current_utc_datetime + timedelta(seconds=2))
    work = context.call_activity("slow", None)
    winner = yield context.task_any([work, timer])
    if winner == timer:
        return "timer"
    timer.cancel()
    return "activity"


def sleeps_five_seconds(_: object) -> str:
    time.sleep(5)
    return "done"


def test_a_five_second_activity_loses_to_a_two_second_timer_in_milliseconds() -> None:
    # The extension's timeout sample: in Azure the timer wins; here it did not, before.
    rt = InMemoryRuntime()
    rt.register_orchestrator("race", race)
    rt.register_activity("slow", sleeps_five_seconds)
    wall = time.perf_counter()
    result = rt.run("race")
    assert time.perf_counter() - wall < 2.0  # no real sleep happened
    assert result.output == "timer"
    assert rt.now == START + timedelta(seconds=2)
    assert rt.activity_calls[0].result == "done"  # it ran (side effects happened)


def test_a_fast_activity_still_beats_the_timer() -> None:
    rt = InMemoryRuntime()
    rt.register_orchestrator("race", race)
    rt.mock_activity("slow", "ok", duration=timedelta(seconds=1))
    assert rt.run("race").output == "activity"


def test_duration_from_registration_and_from_the_input() -> None:
    rt = InMemoryRuntime()
    rt.register_orchestrator("race", race)
    rt.register_activity("slow", lambda _: "x", duration=timedelta(seconds=3))
    assert rt.run("race").output == "timer"

    def fan(context: df.DurableOrchestrationContext):
        return (yield context.task_all([context.call_activity("work", s) for s in (3, 1, 2)]))

    rt2 = InMemoryRuntime()
    rt2.register_orchestrator("fan", fan)
    rt2.register_activity("work", lambda s: s, duration=lambda s: timedelta(seconds=s))
    result = rt2.run("fan")
    # One fan-out runs concurrently (several workers): it takes the longest, not the sum.
    assert result.output == [3, 1, 2]
    assert rt2.now == START + timedelta(seconds=3)
    done = [e for e in result.history.to_wire() if e["EventType"] == 5]  # TaskCompleted
    assert [e["Timestamp"][:19] for e in done] == [
        "2024-01-01T00:00:01", "2024-01-01T00:00:02", "2024-01-01T00:00:03"]


def test_zero_duration_keeps_todays_timestamps() -> None:
    def one(context: df.DurableOrchestrationContext):
        return (yield context.call_activity("work", 1))

    rt = InMemoryRuntime()
    rt.register_orchestrator("one", one)
    rt.register_activity("work", lambda x: x)
    events = rt.run("one").history.to_wire()
    scheduled = next(e for e in events if e["EventType"] == 4)
    completed = next(e for e in events if e["EventType"] == 5)
    assert scheduled["Timestamp"] == completed["Timestamp"]


def stamps(_: object) -> dict:
    due = datetime.now(timezone.utc) + timedelta(days=3)
    return {"due": due.isoformat(), "utcnow": datetime.utcnow().isoformat(),
            "module": dt.datetime.now(timezone.utc).isoformat(), "time": time.time(),
            "today": dt.date.today().isoformat()}


def test_the_clock_inside_an_activity_is_the_orchestrations() -> None:
    def orch(context: df.DurableOrchestrationContext):
        yield context.create_timer(context.current_utc_datetime + timedelta(hours=5))
        return (yield context.call_activity("stamps", None))

    rt = InMemoryRuntime()
    rt.register_orchestrator("orch", orch)
    rt.register_activity("stamps", stamps)
    out = rt.run("orch").output
    at = START + timedelta(hours=5)
    assert out["due"] == (at + timedelta(days=3)).isoformat()
    assert out["utcnow"] == at.replace(tzinfo=None).isoformat()
    assert out["module"] == at.isoformat()
    assert out["time"] == at.timestamp()
    # Outside the activity, the real clock again.
    assert datetime.now(timezone.utc).year > 2024 and dt.datetime is not None
    assert time.time() > at.timestamp() + 86400


def struct_times(_: object) -> dict:
    return {"gmtime": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()),
            "strftime": time.strftime("%Y"), "localtime": time.mktime(time.localtime()),
            "ctime": time.ctime(), "asctime": time.asctime(),
            "given": time.strftime("%Y", time.gmtime(0))}  # an explicit time stays as given


def test_struct_time_readers_inside_an_activity_read_the_virtual_clock() -> None:
    def orch(context: df.DurableOrchestrationContext):
        yield context.create_timer(context.current_utc_datetime + timedelta(hours=5))
        return (yield context.call_activity("struct_times", None))

    rt = InMemoryRuntime()
    rt.register_orchestrator("orch", orch)
    rt.register_activity("struct_times", struct_times)
    out = rt.run("orch").output
    at = START + timedelta(hours=5)
    local = at.astimezone()
    assert out["gmtime"] == at.strftime("%Y-%m-%dT%H:%M:%S")
    assert out["strftime"] == local.strftime("%Y") and out["given"] == "1970"
    assert out["localtime"] == at.timestamp()
    assert out["ctime"] == out["asctime"] == local.strftime("%a %b %d %H:%M:%S %Y").replace(
        f" {local.day:02d} ", f" {local.day:2d} ")
    assert time.strftime("%Y") != "2024"  # outside the activity: the real clock


def test_sleeps_add_up_and_async_sleeps_too() -> None:
    async def naps(_: object) -> str:
        await asyncio.sleep(1.5)
        time.sleep(0.5)
        return datetime.now(timezone.utc).isoformat()

    def orch(context: df.DurableOrchestrationContext):
        return (yield context.call_activity("naps", None))

    rt = InMemoryRuntime()
    rt.register_orchestrator("orch", orch)
    rt.register_activity("naps", naps)
    wall = time.perf_counter()
    assert rt.run("orch").output == (START + timedelta(seconds=2)).isoformat()
    assert rt.now == START + timedelta(seconds=2)
    assert time.perf_counter() - wall < 1.5


def test_virtual_time_can_be_turned_off() -> None:
    def orch(context: df.DurableOrchestrationContext):
        return (yield context.call_activity("year", None))

    rt = InMemoryRuntime(virtual_time_in_activities=False)
    rt.register_orchestrator("orch", orch)
    rt.register_activity("year", lambda _: datetime.now(timezone.utc).year)
    assert rt.run("orch").output > 2024


def test_entity_operations_see_the_virtual_clock_and_do_not_sleep() -> None:
    def stamp(context: df.DurableEntityContext) -> None:
        time.sleep(30)
        context.set_state(datetime.now(timezone.utc).isoformat())

    rt = InMemoryRuntime()
    rt.register_entity("stamp", stamp)
    rt.advance(timedelta(minutes=7))
    rt.signal_entity(df.EntityId("stamp", "k"), "set")
    wall = time.perf_counter()
    rt.run_until_idle()
    assert time.perf_counter() - wall < 5
    # The operation slept 30 s of its own virtual time, and read the clock after it.
    assert rt.entity_state(df.EntityId("stamp", "k")) == (
        START + timedelta(minutes=7, seconds=30)).isoformat()


def test_a_failing_slow_activity_fails_after_its_duration_and_retries_on_time() -> None:
    calls = []

    def flaky(_: object) -> str:
        calls.append(datetime.now(timezone.utc))
        time.sleep(10)
        if len(calls) < 2:
            raise ConnectionError("down")
        return "up"

    def orch(context: df.DurableOrchestrationContext):
        retry = df.RetryOptions(first_retry_interval_in_milliseconds=5000, max_number_of_attempts=3)
        return (yield context.call_activity_with_retry("flaky", retry, None))

    rt = InMemoryRuntime()
    rt.register_orchestrator("orch", orch)
    rt.register_activity("flaky", flaky)
    assert rt.run("orch").output == "up"
    # First attempt at 0 s fails at 10 s; the retry timer waits 5 s: second attempt at 15 s.
    assert calls == [START, START + timedelta(seconds=15)]
    assert rt.now == START + timedelta(seconds=25)
