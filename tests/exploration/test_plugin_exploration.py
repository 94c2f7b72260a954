"""The plugin's exploration parts: @pytest.mark.durable_plan, --durable-probe, durable_app(determinism_probe=True)."""
from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

APP = '''
def fan_out(context):
    lines = context.get_input()
    yield context.task_all([context.call_activity("append_line", x) for x in lines])
    return (yield context.call_activity("read_file", None))


def uses_random(context):
    import random
    return (yield context.call_activity("read_file", random.random()))


def register(rt):
    file = []
    rt.register_orchestrator("fan_out", fan_out)
    rt.register_orchestrator("uses_random", uses_random)
    rt.register_activity("append_line", lambda x: file.append(x))
    rt.register_activity("read_file", lambda _: list(file))
'''


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makepyfile(explored_app=APP)
    pytester.makeini("[pytest]\nfilterwarnings =\n    ignore::DeprecationWarning\n")
    pytester.mkdir("plans")
    from durable_testkit import PlannedPolicy

    # After the first line, the third runs before the second (as exploration shrank it).
    PlannedPolicy([("next-work", 0), ("record-completion", 0), ("next-work", 1),
                   ("record-completion", 0)]).save(pytester.path / "plans" / "swap.json")
    return pytester


def test_durable_plan_replays_the_saved_decisions(project: pytest.Pytester) -> None:
    project.makepyfile(test_inner_plan='''
        import pytest
        from durable_testkit import PlannedPolicy
        import explored_app

        @pytest.mark.durable_plan("plans/swap.json")
        def test_replayed(durable_runtime):
            assert isinstance(durable_runtime.policy, PlannedPolicy)
            explored_app.register(durable_runtime)
            assert durable_runtime.run("fan_out", ["a", "b", "c"]).output == ["a", "c", "b"]

        def test_default(durable_runtime):
            explored_app.register(durable_runtime)
            assert durable_runtime.run("fan_out", ["a", "b", "c"]).output == ["a", "b", "c"]
    ''')
    project.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=2)


def test_a_missing_plan_is_named_with_its_path(project: pytest.Pytester) -> None:
    project.makepyfile(test_inner_missing='''
        import pytest

        @pytest.mark.durable_plan("plans/nope.json")
        def test_x(durable_runtime):
            pass
    ''')
    result = project.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines([
        "*@pytest.mark.durable_plan('plans/nope.json') on test_inner_missing.py::test_x: no plan at "
        f"{project.path / 'plans' / 'nope.json'} (the path is relative to the test file). "
        "Save one from a failing exploration with schedule.save(path).*"])


def test_durable_probe_option_and_marker_turn_the_probe_on(project: pytest.Pytester) -> None:
    project.makepyfile(test_inner_probe='''
        import pytest
        import explored_app
        from durable_testkit.errors import DeterminismProbeError

        def test_plain(durable_runtime):
            explored_app.register(durable_runtime)
            durable_runtime.run("uses_random")

        @pytest.mark.durable_app(determinism_probe=True)
        def test_marked(durable_runtime):
            explored_app.register(durable_runtime)
            with pytest.raises(DeterminismProbeError, match="random reseeded"):
                durable_runtime.run("uses_random")
    ''')
    project.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=2)
    result = project.runpytest("-p", "no:cacheprovider", "--durable-probe", "-k", "plain")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*DeterminismProbeError*random reseeded*"])
