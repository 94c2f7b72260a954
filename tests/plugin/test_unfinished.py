"""Instances a test leaves running: warned about by default, failed or ignored on request."""
from __future__ import annotations

from typing import Callable

import pytest

pytest_plugins = ["pytester"]

MakeIni = Callable[..., None]

LEAVES_ONE_WAITING = """
    def waits(context):
        return (yield context.wait_for_external_event("approval"))

    def test_x(durable_runtime):
        durable_runtime.register_orchestrator("waits", waits)
        durable_runtime.start("waits", instance_id="left-1")
        durable_runtime.run_until_idle()
"""


def test_a_test_leaving_an_instance_waiting_gets_a_warning(project: pytest.Pytester) -> None:
    project.makepyfile(test_left=LEAVES_ONE_WAITING)
    result = project.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, warnings=1)
    result.stdout.fnmatch_lines([
        "*DurableUnfinishedWarning: test_left.py::test_x left 1 orchestration instance(s) "
        "unfinished:",
        "*- 'waits' [[]left-1] Running, waiting for: external event 'approval'",
        "*durable_unfinished = ignore*",
    ])


def test_fail_makes_it_a_teardown_error(project: pytest.Pytester, make_ini: MakeIni) -> None:
    make_ini(project, durable_unfinished="fail")
    project.makepyfile(test_left=LEAVES_ONE_WAITING)
    result = project.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*ERROR at teardown of test_x*",
                                 "test_left.py::test_x left 1 orchestration instance(s) "
                                 "unfinished:"])


def test_ignore_says_nothing(project: pytest.Pytester, make_ini: MakeIni) -> None:
    make_ini(project, durable_unfinished="ignore")
    project.makepyfile(test_left=LEAVES_ONE_WAITING)
    result = project.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    assert "DurableUnfinishedWarning" not in result.stdout.str()


def test_finished_instances_and_failed_tests_say_nothing(project: pytest.Pytester) -> None:
    project.makepyfile(test_done="""
        def waits(context):
            return (yield context.wait_for_external_event("approval"))

        def test_finished(durable_runtime):
            durable_runtime.register_orchestrator("waits", waits)
            iid = durable_runtime.start("waits")
            durable_runtime.run_until_idle()
            durable_runtime.raise_event(iid, "approval", 1)
            assert durable_runtime.wait(iid).output == 1

        def test_failed(durable_runtime):
            durable_runtime.register_orchestrator("waits", waits)
            durable_runtime.start("waits")
            durable_runtime.run_until_idle()
            assert False, "the test's own failure"
    """)
    result = project.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=1)
    assert "DurableUnfinishedWarning" not in result.stdout.str()


def test_a_bad_value_is_a_usage_error(project: pytest.Pytester, make_ini: MakeIni) -> None:
    make_ini(project, durable_unfinished="loud")
    project.makepyfile(test_left=LEAVES_ONE_WAITING)
    result = project.runpytest("-p", "no:cacheprovider")
    result.stdout.fnmatch_lines(["*durable_unfinished = 'loud' is not one of warn, fail, ignore*"])
