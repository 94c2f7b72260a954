"""What the plugin costs a session: no Azure SDK import unless a fixture runs, one
discovery per app per session (again when its folder changes)."""
from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

FOLDER_APP = '''
import azure.durable_functions as df

app = df.DFApp()
LOADS = __import__("builtins").__dict__.setdefault("durable_testkit_loads", [])
LOADS.append({tag!r})


@app.orchestration_trigger(context_name="context")
def hello(context):
    return {tag!r}
    yield
'''


def test_a_session_that_never_uses_the_plugin_imports_no_azure_sdk(
        pytester: pytest.Pytester) -> None:
    pytester.makeconftest("""
        import sys

        def pytest_sessionfinish(session):
            loaded = sorted(m for m in sys.modules if m == "azure" or m.startswith("azure."))
            with open("loaded.txt", "w") as f:
                f.write(",".join(loaded))
    """)
    pytester.makepyfile("""
        import sys

        def test_plain():
            assert "azure.durable_functions" not in sys.modules
            assert "durable_testkit.runtime" not in sys.modules
    """)
    # A subprocess: this process has imported the SDK already.
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    assert (pytester.path / "loaded.txt").read_text() == ""


def test_tests_naming_the_same_app_share_one_discovery(project: pytest.Pytester) -> None:
    project.makepyfile("""
        import pytest

        seen = []

        @pytest.mark.durable_app("sample_app:app")
        @pytest.mark.parametrize("n", range(3))
        def test_runs(durable_runtime, n):
            seen.append(durable_runtime.app)
            assert durable_runtime.run("hello", "Ann").output == "Hello Ann!"
            assert durable_runtime.instance_ids and len(durable_runtime.activity_calls) == 1

        @pytest.mark.durable_app("sample_app:app")
        def test_same_object(durable_runtime, orchestration_scenario):
            assert all(app is seen[0] for app in seen) and len(seen) == 3
            assert durable_runtime.app is seen[0]
            assert orchestration_scenario("hello", "Bo") is not None  # the same lookup

        @pytest.mark.durable_app("other_app:app")
        def test_another_app_is_its_own(durable_runtime):
            assert durable_runtime.app is not seen[0]
            assert durable_runtime.run("other").output == "other"
    """)
    project.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=5)


def _folder(root: pytest.Pytester, name: str, tag: str) -> None:
    folder = root.mkdir(name)
    (folder / "host.json").write_text('{"version": "2.0"}')
    (folder / "function_app.py").write_text(FOLDER_APP.format(tag=tag))


def test_a_folder_app_is_discovered_again_when_it_changes_or_another_was_named(
        pytester: pytest.Pytester) -> None:
    _folder(pytester, "app_a", "a")
    _folder(pytester, "app_b", "b")
    pytester.makepyfile(test_folders="""
        import builtins, os, time
        import pytest

        def loads():
            return builtins.__dict__.get("durable_testkit_loads", [])

        @pytest.mark.durable_app("app_a")
        def test_1(durable_runtime):
            assert durable_runtime.run("hello").output == "a"
            assert loads() == ["a"]

        @pytest.mark.durable_app("app_a")
        def test_2_same_app_no_new_load(durable_runtime):
            assert loads() == ["a"]

        @pytest.mark.durable_app("app_b")
        def test_3_other_folder(durable_runtime):
            assert durable_runtime.run("hello").output == "b"
            assert loads() == ["a", "b"]

        @pytest.mark.durable_app("app_a")
        def test_4_back_to_a_loads_it_fresh(durable_runtime):
            # Naming app_b dropped app_a's modules: it is imported again, as without a cache.
            assert loads() == ["a", "b", "a"]

        def test_5_edit_a():
            script = os.path.join("app_a", "function_app.py")
            st = os.stat(script)
            os.utime(script, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))

        @pytest.mark.durable_app("app_a")
        def test_6_edited_app_is_discovered_again(durable_runtime):
            assert durable_runtime.run("hello").output == "a"
            assert len(loads()) == 3  # same module (discover_app keeps it), discovered again
    """)
    # A subprocess: app folders are imported as the top-level module "function_app".
    pytester.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=6)


def test_an_app_object_in_the_marker_is_discovered_once_until_it_changes(
        project: pytest.Pytester) -> None:
    project.makepyfile(test_objects="""
        import pytest
        import azure.durable_functions as df
        import sample_app

        seen = []
        pytestmark = pytest.mark.durable_app(sample_app.app)

        @pytest.mark.parametrize("n", range(3))
        def test_runs(durable_runtime, n):
            seen.append(durable_runtime.app)
            assert durable_runtime.run("hello", "Ann").output == "Hello Ann!"

        def test_one_discovery():
            assert len(seen) == 3 and all(app is seen[0] for app in seen)

        def test_a_new_function_means_a_new_discovery(durable_runtime):
            assert durable_runtime.app is seen[0]

            @sample_app.app.activity_trigger(input_name="x")
            def added_between_tests(x):
                return x

        def test_sees_it(durable_runtime):
            assert durable_runtime.app is not seen[0]
            assert "added_between_tests" in durable_runtime.app.functions
    """)
    project.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=6)
