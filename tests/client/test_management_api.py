"""_management_api.handle on its own: status codes, bad requests, shapes."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest

from durable_testkit import InMemoryRuntime
from durable_testkit._management_api import REWIND_NOT_SUPPORTED, binding_json, handle

RPC = "/durabletask"
HOOK = "/runtime/webhooks/durabletask"
JSON = {"Content-Type": "application/json"}


def _start(rt: InMemoryRuntime, name: str, body: str = None, query: str = "") -> dict:
    status, _, text = handle(rt, "POST", f"{RPC}/orchestrators/{name}", query, body,
                             headers=JSON if body else None)
    assert status == 202, text
    return json.loads(text)


def test_binding_json_has_what_the_sdk_reads() -> None:
    binding = json.loads(binding_json("http://127.0.0.1:5000", "http://127.0.0.1:5000"))
    assert binding["rpcBaseUrl"] == "http://127.0.0.1:5000/durabletask/"
    assert binding["taskHubName"] == "TestHubName"
    assert binding["managementUrls"]["id"] == "INSTANCEID"
    assert binding["baseUrl"] == "http://127.0.0.1:5000/runtime/webhooks/durabletask"
    assert set(binding["creationUrls"]) == {"createNewInstancePostUri",
                                            "createAndWaitOnNewInstancePostUri"}


def test_status_codes_follow_the_instance(rt: InMemoryRuntime) -> None:
    waiting = _start(rt, "approval")["id"]
    pending = json.loads(handle(rt, "GET", f"{HOOK}/instances/{waiting}")[2])
    assert pending["runtimeStatus"] == "Pending"  # a query never runs work
    rt.run_until_idle()
    status, headers, text = handle(rt, "GET", f"{HOOK}/instances/{waiting}")
    assert status == 202 and "Location" in headers and headers["Retry-After"] == "5"
    assert json.loads(text)["runtimeStatus"] == "Running"
    failed = _start(rt, "fails")["id"]
    rt.run_until_idle()
    assert handle(rt, "GET", f"{HOOK}/instances/{failed}")[0] == 200
    assert handle(rt, "GET", f"{HOOK}/instances/{failed}",
                  "returnInternalServerErrorOnFailure=true")[0] == 500
    assert handle(rt, "GET", f"{HOOK}/instances/missing") == (404, {
        "Content-Type": "application/json; charset=utf-8"}, "")


def test_status_json_keys_and_time_format(rt: InMemoryRuntime) -> None:
    iid = _start(rt, "echo_input", json.dumps(json.dumps([1])))["id"]
    body = json.loads(handle(rt, "GET", f"{RPC}/instances/{iid}")[2])
    assert list(body) == ["name", "instanceId", "runtimeStatus", "input", "customStatus",
                          "output", "createdTime", "lastUpdatedTime"]
    assert body["createdTime"] == "2024-01-01T00:00:00Z"
    assert body["input"] == [1]
    hidden = json.loads(handle(rt, "GET", f"{RPC}/instances/{iid}", "showInput=false")[2])
    assert hidden["input"] is None


def test_plain_json_start_body_is_taken_as_is(rt: InMemoryRuntime) -> None:
    iid = _start(rt, "echo_input", '{"a": 1}')["id"]
    assert rt.wait(iid).output == {"input": {"a": 1}, "type": "dict"}


def test_bad_requests(rt: InMemoryRuntime) -> None:
    status, _, text = handle(rt, "POST", f"{RPC}/orchestrators/hello_sequence", None, "{oops",
                             headers=JSON)
    assert status == 400 and json.loads(text)["ExceptionMessage"] == "Invalid JSON content"
    iid = _start(rt, "approval")["id"]
    status, _, text = handle(rt, "POST", f"{HOOK}/instances/{iid}/raiseEvent/Approve", None,
                             "1", headers={"Content-Type": "text/plain"})
    assert status == 400
    assert json.loads(text)["ExceptionMessage"] == \
        "Only application/json request content is supported"
    status, _, _ = handle(rt, "POST", f"{HOOK}/instances/{iid}/raiseEvent/Approve", None,
                          "{oops", headers=JSON)
    assert status == 400
    assert handle(rt, "GET", f"{RPC}/instances/", "createdTimeFrom=yesterday")[0] == 400
    assert handle(rt, "DELETE", f"{RPC}/instances/")[0] == 400


def _history(rt: InMemoryRuntime, iid: str, query: str) -> list:
    status, _, text = handle(rt, "GET", f"{HOOK}/instances/{iid}", query)
    assert status == 200, text
    return json.loads(text)["historyEvents"]


def test_history_events_are_shaped_as_the_extension_shapes_them(rt: InMemoryRuntime) -> None:
    # ext DurableClient.GetDurableOrchestrationStatusAsync: completions take the scheduling
    # event's FunctionName, ScheduledTime and (showInput) Input; Results only with
    # showHistoryOutput; ExecutionStarted keeps its Input.
    iid = _start(rt, "hello_sequence")["id"]
    rt.wait(iid)
    full = _history(rt, iid, "showHistory=true&showHistoryOutput=true")
    assert [e["EventType"] for e in full] == ["ExecutionStarted"] + ["TaskCompleted"] * 3 + [
        "ExecutionCompleted"]
    started, first, done = full[0], full[1], full[-1]
    assert started["FunctionName"] == "hello_sequence" and "Input" in started
    assert "OrchestrationInstance" not in started and "Name" not in started
    assert (first["FunctionName"], first["Input"], first["Result"]) == (
        "say_hello", '"Tokyo"', "Hello Tokyo!")
    assert "ScheduledTime" in first and "TaskScheduledId" not in first
    assert done["Result"] == ["Hello Tokyo!", "Hello Seattle!", "Hello London!"]
    assert done["OrchestrationStatus"] == "Completed"
    bare = _history(rt, iid, "showHistory=true")  # showInput defaults to true
    assert "Result" not in bare[1] and "Result" not in bare[-1]
    assert bare[1]["Input"] == '"Tokyo"'
    no_input = _history(rt, iid, "showHistory=true&showHistoryOutput=true&showInput=false")
    assert not any("Input" in e for e in no_input)


def test_history_events_keep_event_inputs_as_text(rt: InMemoryRuntime) -> None:
    iid = _start(rt, "approval")["id"]
    rt.run_until_idle()
    rt.raise_event(iid, "Approve", {"ok": True})
    rt.wait(iid)
    raised = [e for e in _history(rt, iid, "showHistory=true") if e["EventType"] == "EventRaised"]
    assert raised[0]["Input"] == '{"ok": true}'  # the extension leaves the JSON text as it is


def test_purge_by_filter_answers_as_the_extension(rt: InMemoryRuntime) -> None:
    refused = "Please provide value for 'createdTimeFrom' parameter."
    for query in ("", "createdTimeFrom=yesterday", "createdTimeTo=2024-01-02T00:00:00Z"):
        status, _, text = handle(rt, "DELETE", f"{HOOK}/instances/", query)
        assert (status, json.loads(text)) == (400, refused), query
    done = _start(rt, "hello_sequence")["id"]
    rt.wait(done)
    # No createdTimeTo (or one the handler cannot read): up to now.
    status, _, text = handle(rt, "DELETE", f"{HOOK}/instances/",
                             "createdTimeFrom=2023-01-01T00:00:00Z&createdTimeTo=soon")
    assert (status, json.loads(text)) == (200, {"instancesDeleted": 1})
    assert handle(rt, "DELETE", f"{HOOK}/instances/", "createdTimeFrom=2023-01-01T00:00:00Z"
                  )[0] == 404  # nothing left to delete


def test_unknown_route_lists_the_routes(rt: InMemoryRuntime) -> None:
    status, _, text = handle(rt, "PUT", f"{RPC}/instances/x")
    assert status == 404
    assert "No Durable management API route for PUT instances/x" in text


def test_event_to_finished_instance_is_gone(rt: InMemoryRuntime) -> None:
    iid = _start(rt, "hello_sequence")["id"]
    rt.wait(iid)
    for op in ("raiseEvent/E", "terminate", "suspend", "resume"):
        assert handle(rt, "POST", f"{HOOK}/instances/{iid}/{op}", None, "1",
                      headers=JSON)[0] == 410, op


def test_webhook_raise_event_with_plain_json_arrives_decoded(rt: InMemoryRuntime) -> None:
    # Only the SDK client double-encodes; a plain JSON POST to the webhook does not.
    iid = _start(rt, "approval")["id"]
    assert handle(rt, "POST", f"{HOOK}/instances/{iid}/raiseEvent/Approve", "code=k",
                  '{"ok": true}', headers=JSON)[0] == 202
    assert rt.wait(iid).output == {"got": {"ok": True}, "type": "dict"}


def test_create_and_wait_endpoint(rt: InMemoryRuntime) -> None:
    status, _, text = handle(rt, "POST", f"{HOOK}/orchestrators/hello_sequence",
                             "timeout=10&pollingInterval=1", None)
    assert status == 200 and json.loads(text)[0] == "Hello Tokyo!"
    status, _, text = handle(rt, "POST", f"{HOOK}/orchestrators/approval",
                             "timeout=10&pollingInterval=1", None)
    assert status == 202 and "statusQueryGetUri" in json.loads(text)


def test_terminate_reason_is_url_decoded(rt: InMemoryRuntime) -> None:
    iid = _start(rt, "approval")["id"]
    assert handle(rt, "POST", f"{HOOK}/instances/{iid}/terminate", "reason=no%20way")[0] == 202
    assert rt.status(iid).output == "no way"


def test_rewind_answers(rt: InMemoryRuntime) -> None:
    failed = _start(rt, "fails")["id"]
    rt.wait(failed)
    status, _, text = handle(rt, "POST", f"{RPC}/instances/{failed}/rewind", "reason=x")
    assert status == 501 and json.loads(text) == REWIND_NOT_SUPPORTED
    assert handle(rt, "POST", f"{RPC}/instances/missing/rewind")[0] == 404


def test_runtime_errors_become_500_unless_asked_to_raise(rt: InMemoryRuntime) -> None:
    def calls_http(context):
        yield context.call_http("GET", "https://example.com")

    rt.register_orchestrator("calls_http", calls_http)
    # Only a request that waits by definition runs work (createAndWait: timeout + interval).
    status, _, text = handle(rt, "POST", f"{RPC}/orchestrators/calls_http",
                             "timeout=10&pollingInterval=1")
    assert status == 500 and "HttpHandlerMissing" in json.loads(text)["ExceptionMessage"]


def test_instance_queries_list_entities_as_running_instances() -> None:
    import azure.durable_functions as df

    def counter(context: df.DurableEntityContext) -> None:
        context.set_state(context.get_state(lambda: 0) + 1)

    rt = InMemoryRuntime()
    rt.register_entity("Counter", counter)
    rt.signal_entity(df.EntityId("Counter", "k1"), "add")
    rt.run_until_idle()
    status, _, body = handle(rt, "GET", "/runtime/webhooks/durabletask/instances", "")
    rows = json.loads(body)
    assert status == 200
    assert [(r["instanceId"], r["name"], r["runtimeStatus"]) for r in rows] == [
        ("@counter@k1", "counter", "Running")]
    _, _, completed_only = handle(rt, "GET", "/runtime/webhooks/durabletask/instances",
                                  "runtimeStatus=Completed")
    assert json.loads(completed_only) == []


# ---------------------------------------------------------------- createAndWait arguments
def _refused(rt: InMemoryRuntime, query: str) -> dict:
    """A start whose wait arguments are refused: 400, the extension's shape, nothing started."""
    before = list(rt.instance_ids)
    status, _, text = handle(rt, "POST", f"{HOOK}/orchestrators/hello_sequence", query)
    assert status == 400, text
    assert "Traceback" not in text
    assert rt.instance_ids == before
    body = json.loads(text)
    assert body["Message"] == "One or more of the arguments submitted is incorrect"
    assert body["ExceptionMessage"].endswith("; no instance was started)")
    return body


def test_wait_arguments_timespan_cannot_hold_are_400_before_starting(rt: InMemoryRuntime) -> None:
    # ext: TimeSpan.FromSeconds throws OverflowException past TimeSpan.MaxValue, and
    # ArgumentException on NaN; double.TryParse reads "Infinity" and "NaN".
    for query in ("timeout=1e308&pollingInterval=1", "timeout=Infinity&pollingInterval=1",
                  "timeout=10&pollingInterval=1e308", "timeout=1e400&pollingInterval=1",
                  "timeout=-1e300&pollingInterval=-1e301"):
        body = _refused(rt, query)
        assert body["ExceptionType"] == "System.OverflowException"
        assert body["ExceptionMessage"].startswith(
            "TimeSpan overflowed because the duration is too long. (")
    body = _refused(rt, "timeout=nan&pollingInterval=nan")
    assert body == {
        "Message": "One or more of the arguments submitted is incorrect",
        "ExceptionMessage": "TimeSpan does not accept floating point Not-a-Number values. "
                            "(timeout=nan; no instance was started)",
        "ExceptionType": "System.ArgumentException"}


def test_an_interval_over_the_timeout_or_negative_is_400(rt: InMemoryRuntime) -> None:
    # ext WaitForCompletionOrCreateCheckStatusResponseAsync: retryInterval > timeout throws
    # ArgumentException; Task.Delay throws ArgumentOutOfRangeException on a negative delay.
    body = _refused(rt, "timeout=1&pollingInterval=5")
    assert body["ExceptionMessage"] == ("Total timeout 1 should be bigger than retry timeout 5 "
                                        "(pollingInterval=5; no instance was started)")
    assert _refused(rt, "timeout=5&pollingInterval=-1")["ExceptionType"] == \
        "System.ArgumentOutOfRangeException"


def test_wait_arguments_that_are_not_numbers_are_ignored(rt: InMemoryRuntime) -> None:
    # ext: double.TryParse fails, so there is no wait: the 202 check-status answer.
    # "inf" and "1_0" are numbers to Python's float(), not to .NET.
    for query in ("timeout=abc&pollingInterval=-1", "timeout=inf&pollingInterval=1",
                  "timeout=1_0&pollingInterval=1", "timeout=&pollingInterval="):
        status, _, text = handle(rt, "POST", f"{HOOK}/orchestrators/hello_sequence", query)
        assert status == 202 and "statusQueryGetUri" in json.loads(text), (query, text)


def test_a_busy_or_fine_poll_on_a_long_timeout_ends(rt: InMemoryRuntime) -> None:
    # pollingInterval=0 is a busy poll in Azure; here each poll runs the host, so the
    # interval is widened to at most 10,000 polls instead of looping without end.
    start = rt.now
    status, _, _ = handle(rt, "POST", f"{HOOK}/orchestrators/approval",
                          "timeout=100000&pollingInterval=0")
    assert status == 202 and rt.now - start == timedelta(seconds=100000)
    status, _, _ = handle(rt, "POST", f"{HOOK}/orchestrators/approval",
                          "timeout=900000000000&pollingInterval=0.001")  # past year 9999
    assert status == 202


def test_an_unexpected_failure_answers_500_without_a_traceback(
        rt: InMemoryRuntime, monkeypatch: pytest.MonkeyPatch) -> None:
    import durable_testkit._management_api as api

    def broken(*args: object, **kw: object) -> None:
        raise KeyError("boom")

    monkeypatch.setattr(api, "_status", broken)
    status, _, text = handle(rt, "GET", f"{HOOK}/instances/x")
    body = json.loads(text)
    assert status == 500 and "StackTrace" not in body and "Traceback" not in text
    assert body["ExceptionMessage"] == ("KeyError: 'boom' (raised at test_management_api.py:"
                                        f"{broken.__code__.co_firstlineno + 1} in broken)")


def test_a_drive_past_its_bound_through_rt_http_raises_and_names_the_request() -> None:
    """The harness's own errors reach the test from rt.http, as from every rt call (serve
    answers them as a 500); the bound covers the whole request, however often it drives."""
    from durable_testkit import DriveTimeout

    def endless_chain(context):  # type: ignore[no-untyped-def]
        value = 0
        while True:
            value = yield context.call_activity("inc", value)

    rt = InMemoryRuntime(drive_timeout=0.3)
    rt.register_orchestrator("endless_chain", endless_chain)
    rt.register_activity("inc", lambda v: v + 1)
    path = "/runtime/webhooks/durabletask/orchestrators/endless_chain?timeout=10&pollingInterval=1"
    with pytest.raises(DriveTimeout) as caught:
        rt.http("POST", path, body=None)
    assert str(caught.value).startswith(f"rt.http('POST', '{path}') ran for more than 0.3 "
                                        "seconds of real time")


# -- the extension's exact answers (an audit against HttpApiHandler.cs) ----------------------
def _runtime_with(**orchestrators) -> InMemoryRuntime:  # type: ignore[no-untyped-def]
    rt = InMemoryRuntime()
    for name, fn in orchestrators.items():
        rt.register_orchestrator(name, fn)
    return rt


def _echo(context):  # type: ignore[no-untyped-def]
    return context.get_input()
    yield  # a generator


def _boom(context):  # type: ignore[no-untyped-def]
    raise ValueError("boom")
    yield  # a generator


def test_lists_show_inputs_unless_asked_not_to() -> None:
    """OrchestrationStatusQueryCondition.ShowInput defaults to true; the SDK sends none."""
    rt = _runtime_with(echo=_echo)
    rt.run("echo", {"a": 1}, instance_id="e-1")
    rows = json.loads(handle(rt, "GET", f"{HOOK}/instances/")[2])
    assert [row["input"] for row in rows] == [{"a": 1}]
    rows = json.loads(handle(rt, "GET", f"{HOOK}/instances/", "showInput=false")[2])
    assert [row.get("input") for row in rows] == [None]


def test_create_and_wait_answers_a_failed_instance_with_its_status_and_200() -> None:
    """WaitForCompletionOrCreateCheckStatusResponseAsync, returnInternalServerErrorOnFailure
    false: HandleGetStatusRequestAsync answers a Failed instance with 200."""
    rt = _runtime_with(boom=_boom)
    status, _, text = handle(rt, "POST", f"{HOOK}/orchestrators/boom",
                             "timeout=10&pollingInterval=1", None)
    assert status == 200 and json.loads(text)["runtimeStatus"] == "Failed"


def test_a_started_instances_check_status_body_has_no_rewind_link() -> None:
    """CreateCheckStatusResponseMessage writes every link of the payload but rewind's."""
    rt = _runtime_with(echo=_echo)
    status, headers, text = handle(rt, "POST", f"{HOOK}/orchestrators/echo/id 1~x", "", None)
    body = json.loads(text)
    assert status == 202 and "rewindPostUri" not in body
    assert set(body) == {"id", "statusQueryGetUri", "sendEventPostUri", "terminatePostUri",
                         "purgeHistoryDeleteUri", "restartPostUri", "suspendPostUri",
                         "resumePostUri"}
    # WebUtility.UrlEncode: a space is "+", "~" is escaped, "!*()" are not.
    assert "/instances/id+1%7Ex?taskHub=TestHubName&connection=Storage" in \
        body["statusQueryGetUri"]
    assert headers["Location"] == body["statusQueryGetUri"]


def test_a_signal_to_an_unknown_entity_is_a_400_with_the_extensions_text() -> None:
    rt = _runtime_with(echo=_echo)
    status, _, text = handle(rt, "POST", f"{HOOK}/entities/nope/k", "op=add", "1",
                             headers=JSON)
    assert status == 400
    assert json.loads(text)["Message"].startswith(
        "The function 'nope' doesn't exist, is disabled, or is not an entity function.")
