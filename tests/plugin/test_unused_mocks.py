"""A mocked activity nothing called fails the test at teardown, unless the test opts out."""
from __future__ import annotations

from typing import Callable

import pytest

pytest_plugins = ["pytester"]

MakeIni = Callable[..., None]


def test_unused_mock_fails_at_teardown_and_says_how_to_opt_out(project: pytest.Pytester, make_ini: MakeIni) -> None:
    make_ini(project, durable_app="sample_app:app")
    project.makepyfile(test_mocks="""
        def test_x(durable_runtime):
            durable_runtime.mock_activity("greet", return_value="hi")
            # Names the app does not have: mocking them needs allow_new=True.
            durable_runtime.mock_activity("shout", return_value="HI", allow_new=True)
            durable_runtime.mock_activity("whisper", return_value="hi", allow_new=True)
            durable_runtime.run("hello")
    """)
    result = project.runpytest()
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines([
        "*ERROR at teardown of test_x*",
        "test_mocks.py::test_x: 2 mocked activities were never called: 'shout', 'whisper'.",
        "A mock nothing calls usually means the orchestration took another path than the test "
        "expects, or the name is misspelt (activity names are matched without regard to case).",
        "If the mock is deliberately optional, opt out for this test, class or module with "
        "@pytest.mark.durable_app(assert_all_mocks_used=False).",
    ])


def test_opt_out_with_the_marker(project: pytest.Pytester) -> None:
    project.makepyfile("""
        import pytest

        pytestmark = pytest.mark.durable_app(assert_all_mocks_used=False)

        def test_x(durable_runtime):
            durable_runtime.mock_activity("greet", return_value="hi")
    """)
    project.runpytest().assert_outcomes(passed=1)


def test_a_failed_test_is_not_also_blamed_for_unused_mocks(project: pytest.Pytester) -> None:
    project.makepyfile("""
        def test_x(durable_runtime):
            durable_runtime.mock_activity("greet", return_value="hi")
            assert False, "the real problem"
    """)
    result = project.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.no_fnmatch_line("*never called*")


def test_a_skipped_xfailed_or_set_up_failed_test_is_not_blamed_at_teardown(
        project: pytest.Pytester, make_ini: MakeIni) -> None:
    make_ini(project, durable_app="sample_app:app")
    project.makepyfile(test_outcomes="""
        import pytest

        def test_skipped(durable_runtime):
            durable_runtime.mock_activity("greet", return_value="hi")
            pytest.skip("not today")

        @pytest.mark.xfail(reason="known")
        def test_xfailed(durable_runtime):
            durable_runtime.mock_activity("greet", return_value="hi")
            assert False

        @pytest.fixture
        def broken(durable_runtime):
            durable_runtime.mock_activity("greet", return_value="hi")
            raise RuntimeError("set-up failed")

        def test_set_up_failed(broken):
            pass
    """)
    result = project.runpytest()
    result.assert_outcomes(skipped=1, xfailed=1, errors=1)  # the set-up error alone
    assert "never called" not in result.stdout.str()


def test_every_unmet_expectation_is_reported_at_once(project: pytest.Pytester,
                                                     make_ini: MakeIni) -> None:
    make_ini(project, durable_app="sample_app:app")
    project.makepyfile(test_both="""
        from durable_testkit import faults

        def test_x(durable_runtime):
            durable_runtime.mock_activity("greet", return_value="hi")
            durable_runtime.inject(faults.crash_after_activity("greet"))
    """)
    result = project.runpytest()
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*1 mocked activity was never called: 'greet'.*",
                                 "*never fired*"])
