"""rt.http(...) with the sample apps' starters, routing, and following check-status URLs."""
from __future__ import annotations

import json
import urllib.error
import urllib.request
from urllib.parse import urlsplit

import azure.functions as func
import pytest
from _client_support import run

from durable_testkit import InMemoryRuntime
from durable_testkit import UnknownRouteError
from durable_testkit._http_functions import _compile


def _fetch(url: str, method: str = "GET", body: bytes = None, headers: dict = None):
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def _started(response: func.HttpResponse) -> dict:
    assert response.status_code == 202, response.get_body()
    payload = json.loads(response.get_body())
    assert response.headers["Location"] == payload["statusQueryGetUri"]
    return payload


@pytest.mark.parametrize("path", ["/api/orchestrators/hello_sequence",
                                  "orchestrators/hello_sequence", "api/Orchestrators/hello_sequence"])
def test_v2_starter(rt: InMemoryRuntime, path: str) -> None:
    payload = _started(rt.http("POST", path))
    assert rt.wait(payload["id"]).output == ["Hello Tokyo!", "Hello Seattle!", "Hello London!"]


def test_v2_starter_with_json_body(rt: InMemoryRuntime) -> None:
    payload = _started(rt.http("POST", "/api/orchestrators/fan_out_fan_in", 3))
    assert rt.wait(payload["id"]).output == 12


def test_v1_starter(v1: InMemoryRuntime) -> None:
    payload = _started(v1.http("GET", "/api/orchestrators/HelloOrchestrator"))
    assert v1.wait(payload["id"]).output == ["Hello Tokyo!", "Hello Seattle!", "Hello London!"]


def test_v1_starter_method_not_allowed(v1: InMemoryRuntime) -> None:
    with pytest.raises(UnknownRouteError, match=r"HttpStart: \[POST,GET\] /api/orchestrators"):
        v1.http("DELETE", "/api/orchestrators/HelloOrchestrator")


def test_plain_http_function(rt: InMemoryRuntime) -> None:
    response = rt.http("GET", "/api/health")
    assert response.status_code == 200 and response.get_body() == b"ok"


def test_unknown_route_lists_the_routes(rt: InMemoryRuntime) -> None:
    with pytest.raises(UnknownRouteError) as info:
        rt.http("POST", "/api/health")
    assert str(info.value) == (
        "No HTTP-triggered function answers POST /api/health. The Functions host would answer "
        "404. The app's HTTP routes:\n"
        "  http_start: [ALL] /api/orchestrators/{functionName}\n"
        "  health: [GET] /api/health\n"
        "Paths may start with /api/ or leave it out; route parameters are written {name}, "
        "{name?} or {name:int}.")


def test_app_less_runtime_says_how_to_get_one() -> None:
    with InMemoryRuntime() as bare, pytest.raises(Exception, match="from_app"):
        bare.http("GET", "/api/health")


def test_calling_starters_directly_with_rt_client(rt: InMemoryRuntime, v1: InMemoryRuntime
                                                  ) -> None:
    req = func.HttpRequest("POST", "http://localhost:7071/api/orchestrators/hello_sequence",
                           route_params={"functionName": "hello_sequence"}, body=b"")
    v2_starter = rt.app.functions["http_start"].user_function
    payload = _started(run(v2_starter(req, rt.client)))
    assert payload["statusQueryGetUri"].startswith(
        "http://localhost:7071/runtime/webhooks/durabletask/instances/")
    assert rt.wait(payload["id"]).is_terminal
    # A V1 starter builds df.DurableOrchestrationClient(starter) itself: give it the binding.
    req = func.HttpRequest("POST", "http://localhost:7071/api/orchestrators/HelloOrchestrator",
                           route_params={"functionName": "HelloOrchestrator"}, body=b"")
    v1_starter = v1.app.functions["HttpStart"].function
    payload = _started(run(v1_starter(req, v1.client_binding())))
    assert v1.wait(payload["id"]).output[0] == "Hello Tokyo!"


def test_check_status_urls_can_be_followed(rt: InMemoryRuntime) -> None:
    payload = _started(rt.http("POST", "/api/orchestrators/approval"))
    rt.run_until_idle()  # status queries read state; the test drives the host
    status, body = _fetch(payload["statusQueryGetUri"])
    assert status == 202 and json.loads(body)["runtimeStatus"] == "Running"
    send = payload["sendEventPostUri"].replace("{eventName}", "Approve")
    assert _fetch(send, "POST", b'{"ok": true}', {"Content-Type": "application/json"})[0] == 202
    rt.wait(payload["id"])
    status, body = _fetch(payload["statusQueryGetUri"])
    assert status == 200
    assert json.loads(body)["output"] == {"got": {"ok": True}, "type": "dict"}
    assert _fetch(send, "POST", b"1", {"Content-Type": "application/json"})[0] == 410
    assert _fetch(payload["purgeHistoryDeleteUri"], "DELETE") == (200, b'{"instancesDeleted": 1}')
    assert _fetch(payload["statusQueryGetUri"])[0] == 404


def _path(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def test_check_status_urls_can_be_followed_through_rt_http(rt: InMemoryRuntime) -> None:
    # The host serves the webhook paths itself (the extension's HttpApiHandler), on the same
    # origin as the app's functions: rt.http answers them as the loopback server does.
    payload = _started(rt.http("POST", "/api/orchestrators/approval"))
    status = rt.http("GET", _path(payload["statusQueryGetUri"]))
    assert status.status_code == 202
    assert json.loads(status.get_body())["runtimeStatus"] == "Pending"  # nothing ran yet
    rt.run_until_idle()
    send = _path(payload["sendEventPostUri"].replace("{eventName}", "Approve"))
    assert rt.http("POST", send, {"ok": True}).status_code == 202
    rt.wait(payload["id"])
    done = rt.http("GET", _path(payload["statusQueryGetUri"]))
    assert done.status_code == 200
    assert json.loads(done.get_body())["output"] == {"got": {"ok": True}, "type": "dict"}
    assert rt.http("POST", send, 1).status_code == 410
    purged = rt.http("DELETE", _path(payload["purgeHistoryDeleteUri"]))
    assert (purged.status_code, purged.get_body()) == (200, b'{"instancesDeleted": 1}')
    assert rt.http("GET", _path(payload["statusQueryGetUri"])).status_code == 404


def test_webhook_paths_need_no_app_and_unknown_ones_answer_404() -> None:
    with InMemoryRuntime() as bare:
        listed = bare.http("GET", "/runtime/webhooks/durabletask/instances")
        assert listed.status_code == 200 and json.loads(listed.get_body()) == []
        assert bare.http("GET", "/runtime/webhooks/durabletask/nothing").status_code == 404


def test_lifecycle_urls_can_be_followed(rt: InMemoryRuntime) -> None:
    payload = _started(rt.http("POST", "/api/orchestrators/approval"))
    rt.run_until_idle()
    for key, expected in (("suspendPostUri", "Suspended"), ("resumePostUri", "Running"),
                          ("terminatePostUri", "Terminated")):
        url = payload[key].replace("{text}", "because")
        assert _fetch(url, "POST")[0] == 202, key
        assert rt.status(payload["id"]).runtime_status.value == expected
    assert rt.status(payload["id"]).output == "because"
    assert _fetch(payload["rewindPostUri"].replace("{text}", "x"), "POST")[0] == 410


def test_server_outside_the_api_answers_404(rt: InMemoryRuntime) -> None:
    origin = json.loads(rt.client_binding())["baseUrl"].split("/runtime")[0]
    assert _fetch(origin + "/api/health")[0] == 404


@pytest.mark.parametrize("template,path,params", [
    ("orchestrators/{functionName}", "orchestrators/x", {"functionName": "x"}),
    ("items/{id:int}", "items/42", {"id": "42"}),
    ("items/{id:int}", "items/abc", None),
    ("items/{id?}", "items", {}),
    ("items/{id?}", "items/7", {"id": "7"}),
    ("files/{*rest}", "files/a/b/c", {"rest": "a/b/c"}),
    ("v{version}/things", "v2/things", {"version": "2"}),
    ("Health", "health", {}),
])
def test_route_templates(template: str, path: str, params: dict) -> None:
    match = _compile(template).fullmatch(path)
    if params is None:
        assert match is None
    else:
        assert match is not None
        assert {k: v for k, v in match.groupdict().items() if v is not None} == params


def test_a_function_that_raises_gets_the_hosts_500_and_its_exception_logged(
        rt: InMemoryRuntime, caplog: pytest.LogCaptureFixture) -> None:
    # The starter's client call fails (no such orchestrator): the SDK raises, and the
    # Functions host answers the invocation with 500 and an empty body.
    with caplog.at_level("ERROR", logger="durable_testkit.http"):
        response = rt.http("POST", "/api/orchestrators/no_such_orchestrator")
    assert (response.status_code, response.get_body()) == (500, b"")
    assert "Executed 'Functions.http_start' (Failed)" in caplog.text
    assert "no_such_orchestrator" in caplog.text
    with pytest.raises(Exception, match="no_such_orchestrator"):
        rt.http("POST", "/api/orchestrators/no_such_orchestrator", raise_errors=True)
