"""Orchestrators the scenario tests drive, one per pattern (plain generator functions)."""
from __future__ import annotations

from datetime import timedelta

import azure.durable_functions as df


def chain(context: df.DurableOrchestrationContext):
    a = yield context.call_activity("step_a", context.get_input())
    b = yield context.call_activity("step_b", a)
    return [a, b]


def fan_out(context: df.DurableOrchestrationContext):
    items = yield context.call_activity("get_items", None)
    results = yield context.task_all([context.call_activity("work", i) for i in items])
    return sum(results)


def approval(context: df.DurableOrchestrationContext):
    deadline = context.current_utc_datetime + timedelta(hours=24)
    timeout = context.create_timer(deadline)
    answer = context.wait_for_external_event("approval")
    winner = yield context.task_any([answer, timeout])
    if winner == answer:
        timeout.cancel()
        if answer.result:
            return (yield context.call_activity("approve", context.get_input()))
        return "rejected"
    return (yield context.call_activity("escalate", context.get_input()))


def retrying(context: df.DurableOrchestrationContext):
    options = df.RetryOptions(first_retry_interval_in_milliseconds=5000, max_number_of_attempts=3)
    return (yield context.call_activity_with_retry("flaky", options, "payload"))


def parent(context: df.DurableOrchestrationContext):
    try:
        child = yield context.call_sub_orchestrator("child", {"n": 1}, "child-1")
    except Exception as exc:  # the failure reaches the parent as a plain Exception
        return f"child failed: {str(exc).splitlines()[0]}"
    return f"child said {child}"


def counter_loop(context: df.DurableOrchestrationContext):
    count = context.get_input()
    yield context.call_activity("tick", count)
    if count < 2:
        context.continue_as_new(count + 1)
        return None
    return "finished"


def with_status(context: df.DurableOrchestrationContext):
    context.set_custom_status({"stage": "loading"})
    data = yield context.call_activity("load", None)
    context.set_custom_status({"stage": "saving", "rows": len(data)})
    yield context.call_activity("save", data)
    return len(data)


def entity_user(context: df.DurableOrchestrationContext):
    entity = df.EntityId("Counter", "k1")
    context.signal_entity(entity, "reset")
    value = yield context.call_entity(entity, "add", 5)
    return value


def http_caller(context: df.DurableOrchestrationContext):
    response = yield context.call_http("GET", "https://example.com/api")
    return response["statusCode"]


def two_of_a_kind(context: df.DurableOrchestrationContext):
    results = yield context.task_all([context.call_activity("work", 1),
                                      context.call_activity("work", 2)])
    return results


def uses_new_uuid(context: df.DurableOrchestrationContext):
    return context.new_uuid()
