"""Load a user's function app and describe its functions.

``discover_app`` accepts what a user has at hand (a V2 app object, a
``"package.module[:attr]"`` string, or the folder of a V1 or V2 app) and returns
an immutable ``AppFunctions``: one ``FunctionInfo`` per function, carrying the
callable the Python worker would invoke, the user's own function and the binding
facts the in-memory host needs (kind, trigger and client parameter names, HTTP
route and methods).
"""
from __future__ import annotations

import dataclasses
import importlib
import importlib.machinery
import importlib.util
import inspect
import json
import os
import sys
import traceback
import types
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Optional, Sequence, final

from ._sdk import azure_functions as func

from .errors import AppDiscoveryError, FunctionLoadError, UnknownFunctionError

__all__ = ["AppFunctions", "FunctionInfo", "KINDS", "discover_app", "registered_functions"]

#: Every value ``FunctionInfo.kind`` takes.
KINDS = ("orchestrator", "activity", "entity", "client", "http", "other")

# Binding types as they appear in function.json and in the V2 raw bindings.
_ORCHESTRATION_TRIGGER = "orchestrationtrigger"
_ACTIVITY_TRIGGER = "activitytrigger"
_ENTITY_TRIGGER = "entitytrigger"
_DURABLE_CLIENT = "durableclient"
# Durable Functions 1.x named the client binding orchestrationClient; the 2.x extension
# still binds it (ext: DurableTaskExtension.cs, the backwardsCompRule for the obsolete
# OrchestrationClientAttribute), and the SDK's V1 samples use it.
_CLIENT_TYPES = (_DURABLE_CLIENT, "orchestrationclient")
_HTTP_TRIGGER = "httptrigger"

# The binding key that renames a durable function (the extension uses
# ``trigger.Activity ?? <function name>``, likewise for the other two).
_DURABLE_NAME_KEY = {
    _ORCHESTRATION_TRIGGER: ("orchestrator", "orchestration"),
    _ACTIVITY_TRIGGER: ("activity", "activity"),
    _ENTITY_TRIGGER: ("entity", "entityName"),
}

_SUPPORTED = (
    "a V2 app object (azure.durable_functions.DFApp or azure.functions.FunctionApp), "
    "a Blueprint (azure.durable_functions.Blueprint or azure.functions.Blueprint), "
    "a 'package.module' or 'package.module:attr' string, "
    "or the path of an app folder (V1: one subfolder per function with function.json; "
    "V2: a folder with function_app.py)"
)


@final
@dataclass(frozen=True)
class FunctionInfo:
    """One function of the app, as the host sees it.

    Attributes:
        name: The name the function is called by: the durable name from
            ``orchestration=``/``activity=``/``entity_name=`` (or the binding's
            ``orchestration``/``activity``/``entityName`` key), else the
            function name (``function_name(...)``, the Python name, or the V1 folder).
        kind: One of ``KINDS``.
        function: What the worker invokes: the ``df.Orchestrator.create`` handle
            (takes the context JSON string), the ``df.Entity.create`` handle, the
            V2 client middleware, or the user function itself.
        user_function: The user's own function (generator function, entity
            function, the code under the client middleware).
        trigger_param: Parameter name of the trigger binding.
        client_param: Parameter name of the ``durableClient`` binding, if any.
        route: HTTP route template of an HTTP trigger (default: the function name).
        methods: Allowed HTTP methods, upper case; empty means all.
        bindings: The binding dicts as the host sees them.
        model: ``"v1"`` or ``"v2"``.
        source: Where the function came from (``module:qualname`` or a folder).
    """

    name: str
    kind: str
    function: Callable[..., Any]
    user_function: Callable[..., Any]
    trigger_param: Optional[str]
    client_param: Optional[str]
    route: Optional[str]
    methods: tuple[str, ...]
    bindings: tuple[Mapping[str, Any], ...]
    model: str
    source: str


@final
@dataclass(frozen=True)
class AppFunctions:
    """The functions of one app, keyed by ``FunctionInfo.name``, in registration order."""

    functions: Mapping[str, FunctionInfo] = field(default_factory=dict)
    #: The app's root folder (where host.json lives), when it was loaded from a path or
    #: from a module beside a host.json; None otherwise.
    root: Optional[str] = None

    def __post_init__(self) -> None:
        # Frozen all the way down: callers get a read-only view.
        object.__setattr__(self, "functions", types.MappingProxyType(dict(self.functions)))

    def __repr__(self) -> str:
        parts = [f"{k}={[i.name for i in self.of_kind(k)]}" for k in KINDS if self.of_kind(k)]
        return f"AppFunctions({', '.join(parts)})"

    def of_kind(self, kind: str) -> list[FunctionInfo]:
        """Functions of one kind (one of ``KINDS``), in registration order."""
        if kind not in KINDS:
            raise ValueError(f"Unknown function kind {kind!r}; expected one of {', '.join(KINDS)}.")
        return [info for info in self.functions.values() if info.kind == kind]

    @property
    def orchestrators(self) -> dict[str, FunctionInfo]:
        """Orchestrator functions by name."""
        return {i.name: i for i in self.of_kind("orchestrator")}

    @property
    def activities(self) -> dict[str, FunctionInfo]:
        """Activity functions by name."""
        return {i.name: i for i in self.of_kind("activity")}

    @property
    def entities(self) -> dict[str, FunctionInfo]:
        """Entity functions by name."""
        return {i.name: i for i in self.of_kind("entity")}

    @property
    def http(self) -> dict[str, FunctionInfo]:
        """HTTP-triggered functions (with or without a durable client) by name."""
        return {i.name: i for i in self.functions.values() if i.route is not None}

    def get(self, name: str, kind: Optional[str] = None) -> FunctionInfo:
        """The function called ``name``, optionally required to be of ``kind``.

        Raises:
            UnknownFunctionError: No such function (of that kind); lists the known names.
        """
        if kind is not None and kind not in KINDS:
            raise ValueError(f"Unknown function kind {kind!r}; expected one of {', '.join(KINDS)}.")
        info = self.functions.get(name)
        if info is not None and (kind is None or info.kind == kind):
            return info
        known = [n for n, i in self.functions.items() if kind is None or i.kind == kind]
        # "activity function(s)" reads better than the error's plain "activitys".
        raise UnknownFunctionError(name, f"{kind} function" if kind else "function", known)


def discover_app(app: object) -> AppFunctions:
    """Load a function app and describe its functions.

    Args:
        app: A ``DFApp``/``FunctionApp`` (or other ``FunctionRegister``), a
            ``Blueprint``, a ``"package.module[:attr]"`` string, or the path
            (``str`` or ``os.PathLike``) of a V1 app folder, a V2 app folder
            holding ``function_app.py``, or a V2 script file.

    Returns:
        The app's functions.

    Raises:
        AppDiscoveryError: The app could not be found, imported or understood.
    """
    if isinstance(app, AppFunctions):  # discovered already (the pytest plugin's session cache)
        return app
    if isinstance(app, os.PathLike):
        return _with_root(_discover_path(Path(os.fspath(app)), str(app)), Path(os.fspath(app)))
    if isinstance(app, str):
        if os.path.exists(app) or os.sep in app or "/" in app or app.endswith(".py"):
            return _with_root(_discover_path(Path(app), app), Path(app))
        obj, described = _import_target(app)
        module = sys.modules.get(app.partition(":")[0])
        found = _discover_v2_object(obj, described)
        where = getattr(module, "__file__", None)
        return _with_root(found, Path(where).parent, require_host_json=True) if where else found
    return _discover_v2_object(app, _describe(app))


def _with_root(found: AppFunctions, path: Path, require_host_json: bool = False
               ) -> AppFunctions:
    """Remember the app folder, so host.json settings (versioning) can be read from it."""
    root = path.resolve()
    if root.is_file():
        root = root.parent
    if require_host_json and not (root / "host.json").is_file():
        return found
    return dataclasses.replace(found, root=str(root))


# --- V2 ---------------------------------------------------------------------------------


def _is_app(obj: object) -> bool:
    return isinstance(obj, func.FunctionRegister)


def _is_blueprint(obj: object) -> bool:
    # df.Blueprint, func.Blueprint and user subclasses all derive from the public
    # DecoratorApi; a FunctionRegister is an app, not a blueprint.
    return isinstance(obj, func.DecoratorApi) and not isinstance(obj, func.FunctionRegister)


def _describe(obj: object) -> str:
    return f"{type(obj).__module__}.{type(obj).__qualname__} object"


def _import_target(target: str) -> tuple[object, str]:
    module_name, _, attr = target.partition(":")
    _forget_folder_module(module_name)
    module = _import_module(module_name, f"module '{module_name}'")
    if not attr:
        return _find_app_in_module(module), target
    obj: object = module
    for part in attr.split("."):
        if not hasattr(obj, part):
            found = _app_objects(module)
            listed = ", ".join(f"'{n}' ({_describe(o)})" for n, o in found) or "none"
            raise AppDiscoveryError(
                f"Module '{module_name}' has no attribute '{attr}'. "
                f"Function app objects found in it: {listed}. "
                f"Pass '{module_name}:<name>' with one of them, or just '{module_name}' "
                "if it holds exactly one.")
        obj = getattr(obj, part)
    return obj, target


def _forget_folder_module(module_name: str) -> None:
    """Drop a module an earlier folder discovery loaded, when sys.path now finds another.

    Discovering an app folder imports its script as the top-level module "function_app",
    as the worker does. A later ``discover_app("function_app:app")`` names a module by its
    import path, so it must get the file sys.path finds now, not the other folder's
    cached module, whichever discovery ran first in the process.
    """
    if _active is None or module_name not in _active.modules or "." in module_name:
        return
    cached = getattr(sys.modules.get(module_name), "__file__", None)
    spec = importlib.machinery.PathFinder.find_spec(module_name, sys.path)
    found = spec.origin if spec is not None else None
    if cached and found and Path(cached).resolve() != Path(found).resolve():
        del sys.modules[module_name]
        _active.modules.discard(module_name)


def _import_module(module_name: str, what: str) -> types.ModuleType:
    try:
        return importlib.import_module(module_name)
    except Exception as exc:
        raise AppDiscoveryError(
            f"Could not import {what}: {type(exc).__name__}: {exc}. "
            "discover_app imports the app the way the Python worker does; fix the error "
            "above (or make the module importable, e.g. put its folder on sys.path) "
            "and try again.") from exc


def _app_objects(module: types.ModuleType) -> list[tuple[str, object]]:
    seen: set[int] = set()
    found = []
    for name, obj in vars(module).items():
        if (_is_app(obj) or _is_blueprint(obj)) and id(obj) not in seen:
            seen.add(id(obj))
            found.append((name, obj))
    return found


def _find_app_in_module(module: types.ModuleType) -> object:
    found = _app_objects(module)
    # Like the worker, prefer the app (FunctionRegister): a function_app.py usually
    # also imports the blueprints it registers.
    apps = [(n, o) for n, o in found if _is_app(o)] or found
    if len(apps) == 1:
        return apps[0][1]
    where = f"'{module.__name__}' ({getattr(module, '__file__', '?')})"
    if not apps:
        raise AppDiscoveryError(
            f"Module {where} holds no function app: no module-level DFApp, FunctionApp "
            "or Blueprint object was found. Define one (app = df.DFApp()) at module "
            "level, or pass 'module:attr' naming it.")
    listed = ", ".join(f"'{n}' ({_describe(o)})" for n, o in apps)
    raise AppDiscoveryError(
        f"Module {where} holds more than one function app: {listed}. "
        f"Say which one with '{module.__name__}:<name>'.")


def _discover_v2_object(app: object, source: str) -> AppFunctions:
    if _is_app(app):
        functions = _get_functions(app, source)
    elif _is_blueprint(app):
        # A Blueprint has no public get_functions(); register it with a throwaway app
        # through the public register_functions() instead of reading its
        # _function_builders. http_auth_level=None keeps build() from stamping an auth
        # level onto the blueprint's HTTP triggers (the real app sets its own later).
        holder = func.FunctionApp(http_auth_level=None)  # type: ignore[arg-type]
        holder.register_functions(app)  # type: ignore[arg-type]
        functions = _get_functions(holder, source)
    else:
        raise AppDiscoveryError(
            f"discover_app() cannot use {source} ({app!r:.80}). It accepts {_SUPPORTED}.")
    infos = [_v2_info(f) for f in functions]
    return _collect(infos, source)


def registered_functions(app: Any) -> list[Any]:
    """What a V2 app object registers now (its ``get_functions()``), with no side effect.

    Cheap next to a discovery: the plugin asks it to tell whether an app object it has
    discovered gained or lost functions since.
    """
    return _get_functions(app, repr(app))


def _get_functions(app: Any, source: str) -> list[Any]:
    # get_functions() records names in the public ``functions_bindings`` dict to reject
    # duplicates, so a second call (ours after the user's, or two discoveries) would
    # report every function as a duplicate. Start from a clean record and restore it.
    saved = app.functions_bindings
    app.functions_bindings = None
    try:
        return list(app.get_functions())
    except ValueError as exc:
        raise AppDiscoveryError(
            f"The function app {source} is invalid: {exc} The Python worker would refuse "
            "to index it too.") from exc
    finally:
        app.functions_bindings = saved


def _v2_info(function: Any) -> FunctionInfo:
    bindings = tuple(json.loads(raw) for raw in function.get_raw_bindings())
    trigger = function.get_trigger()
    invoked = function.get_user_function()
    user = (getattr(invoked, "orchestrator_function", None)
            or getattr(invoked, "entity_function", None)
            or getattr(invoked, "__wrapped__", None)  # df_client_middleware
            or invoked)
    trigger_dict = json.loads(json.dumps(trigger.get_dict_repr(), default=str))
    return _make_info(
        function_name=function.get_function_name(),
        trigger=next((b for b in bindings if b.get("name") == trigger.name
                      and b.get("type") == trigger.type), trigger_dict),
        bindings=bindings, function=invoked, user_function=user, model="v2",
        source=f"{getattr(user, '__module__', '?')}:{getattr(user, '__qualname__', '?')}")


# --- shared -----------------------------------------------------------------------------


def _make_info(*, function_name: str, trigger: Mapping[str, Any],
               bindings: tuple[Mapping[str, Any], ...], function: Callable[..., Any],
               user_function: Callable[..., Any], model: str, source: str) -> FunctionInfo:
    trigger_type = str(trigger.get("type", "")).lower()
    client = next((b for b in bindings if str(b.get("type", "")).lower() in _CLIENT_TYPES),
                  None)
    name = function_name
    route: Optional[str] = None
    methods: tuple[str, ...] = ()
    if trigger_type in _DURABLE_NAME_KEY:
        kind, key = _DURABLE_NAME_KEY[trigger_type]
        name = trigger.get(key) or function_name
    elif client is not None:
        kind = "client"
    elif trigger_type == _HTTP_TRIGGER:
        kind = "http"
    else:
        kind = "other"
    if trigger_type == _HTTP_TRIGGER:
        route = trigger.get("route") or function_name
        methods = tuple(str(m).upper() for m in (trigger.get("methods") or ()))
    return FunctionInfo(
        name=name, kind=kind, function=function, user_function=user_function,
        trigger_param=trigger.get("name"), client_param=client.get("name") if client else None,
        route=route, methods=methods, bindings=bindings, model=model, source=source)


def _collect(infos: Iterable[FunctionInfo], source: str) -> AppFunctions:
    by_name: dict[str, FunctionInfo] = {}
    for info in infos:
        if info.name in by_name:
            raise AppDiscoveryError(
                f"Two functions in {source} are both called '{info.name}': "
                f"{by_name[info.name].source} and {info.source}. The Durable extension "
                "keys functions by name, so one would shadow the other; rename one "
                "(function_name(...), orchestration=/activity=/entity_name=, or the folder).")
        by_name[info.name] = info
    if not by_name:
        raise AppDiscoveryError(
            f"{source} defines no functions. Check that the decorators are applied to "
            "the app object you passed and that blueprints are registered with "
            "app.register_functions(bp).")
    return AppFunctions(by_name)


# --- paths: V1 folders and V2 scripts ----------------------------------------------------


def _discover_path(path: Path, given: str) -> AppFunctions:
    if not path.exists():
        raise AppDiscoveryError(
            f"The app path '{given}' does not exist (resolved against the working "
            f"directory {os.getcwd()}). Pass the folder that holds host.json, or a "
            "'package.module:attr' string for an importable V2 app.")
    path = path.resolve()
    if path.is_file():
        return _discover_v2_script(path)
    v1_dirs = sorted(p.parent for p in path.glob("*/function.json"))
    script = path / "function_app.py"
    if v1_dirs and script.is_file():
        raise AppDiscoveryError(
            f"The app folder {path} holds both function_app.py (V2) and function.json "
            f"folders (V1: {', '.join(d.name for d in v1_dirs)}), so the programming model "
            "is ambiguous. Pass the script itself for V2 "
            f"('{script}'), or remove one of them.")
    if v1_dirs:
        return _discover_v1(path, v1_dirs)
    if script.is_file():
        return _discover_v2_script(script)
    raise AppDiscoveryError(
        f"The app folder {path} holds no functions: no subfolder has a function.json "
        "(V1 model) and there is no function_app.py (V2 model). Pass the function app's "
        "root folder, the one that holds host.json.")


def _discover_v2_script(script: Path) -> AppFunctions:
    if script.suffix != ".py":
        raise AppDiscoveryError(
            f"The app path {script} is a file but not a Python script. It accepts {_SUPPORTED}.")
    _activate_root(script.parent)
    # The worker imports function_app.py as the top-level module "function_app".
    module = _import_file(script.stem, script, f"the V2 app script {script}")
    return _discover_v2_object(_find_app_in_module(module), str(script))


def _discover_v1(root: Path, function_dirs: Sequence[Path]) -> AppFunctions:
    _activate_root(root)
    return _collect((_v1_info(root, d) for d in function_dirs), str(root))


def _v1_info(root: Path, folder: Path) -> FunctionInfo:
    config_path = folder / "function.json"
    text = config_path.read_text(encoding="utf-8-sig")
    try:
        config = json.loads(text)
    except json.JSONDecodeError as exc:
        raise AppDiscoveryError(
            f"{config_path}: line {exc.lineno}, column {exc.colno}: {exc.msg}. "
            "function.json must be valid JSON (no comments or trailing commas); the "
            "Functions host would skip this function.") from exc
    bindings = config.get("bindings") if isinstance(config, dict) else None
    if not isinstance(bindings, list) or not all(isinstance(b, dict) for b in bindings):
        raise AppDiscoveryError(
            f"{config_path}: 'bindings' must be a list of binding objects "
            '(e.g. [{"name": "context", "type": "orchestrationTrigger", "direction": "in"}]).')
    triggers = [b for b in bindings if str(b.get("type", "")).lower().endswith("trigger")]
    if len(triggers) != 1:
        raise AppDiscoveryError(
            f"{config_path}: a function needs exactly one trigger binding, found "
            f"{len(triggers)} ({', '.join(str(t.get('type')) for t in triggers) or 'none'}).")
    script_file = config.get("scriptFile") or "__init__.py"
    entry_point = config.get("entryPoint") or "main"
    script = (folder / script_file).resolve()
    if not script.is_file():
        raise AppDiscoveryError(
            f"Function '{folder.name}': its script {script} does not exist "
            f"(scriptFile is '{script_file}' in {config_path}; the default is __init__.py). "
            "Create it or fix scriptFile.")
    try:
        rel = script.relative_to(root)
    except ValueError:
        raise AppDiscoveryError(
            f"Function '{folder.name}': scriptFile '{script_file}' points outside the app "
            f"folder {root}; the Python worker only loads scripts inside it.") from None
    parts = [_APP_NAMESPACE, *rel.parts[:-1]]
    if script.stem != "__init__":
        parts.append(script.stem)
    before = set(sys.modules)
    try:
        module = _import_module(".".join(parts), f"function '{folder.name}' ({script})")
    except AppDiscoveryError as exc:
        # The Functions host marks just this function as errored and loads the others;
        # calling it fails with the import error.
        broken = _broken_function(FunctionLoadError(folder.name, str(script), exc.__cause__))
        return _make_info(function_name=folder.name, trigger=triggers[0],
                          bindings=tuple(bindings), function=broken, user_function=broken,
                          model="v1", source=str(folder))
    finally:
        _remember_modules(before)
    entry = getattr(module, entry_point, None)
    if not callable(entry):
        defined = sorted(n for n, o in vars(module).items()
                         if inspect.isfunction(o) and o.__module__ == module.__name__)
        raise AppDiscoveryError(
            f"Function '{folder.name}': {script} has no callable '{entry_point}' "
            f"(entryPoint in {config_path}; the default is main). Functions defined there: "
            f"{', '.join(defined) or 'none'}. Define it or set entryPoint.")
    user = (getattr(entry, "orchestrator_function", None)
            or getattr(entry, "entity_function", None) or entry)
    return _make_info(
        function_name=folder.name, trigger=triggers[0], bindings=tuple(bindings),
        function=entry, user_function=user, model="v1", source=str(folder))


# --- import state -------------------------------------------------------------------------
#
# Like the Python worker, an app folder is loaded with (1) the folder at the front of
# sys.path, so "from shared_code import x" works, and (2) a namespace package "__app__"
# rooted at the folder, each V1 function folder imported as "__app__.<Folder>", so
# "from ..shared_code import x" and "from __app__.shared_code import x" work. Both are
# process-wide, as in the worker, so one app folder is active at a time: loading another
# folder removes the previous folder from sys.path (if we added it) and drops the modules
# we imported from it, so two apps with a "shared_code" of their own do not mix. Loading
# the same folder again reuses its modules, as a second import would.

_APP_NAMESPACE = "__app__"


@dataclass
class _ActiveRoot:
    root: Path
    added_to_path: bool
    modules: set[str] = field(default_factory=set)


_active: Optional[_ActiveRoot] = None


def _activate_root(root: Path) -> None:
    global _active
    if _active is not None and _active.root == root:
        return
    if _active is not None:
        for name in list(sys.modules):
            if name in _active.modules or name.split(".")[0] == _APP_NAMESPACE:
                del sys.modules[name]
        if _active.added_to_path and str(_active.root) in sys.path:
            sys.path.remove(str(_active.root))
    added = str(root) not in sys.path
    if added:
        sys.path.insert(0, str(root))
    spec = importlib.machinery.ModuleSpec(_APP_NAMESPACE, None, is_package=True)
    spec.submodule_search_locations = [str(root)]
    sys.modules[_APP_NAMESPACE] = importlib.util.module_from_spec(spec)
    _active = _ActiveRoot(root, added)
    importlib.invalidate_caches()


def _import_file(module_name: str, script: Path, what: str) -> types.ModuleType:
    before = set(sys.modules)
    existing = sys.modules.get(module_name)
    if existing is not None and Path(getattr(existing, "__file__", "") or "").resolve() == script:
        return existing
    spec = importlib.util.spec_from_file_location(module_name, script)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        sys.modules.pop(module_name, None)
        # A V2 app is one module: the worker fails to index it as a whole.
        raise AppDiscoveryError(
            f"Could not import {what}: {type(exc).__name__}: {exc} "
            f"({_where(exc, script.parent)}). The Python worker would index none of its "
            "functions. Fix the error and try again.") from exc
    finally:
        _remember_modules(before)
    return module


def _where(exc: BaseException, root: Path) -> str:
    """``file, line N`` of the innermost frame inside the app folder (or the syntax error)."""
    if isinstance(exc, SyntaxError) and exc.filename:
        return f"{exc.filename}, line {exc.lineno}"
    where = ""
    for frame, line in traceback.walk_tb(exc.__traceback__):
        filename = frame.f_code.co_filename
        try:
            Path(filename).resolve().relative_to(root)
        except ValueError:
            continue
        where = f"{filename}, line {line}"
    return where or "no frame of the app folder"


def _broken_function(error: "FunctionLoadError") -> Callable[..., Any]:
    """Stands in for a function that failed to load: every call raises the load error."""
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise error

    broken.orchestrator_function = broken  # type: ignore[attr-defined]  # taken as a handle
    return broken


def _remember_modules(before: set[str]) -> None:
    if _active is None:
        return
    root = str(_active.root) + os.sep
    for name in set(sys.modules) - before:
        file = getattr(sys.modules[name], "__file__", None) or ""
        if file.startswith(root):
            _active.modules.add(name)
