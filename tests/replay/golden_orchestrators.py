"""The orchestrators the golden exports in data/ were recorded from.

``order_workflow`` covers what a production history holds: a retried activity
(failed attempt, retry timer, success), a sub-orchestration, a durable timer, an
external event, a fan-out and continue-as-new (the first round also notifies, so
its History-table rows outnumber the second round's and some are left behind).
"""
from __future__ import annotations

import os
from datetime import timedelta
from typing import Any, Dict, Generator

import azure.durable_functions as df

#: The golden exports' folder.
DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")

RETRY = df.RetryOptions(first_retry_interval_in_milliseconds=1000, max_number_of_attempts=3)


def order_workflow(context: df.DurableOrchestrationContext) -> Generator[Any, Any, Any]:
    order: Dict[str, Any] = context.get_input()
    reserved = yield context.call_activity_with_retry("Reserve", RETRY, order["id"])
    shipped = yield context.call_sub_orchestrator("Ship", reserved)
    yield context.create_timer(context.current_utc_datetime + timedelta(minutes=5))
    approval = yield context.wait_for_external_event("Approve")
    labels = yield context.task_all([context.call_activity("Label", i) for i in range(3)])
    if order["round"] < 1:
        yield context.call_activity("Notify", order["id"])
        context.continue_as_new({"id": order["id"], "round": order["round"] + 1})
        return None
    return {"reserved": reserved, "shipped": shipped, "approval": approval, "labels": labels}


def ship(context: df.DurableOrchestrationContext) -> Generator[Any, Any, Any]:
    packed = yield context.call_activity("Pack", context.get_input())
    return packed


def fan_out(context: df.DurableOrchestrationContext) -> Generator[Any, Any, Any]:
    """Three different activities scheduled in one episode (at the same instant)."""
    results = yield context.task_all([context.call_activity("Alpha", 1),
                                      context.call_activity("Beta", 2),
                                      context.call_activity("Gamma", 3)])
    return results


def hello_sequence(context: df.DurableOrchestrationContext) -> Generator[Any, Any, Any]:
    """The docs' E1_HelloSequence."""
    out = []
    for city in ("Tokyo", "Seattle", "London"):
        out.append((yield context.call_activity("E1_SayHello", city)))
    return out


def run_order_workflow() -> Any:
    """Run order_workflow to completion on the in-memory host; return (runtime, instance id)."""
    from durable_testkit import InMemoryRuntime

    rt = InMemoryRuntime()
    rt.register_orchestrator("OrderWorkflow", order_workflow)
    rt.register_orchestrator("Ship", ship)
    rt.mock_activity("Reserve", side_effect=[RuntimeError("out of stock"), "R-1",
                                             RuntimeError("out of stock"), "R-2"])
    rt.mock_activity("Pack", side_effect=lambda r: f"box for {r}")
    rt.mock_activity("Label", side_effect=lambda i: f"label-{i}")
    rt.mock_activity("Notify", return_value=None)
    iid = rt.start("OrderWorkflow", {"id": "o-17", "round": 0}, instance_id="order-17")
    for approver in ("ann", "bob"):
        rt.advance(timedelta(minutes=10))
        rt.raise_event(iid, "Approve", approver)
    rt.wait(iid)
    return rt, iid


def run_fan_out() -> Any:
    from durable_testkit import InMemoryRuntime

    rt = InMemoryRuntime()
    rt.register_orchestrator("FanOut", fan_out)
    for name in ("Alpha", "Beta", "Gamma"):
        rt.mock_activity(name, side_effect=lambda x, n=name: f"{n}:{x}")
    iid = rt.start("FanOut", None, instance_id="fan-1")
    rt.wait(iid)
    return rt, iid
