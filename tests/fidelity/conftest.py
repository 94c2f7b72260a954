"""Shared orchestrators for the fidelity tests."""
from __future__ import annotations

import asyncio
from typing import Any, Coroutine, TypeVar

import azure.durable_functions as df

T = TypeVar("T")


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


def chain(context: df.DurableOrchestrationContext):
    value = 0
    for _ in range(context.get_input()):
        value = yield context.call_activity("inc", value)
    return value


def approval(context: df.DurableOrchestrationContext):
    return (yield context.wait_for_external_event("Approve"))


def fails(context: df.DurableOrchestrationContext):
    raise ValueError("boom")
    yield  # pragma: no cover


def hello(context: df.DurableOrchestrationContext):
    return "hi"
    yield  # pragma: no cover
