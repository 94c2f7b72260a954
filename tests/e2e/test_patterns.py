"""Every application pattern of the Durable Functions docs, on the real SDK."""
from __future__ import annotations

from datetime import timedelta

import azure.durable_functions as df
import pytest

from durable_testkit import InMemoryRuntime, OrchestrationRuntimeStatus as S


def say_hello(name: str) -> str:
    return f"Hello {name}!"


def hello_sequence(context: df.DurableOrchestrationContext):
    out = []
    for city in ("Tokyo", "Seattle", "London"):
        out.append((yield context.call_activity("SayHello", city)))
    return out


def get_work_batch(size: int) -> list:
    return list(range(1, size + 1))


def process(item: int) -> int:
    return item * item


def fan_out_fan_in(context: df.DurableOrchestrationContext):
    work = yield context.call_activity("GetWorkBatch", context.get_input())
    results = yield context.task_all([context.call_activity("Process", i) for i in work])
    return sum(results)


@pytest.fixture
def rt() -> InMemoryRuntime:
    runtime = InMemoryRuntime()
    runtime.register_activity("SayHello", say_hello)
    runtime.register_activity("GetWorkBatch", get_work_batch)
    runtime.register_activity("Process", process)
    runtime.register_orchestrator("HelloSequence", hello_sequence)
    runtime.register_orchestrator("FanOutFanIn", fan_out_fan_in)
    return runtime


def test_function_chaining(rt: InMemoryRuntime) -> None:
    result = rt.run("HelloSequence")
    assert result.runtime_status == S.Completed
    assert result.output == ["Hello Tokyo!", "Hello Seattle!", "Hello London!"]
    assert [c.input for c in rt.activity_calls] == ["Tokyo", "Seattle", "London"]


def test_fan_out_fan_in_delivers_ready_completions_in_one_episode(rt: InMemoryRuntime) -> None:
    result = rt.run("FanOutFanIn", 10)
    assert result.output == sum(i * i for i in range(1, 11))
    types = [type(e).__name__ for e in result.history.events]
    # episode 1 schedules the batch activity, 2 fans out, 3 receives all ten completions
    assert types.count("OrchestratorStarted") == 3
    assert types.count("TaskCompleted") == 11
    scheduled = [e.event_id for e in result.history.events if type(e).__name__ == "TaskScheduled"]
    assert scheduled == list(range(11))


def test_async_http_api_through_a_starter(rt: InMemoryRuntime) -> None:
    import asyncio
    import azure.functions as func

    async def http_start(req: func.HttpRequest, client: df.DurableOrchestrationClient):
        instance_id = await client.start_new(req.route_params["functionName"], None, None)
        return client.create_check_status_response(req, instance_id)

    req = func.HttpRequest("POST", "http://localhost:7071/api/orchestrators/HelloSequence",
                           body=b"", route_params={"functionName": "HelloSequence"})
    response = asyncio.run(http_start(req, rt.client))
    assert response.status_code == 202
    import json

    payload = json.loads(response.get_body())
    assert set(payload) >= {"id", "statusQueryGetUri", "sendEventPostUri", "terminatePostUri"}
    assert response.headers["Location"] == payload["statusQueryGetUri"]
    assert rt.status(payload["id"]).runtime_status == S.Pending
    assert rt.wait(payload["id"]).output[0] == "Hello Tokyo!"


def job_status(job_id: str) -> str:
    return "done" if job_id.endswith("3") else "running"


def monitor(context: df.DurableOrchestrationContext):
    job = context.get_input()
    polls = 0
    expiry = context.current_utc_datetime + timedelta(hours=6)
    while context.current_utc_datetime < expiry:
        polls += 1
        status = yield context.call_activity("GetJobStatus", f"{job}-{polls}")
        if status == "done":
            return {"polls": polls, "at": context.current_utc_datetime.isoformat()}
        yield context.create_timer(context.current_utc_datetime + timedelta(minutes=30))
    return "expired"


def test_monitor_runs_on_virtual_time() -> None:
    rt = InMemoryRuntime()
    rt.register_activity("GetJobStatus", job_status)
    rt.register_orchestrator("Monitor", monitor)
    result = rt.run("Monitor", "job")
    assert result.output == {"polls": 3, "at": "2024-01-01T01:00:00+00:00"}
    assert rt.now == rt.clock.now


def approval_workflow(context: df.DurableOrchestrationContext):
    deadline = context.current_utc_datetime + timedelta(hours=72)
    timeout = context.create_timer(deadline)
    approval = context.wait_for_external_event("ApprovalEvent")
    winner = yield context.task_any([approval, timeout])
    if winner == approval:
        timeout.cancel()
        return (yield context.call_activity("ProcessApproval", approval.result))
    return (yield context.call_activity("Escalate", "head of department"))


@pytest.fixture
def approvals() -> InMemoryRuntime:
    rt = InMemoryRuntime()
    rt.register_orchestrator("Approval", approval_workflow)
    rt.register_activity("ProcessApproval", lambda approved: f"approved={approved}")
    rt.register_activity("Escalate", lambda who: f"escalated to {who}")
    return rt


def test_human_interaction_approved(approvals: InMemoryRuntime) -> None:
    iid = approvals.start("Approval")
    approvals.advance(timedelta(hours=5))
    approvals.raise_event(iid, "ApprovalEvent", True)
    result = approvals.wait(iid)
    assert result.output == "approved=True"
    # the cancelled timer never fired, and no time passed beyond the approval
    assert approvals.now.isoformat() == "2024-01-01T05:00:00+00:00"


def test_human_interaction_times_out(approvals: InMemoryRuntime) -> None:
    iid = approvals.start("Approval")
    result = approvals.wait(iid)
    assert result.output == "escalated to head of department"
    assert approvals.now.isoformat() == "2024-01-04T00:00:00+00:00"


def test_approval_arriving_after_timeout_is_ignored(approvals: InMemoryRuntime) -> None:
    iid = approvals.start("Approval")
    approvals.advance(timedelta(hours=80))
    assert approvals.status(iid).runtime_status == S.Completed
    approvals.raise_event(iid, "ApprovalEvent", True)  # dropped, as the host drops it
    approvals.run_until_idle()
    assert approvals.status(iid).output == "escalated to head of department"
