"""Function apps discovered once per session, not once per test.

A ``durable_app`` marker (or ``--durable-app``, or the ini option) usually names
the same app on many tests. Discovering it walks every function of the app and
wraps each in the worker's handle: on a 20-function app that was about a third
of a short test's time, paid again by every test. The discovered
``AppFunctions`` is frozen and its functions are the module's own objects, so
one discovery can serve every test that names the same app -- as long as
nothing it depends on changed:

* an app folder or script: the folder's, ``function_app.py``'s and ``host.json``'s
  modification times, and the app root ``durable_testkit.app`` has active (when a
  test names another folder, the previous app's modules are dropped and its
  folder leaves ``sys.path``: naming it again discovers it again, fresh, as before);
* ``"pkg.module[:attr]"``: the module object in ``sys.modules`` (a reload or a
  removal discovers again).

* an app *object* (``df.DFApp``, ``func.FunctionApp``): the object itself and the
  functions it registers, name and user function (its public ``get_functions()``,
  about 20 µs where discovery takes a millisecond), so a test that registers another
  function on it between tests discovers it again. A lone blueprint is not cached.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, Optional, Tuple

import pytest

if TYPE_CHECKING:  # pragma: no cover - the SDK is imported on first discovery
    from durable_testkit.app import AppFunctions

# pytest hides this module's frames in failure reports (--full-trace shows them):
# what the user needs is the line of their own code.
__tracebackhide__ = True

__all__ = ["session_app"]

_Stamp = Tuple[Any, ...]
_CACHE = pytest.StashKey[Dict[Tuple[str, str], Tuple[_Stamp, "AppFunctions"]]]()


def session_app(config: pytest.Config, app: Any) -> "AppFunctions":
    """``discover_app(app)``, remembered for the session while the app is unchanged.

    Raises:
        AppDiscoveryError: as ``discover_app`` does (failures are not remembered).
    """
    from durable_testkit import app as _app

    key = _key(app)
    if key is None:
        return _app.discover_app(app)
    cache = config.stash.setdefault(_CACHE, {})
    hit = cache.get(key)
    if hit is not None and _same(hit[0], _stamp(key, app)):
        return hit[1]
    found = _app.discover_app(app)
    cache[key] = (_stamp(key, app), found)  # after: discovery imports the module
    return found


def _key(app: Any) -> Optional[Tuple[str, str]]:
    if hasattr(app, "get_functions") and hasattr(app, "functions_bindings"):
        return "object", str(id(app))  # the stamp holds the object: its id stays its own
    if isinstance(app, os.PathLike):
        return "path", str(Path(os.fspath(app)).resolve())
    if not isinstance(app, str):
        return None
    # The same test discover_app makes between a path and a module name.
    if os.path.exists(app) or os.sep in app or "/" in app or app.endswith(".py"):
        return "path", str(Path(app).resolve())
    return "module", app


def _stamp(key: Tuple[str, str], app: Any) -> _Stamp:
    kind, where = key
    if kind == "object":
        from durable_testkit import app as _app

        try:
            registered = tuple(x for f in _app.registered_functions(app)
                               for x in (f.get_function_name(), f.get_user_function()))
        except Exception:  # noqa: BLE001 - an invalid app: discover_app says why
            registered = (object(),)  # never the same: discovered (and refused) each time
        return (app,) + registered
    if kind == "module":
        return (sys.modules.get(where.partition(":")[0]),)
    from durable_testkit import app as _app

    path = Path(where)
    folder = path.parent if path.is_file() else path
    times = tuple(_mtime(p) for p in (folder, folder / "function_app.py", folder / "host.json",
                                      path))
    # The root discover_app activated (private to our own app module): another folder
    # named since replaces it, and this app's modules with it.
    return times + (getattr(_app, "_active", None),)


def _same(a: _Stamp, b: _Stamp) -> bool:
    # Times compare by value; modules and the active root by identity (a new root object
    # for the same folder means the app's modules were dropped and imported again).
    return len(a) == len(b) and all(x is y or (type(x) in (int, str) and x == y)
                                    for x, y in zip(a, b))


def _mtime(path: Path) -> Optional[int]:
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return None
