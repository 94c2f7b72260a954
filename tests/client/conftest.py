"""Fixtures for the client tests: the sample apps plus a few orchestrators of our own."""
from __future__ import annotations

from typing import Iterator

import azure.durable_functions as df
import pytest
from _client_support import new_runtime

from durable_testkit import InMemoryRuntime


@pytest.fixture
def rt() -> Iterator[InMemoryRuntime]:
    with new_runtime() as runtime:
        yield runtime


@pytest.fixture
def v1() -> Iterator[InMemoryRuntime]:
    with new_runtime("v1_app") as runtime:
        yield runtime


@pytest.fixture(params=["in-memory", "real-over-loopback"])
def client(request: pytest.FixtureRequest, rt: InMemoryRuntime) -> df.DurableOrchestrationClient:
    """Every client test runs twice: rt.client, and the SDK's own class on rt.client_binding()."""
    if request.param == "in-memory":
        return rt.client
    return df.DurableOrchestrationClient(rt.client_binding())
