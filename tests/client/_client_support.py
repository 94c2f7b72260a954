"""Helpers shared by the client tests (imported by name: tests/ folders are not packages)."""
from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any

import azure.durable_functions as df
import pytest

from durable_testkit import DurableTestkitError, InMemoryRuntime

APPS = Path(__file__).resolve().parent.parent / "apps"


def approval(context: df.DurableOrchestrationContext) -> Any:
    context.set_custom_status({"stage": "waiting"})
    data = yield context.wait_for_external_event("Approve")
    return {"got": data, "type": type(data).__name__}


def waits_a_day(context: df.DurableOrchestrationContext) -> Any:
    yield context.create_timer(context.current_utc_datetime + timedelta(days=1))
    return "woke up"


def fails(context: df.DurableOrchestrationContext) -> Any:
    yield context.call_activity("say_hello", "x")
    raise ValueError("boom")


def echo_input(context: df.DurableOrchestrationContext) -> Any:
    value = context.get_input()
    yield context.call_activity("say_hello", "x")
    return {"input": value, "type": type(value).__name__}


def run(coro: Any) -> Any:
    """One asyncio.run per call, as a sync test would do it (a new loop each time)."""
    return asyncio.run(coro)


def require_entities(rt: InMemoryRuntime) -> None:
    """Skip when the runtime's entity support has not landed (it raises a placeholder)."""
    try:
        rt.signal_entity(df.EntityId("counter", "__probe__"), "reset")
        rt.run_until_idle()
        rt.entity_state(df.EntityId("counter", "__probe__"))
    except (ImportError, DurableTestkitError, NotImplementedError) as exc:
        pytest.skip(f"entities are not implemented in this runtime yet: {exc}")


def new_runtime(app: str = "v2_app") -> InMemoryRuntime:
    """A runtime for a sample app, with this folder's orchestrators registered."""
    runtime = InMemoryRuntime.from_app(APPS / app)
    for fn in (approval, waits_a_day, fails, echo_input):
        runtime.register_orchestrator(fn.__name__, fn)
    return runtime
