"""The stock handle gets the history's dicts, exactly what json.loads of the context text gives.

``_sdk_context`` lets the SDK's own handle take the context parsed already, so an
episode costs no whole-history text. That is only right if every field, type for
type, is what the SDK would have parsed from the text the host sent before, and
if anything that is not the stock handle still gets text. These tests hold both.
"""
from __future__ import annotations

import json
from datetime import timedelta
from typing import Any, Dict, List
from unittest import mock

import azure.durable_functions as df
from hypothesis import HealthCheck, given, settings, strategies as st

import _host_made
from durable_testkit import InMemoryRuntime, _sdk, _sdk_context, faults
from durable_testkit._sdk_context import ParsedContext


def workflow(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
    plan = context.get_input()
    total = 0
    for i in range(plan["chain"]):
        total = yield context.call_activity("double", total + i)
    if plan["fan"]:
        total += sum((yield context.task_all([context.call_activity("double", i)
                                              for i in range(plan["fan"])])))
    if plan["timer"]:
        yield context.create_timer(context.current_utc_datetime + timedelta(minutes=5))
    if plan["child"]:
        total += yield context.call_sub_orchestrator("child", total, instance_id="kid")
    if plan["event"]:
        total += yield context.wait_for_external_event("Approval")
    if plan["entity"]:
        eid = df.EntityId("counter", "c")
        context.signal_entity(eid, "add", 2)
        total += yield context.call_entity(eid, "get")
    if plan["retry"]:
        try:
            yield context.call_activity_with_retry(
                "explode", df.RetryOptions(first_retry_interval_in_milliseconds=1000,
                                           max_number_of_attempts=2), "boom")
        except Exception:  # noqa: BLE001 - the failure is the point: TaskFailed in history
            total += 1
    if plan["again"] > 0:
        context.continue_as_new(dict(plan, again=plan["again"] - 1))
        return None
    context.set_custom_status({"total": total, "tags": ["a", "b"]})
    return {"total": total, "none": None, "ok": True}


def _runtime() -> InMemoryRuntime:
    return _host_made.runtime(workflow)


def _drive(rt: InMemoryRuntime, plan: Dict[str, Any]) -> Any:
    iid = rt.start("workflow", plan, instance_id="w")
    rt.run_until_idle()
    rt.advance(timedelta(minutes=10))
    if plan["event"]:
        rt.raise_event(iid, "Approval", 5)
    rt.advance(timedelta(hours=1))
    rt.run_until_idle()
    status = rt.status(iid)
    return (status.runtime_status, status.output, status.custom_status,
            [e.to_wire() for e in rt.export_history(iid).events])


def _same(parsed: Any, loaded: Any, path: str = "context") -> None:
    """Equal, and of the same type at every level (True is not 1, a tuple is not a list)."""
    assert type(parsed) is type(loaded), f"{path}: {type(parsed)} vs {type(loaded)}"
    if isinstance(parsed, dict):
        assert list(parsed) == list(loaded), path
        for key in parsed:
            _same(parsed[key], loaded[key], f"{path}.{key}")
    elif isinstance(parsed, list):
        assert len(parsed) == len(loaded), path
        for i, (a, b) in enumerate(zip(parsed, loaded)):
            _same(a, b, f"{path}[{i}]")
    else:
        assert parsed == loaded, path


plans = st.fixed_dictionaries({
    "chain": st.integers(0, 3), "fan": st.integers(0, 3), "timer": st.booleans(),
    "child": st.booleans(), "event": st.booleans(), "entity": st.booleans(),
    "retry": st.booleans(), "again": st.integers(0, 1)})


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plan=plans, crash=st.booleans())
def test_every_parsed_context_is_what_json_loads_of_its_text_gives(
        plan: Dict[str, Any], crash: bool) -> None:
    seen: List[ParsedContext] = []
    real = _sdk.parsed_context

    def checked(history: List[Dict[str, Any]], *args: Any) -> ParsedContext:
        ctx = real(history, *args)
        text = _sdk.build_context_json(json.dumps(history, separators=(",", ":"))[1:-1],
                                       *args)
        _same(ctx.fields, json.loads(text))
        seen.append(ctx)
        return ctx

    rt = _runtime()
    if crash:  # a lost episode: its events go, its messages are delivered again
        rt.inject(faults.crash_episode("workflow", when=2), check_name=False)
    with mock.patch.object(_sdk, "parsed_context", checked):
        try:
            _drive(rt, plan)
        finally:
            rt.close()
    assert seen  # the stock handle took the parsed path every episode


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plan=plans)
def test_stock_text_and_parsed_context_give_the_same_run(plan: Dict[str, Any]) -> None:
    rt = _runtime()
    try:
        parsed = _drive(rt, plan)
    finally:
        rt.close()
    _sdk_context.install(stock=True)
    try:
        assert not _sdk_context.installed()
        rt = _runtime()
        try:
            assert _drive(rt, plan) == parsed
        finally:
            rt.close()
    finally:
        assert _sdk_context.install(stock=False)


def test_only_the_stock_handle_takes_the_parsed_context() -> None:
    stock = df.Orchestrator.create(_host_made.child)
    sent: List[type] = []

    def wrapper(context: Any) -> str:  # a user's own handle around the SDK's
        sent.append(type(context))
        return stock(context)

    wrapper.orchestrator_function = _host_made.child  # type: ignore[attr-defined]
    assert _sdk.takes_parsed(stock) and not _sdk.takes_parsed(wrapper)
    rt = InMemoryRuntime()
    rt.register_orchestrator("child", wrapper)
    rt.register_activity("double", lambda x: x * 2)
    try:
        assert rt.run("child", 4).output == 8
    finally:
        rt.close()
    assert sent and set(sent) == {str}


def test_without_the_swap_the_stock_handle_gets_text() -> None:
    _sdk_context.install(stock=True)
    try:
        assert not _sdk.takes_parsed(df.Orchestrator.create(_host_made.child))
        context = _sdk.episode_context(df.Orchestrator.create(_host_made.child), [], None, "i", None)
        assert isinstance(context, str) and json.loads(context)["instanceId"] == "i"
    finally:
        assert _sdk_context.install(stock=False)


def test_a_patch_of_someone_elses_is_left_alone() -> None:
    cls = df.DurableOrchestrationContext
    _sdk_context.uninstall()
    saved = cls.__dict__["from_json"]
    mine = classmethod(lambda c, text: "mine")
    cls.from_json = mine  # type: ignore[method-assign,assignment]
    try:
        assert not _sdk_context.install(stock=False)
        assert cls.__dict__["from_json"] is mine
    finally:
        cls.from_json = saved  # type: ignore[method-assign]
        assert _sdk_context.install(stock=False)


def test_the_stock_from_json_still_parses_text() -> None:
    text = _sdk.build_context_json(
        '{"EventType":12,"EventId":-1,"IsPlayed":false,"Timestamp":"2024-01-01T00:00:00Z"}',
        None, "t-1", None)
    assert df.DurableOrchestrationContext.from_json(text).instance_id == "t-1"


def test_a_typed_history_reaches_the_sdk_as_plain_json_values() -> None:
    # A typed event keeps nested values frozen (mappingproxy, tuples); the text the SDK
    # used to parse turned them into dicts and lists, and so must the parsed context.
    import dataclasses

    from durable_testkit import InstanceHistory, replay_history
    from durable_testkit.history import ExecutionStarted

    rt = _runtime()
    try:
        rt.run("child", 3, instance_id="typed-1")
        exported = rt.export_history("typed-1")
    finally:
        rt.close()
    events = [dataclasses.replace(e, extra={"Tags": {"team": "a"}, "Trace": ["x", 1]})
              if isinstance(e, ExecutionStarted) else e for e in exported.events]
    history = InstanceHistory(orchestrator="child", instance_id="typed-1", events=events)
    seen: List[ParsedContext] = []
    real = _sdk.parsed_context

    def spy(*args: Any) -> ParsedContext:
        seen.append(real(*args))
        return seen[-1]

    with mock.patch.object(_sdk, "parsed_context", spy):
        assert replay_history(df.Orchestrator.create(_host_made.child), history).output == 6
    (ctx,) = seen
    started = next(e for e in ctx.fields["history"] if e["EventType"] == 0)
    assert started["Tags"] == {"team": "a"} and type(started["Tags"]) is dict
    assert started["Trace"] == ["x", 1] and type(started["Trace"]) is list
    _same(ctx.fields, json.loads(json.dumps(ctx.fields)))
