"""Which classes a payload may rebuild: the vetted side of the SDK's custom-object codec.

The Python SDK encodes an object with ``to_json`` as ``{"__class__": name,
"__module__": module, "__data__": ...}`` and decodes any JSON object of that
shape with ``azure.functions._durable_functions._deserialize_custom_object``:
it looks the class up by name and calls its ``from_json(__data__)``
(azure-functions < 1.26 first *imports* ``__module__``). Payloads come from
history files, from requests to ``durable-testkit serve`` and from event data,
so that hook lets a file or a request import modules and run ``from_json`` of
any loaded class (durable-testkit's own ``InstanceHistory`` included).

``_sdk`` swaps that hook for one that asks :func:`resolve` first while the host
runs user code (the current :class:`PayloadScope`). A class is rebuilt only
if its module is already imported (nothing is ever imported) and it is

* registered: :func:`register_payload_class` (process-wide) or
  ``InMemoryRuntime(payload_classes=[...])`` (one runtime); or
* defined in one of the app's own modules: a module of a registered
  orchestrator, activity or entity, or a module under the folder of an app
  loaded with ``InMemoryRuntime.from_app``. durable-testkit's, the SDK's,
  the standard library's and installed packages' modules never count.

Anything else raises :class:`~durable_testkit.errors.PayloadRejected`, which
names the class and how to allow it. docs/protocol.md ("Security") has the
whole story and the opt-out.
"""
from __future__ import annotations

import contextvars
import os
import sys
import sysconfig
import threading
from contextlib import contextmanager
from typing import Any, Callable, Dict, Iterable, Iterator, List, Optional, Set, Tuple, TypeVar, cast

from .errors import PayloadRejected

# pytest hides this module's frames in failure reports (--full-trace shows them):
# what the user needs is the line of their own code.
__tracebackhide__ = True

__all__ = ["PayloadScope", "register_payload_class", "registered_payload_classes", "current",
           "scope", "resolve", "scoped", "for_registry"]

_F = TypeVar("_F", bound=Callable[..., Any])
_lock = threading.Lock()
_registered: Dict[Tuple[str, str], type] = {}

#: Never trusted because a module "belongs to the app": ours, the SDK's, the worker's.
_DENIED_PREFIXES = ("durable_testkit", "azure", "builtins", "pytest", "_pytest")


def _key(cls: type) -> Tuple[str, str]:
    # The encoder writes obj.__class__.__name__, not the qualified name.
    return (cls.__module__, cls.__name__)


def _check_class(cls: Any) -> type:
    if not isinstance(cls, type):
        raise TypeError(f"register_payload_class takes classes, not {cls!r}")
    if not callable(getattr(cls, "from_json", None)):
        raise TypeError(f"{cls.__module__}.{cls.__qualname__} has no from_json; the SDK "
                        "rebuilds payload classes with Class.from_json(data)")
    return cls


def register_payload_class(*classes: type) -> None:
    """Allow payloads to rebuild these classes, in every runtime and replay of this process.

    Only needed for classes that live outside the app's own modules (say, a shared
    models package): classes defined in the module of a registered function are
    allowed already.

    Raises:
        TypeError: something that is not a class with ``from_json``.
    """
    with _lock:
        for cls in classes:
            _registered[_key(_check_class(cls))] = cls


def registered_payload_classes() -> List[type]:
    """The classes :func:`register_payload_class` allowed, in registration order."""
    with _lock:
        return list(_registered.values())


def _function_module(fn: Any) -> Optional[str]:
    """The module of the user's code behind a handle, builder, FunctionInfo or function."""
    for _ in range(6):
        inner = getattr(fn, "_function", None)  # a V2 FunctionBuilder
        if inner is not None and hasattr(inner, "get_user_function"):
            fn = inner.get_user_function()
            continue
        nxt = None
        for attr in ("user_function", "orchestrator_function", "entity_function", "callable",
                     "__wrapped__"):
            nxt = getattr(fn, attr, None)
            if nxt is not None and nxt is not fn:
                break
            nxt = None
        if nxt is None:
            break
        fn = nxt
    module = getattr(fn, "__module__", None)
    return module if isinstance(module, str) else None


_PLATFORM_DIRS = tuple(os.path.normcase(os.path.realpath(p)) + os.sep for p in {
    sysconfig.get_paths().get(name) for name in ("stdlib", "platstdlib", "purelib", "platlib")
} if p)


def _is_installed(module: Any) -> bool:
    """True for a module of the standard library or an installed package."""
    path = getattr(module, "__file__", None)
    if not isinstance(path, str):
        return True  # built-in or namespace: nothing of the app
    real = os.path.normcase(os.path.realpath(path))
    return any(real.startswith(d) for d in _PLATFORM_DIRS) or \
        f"{os.sep}site-packages{os.sep}" in real or f"{os.sep}dist-packages{os.sep}" in real


def _under(module: Any, roots: Iterable[str]) -> bool:
    path = getattr(module, "__file__", None)
    if not isinstance(path, str):
        return False
    real = os.path.normcase(os.path.realpath(path))
    return any(real.startswith(os.path.normcase(os.path.realpath(r)) + os.sep) for r in roots)


class PayloadScope:
    """What one runtime (or one replay) lets payloads rebuild.

    Args:
        functions: gives the user functions whose modules count as the app's
            (called on each custom-object payload, so late registrations count).
        roots: gives the app folders whose modules count as the app's.
        classes: classes allowed for this scope only.
    """

    def __init__(self, functions: Callable[[], Iterable[Any]] = tuple,
                 roots: Callable[[], Iterable[str]] = tuple,
                 classes: Iterable[type] = ()) -> None:
        self._functions = functions
        self._roots = roots
        self.classes: Dict[Tuple[str, str], type] = {}
        self.allow(*classes)

    def allow(self, *classes: type) -> None:
        """Allow these classes in this scope (``InMemoryRuntime(payload_classes=...)``)."""
        for cls in classes:
            self.classes[_key(_check_class(cls))] = cls

    def app_modules(self) -> Set[str]:
        return {m for m in (_function_module(f) for f in self._functions()) if m}

    def resolve(self, module_name: Any, class_name: Any) -> type:
        """The class a payload may rebuild, or PayloadRejected (see the module docstring)."""
        if not isinstance(module_name, str) or not isinstance(class_name, str):
            raise PayloadRejected(str(module_name), str(class_name),
                                  "its __module__ and __class__ are not strings")
        key = (module_name, class_name)
        cls = self.classes.get(key)
        if cls is None:
            with _lock:
                cls = _registered.get(key)
        if cls is not None:
            return cls
        module = sys.modules.get(module_name)
        if module is None:
            raise PayloadRejected(module_name, class_name,
                                  "its module is not imported, and durable-testkit never "
                                  "imports a module a payload names")
        top = module_name.split(".", 1)[0]
        if top in _DENIED_PREFIXES:
            raise PayloadRejected(module_name, class_name,
                                  "it belongs to durable-testkit, the SDK or the test runner, "
                                  "not to the app")
        found = getattr(module, class_name, None)
        if not isinstance(found, type) or found.__module__ != module_name:
            raise PayloadRejected(module_name, class_name,
                                  "its module defines no class of that name")
        if _is_installed(module):
            raise PayloadRejected(module_name, class_name,
                                  "it comes from the standard library or an installed package")
        if module_name not in self.app_modules() and not _under(module, self._roots()):
            raise PayloadRejected(module_name, class_name,
                                  "it is not defined in one of the app's modules (those of the "
                                  "registered functions, or under the app's folder)")
        if not callable(getattr(found, "from_json", None)):
            raise PayloadRejected(module_name, class_name, "it has no from_json")
        return found


def for_registry(registry: Any) -> PayloadScope:
    """The scope of a runtime: its registered functions' modules and its app's folder."""
    def functions() -> Iterator[Any]:
        for orch in list(registry.orchestrators.values()):
            yield getattr(orch, "handle", orch)
        for act in list(registry.activities.values()):
            mock = getattr(act, "mock", None)
            yield getattr(mock, "callable", None) if mock is not None else act.fn
        yield from list(registry.entities.values())

    def roots() -> Tuple[str, ...]:
        root = getattr(registry.app, "root", None)
        return (str(root),) if root else ()

    return PayloadScope(functions, roots)


_current: contextvars.ContextVar[Optional[PayloadScope]] = contextvars.ContextVar(
    "durable_testkit_payload_scope", default=None)


def current() -> Optional[PayloadScope]:
    """The scope of the host code running now, or None outside the host."""
    return _current.get()


@contextmanager
def scope(payloads: Optional[PayloadScope]) -> Iterator[None]:
    """Decode payloads under ``payloads`` for the body (None: leave the current scope)."""
    if payloads is None:
        yield
        return
    token = _current.set(payloads)
    try:
        yield
    finally:
        _current.reset(token)


def resolve(module_name: Any, class_name: Any) -> type:
    """Resolve against the current scope (an empty one, registrations only, outside a host)."""
    return (_current.get() or _EMPTY).resolve(module_name, class_name)


_EMPTY = PayloadScope()


def scoped(method: _F) -> _F:
    """Run a host method with ``self.payloads`` as the payload scope."""
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        token = _current.set(self.payloads)
        try:
            return method(self, *args, **kwargs)
        finally:
            _current.reset(token)

    wrapper.__name__ = method.__name__
    wrapper.__qualname__ = method.__qualname__
    wrapper.__doc__ = method.__doc__
    return cast(_F, wrapper)
