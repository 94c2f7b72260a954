"""User code that never returns fails its test; the process (and a pytest session) moves on.

Every blocking case here would hang forever without the guard, so each test body runs
under :func:`bounded` (a daemon thread joined with a timeout: a regression fails the test
instead of hanging CI), and the pytest-session case runs in a subprocess with a timeout.
"""
from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
import threading
import time
from typing import Any, Callable, Dict, List

import azure.durable_functions as df
import pytest

from durable_testkit import InMemoryRuntime, RunawayFunction, RunawayOrchestrator
from durable_testkit._guard import Guard
from durable_testkit._host import entities as _entities

pytest_plugins = ["pytester"]

LIMIT = 0.5  # the guards' limit in these tests, seconds
BOUND = 20.0  # what a test may take at most before it counts as hung


def bounded(fn: Callable[[], Any], seconds: float = BOUND) -> Any:
    """Run ``fn`` on a daemon thread; fail (not hang) if it does not return in time."""
    box: Dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = fn()
        except BaseException as exc:  # handed back to the test
            box["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        pytest.fail(f"still running after {seconds} s: the guard did not stop it")
    if "error" in box:
        raise box["error"]
    return box.get("value")


def calls(context: df.DurableOrchestrationContext) -> Any:
    return (yield context.call_activity("work", 1))


def runtime(work: Callable[..., Any], **options: Any) -> InMemoryRuntime:
    rt = InMemoryRuntime(episode_timeout=LIMIT, function_timeout=LIMIT, **options)
    rt.register_orchestrator("calls", calls)
    rt.register_activity("work", work)
    return rt


# ---------------------------------------------------------------- orchestrators
def test_time_sleep_in_an_orchestrator_fails_with_runaway_orchestrator() -> None:
    def sleeps(context: df.DurableOrchestrationContext) -> Any:
        time.sleep(3600)
        yield context.call_activity("work", 1)

    rt = InMemoryRuntime(episode_timeout=LIMIT)
    rt.register_orchestrator("sleeps", sleeps)
    started = time.monotonic()
    with pytest.raises(RunawayOrchestrator) as info:
        bounded(lambda: rt.run("sleeps", instance_id="s-1"))
    assert time.monotonic() - started < 5
    text = str(info.value)
    assert text.startswith("Orchestration 'sleeps' (instance 's-1') exceeded the limit of 0.5 "
                           "seconds in one episode without yielding.")
    assert "it is blocked in a call that never returns" in text
    assert rt._core.guard.abandoned == 1


def test_a_busy_loop_stops_where_it_is_and_its_worker_lives_on() -> None:
    def spins(context: df.DurableOrchestrationContext) -> Any:
        while True:
            pass
        yield  # pragma: no cover

    rt = runtime(lambda x: x + 1)
    rt.register_orchestrator("spins", spins)
    with pytest.raises(RunawayOrchestrator) as info:
        bounded(lambda: rt.run("spins"))
    assert "blocked" not in str(info.value)  # interrupted, not abandoned
    assert rt._core.guard.abandoned == 0
    assert bounded(lambda: rt.run("calls")).output == 2


# ---------------------------------------------------------------- activities
def test_event_wait_in_an_activity_fails_with_runaway_function() -> None:
    rt = runtime(lambda x: threading.Event().wait())  # time.sleep is virtual; this is not
    with pytest.raises(RunawayFunction) as info:
        bounded(lambda: rt.run("calls", instance_id="a-1"))
    assert str(info.value).startswith(
        "The activity 'work' (for instance 'a-1') ran for more than 0.5 seconds of real time "
        "and was stopped.")
    assert "its thread was abandoned" in str(info.value)
    assert "Activities run in process, so one that never returns" in str(info.value)


def test_real_time_sleep_in_an_activity_is_stopped_without_virtual_time() -> None:
    rt = runtime(lambda x: time.sleep(3600), virtual_time_in_activities=False)
    with pytest.raises(RunawayFunction):
        bounded(lambda: rt.run("calls"))


def test_asyncio_sleep_in_an_async_activity_is_stopped() -> None:
    async def waits(x: int) -> int:
        await asyncio.sleep(3600)
        return x  # pragma: no cover

    rt = runtime(waits, virtual_time_in_activities=False)
    with pytest.raises(RunawayFunction):
        bounded(lambda: rt.run("calls"))

    async def quick(x: int) -> int:
        await asyncio.sleep(0)
        return x * 10

    # The abandoned call still holds the old event loop; the next one gets a new loop.
    rt.register_activity("work", quick)
    assert bounded(lambda: rt.run("calls")).output == 10


def test_the_runtime_keeps_working_after_an_abandoned_call() -> None:
    blocked = {"on": True}

    def work(x: int) -> int:
        if blocked["on"]:
            threading.Event().wait()
        return x + 41

    rt = runtime(work)
    with pytest.raises(RunawayFunction):
        bounded(lambda: rt.run("calls"))
    blocked["on"] = False
    assert bounded(lambda: rt.run("calls")).output == 42


# ---------------------------------------------------------------- entities
def test_a_blocked_entity_batch_is_stopped_and_its_operations_requeued() -> None:
    def stuck(context: df.DurableEntityContext) -> None:
        threading.Event().wait()

    rt = InMemoryRuntime(function_timeout=LIMIT)
    rt.register_entity("stuck", stuck)
    entity = df.EntityId("stuck", "k")
    rt.signal_entity(entity, "wait")
    with pytest.raises(RunawayFunction, match=r"The entity 'stuck' \(for instance '@stuck@k'\)"):
        bounded(rt.run_until_idle)
    status = _entities.entity_status(rt._core, entity)
    assert status is not None and status.pending_operations == 1


# ---------------------------------------------------------------- many runtimes
def test_runtimes_in_several_threads_are_guarded_each_on_its_own() -> None:
    errors: List[BaseException] = []
    outputs: List[Any] = []

    def blocked_run() -> None:
        try:
            runtime(lambda x: threading.Event().wait()).run("calls")
        except BaseException as exc:
            errors.append(exc)

    def healthy_run() -> None:
        outputs.append(runtime(lambda x: x + 1).run("calls").output)

    def all_of_them() -> None:
        threads = [threading.Thread(target=blocked_run) for _ in range(3)]
        threads += [threading.Thread(target=healthy_run) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    started = time.monotonic()
    bounded(all_of_them)
    assert [type(e) for e in errors] == [RunawayFunction] * 3
    assert outputs == [2, 2, 2]
    assert time.monotonic() - started < 10  # guarded at once, not one after the other


def test_nested_guarded_calls_keep_the_nearer_deadline() -> None:
    guard = Guard()

    def inner() -> str:
        return guard.run(lambda: threading.Event().wait(5) and "late",
                         LIMIT, lambda: RuntimeError("inner"))

    with pytest.raises(RuntimeError, match="inner"):
        bounded(lambda: guard.run(inner, 60, lambda: RuntimeError("outer")))


def test_no_limit_runs_on_the_callers_thread() -> None:
    guard = Guard()
    assert guard.run(threading.get_ident, None, lambda: RuntimeError()) == threading.get_ident()
    assert guard.run(threading.get_ident, 5, lambda: RuntimeError()) != threading.get_ident()


# ---------------------------------------------------------------- a pytest session
def test_a_hanging_test_fails_and_the_session_goes_on(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_hangs=textwrap.dedent('''
        import threading
        import time
        from durable_testkit import InMemoryRuntime

        def calls(context):
            return (yield context.call_activity("work", 1))

        def orchestrator_sleeps(context):
            time.sleep(3600)
            yield context.call_activity("work", 1)

        def test_activity_blocks():
            rt = InMemoryRuntime(function_timeout=0.5)
            rt.register_orchestrator("calls", calls)
            rt.register_activity("work", lambda x: threading.Event().wait())
            rt.run("calls")

        def test_orchestrator_sleeps():
            rt = InMemoryRuntime(episode_timeout=0.5)
            rt.register_orchestrator("o", orchestrator_sleeps)
            rt.run("o")

        def test_after_them():
            rt = InMemoryRuntime(function_timeout=0.5)
            rt.register_orchestrator("calls", calls)
            rt.register_activity("work", lambda x: x + 1)
            assert rt.run("calls").output == 2
    '''))
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", timeout=120)
    result.assert_outcomes(passed=1, failed=2)
    result.stdout.fnmatch_lines(["*RunawayFunction*", "*RunawayOrchestrator*"])


def test_blocking_calls_in_a_fresh_interpreter_end_it_in_time(tmp_path: Any) -> None:
    # The interpreter must also *exit* with abandoned threads still blocked.
    script = tmp_path / "hang.py"
    script.write_text(textwrap.dedent('''
        import threading, time
        from durable_testkit import InMemoryRuntime, RunawayFunction, RunawayOrchestrator

        def calls(context):
            return (yield context.call_activity("work", 1))

        def sleeps(context):
            time.sleep(3600)
            yield context.call_activity("work", 1)

        rt = InMemoryRuntime(episode_timeout=0.5, function_timeout=0.5)
        rt.register_orchestrator("calls", calls)
        rt.register_orchestrator("sleeps", sleeps)
        rt.register_activity("work", lambda x: threading.Event().wait())
        for name, error in (("calls", RunawayFunction), ("sleeps", RunawayOrchestrator)):
            try:
                rt.run(name)
            except error:
                print("stopped", name)
    '''))
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[:2] == ["stopped calls", "stopped sleeps"]


_TRACE_AFTERWARDS = (
    "import coverage\n"
    "cov = coverage.Coverage(data_file=None, config_file=False)\n"
    "cov.start()\n"
    "total = sum(len(str(i)) for i in range(100))\n"
    "cov.stop()\n"
    "print('traced', total)\n")


def _trace_after(tmp_path: Any, stop: str) -> str:
    """Run ``stop`` (a runaway the guard stops), then start coverage.py, in a bounded
    subprocess; its output. A tracer that spins would hit the timeout."""
    pytest.importorskip("coverage")
    script = tmp_path / "trace_after.py"
    script.write_text(stop + _TRACE_AFTERWARDS)
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_a_tracer_started_after_an_abandoned_call_does_not_spin(tmp_path: Any) -> None:
    # The interrupt sent to a worker blocked for good (Event().wait()) is never delivered,
    # and on CPython 3.11 its pending flag made every later tracer spin.
    out = _trace_after(tmp_path, (
        "import threading\n"
        "from durable_testkit import InMemoryRuntime, RunawayFunction\n"
        "def calls(ctx):\n"
        "    return (yield ctx.call_activity('work', 1))\n"
        "rt = InMemoryRuntime(function_timeout=0.2)\n"
        "rt.register_orchestrator('calls', calls)\n"
        "rt.register_activity('work', lambda x: threading.Event().wait())\n"
        "try:\n"
        "    rt.run('calls')\n"
        "except RunawayFunction:\n"
        "    print('abandoned')\n"))
    assert out.split("\n")[:2] == ["abandoned", "traced 190"]


def test_a_tracer_started_after_an_interrupt_does_not_spin(tmp_path: Any) -> None:
    # Clearing a pending interrupt with PyThreadState_SetAsyncExc(id, NULL) left CPython
    # 3.11's "async exception" flag set, and coverage.py (or hypothesis's tracer) started
    # afterwards spun forever at the next function entry.
    out = _trace_after(tmp_path, (
        "from durable_testkit import InMemoryRuntime, RunawayOrchestrator\n"
        "def spin(ctx):\n"
        "    while True:\n"
        "        pass\n"
        "    yield\n"
        "rt = InMemoryRuntime(episode_timeout=0.2)\n"
        "rt.register_orchestrator('spin', spin)\n"
        "try:\n"
        "    rt.run('spin')\n"
        "except RunawayOrchestrator:\n"
        "    pass\n"))
    assert out.strip() == "traced 190"
