"""@pytest.mark.durable_faults injects faults into durable_runtime; unfired ones fail at teardown."""
from __future__ import annotations

from typing import Callable

import pytest

pytest_plugins = ["pytester"]

MakeIni = Callable[..., None]


def test_marker_faults_are_injected_and_fire(project: pytest.Pytester, make_ini: MakeIni) -> None:
    make_ini(project, durable_app="sample_app:app")
    project.makepyfile(test_f="""
        import pytest
        from durable_testkit import faults

        @pytest.mark.durable_faults(faults.crash_after_activity("greet"))
        def test_x(durable_runtime):
            result = durable_runtime.run("hello", "you")
            assert result.output == "Hello you!"
            calls = durable_runtime.activity_calls
            assert [(c.recorded, c.fault) for c in calls] == [
                (False, "crash_after_activity"), (True, None)]
            assert [f.fired for f in durable_runtime.faults] == [1]
    """)
    # The faults plugin module is imported by pytest first, so it keeps assertion rewriting.
    project.runpytest("-W", "error::pytest.PytestAssertRewriteWarning").assert_outcomes(passed=1)


def test_an_unfired_fault_fails_at_teardown_and_says_how_to_opt_out(
        project: pytest.Pytester, make_ini: MakeIni) -> None:
    make_ini(project, durable_app="sample_app:app")
    project.makepyfile(test_f="""
        import pytest
        from durable_testkit import faults

        @pytest.mark.durable_faults(faults.crash_after_activity("greet", when=5),
                                    faults.duplicate_activity("shout"))
        def test_x(durable_runtime):
            durable_runtime.run("hello")
    """)
    result = project.runpytest()
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines([
        "*ERROR at teardown of test_x*",
        "test_f.py::test_x: 2 injected faults were never fired: "
        "faults.crash_after_activity('greet', when=5), faults.duplicate_activity('shout').",
        "A fault that never fires means the test did not exercise what it meant to: the "
        "orchestration took another path, ran fewer times than 'when' expects, or the name is "
        "misspelt (names are matched without regard to case).",
        "If the fault is deliberately optional, opt out for this test, class or module with "
        "@pytest.mark.durable_app(assert_all_faults_fired=False).",
    ])


def test_faults_injected_in_the_test_body_are_checked_too(project: pytest.Pytester) -> None:
    project.makepyfile(test_f="""
        from durable_testkit import faults

        def test_x(durable_runtime):
            durable_runtime.register_activity("a", lambda x: x)
            durable_runtime.inject(faults.fail_activity("a", ValueError))
    """)
    result = project.runpytest()
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*1 injected fault was never fired: "
                                 "faults.fail_activity('a', ValueError).*"])


def test_opt_out_with_the_durable_app_marker(project: pytest.Pytester) -> None:
    project.makepyfile(test_f="""
        import pytest
        from durable_testkit import faults

        pytestmark = [pytest.mark.durable_app("sample_app:app", assert_all_faults_fired=False),
                      pytest.mark.durable_faults(faults.crash_episode("chain"))]

        def test_x(durable_runtime):
            durable_runtime.run("hello")
    """)
    project.runpytest().assert_outcomes(passed=1)


def test_a_module_marker_gives_each_test_a_fresh_fault(project: pytest.Pytester) -> None:
    project.makepyfile(test_f="""
        import pytest
        from durable_testkit import faults

        pytestmark = [pytest.mark.durable_app("sample_app:app"),
                      pytest.mark.durable_faults(faults.crash_after_activity("greet"))]

        @pytest.mark.parametrize("n", [1, 2, 3])
        def test_x(durable_runtime, n):
            durable_runtime.run("hello")
            assert [c.recorded for c in durable_runtime.activity_calls] == [False, True]
    """)
    project.runpytest().assert_outcomes(passed=3)


def test_class_and_test_markers_add_up(project: pytest.Pytester) -> None:
    project.makepyfile(test_f="""
        import pytest
        from durable_testkit import faults

        @pytest.mark.durable_app("sample_app:app")
        @pytest.mark.durable_faults(faults.crash_episode("chain", when=1))
        class TestChain:
            @pytest.mark.durable_faults(faults.duplicate_activity("greet", when=2))
            def test_x(self, durable_runtime):
                assert durable_runtime.run("chain", 3).output == 3
                assert sorted(f.kind for f in durable_runtime.faults) == [
                    "crash_episode", "duplicate_activity"]
                assert durable_runtime.unfired_faults == []
    """)
    project.runpytest().assert_outcomes(passed=1)


def test_a_failed_test_is_not_also_blamed_for_unfired_faults_and_its_report_lists_them(
        project: pytest.Pytester) -> None:
    project.makepyfile(test_f="""
        import pytest
        from durable_testkit import faults

        @pytest.mark.durable_app("sample_app:app")
        @pytest.mark.durable_faults(faults.crash_after_activity("greet"),
                                    faults.crash_after_activity("shout"))
        def test_x(durable_runtime):
            durable_runtime.run("hello")
            assert False, "the real problem"
    """)
    result = project.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        "*the real problem*",
        "*durable-testkit orchestrations*",
        "durable_runtime: 1 orchestration instance, virtual time now *",
        "  faults injected (2):",
        "    faults.crash_after_activity('greet'): fired 1 of 1",
        "    faults.crash_after_activity('shout'): fired 0 of 1 (never fired)",
    ])
    assert "never fired:" not in result.stdout.str()


def test_a_misspelt_name_with_an_app_says_did_you_mean(project: pytest.Pytester) -> None:
    project.makepyfile(test_f="""
        import pytest
        from durable_testkit import faults

        @pytest.mark.durable_app("sample_app:app")
        @pytest.mark.durable_faults(faults.crash_after_activity("gret"))
        def test_x(durable_runtime):
            pass
    """)
    result = project.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines([
        "*@pytest.mark.durable_faults(faults.crash_after_activity('gret')) on "
        "test_f.py::test_x: No activity function named 'gret' is registered. Did you mean "
        "'greet'?*"])


def test_marker_arguments_must_be_faults(project: pytest.Pytester) -> None:
    project.makepyfile(test_f="""
        import pytest

        @pytest.mark.durable_faults("crash_after_activity")
        def test_x(durable_runtime):
            pass
    """)
    result = project.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines([
        "*@pytest.mark.durable_faults('crash_after_activity') on test_f.py::test_x: it takes "
        "one or more faults built by durable_testkit.faults*"])


def test_assert_all_faults_fired_must_be_a_bool(project: pytest.Pytester) -> None:
    project.makepyfile(test_f="""
        import pytest

        @pytest.mark.durable_app(assert_all_faults_fired="no")
        def test_x(durable_runtime):
            pass
    """)
    result = project.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*assert_all_faults_fired must be True or False, not 'no'*"])
