"""discover_app: every input form, names from decorators, V1 imports and every bad input."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import azure.durable_functions as df
import azure.functions as func
import pytest

from durable_testkit.app import AppFunctions, FunctionInfo, discover_app
from durable_testkit.errors import AppDiscoveryError, FunctionLoadError, UnknownFunctionError

APPS = Path(__file__).resolve().parents[1] / "apps"
V1 = APPS / "v1_app"
V2 = APPS / "v2_app"


def _write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


ACTIVITY_JSON = json.dumps({"bindings": [
    {"name": "name", "type": "activityTrigger", "direction": "in"}]})


# --- V2 sample app ---------------------------------------------------------------------


def test_v2_folder_discovers_every_function_by_its_decorator_name() -> None:
    app = discover_app(str(V2))
    assert sorted(app.orchestrators) == ["fan_out_fan_in", "hello_sequence", "nightly_report"]
    assert sorted(app.activities) == ["build_report", "get_work_items", "process_item",
                                      "say_hello"]
    assert list(app.entities) == ["counter"]
    assert [i.name for i in app.of_kind("client")] == ["http_start"]
    assert [i.name for i in app.of_kind("http")] == ["health"]
    assert {i.model for i in app.functions.values()} == {"v2"}


def test_v2_orchestrator_handle_and_generator() -> None:
    info = discover_app(V2).get("hello_sequence", "orchestrator")
    assert info.function.orchestrator_function is info.user_function  # type: ignore[attr-defined]
    assert info.user_function.__name__ == "hello_sequence"
    assert info.trigger_param == "context" and info.client_param is None
    assert info.bindings == ({"direction": "IN", "type": "orchestrationTrigger",
                              "name": "context"},)
    assert info.source == "function_app:hello_sequence"


def test_v2_activity_renamed_with_activity_keyword() -> None:
    info = discover_app(V2).get("say_hello", "activity")
    assert info.user_function.__name__ == "say_hello_activity"
    assert info.function is info.user_function
    assert info.trigger_param == "city"
    assert info.function("Tokyo") == "Hello Tokyo!"


def test_v2_entity_handle_and_function() -> None:
    info = discover_app(V2).get("counter", "entity")
    assert info.function.entity_function is info.user_function  # type: ignore[attr-defined]


def test_v2_client_records_middleware_and_user_code() -> None:
    info = discover_app(V2).get("http_start")
    assert info.kind == "client"
    assert info.function is not info.user_function
    assert info.function.__wrapped__ is info.user_function  # type: ignore[attr-defined]
    assert (info.trigger_param, info.client_param) == ("req", "client")
    assert info.route == "orchestrators/{functionName}" and info.methods == ()


def test_v2_route_and_methods() -> None:
    app = discover_app(V2)
    assert (app.get("health").route, app.get("health").methods) == ("health", ("GET",))
    assert sorted(app.http) == ["health", "http_start"]


def test_v2_module_string_with_and_without_attr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(V2))
    with_attr = discover_app("function_app:app")
    without = discover_app("function_app")
    assert list(with_attr.functions) == list(without.functions)
    bp_only = discover_app("report_blueprint:bp")
    assert sorted(bp_only.functions) == ["build_report", "nightly_report"]


def test_module_string_after_another_folder_gets_the_module_sys_path_finds(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Discovering a folder caches its script as "function_app"; naming "function_app" by
    # import path afterwards must not hand back that other folder's module.
    monkeypatch.delitem(sys.modules, "function_app", raising=False)
    _write(tmp_path, {"host.json": "{}", "function_app.py":
                      "import azure.durable_functions as df\napp = df.DFApp()\n"
                      "@app.activity_trigger(input_name='x')\ndef only_here(x):\n"
                      "    return x\n"})
    assert list(discover_app(tmp_path).functions) == ["only_here"]
    monkeypatch.syspath_prepend(str(V2))
    assert "hello_sequence" in discover_app("function_app:app").functions


def test_v2_script_file_path() -> None:
    assert "counter" in discover_app(V2 / "function_app.py").functions


def test_discovering_twice_is_allowed() -> None:
    app = df.DFApp()

    @app.activity_trigger(input_name="x")
    def act(x: int) -> int:
        return x

    app.get_functions()  # as the worker (or the user) might have done already
    assert list(discover_app(app).functions) == ["act"]
    assert list(discover_app(app).functions) == ["act"]


def test_names_come_from_decorators() -> None:
    app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)

    @app.orchestration_trigger(context_name="ctx", orchestration="Renamed")
    def orch(ctx):  # type: ignore[no-untyped-def]
        yield None

    @app.function_name("ByFunctionName")
    @app.activity_trigger(input_name="x")
    def act(x):  # type: ignore[no-untyped-def]
        return x

    @app.entity_trigger(context_name="ctx", entity_name="Box")
    def ent(ctx):  # type: ignore[no-untyped-def]
        pass

    @app.timer_trigger(schedule="0 0 * * * *", arg_name="timer")
    @app.durable_client_input(client_name="starter")
    async def tick(timer, starter):  # type: ignore[no-untyped-def]
        pass

    @app.queue_trigger(arg_name="msg", queue_name="q", connection="C")
    def on_message(msg):  # type: ignore[no-untyped-def]
        pass

    found = discover_app(app)
    kinds = {i.name: (i.kind, i.trigger_param) for i in found.functions.values()}
    assert kinds == {"Renamed": ("orchestrator", "ctx"), "ByFunctionName": ("activity", "x"),
                     "Box": ("entity", "ctx"), "tick": ("client", "timer"),
                     "on_message": ("other", "msg")}
    assert found.get("tick").client_param == "starter" and found.get("tick").route is None


def test_blueprint_registered_and_alone() -> None:
    bp = df.Blueprint()

    @bp.route(route="items/{id}", methods=["get", "POST"])
    def items(req):  # type: ignore[no-untyped-def]
        return "x"

    alone = discover_app(bp)
    assert (alone.get("items").route, alone.get("items").methods) == ("items/{id}", ("GET", "POST"))
    app = df.DFApp()
    app.register_blueprint(bp)
    assert list(discover_app(app).functions) == ["items"]


# --- V1 sample app ---------------------------------------------------------------------


def test_v1_folder() -> None:
    app = discover_app(V1)
    assert {i.name: i.kind for i in app.functions.values()} == {
        "Counter": "entity", "HelloOrchestrator": "orchestrator", "HttpStart": "client",
        "SayHello": "activity"}
    start = app.get("HttpStart")
    assert (start.trigger_param, start.client_param) == ("req", "starter")
    assert (start.route, start.methods) == ("orchestrators/{functionName}", ("POST", "GET"))
    orch = app.get("HelloOrchestrator")
    assert orch.user_function.__name__ == "orchestrator_function"
    assert orch.function.orchestrator_function is orch.user_function  # type: ignore[attr-defined]
    assert app.get("Counter").user_function.__name__ == "entity_function"
    assert orch.model == "v1" and orch.source == str(V1 / "HelloOrchestrator")
    assert orch.bindings == ({"name": "context", "type": "orchestrationTrigger",
                              "direction": "in"},)


def test_v1_relative_and_absolute_imports_of_shared_code() -> None:
    say = discover_app(str(V1)).get("SayHello", "activity")
    assert say.function("Seattle") == "Hello Seattle!"
    assert say.function.__module__ == "__app__.SayHello"


def test_v1_defaults_script_entry_point_and_http_route(tmp_path: Path) -> None:
    _write(tmp_path, {
        "Ping/function.json": json.dumps({"scriptFile": "handler.py", "entryPoint": "run",
                                          "bindings": [{"name": "req", "type": "httpTrigger",
                                                        "direction": "in"}]}),
        "Ping/handler.py": "def run(req):\n    return 'pong'\n"})
    info = discover_app(tmp_path).get("Ping", "http")
    assert (info.route, info.methods, info.function(None)) == ("Ping", (), "pong")


def test_switching_apps_does_not_mix_shared_code(tmp_path: Path) -> None:
    for name, word in (("a", "one"), ("b", "two")):
        _write(tmp_path / name, {"Act/function.json": ACTIVITY_JSON,
                                 "Act/__init__.py": "from shared import WORD\n"
                                                    "def main(name):\n    return WORD\n",
                                 "shared.py": f"WORD = {word!r}\n"})
    assert discover_app(tmp_path / "a").get("Act").function(None) == "one"
    assert discover_app(tmp_path / "b").get("Act").function(None) == "two"
    assert str(tmp_path / "a") not in sys.path


# --- lookups ---------------------------------------------------------------------------


def test_get_unknown_name_lists_known_names_of_that_kind() -> None:
    app = discover_app(V2)
    with pytest.raises(UnknownFunctionError) as err:
        app.get("say_helo", "activity")
    assert str(err.value) == (
        "No activity function named 'say_helo' is registered. Did you mean 'say_hello'? "
        "Registered activity functions: build_report, get_work_items, process_item, say_hello.")
    with pytest.raises(UnknownFunctionError):
        app.get("counter", "orchestrator")
    with pytest.raises(ValueError, match="expected one of orchestrator, activity"):
        app.of_kind("timer")


def test_results_are_immutable_values() -> None:
    app = discover_app(V2)
    assert isinstance(app, AppFunctions) and isinstance(app.get("counter"), FunctionInfo)
    with pytest.raises(TypeError):
        app.functions["x"] = app.get("counter")  # type: ignore[index]
    assert repr(app).startswith("AppFunctions(orchestrator=['nightly_report', ")


# --- bad input -------------------------------------------------------------------------


def _error(app: object) -> str:
    with pytest.raises(AppDiscoveryError) as err:
        discover_app(app)
    return str(err.value)


def test_missing_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert _error("nowhere/app") == (
        f"The app path 'nowhere/app' does not exist (resolved against the working directory "
        f"{tmp_path}). Pass the folder that holds host.json, or a 'package.module:attr' "
        "string for an importable V2 app.")


def test_folder_without_functions(tmp_path: Path) -> None:
    assert _error(tmp_path) == (
        f"The app folder {tmp_path} holds no functions: no subfolder has a function.json "
        "(V1 model) and there is no function_app.py (V2 model). Pass the function app's "
        "root folder, the one that holds host.json.")


def test_invalid_function_json(tmp_path: Path) -> None:
    _write(tmp_path, {"Bad/function.json": '{\n  "bindings": [\n    {"name": "x",}\n  ]\n}\n',
                      "Bad/__init__.py": "def main(x): pass\n"})
    assert _error(tmp_path) == (
        f"{tmp_path / 'Bad' / 'function.json'}: line 3, column 18: Expecting property name "
        "enclosed in double quotes. function.json must be valid JSON (no comments or "
        "trailing commas); the Functions host would skip this function.")


def test_missing_script_file(tmp_path: Path) -> None:
    _write(tmp_path, {"Act/function.json": ACTIVITY_JSON})
    assert _error(tmp_path) == (
        f"Function 'Act': its script {tmp_path / 'Act' / '__init__.py'} does not exist "
        f"(scriptFile is '__init__.py' in {tmp_path / 'Act' / 'function.json'}; the default "
        "is __init__.py). Create it or fix scriptFile.")


def test_missing_entry_point(tmp_path: Path) -> None:
    _write(tmp_path, {"Act/function.json": ACTIVITY_JSON,
                      "Act/__init__.py": "def run(name):\n    return name\n"})
    assert _error(tmp_path) == (
        f"Function 'Act': {tmp_path / 'Act' / '__init__.py'} has no callable 'main' "
        f"(entryPoint in {tmp_path / 'Act' / 'function.json'}; the default is main). "
        "Functions defined there: run. Define it or set entryPoint.")


def test_v1_module_that_fails_to_import(tmp_path: Path) -> None:
    # The Functions host marks just that function as errored and loads the others; calling
    # it fails with the import error (issue 10).
    _write(tmp_path, {"Act/function.json": ACTIVITY_JSON,
                      "Act/__init__.py": "import not_installed_pkg\n"})
    info = discover_app(tmp_path).functions["Act"]
    assert info.kind == "activity"
    with pytest.raises(FunctionLoadError) as raised:
        info.function("x")
    assert str(raised.value) == (
        f"Function 'Act' could not be loaded: importing {tmp_path / 'Act' / '__init__.py'} "
        "raised ModuleNotFoundError: No module named 'not_installed_pkg'. The Functions host "
        "loads the app's other functions and marks this one as errored, so calling it fails. "
        "Fix the import error.")


def test_v2_script_that_fails_to_import(tmp_path: Path) -> None:
    _write(tmp_path, {"function_app.py": "raise RuntimeError('boom')\n"})
    assert _error(tmp_path) == (
        f"Could not import the V2 app script {tmp_path / 'function_app.py'}: "
        f"RuntimeError: boom ({tmp_path / 'function_app.py'}, line 1). The Python worker "
        "would index none of its functions. Fix the error and try again.")


def test_module_string_that_fails_to_import() -> None:
    assert _error("no_such_pkg.function_app:app") == (
        "Could not import module 'no_such_pkg.function_app': ModuleNotFoundError: No module "
        "named 'no_such_pkg'. discover_app imports the app the way the Python worker does; "
        "fix the error above (or make the module importable, e.g. put its folder on "
        "sys.path) and try again.")


def test_module_string_with_missing_attr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(V2))
    assert _error("function_app:application") == (
        "Module 'function_app' has no attribute 'application'. Function app objects found "
        "in it: 'bp' (azure.durable_functions.decorators.durable_app.Blueprint object), "
        "'app' (azure.durable_functions.decorators.durable_app.DFApp object). Pass "
        "'function_app:<name>' with one of them, or just 'function_app' if it holds "
        "exactly one.")


def test_module_with_no_app_or_several(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _write(tmp_path, {"empty_mod.py": "x = 1\n",
                      "two_apps.py": "import azure.durable_functions as df\n"
                                     "a = df.DFApp()\nb = df.DFApp()\n"})
    monkeypatch.syspath_prepend(str(tmp_path))
    assert _error("empty_mod") == (
        f"Module 'empty_mod' ({tmp_path / 'empty_mod.py'}) holds no function app: no "
        "module-level DFApp, FunctionApp or Blueprint object was found. Define one "
        "(app = df.DFApp()) at module level, or pass 'module:attr' naming it.")
    assert _error("two_apps") == (
        f"Module 'two_apps' ({tmp_path / 'two_apps.py'}) holds more than one function app: "
        "'a' (azure.durable_functions.decorators.durable_app.DFApp object), 'b' "
        "(azure.durable_functions.decorators.durable_app.DFApp object). Say which one with "
        "'two_apps:<name>'.")


def test_unsupported_object() -> None:
    assert _error(42) == (
        "discover_app() cannot use builtins.int object (42). It accepts a V2 app object "
        "(azure.durable_functions.DFApp or azure.functions.FunctionApp), a Blueprint "
        "(azure.durable_functions.Blueprint or azure.functions.Blueprint), a "
        "'package.module' or 'package.module:attr' string, or the path of an app folder "
        "(V1: one subfolder per function with function.json; V2: a folder with "
        "function_app.py).")


def test_app_without_functions_and_duplicate_names() -> None:
    assert _error(df.DFApp()).startswith(
        "azure.durable_functions.decorators.durable_app.DFApp object defines no functions.")
    app = df.DFApp()

    @app.activity_trigger(input_name="x", activity="same")
    def one(x):  # type: ignore[no-untyped-def]
        return x

    @app.activity_trigger(input_name="x", activity="same")
    def two(x):  # type: ignore[no-untyped-def]
        return x

    message = _error(app)
    assert message.startswith("Two functions in azure.durable_functions.decorators.durable_app"
                              ".DFApp object are both called 'same': ")
