"""Payloads never import a module or run from_json of a class the app did not allow.

The SDK decodes ``{"__class__", "__module__", "__data__"}`` by calling the named class's
``from_json`` (azure-functions < 1.26 imports the module first). Each test feeds such an
envelope through one decode path (start input, activity input, event data, entity input,
a stored history, a request to serve) and checks the class is refused by name, nothing is
imported, and the app's own classes still round-trip.
"""
from __future__ import annotations

import asyncio
import json
import sys
import textwrap
from pathlib import Path
from typing import Any, Iterator

import azure.durable_functions as df
import pytest
from azure.functions import _durable_functions as codec

from durable_testkit import InMemoryRuntime, OrchestrationRuntimeStatus
from durable_testkit import _sdk
from durable_testkit._payloads import register_payload_class
from durable_testkit.errors import PayloadRejected
from durable_testkit.replay import replay_history

Status = OrchestrationRuntimeStatus


class Point:
    """An app class, defined in this (the orchestrator's) module: allowed."""

    def __init__(self, x: int) -> None:
        self.x = x

    @staticmethod
    def to_json(obj: "Point") -> Any:
        return {"x": obj.x}

    @staticmethod
    def from_json(data: Any) -> "Point":
        return Point(data["x"])


def envelope(module: str, cls: str, data: Any = None) -> dict:
    return {"__class__": cls, "__module__": module, "__data__": data or {}}


@pytest.fixture
def trap(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A module on sys.path whose import would leave a mark: it must never be imported."""
    name = f"payload_trap_{tmp_path.name.replace('-', '_')}"
    (tmp_path / f"{name}.py").write_text(textwrap.dedent('''
        import os
        os.environ["PAYLOAD_TRAP_IMPORTED"] = "1"
        class Evil:
            @staticmethod
            def from_json(data):
                os.environ["PAYLOAD_TRAP_RAN"] = "1"
    '''))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delenv("PAYLOAD_TRAP_IMPORTED", raising=False)
    yield name
    assert name not in sys.modules
    import os
    assert "PAYLOAD_TRAP_IMPORTED" not in os.environ


def echo_input(context: df.DurableOrchestrationContext) -> Any:
    value = context.get_input()
    seen = yield context.call_activity("kind", value)
    return [type(value).__name__, seen]


def kind(value: Any) -> str:
    return type(value).__name__


def make(**options: Any) -> InMemoryRuntime:
    rt = InMemoryRuntime(**options)
    rt.register_orchestrator("echo_input", echo_input)
    rt.register_activity("kind", kind)
    return rt


def start_raw(rt: InMemoryRuntime, payload: Any, iid: str) -> str:
    # The input as a file or a request would carry it: text, not a Python object.
    return rt._core.create_instance("echo_input", json.dumps(payload), iid, None)


# ---------------------------------------------------------------- allowed
def test_a_class_of_the_apps_own_module_still_round_trips() -> None:
    assert make().run("echo_input", Point(3)).output == ["Point", "Point"]


# ---------------------------------------------------------------- refused
def test_a_module_that_is_not_imported_is_never_imported(trap: str) -> None:
    rt = make()
    result = rt.wait(start_raw(rt, envelope(trap, "Evil"), "t-1"))
    assert result.runtime_status == Status.Failed
    assert f"A payload asks to rebuild {trap}.Evil" in (result.error or "")
    assert "its module is not imported" in (result.error or "")


def test_our_own_instance_history_is_refused_not_reported_as_a_file_error() -> None:
    rt = make()
    result = rt.wait(start_raw(rt, envelope("durable_testkit.history", "InstanceHistory"),
                               "t-2"))
    assert result.runtime_status == Status.Failed
    error = result.error or ""
    assert "durable_testkit.history.InstanceHistory" in error
    assert "belongs to durable-testkit, the SDK or the test runner" in error
    assert "HistoryFormatError" not in error


def test_a_loaded_third_party_class_is_refused() -> None:
    rt = make()
    result = rt.wait(start_raw(rt, envelope("azure.durable_functions", "EntityId"), "t-3"))
    assert "azure.durable_functions.EntityId" in (result.error or "")
    result = rt.wait(start_raw(rt, envelope("json.decoder", "JSONDecoder"), "t-4"))
    assert "standard library or an installed package" in (result.error or "")


@pytest.mark.skipif(not hasattr(codec, "df_loads"),
                    reason="azure-functions before 1.26 (the newest on Python 3.9) has no "
                           "df_loads and words its converter errors differently")
def test_activity_input_names_the_class_instead_of_a_vague_value_error(trap: str) -> None:
    def passes_raw(context: df.DurableOrchestrationContext) -> Any:
        return (yield context.call_activity("kind", context.get_input()))

    rt = make()
    rt.register_orchestrator("passes_raw", passes_raw)
    # What the executor does inside the host: the converter's vague ValueError is unwrapped.
    from durable_testkit import _payloads

    with _payloads.scope(rt._core.payloads):
        with pytest.raises(PayloadRejected, match=f"{trap}.Evil.*its module is not imported"):
            _sdk.decode_activity_input(json.dumps([envelope(trap, "Evil")]))
    # The orchestrator's own decode refuses such an input first, so run the executor by hand.
    with _payloads.scope(rt._core.payloads):  # as Scheduler.step runs it
        outcome = rt._core.executor.run(_activity_execution(json.dumps(envelope(trap, "Evil"))),
                                        rt._registry.activities["kind"])
    assert isinstance(outcome.exception, PayloadRejected)


def _activity_execution(input_text: str) -> Any:
    from durable_testkit._host.activities import ActivityExecution

    return ActivityExecution("kind", input_text, "i-1", "x-1", "passes_raw", 0, 1, 1)


def test_event_data_is_vetted(trap: str) -> None:
    def waits(context: df.DurableOrchestrationContext) -> Any:
        return (yield context.wait_for_external_event("go"))

    rt = make()
    rt.register_orchestrator("waits", waits)
    iid = rt.start("waits", instance_id="e-1")
    rt.run_until_idle()
    rt.raise_event(iid, "go", envelope(trap, "Evil"))
    result = rt.wait(iid)
    assert result.runtime_status == Status.Failed
    assert f"{trap}.Evil" in (result.error or "")


def test_entity_operation_input_is_vetted(trap: str) -> None:
    def keeps(context: df.DurableEntityContext) -> None:
        context.set_state(type(context.get_input()).__name__)

    rt = make()
    rt.register_entity("keeps", keeps)
    entity = df.EntityId("keeps", "k")
    rt.signal_entity(entity, "put", envelope(trap, "Evil"))
    rt.run_until_idle()
    assert rt.entity_state(entity) is None  # the operation failed: nothing was stored
    rt.signal_entity(entity, "put", Point(1))
    rt.run_until_idle()
    assert rt.entity_state(entity) == "Point"


def test_a_stored_history_replays_without_importing(trap: str) -> None:
    rt = make()
    history = rt.export_history(rt.run("echo_input", 1, instance_id="h-1").instance_id)
    events = [dict(e) for e in history.to_wire()]
    started = [e for e in events if e.get("EventType") == 0]  # ExecutionStarted
    assert len(started) == 1
    started[0]["Input"] = json.dumps(envelope(trap, "Evil"))
    result = replay_history(echo_input, events)
    assert f"{trap}.Evil" in (result.error or "")


def test_a_request_to_serve_cannot_name_a_class(trap: str) -> None:
    rt = make()

    async def go() -> Any:
        iid = await rt.client.start_new("echo_input", "s-1", envelope(trap, "Evil"))
        return iid

    iid = asyncio.run(go())
    result = rt.wait(iid)
    assert result.runtime_status == Status.Failed
    assert f"{trap}.Evil" in (result.error or "")


# ---------------------------------------------------------------- opting in
class Elsewhere:
    """Stands for a class of a shared models package: not an app module of the runtime."""

    @staticmethod
    def to_json(obj: "Elsewhere") -> Any:
        return {}

    @staticmethod
    def from_json(data: Any) -> "Elsewhere":
        return Elsewhere()


def _moved(monkeypatch: pytest.MonkeyPatch) -> str:
    # Give the class a module of its own that the runtime does not know.
    import types

    module = types.ModuleType("shared_models_for_payload_tests")
    module.__file__ = __file__.replace("test_payload_security", "shared_models")
    module.Elsewhere = Elsewhere  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, module.__name__, module)
    monkeypatch.setattr(Elsewhere, "__module__", module.__name__)
    return module.__name__


def test_a_class_outside_the_app_needs_registering(monkeypatch: pytest.MonkeyPatch) -> None:
    name = _moved(monkeypatch)
    payload = envelope(name, "Elsewhere")
    rt = make()
    refused = rt.wait(start_raw(rt, payload, "r-1"))
    assert "is not defined in one of the app's modules" in (refused.error or "")
    assert "InMemoryRuntime(payload_classes=[Cls])" in (refused.error or "")
    allowed = make(payload_classes=[Elsewhere])
    assert allowed.wait(start_raw(allowed, payload, "r-2")).output == ["Elsewhere", "Elsewhere"]


def test_register_payload_class_allows_it_everywhere(monkeypatch: pytest.MonkeyPatch) -> None:
    import durable_testkit._payloads as payloads

    monkeypatch.setattr(payloads, "_registered", {})
    name = _moved(monkeypatch)
    register_payload_class(Elsewhere)
    rt = make()
    assert rt.wait(start_raw(rt, envelope(name, "Elsewhere"), "g-1")).output == [
        "Elsewhere", "Elsewhere"]
    with pytest.raises(TypeError, match="has no from_json"):
        register_payload_class(int)


# ---------------------------------------------------------------- the hook itself
@pytest.mark.skipif(not hasattr(codec, "df_loads"),
                    reason="azure-functions before 1.26 (the newest on Python 3.9) has no "
                           "df_loads and words its converter errors differently")
def test_the_sdk_hook_is_swapped_and_untouched_outside_the_host() -> None:
    assert codec._deserialize_custom_object is _sdk._vetted_object_hook
    # Outside any runtime, user code decoding its own payloads keeps the SDK's behaviour.
    assert isinstance(codec.df_loads(json.dumps(Point(2), default=codec._serialize_custom_object)),
                      Point)


def test_uninstall_gives_the_sdk_its_hook_back() -> None:
    try:
        assert _sdk.uninstall_payload_guard() >= 1
        assert codec._deserialize_custom_object is _sdk._SDK_OBJECT_HOOK
    finally:
        _sdk.install_payload_guard()
    assert codec._deserialize_custom_object is _sdk._vetted_object_hook
