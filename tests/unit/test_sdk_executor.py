"""The SDK's executor defines its payload namedtuple once, not per episode, and can go stock."""
from __future__ import annotations

import importlib

import azure.durable_functions as df

from durable_testkit import InMemoryRuntime, _sdk_executor

_MODULE = importlib.import_module(_sdk_executor.SDK_TARGET[0])


def _chain(context):  # type: ignore[no-untyped-def]
    a = yield context.call_activity("inc", 1)
    b = yield context.call_activity("inc", a)
    return b


def _run() -> object:
    rt = InMemoryRuntime()
    rt.register_orchestrator("chain", df.Orchestrator.create(_chain))
    rt.register_activity("inc", lambda v: v + 1)
    try:
        return rt.run("chain").output
    finally:
        rt.close()


def test_installed_on_import_and_one_class_for_every_episode() -> None:
    assert _sdk_executor.installed()
    first = _MODULE.TaskOrchestrationExecutor().event_to_SetTaskValuePayload
    second = _MODULE.TaskOrchestrationExecutor().event_to_SetTaskValuePayload
    assert type(next(iter(first.values()))) is type(next(iter(second.values())))
    assert first == second


def test_stock_and_cached_give_the_same_run() -> None:
    cached = _run()
    _sdk_executor.install(stock=True)
    try:
        assert not _sdk_executor.installed()
        assert _MODULE.namedtuple is importlib.import_module("collections").namedtuple
        assert _run() == cached == 3
    finally:
        assert _sdk_executor.install(stock=False)


def test_a_patch_of_someone_elses_is_left_alone() -> None:
    _sdk_executor.uninstall()
    mine = object()
    saved, _MODULE.namedtuple = _MODULE.namedtuple, mine
    try:
        assert not _sdk_executor.install(stock=False)
        assert _MODULE.namedtuple is mine
    finally:
        _MODULE.namedtuple = saved
        assert _sdk_executor.install(stock=False)


def test_cached_namedtuple_passes_unusual_calls_through() -> None:
    a = _sdk_executor.cached_namedtuple("P", "x y")
    b = _sdk_executor.cached_namedtuple("P", "x y")
    assert a is not b and a._fields == ("x", "y")  # a string of names: not cached
    c = _sdk_executor.cached_namedtuple("P", ("x",), defaults=(1,))
    assert c().x == 1
