"""Suspend, resume, terminate and purge in every state, as the extension answers them.

Sources (docs/protocol.md, "Lifecycle operations"): DurableClient.cs TerminateAsync,
SuspendAsync, ResumeAsync (IsOrchestrationRunning / IsOrchestrationSuspendable /
IsOrchestrationSuspended), HttpApiHandler.cs (404, 410 for a finished instance, 500
from the catch-all for the client's InvalidOperationException), and the SDK client's
status-code switch (410 accepted silently, anything unexpected raises).
"""
from __future__ import annotations

import json
from typing import Callable, Dict

import azure.durable_functions as df
import pytest
from conftest import approval, fails, hello, run

from durable_testkit import InMemoryRuntime, InvalidOperationError
from durable_testkit._management_api import handle

STATES = ("Running", "Suspended", "Completed", "Failed", "Terminated")
# The states in which DurableClient allows each operation.
ALLOWED = {
    "suspend": {"Running"},
    "resume": {"Suspended"},
    "terminate": {"Running", "Suspended"},
}


def _in_state(rt: InMemoryRuntime, state: str) -> str:
    name = {"Completed": "hello", "Failed": "fails"}.get(state, "approval")
    iid = rt.start(name, instance_id=f"i-{state}-{len(rt.instance_ids)}")
    rt.run_until_idle()
    if state == "Suspended":
        rt.suspend(iid, "pause")
    elif state == "Terminated":
        rt.terminate(iid, "stop")
    assert rt.status(iid).runtime_status.value == state
    return iid


@pytest.fixture
def rt() -> InMemoryRuntime:
    runtime = InMemoryRuntime()
    for name, fn in (("approval", approval), ("fails", fails), ("hello", hello)):
        runtime.register_orchestrator(name, fn)
    yield runtime
    runtime.close()


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("op", sorted(ALLOWED))
def test_runtime_api(rt: InMemoryRuntime, op: str, state: str) -> None:
    iid = _in_state(rt, state)
    if state in ALLOWED[op]:
        getattr(rt, op)(iid, "why")
        return
    with pytest.raises(InvalidOperationError) as info:
        getattr(rt, op)(iid, "why")
    assert str(info.value) == (f"Cannot {op} the orchestration instance {iid} because instance "
                               f"is in the {state} state.")


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("op", sorted(ALLOWED))
def test_http_api(rt: InMemoryRuntime, op: str, state: str) -> None:
    iid = _in_state(rt, state)
    code, _, body = handle(rt, "POST", f"/runtime/webhooks/durabletask/instances/{iid}/{op}",
                           "reason=why")
    if state in ("Completed", "Failed", "Terminated"):
        assert (code, body) == (410, "")  # HttpApiHandler checks IsCompletedStatus first
    elif state in ALLOWED[op]:
        assert (code, body) == (202, "")
    else:
        assert code == 500
        error = json.loads(body)
        assert error["Message"] == "Something went wrong while processing your request"
        assert error["ExceptionMessage"] == (
            f"Cannot {op} the orchestration instance {iid} because instance is in the "
            f"{state} state.")
    missing = handle(rt, "POST", f"/runtime/webhooks/durabletask/instances/nope/{op}")
    assert missing[0] == 404


@pytest.mark.parametrize("kind", ["in-memory", "real-over-loopback"])
@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("op", sorted(ALLOWED))
def test_python_client(rt: InMemoryRuntime, op: str, state: str, kind: str) -> None:
    client = rt.client if kind == "in-memory" else df.DurableOrchestrationClient(
        rt.client_binding())
    iid = _in_state(rt, state)
    call: Callable[[str, str], object] = getattr(client, op)
    if state in ALLOWED[op] or state in ("Completed", "Failed", "Terminated"):
        run(call(iid, "why"))  # 202, or 410 which the SDK client accepts silently
        return
    with pytest.raises(Exception, match="The operation failed with an unexpected status code 500"):
        run(call(iid, "why"))


@pytest.mark.parametrize("state", STATES + ("Pending",))
def test_purge_by_id_deletes_in_every_state(rt: InMemoryRuntime, state: str) -> None:
    # The Azure Storage provider's PurgeInstanceHistoryAsync(instanceId) deletes whatever
    # the status; HttpApiHandler answers 404 only for an unknown id.
    if state == "Pending":
        iid = rt.start("approval")
    else:
        iid = _in_state(rt, state)
    code, _, body = handle(rt, "DELETE", f"/durabletask/instances/{iid}")
    assert (code, json.loads(body)) == (200, {"instancesDeleted": 1})
    assert handle(rt, "DELETE", f"/durabletask/instances/{iid}")[0] == 404
    assert rt.purge(iid) == 0
    rt.run_until_idle()  # its pending work is dropped, not an error


def test_purge_through_both_clients(rt: InMemoryRuntime) -> None:
    results: Dict[str, int] = {}
    for kind in ("in-memory", "real"):
        client = rt.client if kind == "in-memory" else df.DurableOrchestrationClient(
            rt.client_binding())
        running = _in_state(rt, "Running")
        results[kind] = run(client.purge_instance_history(running)).instances_deleted
    assert results == {"in-memory": 1, "real": 1}
