"""The "durable-testkit orchestrations" section of a failed test's report, line by line."""
from __future__ import annotations

import re
from typing import Callable, List

import pytest

pytest_plugins = ["pytester"]

MakeIni = Callable[..., None]

IID = "e3e70682c2094caca29f6fbed82c07cd"  # the first id of a runtime seeded with 0


def test_non_determinism_is_marked_in_the_timeline(project: pytest.Pytester, make_ini: MakeIni) -> None:
    make_ini(project, durable_app="sample_app:app")
    project.makepyfile("""
        def test_nd(durable_runtime):
            assert durable_runtime.run("flaky").runtime_status.value == "Completed"
    """)
    result = project.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        "*- durable-testkit orchestrations -*",
        "durable_runtime: 1 orchestration instance, virtual time now 2024-01-01T00:00:00Z",
        "",
        f"instance '{IID}' of orchestrator 'flaky': Failed",
        "  error: Non-Deterministic workflow detected: A previous execution of this "
        "orchestration scheduled an activity task with sequence number 0 named 'greet', *",
        "  non-determinism at history event 2:",
        "    expected (history): activity 'greet' #0",
        "    actual (code):      activity 'shout' #0",
        "  history of the current execution (8 events, '>' marks where replay diverged):",
        "        0  OrchestratorStarted at 2024-01-01T00:00:00Z",
        f'        1  ExecutionStarted   "flaky" instance="{IID}" input=null',
        '    >   2  TaskScheduled      #0 "greet" input="a"',
        "        3  OrchestratorCompleted",
        "        4  OrchestratorStarted at 2024-01-01T00:00:00Z",
        '        5  TaskCompleted      #0 result="Hello a!"',
        "        6  ExecutionCompleted status=Failed result=Non-Deterministic workflow detected: "
        "A previous execution... failure_details={...}",
        "        7  OrchestratorCompleted",
    ], consecutive=True)


def test_failed_activity_marks_the_failed_task(project: pytest.Pytester, make_ini: MakeIni) -> None:
    make_ini(project, durable_app="sample_app:app")
    project.makepyfile("""
        def test_fail(durable_runtime):
            durable_runtime.mock_activity("greet", side_effect=RuntimeError("boom"))
            assert durable_runtime.run("hello", "Ann").output == "Hello Ann!"
    """)
    result = project.runpytest()
    result.stdout.fnmatch_lines([
        f"instance '{IID}' of orchestrator 'hello': Failed",
        "  error: Orchestrator function 'hello' failed: Activity function 'greet' failed:  "
        "RuntimeError: boom (+* more characters)",
        "  history of the current execution (8 events, '>' marks the last failed task):",
        "*",
        "*",
        "*",
        "*",
        "*",
        """    >   5  TaskFailed         #0 reason="Activity function 'greet' failed:  Runtime*""",
    ], consecutive=True)


def test_running_instance_shows_output_and_custom_status_lines(project: pytest.Pytester, make_ini: MakeIni) -> None:
    make_ini(project, durable_app="sample_app:app")
    project.makepyfile("""
        def test_two(durable_runtime):
            durable_runtime.run("hello", "Bo")
            durable_runtime.start("hello", "Cy", instance_id="pending-one")
            assert False
    """)
    result = project.runpytest()
    result.stdout.fnmatch_lines([
        "durable_runtime: 2 orchestration instances, virtual time now 2024-01-01T00:00:00Z",
        "",
        f"instance '{IID}' of orchestrator 'hello': Completed",
        '  output: "Hello Bo!"',
        "  history of the current execution (8 events):",
    ])
    result.stdout.fnmatch_lines([
        "instance 'pending-one' of orchestrator 'hello': Pending",
        "  history of the current execution (0 events):",
        "      (no events)",
    ], consecutive=True)


def test_long_history_shows_its_tail(project: pytest.Pytester, make_ini: MakeIni) -> None:
    make_ini(project, durable_app="sample_app:app")
    project.makepyfile("""
        def test_long(durable_runtime):
            assert durable_runtime.run("chain", 30).output == 0
    """)
    result = project.runpytest()
    result.stdout.fnmatch_lines([
        "  history of the current execution (124 events):",
        "         ... 104 earlier events",
        "      104  OrchestratorStarted at 2024-01-01T00:00:00Z",
    ], consecutive=True)
    result.stdout.no_fnmatch_line("*  103  *")


def test_passing_tests_and_tests_without_orchestrations_get_no_section(
        project: pytest.Pytester) -> None:
    project.makepyfile("""
        def test_pass(durable_runtime):
            pass

        def test_fail_without_runtime():
            assert False
    """)
    result = project.runpytest()
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.no_fnmatch_line("*durable-testkit orchestrations*")


def test_scenario_section(project: pytest.Pytester, make_ini: MakeIni) -> None:
    make_ini(project, durable_app="sample_app:app")
    project.makepyfile("""
        def test_sc(orchestration_scenario):
            sc = orchestration_scenario("hello", "Di")
            sc.start()
            assert sc.is_done
    """)
    result = project.runpytest()
    result.stdout.fnmatch_lines([
        "*- durable-testkit orchestrations -*",
        "orchestration_scenario #1: virtual time now 2024-01-01T00:00:00Z",
        "",
        "instance 'scenario-instance' of orchestrator 'hello': Running",
        "  history of the current execution (4 events):",
        "        0  OrchestratorStarted at 2024-01-01T00:00:00Z",
    ], consecutive=True)


def test_a_scenario_that_diverged_is_marked_in_its_section(project: pytest.Pytester,
                                                           make_ini: MakeIni) -> None:
    make_ini(project, durable_app="sample_app:app")
    project.makepyfile("""
        def test_sc(orchestration_scenario):
            sc = orchestration_scenario("flaky")
            sc.start()
            sc.complete("greet", "hi")  # the replay schedules 'shout' where 'greet' was
    """)
    result = project.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        "instance 'scenario-instance' of orchestrator 'flaky': Failed",
        "*",
        "  non-determinism at history event 2:",
        "    expected (history): activity 'greet' #0",
        "    actual (code):      activity 'shout' #0",
        "*'>' marks where replay diverged*",
    ])


def test_show_capture_no_hides_the_section(project: pytest.Pytester) -> None:
    project.makepyfile("def test_x(durable_runtime):\n    assert False\n")
    result = project.runpytest("--show-capture=no")
    result.stdout.no_fnmatch_line("*durable-testkit orchestrations*")


def _frames(text: str, package: str) -> List[str]:
    """Traceback locations (``.../package/module.py:123``) inside one of our packages."""
    return re.findall(rf"\S*\b{package}/[\w/]+\.py:\d+", text.replace("\\", "/"))


@pytest.mark.parametrize("body", [
    # A stuck orchestration, raised from rt.wait through the guard.
    """
    def orch(context):
        yield context.wait_for_external_event("never")

    def test_user(durable_runtime):
        durable_runtime.register_orchestrator("o", orch)
        durable_runtime.wait(durable_runtime.start("o"))
    """,
    # A poll that never lets time move, raised from the fixture's runtime.
    """
    def orch(context):
        while True:
            yield context.call_activity("check", None)

    def test_user(durable_runtime):
        durable_runtime.register_orchestrator("o", orch)
        durable_runtime.mock_activity("check", return_value=1)
        durable_runtime.run("o")
    """,
])
def test_failures_show_the_users_frames_not_the_runtimes(pytester: pytest.Pytester,
                                                        body: str) -> None:
    pytester.makepyfile(test_user=body)
    short = pytester.runpytest("-p", "no:cacheprovider")
    short.assert_outcomes(failed=1)
    text = short.stdout.str()
    assert "test_user.py:" in text
    assert _frames(text, "durable_testkit") == [] and _frames(text, "pytest_plugin") == []
    full = pytester.runpytest("-p", "no:cacheprovider", "--full-trace").stdout.str()
    assert _frames(full, "durable_testkit"), full  # --full-trace still shows them
