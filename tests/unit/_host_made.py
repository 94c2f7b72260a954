"""The functions the host-made-history property tests run around their own workflow.

``test_history_fast_path`` and ``test_sdk_context`` each generate workflows that touch
every kind of history event; these are the pieces they share: a child orchestrator, an
entity, a failing activity, and the runtime with all of them registered.
"""
from __future__ import annotations

from typing import Any, Callable

import azure.durable_functions as df

from durable_testkit import InMemoryRuntime


def child(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
    value = yield context.call_activity("double", context.get_input())
    return value


def counter(context: df.DurableEntityContext) -> None:
    value = context.get_state(lambda: 0)
    if context.operation_name == "add":
        context.set_state(value + context.get_input())
    context.set_result(context.get_state(lambda: 0))


def explode(value: str) -> None:
    raise ValueError(value)


def runtime(workflow: Callable[..., Any]) -> InMemoryRuntime:
    """A runtime with ``workflow`` and the shared child, entity and activities registered."""
    rt = InMemoryRuntime()
    rt.register_orchestrator("workflow", workflow)
    rt.register_orchestrator("child", child)
    rt.register_entity("counter", counter)
    rt.register_activity("double", lambda x: x * 2)
    rt.register_activity("explode", explode)
    return rt
