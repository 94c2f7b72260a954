"""The durable_app marker (closest wins), --durable-app, the ini options, strict modes."""
from __future__ import annotations

from typing import Callable

import pytest

pytest_plugins = ["pytester"]

MakeIni = Callable[..., None]

WHICH_APP = """
def which(rt):
    return sorted(rt.app.orchestrators) if rt.app is not None else None
"""


def test_closest_marker_wins_test_over_class_over_module(project: pytest.Pytester, make_ini: MakeIni) -> None:
    make_ini(project, durable_app="sample_app:app")
    project.makepyfile(WHICH_APP + """
import pytest

pytestmark = pytest.mark.durable_app("other_app:app")

def test_module_marker(durable_runtime):
    assert which(durable_runtime) == ["other"]

@pytest.mark.durable_app("sample_app:app")
class TestClass:
    def test_class_marker(self, durable_runtime):
        assert which(durable_runtime) == ["chain", "flaky", "hello"]

    @pytest.mark.durable_app(None)
    def test_test_marker(self, durable_runtime):
        assert which(durable_runtime) is None
""")
    project.runpytest("--strict-markers").assert_outcomes(passed=3)


def test_marker_settings_merge_per_value(project: pytest.Pytester) -> None:
    project.makepyfile(WHICH_APP + """
import pytest

pytestmark = pytest.mark.durable_app("other_app:app", start_time="2025-06-01T00:00:00Z")

@pytest.mark.durable_app(assert_all_mocks_used=False)
def test_keeps_module_app_and_time(durable_runtime):
    assert which(durable_runtime) == ["other"]
    assert durable_runtime.now.isoformat() == "2025-06-01T00:00:00+00:00"
    durable_runtime.mock_activity("never_called", allow_new=True)  # not in the app
""")
    project.runpytest().assert_outcomes(passed=1)


def test_command_line_overrides_ini_and_marker_overrides_command_line(
        project: pytest.Pytester, make_ini: MakeIni) -> None:
    make_ini(project, durable_app="sample_app:app")
    project.makepyfile(WHICH_APP + """
import pytest

def test_cli(durable_runtime):
    assert which(durable_runtime) == ["other"]

@pytest.mark.durable_app("sample_app:app")
def test_marker(durable_runtime):
    assert "hello" in which(durable_runtime)
""")
    project.runpytest("--durable-app", "other_app:app").assert_outcomes(passed=2)


def test_ini_app_folder_is_relative_to_the_ini_file(project: pytest.Pytester, make_ini: MakeIni) -> None:
    app_dir = project.mkdir("myapp")
    (app_dir / "function_app.py").write_text(
        "import azure.durable_functions as df\napp = df.DFApp()\n\n"
        "@app.activity_trigger(input_name='x')\ndef ping(x):\n    return 'pong'\n")
    make_ini(project, durable_app="myapp")
    sub = project.mkdir("tests")
    (sub / "test_it.py").write_text(
        "def test_it(durable_runtime):\n    assert list(durable_runtime.app.activities) == ['ping']\n")
    project.runpytest(sub).assert_outcomes(passed=1)


def test_start_time_from_ini(project: pytest.Pytester, make_ini: MakeIni) -> None:
    make_ini(project, durable_start_time="2024-02-29T12:30:00+02:00")
    project.makepyfile("""
        def test_x(durable_runtime):
            assert durable_runtime.now.isoformat() == "2024-02-29T10:30:00+00:00"  # in UTC
    """)
    project.runpytest().assert_outcomes(passed=1)


@pytest.mark.parametrize("value, problem", [
    ("yesterday", "not an ISO 8601 date and time; write it like 2024-01-01T00:00:00Z"),
    ("2024-01-01T00:00:00", "has no timezone, and virtual time must be an aware instant*"),
])
def test_bad_start_time_is_a_usage_error(project: pytest.Pytester, make_ini: MakeIni, value: str,
                                         problem: str) -> None:
    make_ini(project, durable_start_time=value)
    project.makepyfile("def test_x(): pass")
    result = project.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"ERROR: durable_start_time = '{value}' in *tox.ini: {problem}"])


def test_bad_marker_arguments_say_what_the_marker_takes(project: pytest.Pytester) -> None:
    project.makepyfile("""
        import pytest

        @pytest.mark.durable_app("sample_app:app", asert_all_mocks_used=False)
        def test_x(durable_runtime):
            pass
    """)
    result = project.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines([
        "*@pytest.mark.durable_app('sample_app:app', asert_all_mocks_used=False) on "
        "test_bad_marker_arguments_say_what_the_marker_takes.py::test_x: *unexpected keyword "
        "argument 'asert_all_mocks_used'. It takes durable_app(app=None, *, "
        "assert_all_mocks_used=True, start_time=None, assert_all_faults_fired=True, determinism_probe=False).",
    ])


def test_strict_markers_and_strict_config_pass(project: pytest.Pytester, make_ini: MakeIni) -> None:
    make_ini(project, durable_app="sample_app:app",
             durable_start_time="2024-01-01T00:00:00Z",
             addopts="--strict-markers --strict-config")
    project.makepyfile("""
        import pytest

        @pytest.mark.durable_app("sample_app:app", assert_all_mocks_used=True)
        def test_x(durable_runtime):
            pass
    """)
    project.runpytest("-W", "error::pytest.PytestConfigWarning").assert_outcomes(passed=1)


def test_marker_and_options_are_documented(project: pytest.Pytester) -> None:
    result = project.runpytest("--markers")
    result.stdout.fnmatch_lines(["@pytest.mark.durable_faults(fault, ...): *"])
    result.stdout.fnmatch_lines(["@pytest.mark.durable_app(app=None, *, "
                                 "assert_all_mocks_used=True, start_time=None, "
                                 "assert_all_faults_fired=True, determinism_probe=False): *"])
    result = project.runpytest("--help")
    result.stdout.fnmatch_lines(["*--durable-app=APP*", "*durable_app (string):*",
                                 "*durable_start_time (string):*"])


def test_the_worker_converters_deprecation_warning_stays_out_of_reports(
        project: pytest.Pytester, make_ini: MakeIni) -> None:
    make_ini(project, durable_app="sample_app:app")
    project.makepyfile("""
def test_runs_an_activity(durable_runtime):
    assert durable_runtime.run("hello", "Ada").runtime_status.value == "Completed"
""")
    result = project.runpytest_subprocess()
    result.assert_outcomes(passed=1)
    assert "df_loads was called without expected_type" not in result.stdout.str()
