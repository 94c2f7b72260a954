"""Orchestrations with ordering bugs for the exploration tests, each next to its fix."""
from __future__ import annotations

from datetime import timedelta
from typing import Any, Dict, List

from durable_testkit import InMemoryRuntime


# (a) a fan-out that assumes its activities complete in order ------------------------------
def fan_out_buggy(context):
    """Appends each line in an activity, then reads the file: assumes the lines land in order."""
    lines = context.get_input()
    yield context.task_all([context.call_activity("append_line", line) for line in lines])
    return (yield context.call_activity("read_file", None))


def fan_out_fixed(context):
    """Each activity returns its line; task_all keeps the order of the tasks, not of completion."""
    lines = context.get_input()
    return (yield context.task_all([context.call_activity("format_line", line)
                                    for line in lines]))


def fan_out_runtime(policy: Any = None) -> InMemoryRuntime:
    file: List[str] = []
    rt = InMemoryRuntime(policy=policy)
    rt.register_orchestrator("fan_out_buggy", fan_out_buggy)
    rt.register_orchestrator("fan_out_fixed", fan_out_fixed)
    rt.register_activity("append_line", lambda line: file.append(line))
    rt.register_activity("read_file", lambda _: list(file))
    rt.register_activity("format_line", lambda line: line)
    return rt


# (b) an approve/cancel race -------------------------------------------------------------
PACKING = timedelta(minutes=10)


def order_buggy(context):
    """A cancel that arrives while the order is being packed is ignored."""
    approve = context.wait_for_external_event("approve")
    cancel = context.wait_for_external_event("cancel")
    first = yield context.task_any([approve, cancel])
    if first == cancel:
        return "cancelled"
    yield context.create_timer(context.current_utc_datetime + PACKING)  # packing
    yield context.call_activity("ship", None)
    return "shipped"


def order_fixed(context):
    """Packing races the cancel: a cancel before shipping wins."""
    approve = context.wait_for_external_event("approve")
    cancel = context.wait_for_external_event("cancel")
    first = yield context.task_any([approve, cancel])
    if first == cancel:
        return "cancelled"
    packing = context.create_timer(context.current_utc_datetime + PACKING)
    done = yield context.task_any([packing, cancel])
    if done == cancel:
        packing.cancel()
        return "cancelled"
    yield context.call_activity("ship", None)
    return "shipped"


def order_runtime(policy: Any = None) -> InMemoryRuntime:
    rt = InMemoryRuntime(policy=policy)
    rt.register_orchestrator("order_buggy", order_buggy)
    rt.register_orchestrator("order_fixed", order_fixed)
    rt.register_activity("ship", lambda _: "shipped")
    return rt


# (c) a non-idempotent activity ------------------------------------------------------------
def checkout(context):
    order = context.get_input()
    yield context.call_activity("reserve", order)
    receipt = yield context.call_activity("charge", order)
    return receipt


def checkout_runtime(policy: Any = None, *, idempotent: bool) -> "tuple[InMemoryRuntime, Dict[str, int]]":
    charges: Dict[str, int] = {}
    done: Dict[str, str] = {}

    def charge(order: Dict[str, Any]) -> str:
        key = order["id"]
        if idempotent and key in done:
            return done[key]  # the idempotency key: a repeat returns the first receipt
        charges[key] = charges.get(key, 0) + 1
        done[key] = f"receipt-{key}"
        return done[key]

    rt = InMemoryRuntime(policy=policy)
    rt.register_orchestrator("checkout", checkout)
    rt.register_activity("reserve", lambda order: order["id"])
    rt.register_activity("charge", charge)
    return rt, charges
