"""Orchestrators, activities and an entity the fault tests share (real SDK generator functions).

``LEDGER`` is a stand-in for an external system (a payment provider): activities
append to it, so a test can count side effects. Each runtime a test builds with
:func:`runtime` starts with an empty ledger.
"""
from __future__ import annotations

from datetime import timedelta
from typing import Any, Dict, List

import azure.durable_functions as df

from durable_testkit import InMemoryRuntime

LEDGER: List[Any] = []
PAID: Dict[str, Any] = {}  # idempotency key -> receipt
EPISODES: Dict[str, int] = {}  # orchestrator code runs (replays included)


def charge(order: Dict[str, Any]) -> str:
    """Not idempotent: every execution charges again."""
    LEDGER.append(order["amount"])
    return f"receipt-{len(LEDGER)}"


def charge_once(order: Dict[str, Any]) -> str:
    """Idempotent: the key says whether this charge was already made."""
    key = order["key"]
    if key not in PAID:
        LEDGER.append(order["amount"])
        PAID[key] = f"receipt-{key}"
    return str(PAID[key])


def double(x: int) -> int:
    return x * 2


def chain(context: df.DurableOrchestrationContext):
    EPISODES["chain"] = EPISODES.get("chain", 0) + 1
    a = yield context.call_activity("double", 1)
    b = yield context.call_activity("double", a)
    c = yield context.call_activity("double", b)
    return c


def fan_out(context: df.DurableOrchestrationContext):
    n = context.get_input() or 3
    results = yield context.task_all([context.call_activity("double", i) for i in range(n)])
    return sum(results)


def with_retry(context: df.DurableOrchestrationContext):
    retry = df.RetryOptions(first_retry_interval_in_milliseconds=1000, max_number_of_attempts=3)
    return (yield context.call_activity_with_retry("double", retry, 21))


def parent(context: df.DurableOrchestrationContext):
    first = yield context.call_sub_orchestrator("chain")
    second = yield context.call_activity("double", first)
    return second


def checkout(context: df.DurableOrchestrationContext):
    order = context.get_input()
    receipt = yield context.call_activity("charge", order)
    return receipt


def checkout_once(context: df.DurableOrchestrationContext):
    order = dict(context.get_input(), key=context.instance_id)
    receipt = yield context.call_activity("charge_once", order)
    return receipt


def counted(context: df.DurableOrchestrationContext):
    entity = df.EntityId("Counter", "orders")
    yield context.call_entity(entity, "add", 1)
    total = yield context.call_entity(entity, "get")
    doubled = yield context.call_activity("double", total)
    return doubled


def approval(context: df.DurableOrchestrationContext):
    first = yield context.wait_for_external_event("approve")
    second = yield context.wait_for_external_event("approve")
    return [first, second]


def race(context: df.DurableOrchestrationContext):
    deadline = context.current_utc_datetime + timedelta(minutes=1)
    timer = context.create_timer(deadline)
    work = context.call_activity("double", 5)
    winner = yield context.task_any([work, timer])
    if winner == work:
        timer.cancel()
        return "work"
    return "timeout"


def counter(context: df.DurableEntityContext) -> None:
    value = context.get_state(lambda: 0)
    if context.operation_name == "add":
        value += context.get_input()
    elif context.operation_name == "get":
        context.set_result(value)
    context.set_state(value)


ORCHESTRATORS = {"chain": chain, "fan_out": fan_out, "with_retry": with_retry,
                 "parent": parent, "checkout": checkout, "checkout_once": checkout_once,
                 "counted": counted, "approval": approval, "race": race}


def runtime(**kwargs: Any) -> InMemoryRuntime:
    """A fresh runtime with every function above registered and empty fake stores."""
    LEDGER.clear()
    PAID.clear()
    EPISODES.clear()
    rt = InMemoryRuntime(**kwargs)
    for name, fn in ORCHESTRATORS.items():
        rt.register_orchestrator(name, fn)
    rt.register_activity("charge", charge)
    rt.register_activity("charge_once", charge_once)
    rt.register_activity("double", double)
    rt.register_entity("Counter", counter)
    return rt


def shaped(context: df.DurableOrchestrationContext):
    """Steps of the input's widths: 1 is one call, n > 1 a fan-out of n calls."""
    total = 0
    for step, width in enumerate(context.get_input()):
        if width == 1:
            total += yield context.call_activity("double", step)
        else:
            done = yield context.task_all([context.call_activity("double", step * 10 + i)
                                           for i in range(width)])
            total += sum(done)
    return total


ORCHESTRATORS["shaped"] = shaped
