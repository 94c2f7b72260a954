"""The package's public surface is exactly what __all__ lists (Hypothesis's _check_exports idea)."""
from __future__ import annotations

import importlib
import inspect
import pkgutil

import durable_testkit


def test_all_names_exist_and_are_unique() -> None:
    assert len(durable_testkit.__all__) == len(set(durable_testkit.__all__))
    for name in durable_testkit.__all__:
        assert hasattr(durable_testkit, name), name


# Public names that deliberately live only in their module: the event classes and wire
# helpers are reached as durable_testkit.history.TaskCompleted and so on.
MODULE_ONLY = {"app.KINDS", "app.registered_functions", "status.TERMINAL_STATUSES", "importers.FORMATS",
               "errors.did_you_mean"}
MODULE_ONLY_MODULES = {"history", "faults", "strategies"}  # faults.crash_after_activity(...)


def test_every_public_name_of_the_public_modules_is_exported_or_kept_on_purpose() -> None:
    exported = set(durable_testkit.__all__)
    missing = []
    for info in pkgutil.iter_modules(durable_testkit.__path__):
        if info.name.startswith("_") or info.name in {"cli", "pytest_plugin", "lint_rules"}:
            continue
        module = importlib.import_module(f"durable_testkit.{info.name}")
        for name in getattr(module, "__all__", []):
            obj = getattr(module, name)
            if inspect.ismodule(obj):
                continue
            if name not in exported and f"{info.name}.{name}" not in MODULE_ONLY \
                    and info.name not in MODULE_ONLY_MODULES:
                missing.append(f"{info.name}.{name}")
    assert missing == []


def test_nothing_private_is_exported() -> None:
    assert [n for n in durable_testkit.__all__ if n.startswith("_")] == []


def _public_modules():
    for info in pkgutil.iter_modules(durable_testkit.__path__):
        if info.name.startswith("_") or info.name in {"cli", "pytest_plugin", "lint_rules"}:
            continue
        yield info.name, importlib.import_module(f"durable_testkit.{info.name}")


def test_every_public_definition_of_a_public_module_is_in_its_all() -> None:
    # A public class or function a module defines but leaves out of __all__ is public by
    # accident: either list it (and export it) or underscore it.
    unlisted = []
    for name, module in _public_modules():
        listed = set(getattr(module, "__all__", ()))
        for attr, obj in vars(module).items():
            if attr.startswith("_") or inspect.ismodule(obj):
                continue
            if (inspect.isclass(obj) or inspect.isfunction(obj)) and \
                    getattr(obj, "__module__", None) == module.__name__ and attr not in listed:
                unlisted.append(f"{name}.{attr}")
    assert unlisted == []


def test_the_package_namespace_holds_only_what_all_lists() -> None:
    for name in durable_testkit.__all__:
        getattr(durable_testkit, name)  # load every lazy export
    stray = [n for n in vars(durable_testkit) if not n.startswith("_")
             and not inspect.ismodule(getattr(durable_testkit, n))
             and n not in durable_testkit.__all__ and n not in {"annotations", "importlib",
                                                                "TYPE_CHECKING", "Any", "Dict",
                                                                "List"}]
    assert stray == []
