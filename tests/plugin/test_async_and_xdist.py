"""The fixtures under pytest-asyncio and pytest-xdist (each skipped if not installed)."""
from __future__ import annotations

from typing import Callable

import pytest

pytest_plugins = ["pytester"]

MakeIni = Callable[..., None]


def test_async_test_calls_a_starter_with_the_client(project: pytest.Pytester, make_ini: MakeIni) -> None:
    pytest.importorskip("pytest_asyncio")
    make_ini(project, durable_app="sample_app:app")
    project.makepyfile("""
        import pytest

        async def starter(client, name):  # what an HTTP starter does with its client
            return await client.start_new("hello", None, name)

        @pytest.mark.asyncio
        async def test_async(durable_runtime, durable_client):
            instance_id = await starter(durable_client, "Eve")
            assert durable_runtime.wait(instance_id).output == "Hello Eve!"
            status = await durable_client.get_status(instance_id)
            assert status.output == "Hello Eve!"

        @pytest.mark.asyncio
        async def test_async_failure_has_a_section(durable_runtime):
            durable_runtime.run("hello", "Flo")
            assert False
    """)
    result = project.runpytest("-p", "asyncio")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*- durable-testkit orchestrations -*",
                                 "*of orchestrator 'hello': Completed"])


def test_xdist_workers_share_nothing_and_report_sections(project: pytest.Pytester, make_ini: MakeIni) -> None:
    pytest.importorskip("xdist")
    make_ini(project, durable_app="sample_app:app")
    project.makepyfile("""
        import pytest

        @pytest.mark.parametrize("n", range(6))
        def test_each_has_its_own_runtime(durable_runtime, n):
            assert durable_runtime.instance_ids == []
            durable_runtime.mock_activity("greet", return_value=f"hi {n}")
            assert durable_runtime.run("hello").output == f"hi {n}"

        def test_fails(durable_runtime):
            durable_runtime.run("hello")
            assert False
    """)
    result = project.runpytest_subprocess("-p", "xdist", "-n", "2")
    result.assert_outcomes(passed=6, failed=1)
    result.stdout.fnmatch_lines(["*- durable-testkit orchestrations -*",
                                 "*of orchestrator 'hello': Completed"])
