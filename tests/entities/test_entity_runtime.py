"""Entities driven from the runtime: registration, batches, state, errors."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, List

import azure.durable_functions as df
import pytest

from durable_testkit import (DurableTestkitError, InMemoryRuntime, InvalidOperationError,
                             SerializationError, UnknownFunctionError)
from durable_testkit._host import entities as _entities
from entity_functions import counter


APPS = Path(__file__).resolve().parents[1] / "apps"


def log_entity(context: df.DurableEntityContext) -> None:
    """Appends every input, to see arrival order."""
    items = context.get_state(list)
    if context.operation_name == "append":
        items.append(context.get_input())
    context.set_state(items)


class Spy:
    """Records the batch JSON the host sends, then runs the real SDK handle."""

    def __init__(self, fn: Any) -> None:
        self.entity_function = fn
        self.handle = df.Entity.create(fn)
        self.requests: List[Dict[str, Any]] = []
        self.responses: List[Dict[str, Any]] = []

    def __call__(self, body: str) -> str:
        self.requests.append(json.loads(body))
        out = self.handle(body)
        self.responses.append(json.loads(out))
        return out


@pytest.fixture
def rt() -> InMemoryRuntime:
    runtime = InMemoryRuntime()
    runtime.register_entity("Counter", counter)
    return runtime


# ---------------------------------------------------------------- the counter
def test_counter_from_signals(rt: InMemoryRuntime) -> None:
    e = df.EntityId("Counter", "k1")
    assert rt.entity_state(e) is None
    rt.signal_entity(e, "add", 5)
    rt.signal_entity(e, "add", 3)
    assert rt.entity_state(e) is None  # nothing runs until the runtime runs
    rt.run_until_idle()
    assert rt.entity_state(e) == 8
    assert _entities.read_entity_state(rt._core, e) == (True, "8")
    rt.signal_entity(e, "reset")
    rt.run_until_idle()
    assert rt.entity_state(e) == 0


def test_name_is_case_insensitive_and_key_case_sensitive(rt: InMemoryRuntime) -> None:
    rt.signal_entity(df.EntityId("COUNTER", "k"), "add", 1)
    rt.signal_entity("@counter@k", "add", 2)
    rt.signal_entity(df.EntityId("counter", "K"), "add", 10)
    rt.run_until_idle()
    assert rt.entity_state(df.EntityId("Counter", "k")) == 3
    assert rt.entity_state("@counter@K") == 10
    assert [s.entity_id for s in _entities.list_entities(rt._core)] == ["@counter@k", "@counter@K"]


@pytest.mark.parametrize("app, name", [(APPS / "v2_app", "counter"), (APPS / "v1_app", "Counter")])
def test_counter_from_sample_apps(app: Path, name: str) -> None:
    rt = InMemoryRuntime.from_app(app)
    e = df.EntityId(name, "shared")
    for n in (1, 2, 3):
        rt.signal_entity(e, "add", n)
    rt.run_until_idle()
    assert rt.entity_state(e) == 6


@pytest.mark.parametrize("form", ["plain", "handle", "v2-builder"])
def test_every_registration_form(form: str) -> None:
    rt = InMemoryRuntime()
    if form == "plain":
        rt.register_entity("c", counter)
    elif form == "handle":
        rt.register_entity("c", df.Entity.create(counter))
    else:
        app = df.DFApp()
        rt.register_entity("c", app.entity_trigger(context_name="context")(counter))
    rt.signal_entity(df.EntityId("c", "x"), "add", 4)
    rt.run_until_idle()
    assert rt.entity_state(df.EntityId("c", "x")) == 4


def test_async_entity_function_is_refused() -> None:
    async def bad(context: df.DurableEntityContext) -> None:
        pass

    rt = InMemoryRuntime()
    rt.register_entity("bad", bad)
    with pytest.raises(TypeError, match="Python entities are synchronous"):
        rt.signal_entity(df.EntityId("bad", "k"), "op")


# ---------------------------------------------------------------- batches
def test_batch_json_is_what_the_host_sends() -> None:
    spy = Spy(counter)
    rt = InMemoryRuntime()
    rt.register_entity("Counter", spy)
    e = df.EntityId("Counter", "k1")
    rt.signal_entity(e, "add", 5)
    rt.signal_entity(e, "get", {"x": 1})
    rt.run_until_idle()
    assert spy.requests == [{
        "self": {"name": "counter", "key": "k1"}, "exists": False, "state": None,
        "batch": [{"name": "add", "input": '"5"', "isSignal": True},
                  {"name": "get", "input": json.dumps('{"x": 1}'), "isSignal": True}]}]
    response = spy.responses[0]
    assert response["entityExists"] is True and response["entityState"] == "5"
    assert [r["result"] for r in response["results"]] == ["null", "5"]
    assert response["signals"] == []
    rt.signal_entity(e, "add", 1)
    rt.run_until_idle()
    assert spy.requests[1]["exists"] is True and spy.requests[1]["state"] == "5"


def test_batch_size_and_arrival_order() -> None:
    spy = Spy(log_entity)
    rt = InMemoryRuntime()
    rt.register_entity("log", spy)
    e = df.EntityId("log", "a")
    for i in range(1, 121):
        rt.signal_entity(e, "append", i)
    rt.run_until_idle()
    assert [len(r["batch"]) for r in spy.requests] == [50, 50, 20]
    assert rt.entity_state(e) == list(range(1, 121))

    spy.requests.clear()
    rt.entity_batch_size = 7  # type: ignore[attr-defined]
    for i in range(10):
        rt.signal_entity(e, "append", -i - 1)
    rt.run_until_idle()
    assert [len(r["batch"]) for r in spy.requests] == [7, 3]
    assert rt.entity_state(e)[-10:] == [-i - 1 for i in range(10)]


def test_bad_batch_size(rt: InMemoryRuntime) -> None:
    rt.entity_batch_size = 0  # type: ignore[attr-defined]
    rt.signal_entity(df.EntityId("counter", "k"), "add", 1)
    with pytest.raises(InvalidOperationError,
                       match=r"rt.entity_batch_size must be a positive int, got 0"):
        rt.run_until_idle()


# ---------------------------------------------------------------- state
@pytest.mark.parametrize("state", [
    {"a": [1, 2.5, None, True], "ü": "ünïcödé"}, [], "", 0, False, [[{"deep": {"er": 1}}]],
])
def test_state_json_round_trip(state: Any) -> None:
    def holder(context: df.DurableEntityContext) -> None:
        if context.operation_name == "set":
            context.set_state(context.get_input())
        else:
            context.set_result(context.get_state())

    rt = InMemoryRuntime()
    rt.register_entity("holder", holder)
    e = df.EntityId("holder", "k")
    # Through an orchestration: the client path would drop falsy inputs (see the quirk test).
    def orch(ctx: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
        ctx.signal_entity(e, "set", state)
        return (yield ctx.call_entity(e, "get"))

    rt.register_orchestrator("orch", orch)
    assert rt.run("orch").output == state
    assert rt.entity_state(e) == state
    assert _entities.read_entity_state(rt._core, e) == (True, json.dumps(state))


def test_state_untouched_by_a_batch_is_kept_verbatim() -> None:
    def noop(context: df.DurableEntityContext) -> None:
        if context.operation_name == "set":
            context.set_state(context.get_input())

    rt = InMemoryRuntime()
    rt.register_entity("noop", noop)
    e = df.EntityId("noop", "k")
    rt.signal_entity(e, "set", {"b": 1, "a": [1]})
    rt.run_until_idle()
    rt.signal_entity(e, "look")
    rt.run_until_idle()
    assert _entities.read_entity_state(rt._core, e) == (True, '{"b": 1, "a": [1]}')


def test_destruct_on_exit() -> None:
    def deletable(context: df.DurableEntityContext) -> None:
        if context.operation_name == "delete":
            context.destruct_on_exit()
        else:
            context.set_state(context.get_state(lambda: 0) + 1)

    rt = InMemoryRuntime()
    rt.register_entity("d", deletable)
    e = df.EntityId("d", "k")
    rt.signal_entity(e, "bump")
    rt.signal_entity(e, "bump")
    rt.signal_entity(e, "delete")
    rt.run_until_idle()
    assert rt.entity_state(e) is None
    assert _entities.read_entity_state(rt._core, e) == (False, None)
    status = _entities.entity_status(rt._core, e)
    assert status is not None and status.exists is False and status.operations_run == 3
    rt.signal_entity(e, "bump")  # a deleted entity starts again from nothing
    rt.run_until_idle()
    assert rt.entity_state(e) == 1


def test_status_of_entities(rt: InMemoryRuntime) -> None:
    assert _entities.entity_status(rt._core, "@counter@none") is None
    rt.signal_entity("@counter@k", "add", 2)
    status = _entities.entity_status(rt._core, "@counter@k")
    assert status is not None
    assert (status.exists, status.pending_operations, status.last_modified) == (False, 1, None)
    rt.run_until_idle()
    status = _entities.entity_status(rt._core, "@counter@k")
    assert status == _entities.EntityStatus("@counter@k", "counter", "k", True, 2, 0, 1, rt.now)
    assert "@counter@k" not in rt.instance_ids  # entities are not orchestration instances here


# ---------------------------------------------------------------- errors and bad input
def test_operation_that_raises_keeps_the_state_it_set() -> None:
    def fragile(context: df.DurableEntityContext) -> None:
        value = context.get_state(lambda: 0)
        if context.operation_name == "half-then-fail":
            context.set_state(value + 100)
            raise ValueError("boom")
        context.set_state(value + 1)

    spy = Spy(fragile)
    rt = InMemoryRuntime()
    rt.register_entity("fragile", spy)
    e = df.EntityId("fragile", "k")
    rt.signal_entity(e, "inc")
    rt.signal_entity(e, "half-then-fail")
    rt.signal_entity(e, "inc")
    rt.run_until_idle()
    results = spy.responses[0]["results"]
    assert [r["isError"] for r in results] == [False, True, False]
    assert results[1]["result"] == '"boom"'
    assert rt.entity_state(e) == 102  # no rollback, as the SDK reports it


def test_unknown_operation_is_up_to_the_function(rt: InMemoryRuntime) -> None:
    e = df.EntityId("counter", "k")
    rt.signal_entity(e, "add", 2)
    rt.signal_entity(e, "no-such-operation", 7)
    rt.run_until_idle()
    assert rt.entity_state(e) == 2


def test_signal_to_unknown_entity_names_the_registered_ones(rt: InMemoryRuntime) -> None:
    rt.register_entity("log", log_entity)
    with pytest.raises(UnknownFunctionError) as info:
        rt.signal_entity(df.EntityId("countr", "k"), "add", 1)
    assert str(info.value) == (
        "No entity function named 'countr' is registered. Did you mean 'counter'? "
        "Registered entity functions: counter, log.")
    assert rt.entity_state(df.EntityId("countr", "k")) is None


@pytest.mark.parametrize("entity_id, error, message", [
    (123, TypeError, "entity_id must be a df.EntityId or an '@name@key' string, not int (123)"),
    ("counter@k", InvalidOperationError, "'counter@k' is not an entity id. Pass "
     "df.EntityId(name, key) or the scheduler id '@name@key' (for example '@counter@k1')."),
    ("@counter@", InvalidOperationError, "Entity id '@counter@' has an empty name or key; "
     "both are required."),
])
def test_bad_entity_ids(rt: InMemoryRuntime, entity_id: Any, error: type,
                        message: str) -> None:
    with pytest.raises(error) as info:
        rt.signal_entity(entity_id, "add", 1)
    assert str(info.value) == message
    with pytest.raises(error):
        rt.entity_state(entity_id)


def test_bad_operation_name_and_input(rt: InMemoryRuntime) -> None:
    e = df.EntityId("counter", "k")
    with pytest.raises(InvalidOperationError, match="non-empty string, got ''"):
        rt.signal_entity(e, "", 1)
    with pytest.raises(SerializationError, match="The input of entity operation 'add' is not "
                                                 "JSON serializable"):
        rt.signal_entity(e, "add", {1, 2})
    assert _entities.entity_status(rt._core, e) is None


def test_unserializable_state_stops_the_run_with_a_teaching_error() -> None:
    def sets_a_set(context: df.DurableEntityContext) -> None:
        context.set_state({1, 2})

    rt = InMemoryRuntime()
    rt.register_entity("bad", sets_a_set)
    e = df.EntityId("bad", "k")
    rt.signal_entity(e, "go")
    with pytest.raises(DurableTestkitError) as info:
        rt.run_until_idle()
    text = str(info.value)
    assert text.startswith("Entity 'bad' (@bad@k) could not run a batch of 1 operation(s) (go): "
                           "TypeError: ")
    assert "no state was changed" in text
    assert _entities.entity_status(rt._core, e).pending_operations == 1  # type: ignore[union-attr]


def test_an_entity_operation_that_never_returns_is_stopped() -> None:
    from durable_testkit import RunawayFunction

    def stuck(context: df.DurableEntityContext) -> None:
        while True:
            pass

    rt = InMemoryRuntime(function_timeout=0.3)
    rt.register_entity("stuck", stuck)
    rt.signal_entity(df.EntityId("stuck", "k"), "spin")
    with pytest.raises(RunawayFunction, match="The entity 'stuck' \\(for instance '@stuck@k'\\)"):
        rt.run_until_idle()
