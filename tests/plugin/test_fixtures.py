"""durable_runtime, durable_client and orchestration_scenario, seen from a test suite."""
from __future__ import annotations

from typing import Callable

import pytest

pytest_plugins = ["pytester"]

MakeIni = Callable[..., None]


def test_runtime_loads_the_ini_app_fresh_for_each_test(project: pytest.Pytester, make_ini: MakeIni) -> None:
    make_ini(project, durable_app="sample_app:app")
    project.makepyfile("""
        from durable_testkit import InMemoryRuntime

        def test_first(durable_runtime):
            assert isinstance(durable_runtime, InMemoryRuntime)
            assert durable_runtime.run("hello", "Ann").output == "Hello Ann!"

        def test_second_sees_nothing_of_the_first(durable_runtime):
            assert durable_runtime.instance_ids == []
            assert durable_runtime.activity_calls == []
    """)
    project.runpytest("--strict-markers", "--strict-config").assert_outcomes(passed=2)


def test_runtime_without_an_app_is_empty(project: pytest.Pytester) -> None:
    project.makepyfile("""
        def test_empty(durable_runtime):
            assert durable_runtime.app is None
            durable_runtime.register_activity("double", lambda x: 2 * x)
            def orch(context):
                return (yield context.call_activity("double", 21))
            durable_runtime.register_orchestrator("orch", orch)
            assert durable_runtime.run("orch").output == 42
    """)
    project.runpytest().assert_outcomes(passed=1)


def test_runtime_is_closed_at_teardown(project: pytest.Pytester) -> None:
    project.makeconftest("""
        import pytest
        from durable_testkit import InMemoryRuntime

        CLOSED = []

        @pytest.fixture(autouse=True)
        def spy_on_close(monkeypatch):
            original = InMemoryRuntime.close
            monkeypatch.setattr(InMemoryRuntime, "close",
                                lambda self: (CLOSED.append(self), original(self)))
    """)
    project.makepyfile("""
        import conftest

        def test_uses(durable_runtime):
            pytest_rt = durable_runtime
            conftest.SEEN = pytest_rt

        def test_after():
            assert conftest.CLOSED == [conftest.SEEN]
    """)
    project.runpytest("-p", "no:randomly").assert_outcomes(passed=2)


def test_unloadable_app_is_a_setup_error_naming_its_source(project: pytest.Pytester, make_ini: MakeIni) -> None:
    make_ini(project, durable_app="no_such_module:app")
    project.makepyfile("def test_x(durable_runtime): pass")
    result = project.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines([
        "*durable-testkit could not load the function app 'no_such_module:app' "
        "(set by the durable_app ini option):",
    ])


def test_durable_client_is_the_runtime_client(project: pytest.Pytester, make_ini: MakeIni) -> None:
    make_ini(project, durable_app="sample_app:app")
    project.makepyfile("""
        def test_client(durable_runtime, durable_client):
            assert durable_client is durable_runtime.client
    """)
    result = project.runpytest()
    result.assert_outcomes(passed=1)


def test_scenario_factory_by_function_and_by_name(project: pytest.Pytester, make_ini: MakeIni) -> None:
    make_ini(project, durable_app="sample_app:app", durable_start_time="2030-05-01T08:00:00Z")
    project.makepyfile("""
        import sample_app

        def test_by_name(orchestration_scenario):
            sc = orchestration_scenario("hello", "Bo")
            [greet] = sc.start()
            assert (greet.name, greet.input) == ("greet", "Bo")
            sc.complete("greet", "hi Bo")
            assert sc.output == "hi Bo"
            assert sc.now.isoformat() == "2030-05-01T08:00:00+00:00"

        def test_by_function(orchestration_scenario):
            sc = orchestration_scenario(sample_app.hello, instance_id="i-1",
                                        start_time="2031-01-01T00:00:00+00:00")
            assert [t.input for t in sc.start()] == ["World"]
            assert sc.now.year == 2031
    """)
    project.runpytest().assert_outcomes(passed=2)


def test_scenario_by_name_needs_an_app(project: pytest.Pytester) -> None:
    project.makepyfile("""
        def test_x(orchestration_scenario):
            orchestration_scenario("hello")
    """)
    result = project.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        "*orchestration_scenario('hello'): an orchestrator given by name is looked up in the "
        "test's function app, and none is set.*"])


def test_scenario_unknown_name_lists_the_app_orchestrators(project: pytest.Pytester, make_ini: MakeIni) -> None:
    make_ini(project, durable_app="sample_app:app")
    project.makepyfile("""
        def test_x(orchestration_scenario):
            orchestration_scenario("helo")
    """)
    result = project.runpytest()
    result.stdout.fnmatch_lines(["*No orchestrator function named 'helo' is registered. "
                                 "Did you mean 'hello'?*"])
