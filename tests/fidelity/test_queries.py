"""Queries answer with the state at that moment; only the test (or a waiting call) drives."""
from __future__ import annotations

import json
import time
from datetime import timedelta

import azure.durable_functions as df
import azure.functions as func
import pytest
from azure.durable_functions import OrchestrationRuntimeStatus as Status
from conftest import chain, run

from durable_testkit import DriveTimeout, InMemoryRuntime
from durable_testkit._management_api import handle


def _long_chain_runtime() -> tuple[InMemoryRuntime, str]:
    rt = InMemoryRuntime()
    rt.register_orchestrator("chain", chain)
    # Each step takes a second: driving once runs the first episode and one activity.
    rt.register_activity("inc", lambda v: v + 1, duration=timedelta(seconds=1))
    iid = rt.start("chain", 100_000)
    return rt, iid


def test_status_of_a_100000_step_chain_answers_at_once() -> None:
    rt, iid = _long_chain_runtime()
    wall = time.perf_counter()
    assert rt.status(iid).runtime_status == Status.Pending  # started, not driven
    rt.run_until_idle()
    assert rt.status(iid).runtime_status == Status.Running
    for path in (f"/runtime/webhooks/durabletask/instances/{iid}", f"/durabletask/instances/{iid}"):
        code, _, body = handle(rt, "GET", path)
        assert code == 202 and json.loads(body)["runtimeStatus"] == "Running"
    code, _, body = handle(rt, "GET", "/durabletask/instances/")
    assert code == 200 and [r["runtimeStatus"] for r in json.loads(body)] == ["Running"]
    assert run(rt.client.get_status(iid)).runtime_status == Status.Running
    assert [s.runtime_status for s in run(rt.client.get_status_all())] == [Status.Running]
    real = df.DurableOrchestrationClient(rt.client_binding())
    assert run(real.get_status(iid)).runtime_status == Status.Running
    assert time.perf_counter() - wall < 10  # in Azure it is one storage read
    assert len(rt.activity_calls) == 1  # the queries ran nothing
    rt.close()


def test_entity_state_reads_do_not_run_queued_operations() -> None:
    def counter(context: df.DurableEntityContext) -> None:
        context.set_state(context.get_state(lambda: 0) + 1)

    rt = InMemoryRuntime()
    rt.register_entity("counter", counter)
    rt.signal_entity(df.EntityId("counter", "k"), "add")
    assert handle(rt, "GET", "/durabletask/entities/counter/k")[0] == 404
    rt.run_until_idle()
    assert json.loads(handle(rt, "GET", "/durabletask/entities/counter/k")[2]) == 1


def test_a_waiting_call_drives_on_virtual_time() -> None:
    rt = InMemoryRuntime()
    rt.register_orchestrator("chain", chain)
    rt.register_activity("inc", lambda v: v + 1, duration=timedelta(seconds=1))
    iid = rt.start("chain", 3)
    request = func.HttpRequest("POST", "http://localhost:7071/api/x", body=b"")
    response = run(rt.client.wait_for_completion_or_create_check_status_response(
        request, iid, timeout_in_milliseconds=10_000, retry_interval_in_milliseconds=500))
    assert response.status_code == 200 and json.loads(response.get_body()) == 3
    assert rt.now - rt.status(iid).created_time == timedelta(seconds=3)


def test_a_driving_call_has_a_real_time_bound_that_says_what_ran() -> None:
    rt = InMemoryRuntime(drive_timeout=0.5)
    rt.register_orchestrator("chain", chain)
    rt.register_activity("inc", lambda v: v + 1)
    iid = rt.start("chain", 100_000)
    wall = time.perf_counter()
    with pytest.raises(DriveTimeout) as info:
        rt.wait(iid)
    assert time.perf_counter() - wall < 10
    text = str(info.value)
    assert f"rt.wait('{iid}') ran for more than 0.5 seconds of real time" in text
    assert f"'chain' [{iid}] Running" in text and "drive_timeout=" in text
