"""Entities called and signalled from orchestrations, on the real SDK."""
from __future__ import annotations

import json
from pathlib import Path

import azure.durable_functions as df
import pytest

from durable_testkit import EventType, InMemoryRuntime, OrchestrationStuck
from durable_testkit import OrchestrationRuntimeStatus as S
from durable_testkit._host import entities as _entities
from entity_functions import counter


APPS = Path(__file__).resolve().parents[1] / "apps"
COUNTER = df.EntityId("Counter", "myCounter")


# The orchestration of the Durable docs: signal, then call.
def counter_orchestration(context: df.DurableOrchestrationContext):
    context.signal_entity(COUNTER, "add", 1)
    state = yield context.call_entity(COUNTER, "get")
    return state


@pytest.fixture
def rt() -> InMemoryRuntime:
    runtime = InMemoryRuntime()
    runtime.register_entity("Counter", counter)
    runtime.register_orchestrator("counter_orchestration", counter_orchestration)
    return runtime


def test_docs_orchestration_signals_then_calls(rt: InMemoryRuntime) -> None:
    result = rt.run("counter_orchestration")
    assert result.runtime_status == S.Completed
    assert result.output == 1
    assert rt.run("counter_orchestration").output == 2
    assert rt.entity_state(COUNTER) == 2


def test_wire_events(rt: InMemoryRuntime) -> None:
    result = rt.run("counter_orchestration")
    sent = [e for e in result.history.events if e.event_type == EventType.EventSent]
    raised = [e for e in result.history.events if e.event_type == EventType.EventRaised]
    assert [(e.event_id, e.instance_id, e.name) for e in sent] == [
        (0, "@counter@myCounter", "op"), (1, "@counter@myCounter", "op")]
    signal, call = (json.loads(e.input) for e in sent)
    assert signal["signal"] is True and signal["op"] == "add" and signal["input"] == '"1"'
    assert "signal" not in call and call["op"] == "get" and call["input"] == '"null"'
    assert call["parent"] == result.instance_id and call["parentExecution"] == result.execution_id
    assert [(e.name, e.input) for e in raised] == [(call["id"], '{"result": "1"}')]


def test_request_ids_are_deterministic() -> None:
    def run() -> list:
        rt = InMemoryRuntime(seed=7)
        rt.register_entity("Counter", counter)
        rt.register_orchestrator("counter_orchestration", counter_orchestration)
        return [e.input for e in rt.run("counter_orchestration").history.events
                if e.event_type == EventType.EventSent]

    assert run() == run()


@pytest.mark.parametrize("app, name", [(APPS / "v2_app", "counter"), (APPS / "v1_app", "Counter")])
def test_sample_app_entities_from_an_orchestration(app: Path, name: str) -> None:
    rt = InMemoryRuntime.from_app(app)
    e = df.EntityId(name, "k")

    def orch(ctx: df.DurableOrchestrationContext):
        yield ctx.call_entity(e, "add", 20)
        ctx.signal_entity(e, "add", 22)
        return (yield ctx.call_entity(e, "get"))

    rt.register_orchestrator("orch", orch)
    assert rt.run("orch").output == 42


def test_failed_operation_reaches_the_caller_as_an_exception(rt: InMemoryRuntime) -> None:
    def orch(ctx: df.DurableOrchestrationContext):
        try:
            yield ctx.call_entity(COUNTER, "fail", "divide")
        except Exception as exc:
            caught = f"{type(exc).__name__}: {exc}"
        value = yield ctx.call_entity(COUNTER, "get")
        return caught, value

    rt.register_orchestrator("orch", orch)
    assert rt.run("orch").output == ["Exception: cannot divide", 0]

    def uncaught(ctx: df.DurableOrchestrationContext):
        yield ctx.call_entity(COUNTER, "fail", "go on")

    rt.register_orchestrator("uncaught", uncaught)
    result = rt.run("uncaught")
    assert result.runtime_status == S.Failed
    assert "cannot go on" in result.output
    responses = [e.input for e in result.history.events if e.event_type == EventType.EventRaised]
    assert responses == ['{"result": "\\"cannot go on\\"", "exceptionType": "Error"}']


def test_call_to_unknown_entity_is_ignored_as_the_extension_ignores_it(
        rt: InMemoryRuntime) -> None:
    # ext: CallEntityAsync goes through the async CallDurableTaskFunctionAsync, whose name
    # check faults the task the shim awaits and ignores: nothing is sent, the call never
    # answers, and the orchestrator's except never runs.
    def orch(ctx: df.DurableOrchestrationContext):
        try:
            yield ctx.call_entity(df.EntityId("Countr", "k"), "get")
        except Exception as exc:  # never reached
            return str(exc)

    rt.register_orchestrator("orch", orch)
    iid = rt.start("orch")
    with pytest.raises(OrchestrationStuck) as info:
        rt.wait(iid)
    assert rt.status(iid).runtime_status == S.Running
    assert ("the entity call to 'countr', which the host never scheduled: The function 'countr' "
            "doesn't exist, is disabled, or is not an entity function. Additional info: The "
            "following are the known entity functions: 'counter'. Did you mean 'counter'?"
            ) in str(info.value)


def test_signal_to_unknown_entity_fails_the_orchestration(rt: InMemoryRuntime) -> None:
    def orch(ctx: df.DurableOrchestrationContext):
        ctx.signal_entity(df.EntityId("nothing", "k"), "add", 1)
        return "sent"
        yield  # a generator

    rt.register_orchestrator("orch", orch)
    result = rt.run("orch")
    assert result.runtime_status == S.Failed
    assert "The function 'nothing' doesn't exist" in result.error


def test_runtime_and_orchestration_signals_keep_falsy_inputs() -> None:
    def box(context: df.DurableEntityContext) -> None:
        context.set_state(context.get_input())

    rt = InMemoryRuntime()
    rt.register_entity("box", box)
    via_client, via_orch = df.EntityId("box", "client"), df.EntityId("box", "orch")
    rt.signal_entity(via_client, "put", 0)  # like the HTTP API: the body is sent as given

    def orch(ctx: df.DurableOrchestrationContext):
        ctx.signal_entity(via_orch, "put", 0)
        return None
        yield

    rt.register_orchestrator("orch", orch)
    rt.run("orch")
    rt.run_until_idle()
    assert _entities.read_entity_state(rt._core, via_client) == (True, "0")
    assert _entities.read_entity_state(rt._core, via_orch) == (True, "0")


def test_responses_for_a_finished_caller_are_dropped(rt: InMemoryRuntime) -> None:
    def orch(ctx: df.DurableOrchestrationContext):
        yield ctx.call_entity(COUNTER, "get")

    rt.register_orchestrator("orch", orch)
    iid = rt.start("orch")
    # One scheduler step (internal, no public API stops mid-run): the episode that sends
    # the call; terminate before the entity answers.
    rt._core.step()
    rt.terminate(iid, "stop")
    rt.run_until_idle()
    assert rt.status(iid).runtime_status == S.Terminated
    assert rt.entity_state(COUNTER) == 0


def test_thousand_signals_from_a_hundred_concurrent_orchestrations(rt: InMemoryRuntime) -> None:
    def adder(ctx: df.DurableOrchestrationContext):
        base = ctx.get_input()
        for i in range(10):
            ctx.signal_entity(COUNTER, "add", base + i)
        return (yield ctx.call_entity(COUNTER, "get"))

    rt.register_orchestrator("adder", adder)
    ids = [rt.start("adder", n * 10) for n in range(100)]
    rt.run_until_idle()
    results = [rt.status(i) for i in ids]
    assert all(r.runtime_status == S.Completed for r in results)
    assert rt.entity_state(COUNTER) == sum(range(1000))
    # The last answer saw everything; each orchestration saw at least its own ten adds.
    assert max(r.output for r in results) == sum(range(1000))
    assert all(r.output >= sum(range(n * 10, n * 10 + 10)) for n, r in enumerate(results))
    status = _entities.entity_status(rt._core, COUNTER)
    assert status is not None and status.operations_run == 1100


def test_unknown_entity_text_with_no_entities_lists_none_as_the_extension_does() -> None:
    # ext GetInvalidEntityFunctionMessage tests whether any *orchestrator* is known before it
    # lists the (here empty) entities, so the text names an empty list.
    def orch(ctx: df.DurableOrchestrationContext):
        ctx.signal_entity(df.EntityId("nothing", "k"), "add", 1)
        return "sent"
        yield  # a generator

    bare = InMemoryRuntime()
    bare.register_orchestrator("orch", orch)
    result = bare.run("orch")
    assert result.error == (
        "Orchestrator function 'orch' failed: The function 'nothing' doesn't exist, is "
        "disabled, or is not an entity function. Additional info: The following are the "
        "known entity functions: ''.")
