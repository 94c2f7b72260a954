"""Every client method, through rt.client and through the SDK's class over loopback HTTP."""
from __future__ import annotations

import json
from datetime import timedelta

import azure.durable_functions as df
import azure.functions as func
import pytest
from azure.durable_functions import OrchestrationRuntimeStatus as Status

from durable_testkit import InMemoryRuntime
from durable_testkit._management_api import REWIND_NOT_SUPPORTED

from _client_support import require_entities, run


def _req(url: str = "https://myapp.azurewebsites.net/api/orchestrators/x") -> func.HttpRequest:
    return func.HttpRequest("POST", url, body=b"")


def test_get_status_answers_with_the_state_at_that_moment(rt: InMemoryRuntime, client) -> None:
    # A query never runs work (as in Azure, where it only reads storage): the test drives.
    async def go():
        iid = await client.start_new("hello_sequence")
        before = await client.get_status(iid)
        rt.wait(iid)
        return iid, before, await client.get_status(iid)

    iid, before, status = run(go())
    assert before.runtime_status == Status.Pending
    assert status.runtime_status == Status.Completed
    assert status.output == ["Hello Tokyo!", "Hello Seattle!", "Hello London!"]
    assert status.name == "hello_sequence" and status.instance_id == iid
    assert status.created_time is not None and status.last_updated_time is not None


def test_start_new_input_arrives_decoded_with_the_given_id(rt: InMemoryRuntime, client) -> None:
    async def go():
        iid = await client.start_new("echo_input", "fixed-id", {"a": [1, 2]})
        rt.wait(iid)
        return iid, await client.get_status(iid)

    iid, status = run(go())
    assert iid == "fixed-id"
    assert status.output == {"input": {"a": [1, 2]}, "type": "dict"}
    # The HTTP API shows input by default; the SDK never sends showInput=False.
    assert status.input_ == {"a": [1, 2]}


def test_start_new_string_input_is_not_double_encoded(rt: InMemoryRuntime, client) -> None:
    async def go():
        iid = await client.start_new("echo_input", None, "hi")
        rt.wait(iid)
        return await client.get_status(iid)

    assert run(go()).output == {"input": "hi", "type": "str"}


def test_start_new_unknown_orchestrator_raises_the_extension_message(client) -> None:
    with pytest.raises(Exception, match="The function 'nope' doesn't exist, is disabled, or is "
                                        "not an orchestrator function"):
        run(client.start_new("nope"))


def test_start_new_with_the_id_of_a_running_instance_fails(client) -> None:
    async def go():
        await client.start_new("approval", "dup")
        await client.start_new("approval", "dup")

    # dtfx's OrchestrationAlreadyExistsException reaches HttpApiHandler's catch-all: 500, and
    # the SDK raises with the error body it got.
    with pytest.raises(Exception, match="An Orchestration instance with the status Pending "
                                        "already exists.") as info:
        run(go())
    assert "Something went wrong while processing your request" in str(info.value)
    assert "OrchestrationAlreadyExistsException" in str(info.value)


def test_get_status_of_unknown_instance_is_falsy(client) -> None:
    status = run(client.get_status("missing"))
    assert not status
    assert status.runtime_status is None


def test_get_status_with_history(rt: InMemoryRuntime, client) -> None:
    async def go():
        iid = await client.start_new("hello_sequence")
        rt.wait(iid)
        return (await client.get_status(iid, show_history=True),
                await client.get_status(iid, show_history=True, show_history_output=True))

    bare, full = run(go())
    kinds = [e["EventType"] for e in full.historyEvents]
    assert kinds == ["ExecutionStarted", "TaskCompleted", "TaskCompleted", "TaskCompleted",
                     "ExecutionCompleted"]
    assert full.historyEvents[1]["FunctionName"] == "say_hello"
    assert full.historyEvents[1]["Result"] == "Hello Tokyo!"
    assert "Result" not in bare.historyEvents[1]
    assert full.historyEvents[-1]["OrchestrationStatus"] == "Completed"


def test_get_status_all_and_by(rt: InMemoryRuntime, client) -> None:
    async def go():
        done = await client.start_new("hello_sequence")
        rt.wait(done)
        waiting = await client.start_new("approval")
        rt.run_until_idle()
        everything = await client.get_status_all()
        running = await client.get_status_by(runtime_status=[Status.Running])
        both = await client.get_status_by(runtime_status=[Status.Running, Status.Completed])
        later = await client.get_status_by(created_time_from=rt.now + timedelta(hours=1))
        return done, waiting, everything, running, both, later

    done, waiting, everything, running, both, later = run(go())
    assert {s.instance_id for s in everything} == {done, waiting}
    assert [s.instance_id for s in running] == [waiting]
    assert len(both) == 2
    assert later == []


def test_raise_event_data_arrives_as_json_text_issue_295(rt: InMemoryRuntime, client) -> None:
    async def go():
        iid = await client.start_new("approval")
        rt.run_until_idle()
        await client.raise_event(iid, "Approve", {"ok": True})
        rt.wait(iid)
        return await client.get_status(iid)

    status = run(go())
    # What users see in Azure: the orchestrator gets the JSON text, not the dict.
    assert status.output == {"got": '{"ok": true}', "type": "str"}


def test_raise_event_errors(rt: InMemoryRuntime, client) -> None:
    async def go():
        iid = await client.start_new("hello_sequence")
        rt.wait(iid)
        with pytest.raises(Exception, match=f"Instance with ID {iid} is gone"):
            await client.raise_event(iid, "Approve", 1)
        with pytest.raises(Exception, match="No instance with ID missing found"):
            await client.raise_event("missing", "Approve", 1)
        with pytest.raises(ValueError):
            await client.raise_event(iid, "", 1)

    run(go())


def test_terminate(client) -> None:
    async def go():
        iid = await client.start_new("approval")
        await client.terminate(iid, "no longer needed")
        status = await client.get_status(iid)
        await client.terminate(iid, "again")  # 410: the SDK accepts it silently
        with pytest.raises(Exception, match="No instance with ID 'missing' found"):
            await client.terminate("missing", "x")
        return status

    status = run(go())
    assert status.runtime_status == Status.Terminated
    assert status.output == "no longer needed"


def test_suspend_and_resume(rt: InMemoryRuntime, client) -> None:
    async def go():
        iid = await client.start_new("approval")
        rt.run_until_idle()
        await client.suspend(iid, "pause")
        suspended = await client.get_status(iid)
        await client.raise_event(iid, "Approve", 7)
        rt.run_until_idle()
        still = await client.get_status(iid)
        await client.resume(iid, "go on")
        rt.wait(iid)
        return suspended, still, await client.get_status(iid)

    suspended, still, done = run(go())
    assert suspended.runtime_status == Status.Suspended
    assert still.runtime_status == Status.Suspended
    assert done.runtime_status == Status.Completed and done.output["got"] == "7"


def test_suspend_resume_unknown_instance(client) -> None:
    for op in (client.suspend, client.resume):
        with pytest.raises(Exception, match="No instance with ID 'missing' found"):
            run(op("missing", "why"))


def test_custom_status(rt: InMemoryRuntime, client) -> None:
    async def go():
        iid = await client.start_new("approval")
        rt.run_until_idle()
        return await client.get_status(iid)

    assert run(go()).custom_status == {"stage": "waiting"}


def test_purge_instance_history(rt: InMemoryRuntime, client) -> None:
    async def go():
        done = await client.start_new("hello_sequence")
        rt.wait(done)
        running = await client.start_new("approval")
        rt.run_until_idle()
        return (done, running, await client.purge_instance_history(done),
                await client.purge_instance_history(done),
                await client.purge_instance_history(running))

    done, running, first, second, running_one = run(go())
    assert first.instances_deleted == 1
    assert second.instances_deleted == 0
    # Purging by id does not look at the status (Azure Storage provider): docs/protocol.md.
    assert running_one.instances_deleted == 1
    assert rt.instance_ids == []


def test_purge_instance_history_by(rt: InMemoryRuntime, client) -> None:
    async def go():
        for _ in range(3):
            rt.wait(await client.start_new("hello_sequence"))
        purged = await client.purge_instance_history_by(
            created_time_from=rt.now - timedelta(days=1), runtime_status=[Status.Completed])
        none_left = await client.purge_instance_history_by(
            created_time_from=rt.now - timedelta(days=1))
        return purged, none_left

    purged, none_left = run(go())
    assert purged.instances_deleted == 3 and none_left.instances_deleted == 0


def test_rewind_is_not_supported_and_says_so(rt: InMemoryRuntime, client) -> None:
    async def go():
        failed = await client.start_new("fails")
        done = await client.start_new("hello_sequence")
        rt.run_until_idle()
        with pytest.raises(Exception) as info:
            await client.rewind(failed, "retry")
        assert str(info.value) == REWIND_NOT_SUPPORTED
        with pytest.raises(Exception, match="only supported on failed"):
            await client.rewind(done, "retry")
        with pytest.raises(Exception, match="No instance with ID missing found"):
            await client.rewind("missing", "retry")

    run(go())


def test_signal_entity_and_read_entity_state(rt: InMemoryRuntime, client) -> None:
    require_entities(rt)
    eid = df.EntityId("counter", "c1")

    async def go():
        before = await client.read_entity_state(eid)
        await client.signal_entity(eid, "add", 5)
        await client.signal_entity(eid, "add", 3)
        rt.run_until_idle()
        return before, await client.read_entity_state(eid)

    before, after = run(go())
    assert not before.entity_exists and before.entity_state is None
    # Unlike raise_event, the entity decodes its input twice, so numbers stay numbers.
    assert after.entity_exists and after.entity_state == 8


def test_create_check_status_response_uses_the_request_origin(client) -> None:
    response = client.create_check_status_response(_req(), "abc")
    assert response.status_code == 202
    body = json.loads(response.get_body())
    assert body["id"] == "abc"
    assert body["statusQueryGetUri"] == (
        "https://myapp.azurewebsites.net/runtime/webhooks/durabletask/instances/abc"
        "?taskHub=TestHubName&connection=Storage")
    assert response.headers["Location"] == body["statusQueryGetUri"]
    assert set(body) == {"id", "statusQueryGetUri", "sendEventPostUri", "terminatePostUri",
                         "rewindPostUri", "purgeHistoryDeleteUri", "restartPostUri",
                         "suspendPostUri", "resumePostUri"}


def test_create_http_management_payload(client) -> None:
    payload = client.create_http_management_payload("abc")
    assert payload["id"] == "abc"
    assert "/instances/abc/raiseEvent/{eventName}?" in payload["sendEventPostUri"]


def test_wait_for_completion_returns_output(rt: InMemoryRuntime, client) -> None:
    async def go():
        iid = await client.start_new("hello_sequence")
        if not isinstance(client, type(rt.client)):
            # The SDK's own class polls in real time: nothing runs the host meanwhile unless
            # the test does (rt.http does it for functions it calls; see test_fidelity).
            rt.wait(iid)
        return await client.wait_for_completion_or_create_check_status_response(_req(), iid)

    response = run(go())
    assert response.status_code == 200
    assert json.loads(response.get_body()) == ["Hello Tokyo!", "Hello Seattle!", "Hello London!"]


def test_wait_for_completion_of_failed_instance_is_500(rt: InMemoryRuntime, client) -> None:
    async def go():
        iid = await client.start_new("fails")
        if not isinstance(client, type(rt.client)):
            rt.wait(iid)
        return await client.wait_for_completion_or_create_check_status_response(_req(), iid)

    response = run(go())
    assert response.status_code == 500
    assert json.loads(response.get_body())["runtimeStatus"] == "Failed"


def test_in_memory_wait_for_completion_times_out_in_virtual_time(rt: InMemoryRuntime) -> None:
    start = rt.now

    async def go():
        iid = await rt.client.start_new("waits_a_day")
        short = await rt.client.wait_for_completion_or_create_check_status_response(
            _req(), iid, timeout_in_milliseconds=10_000, retry_interval_in_milliseconds=1_000)
        after_short = rt.now
        long = await rt.client.wait_for_completion_or_create_check_status_response(
            _req(), iid, timeout_in_milliseconds=2 * 86_400_000,
            retry_interval_in_milliseconds=3_600_000)
        return short, after_short, long

    short, after_short, long = run(go())
    assert short.status_code == 202 and "Location" in short.headers
    assert after_short - start == timedelta(seconds=10)
    # The SDK sends a str output as the raw body (no JSON quotes), in Azure too.
    assert long.status_code == 200 and long.get_body() == b"woke up"
    # Polled hourly from +10s: completion is seen on the first poll after the timer fired.
    assert rt.now - start == timedelta(days=1, seconds=10)


def test_wait_for_completion_rejects_interval_above_timeout(rt: InMemoryRuntime) -> None:
    with pytest.raises(Exception, match="should be bigger than"):
        run(rt.client.wait_for_completion_or_create_check_status_response(_req(), "x", 10, 20))


def test_several_asyncio_runs_with_the_real_client(rt: InMemoryRuntime) -> None:
    client = df.DurableOrchestrationClient(rt.client_binding())
    ids = [run(client.start_new("hello_sequence")) for _ in range(3)]
    rt.run_until_idle()
    statuses = [run(client.get_status(i)) for i in ids]
    assert all(s.runtime_status == Status.Completed for s in statuses)
    # A starter run by rt.http in between uses another loop; the client still works after it.
    assert rt.http("POST", "/api/orchestrators/hello_sequence").status_code == 202
    assert len(run(client.get_status_all())) == 4


def _needs_restart(client) -> None:
    if not hasattr(client, "restart"):
        pytest.skip("this azure-functions-durable has no DurableOrchestrationClient.restart")


def test_restart_starts_the_orchestrator_again_with_its_input(client, rt) -> None:
    # ext DurableClient.RestartAsync: a new instance (by default) with the status's input.
    _needs_restart(client)
    first = run(client.start_new("fan_out_fan_in", None, 3))
    rt.wait(first)
    payload = run(client.restart(first))
    new_id = payload["id"]  # the SDK hands back the check-status payload it got
    assert new_id != first
    result = rt.wait(new_id)
    assert (result.name, result.input, result.output) == ("fan_out_fan_in", 3, 12)


def test_restart_under_the_same_id_is_refused_while_it_runs(client, rt) -> None:
    _needs_restart(client)
    iid = run(client.start_new("approval", "same"))
    with pytest.raises(Exception, match="unexpected status code 500"):
        run(client.restart(iid, restart_with_new_instance_id=False))
    rt.terminate(iid, "done waiting")
    payload = run(client.restart(iid, restart_with_new_instance_id=False))
    assert payload["id"] == "same"
    assert rt.status("same").runtime_status == Status.Pending  # a new execution, not yet run


def test_restart_of_an_unknown_instance_is_a_bad_request(client) -> None:
    _needs_restart(client)
    with pytest.raises(Exception, match="unexpected status code 400"):
        run(client.restart("anything"))
