"""Testing the counter entity and its orchestration with InMemoryRuntime (no Azure needed)."""
from pathlib import Path

import azure.durable_functions as df

from durable_testkit import InMemoryRuntime

APP = Path(__file__).parent


def test_signals_add_up():
    rt = InMemoryRuntime.from_app(APP)
    site = df.EntityId("counter", "example.org")
    rt.signal_entity(site, "add", 2)
    rt.signal_entity(site, "add", 3)
    rt.run_until_idle()  # entities run when the runtime runs
    assert rt.entity_state(site) == 5


def test_orchestration_signals_then_calls():
    rt = InMemoryRuntime.from_app(APP)
    result = rt.run("count_visits", {"site": "example.org", "pages": ["/", "/about", "/blog"]})
    assert result.output == 3
    assert rt.entity_state(df.EntityId("counter", "example.org")) == 3
    assert rt.entity_state(df.EntityId("counter", "other.org")) is None
