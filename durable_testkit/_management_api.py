"""The Durable extension's HTTP management API, played against an InMemoryRuntime.

One function, :func:`handle`, answers both URL families the extension serves:

- the RPC endpoints the Python client calls, relative to the binding's
  ``rpcBaseUrl`` (``/durabletask/...``), and
- the public webhooks that check-status responses point to
  (``/runtime/webhooks/durabletask/...``).

Both families take the same routes here, as they do in the extension's
``HttpApiHandler``. Status codes and bodies follow what the SDK client expects
(``models/DurableOrchestrationClient.py``) and what the extension returns (read
from its source, not executed). The payload decoding is deliberately faithful:
the body is JSON-decoded exactly once, so ``raise_event`` data arrives one level
too encoded, as in Azure (Azure/azure-functions-durable-python#295).

Transport-free: ``client.InMemoryClient`` calls this directly and ``_server``
serves it over loopback HTTP.
"""
from __future__ import annotations

import json
import os
import re
import traceback
from datetime import datetime, timedelta, timezone
from typing import Any, Dict, List, Mapping, Optional, Set, Tuple, Union
from urllib.parse import parse_qsl, unquote


from . import _protocol as p
from . import _sdk
from . import _wire as w
from ._host.ports import RuntimePort
from ._host.registry import missing_function_text
from .errors import (DurableTestkitError, InvalidOperationError, UnknownFunctionError,
                     UnknownInstanceError)
from .status import TERMINAL_STATUSES
from .status import OrchestrationRuntimeStatus as Status

# pytest hides this module's frames in failure reports (--full-trace shows them):
# what the user needs is the line of their own code.
__tracebackhide__ = True

__all__ = ["Response", "handle", "binding_json", "management_payload", "drive_until",
           "PLACEHOLDER_ORIGIN", "PLACEHOLDER_RPC_ORIGIN", "WEBHOOK_PATH", "RPC_PATH", "task_hub",
           "TASK_HUB", "CONNECTION", "url_encode"]

Response = Tuple[int, Dict[str, str], str]

#: Where the func host listens locally; the in-memory client's URLs use it.
PLACEHOLDER_ORIGIN = "http://localhost:7071"
#: The extension's default local RPC origin (never contacted by the in-memory client).
PLACEHOLDER_RPC_ORIGIN = "http://127.0.0.1:17071"
WEBHOOK_PATH = "/runtime/webhooks/durabletask"
RPC_PATH = "/durabletask"
#: What a local func host calls the task hub and the storage connection.
TASK_HUB = "TestHubName"
CONNECTION = "Storage"
#: The extension's placeholder for the instance id in ``managementUrls``.
INSTANCE_ID_PLACEHOLDER = "INSTANCEID"

REWIND_NOT_SUPPORTED = (
    "Rewind is not supported by durable-testkit's in-memory host: DTFx rewinds by rewriting "
    "the failed instance's history, which this host does not reproduce. Start a new instance "
    "with the same input instead (client.start_new), or test rewind against the real host.")

_JSON = {"Content-Type": "application/json; charset=utf-8"}


# ---------------------------------------------------------------- URLs and the binding
def task_hub(rt: Any) -> str:
    """The task hub name: host.json's ``extensions.durableTask.hubName`` when the app sets it.

    ext: DurableTaskOptions.HubName (default "TestHubName" on a local func host); the
    binding's ``taskHubName`` and every management URL carry it.
    """
    app = getattr(rt, "app", None)
    root = getattr(app, "root", None)
    if not root:
        return TASK_HUB
    cached = getattr(app, "_durable_testkit_hub", None)
    if cached is None:
        cached = TASK_HUB
        try:
            with open(f"{root}/host.json", encoding="utf-8-sig") as fh:
                config = json.load(fh)
            hub = ((config.get("extensions") or {}).get("durableTask") or {}).get("hubName")
            if isinstance(hub, str) and hub and "%" not in hub:  # %Setting% is an app setting
                cached = hub
        except (OSError, ValueError, AttributeError):
            pass
        try:
            object.__setattr__(app, "_durable_testkit_hub", cached)
        except (AttributeError, TypeError):
            pass
    return str(cached)


#: What .NET's WebUtility.UrlEncode leaves as it is (it writes a space as "+").
_URL_SAFE = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.!*()")


def url_encode(text: str) -> str:
    """``WebUtility.UrlEncode``, as the extension encodes ids in its links (upper-case hex).

    A space becomes ``+``, which the extension's own routes then read as a ``+``: an id
    with a space has links that do not find it, in Azure as here.
    """
    return "".join(chr(b) if b in _URL_SAFE else "+" if b == 0x20 else f"%{b:02X}"
                   for b in text.encode("utf-8"))


def management_payload(origin: str, instance_id: str, *, task_hub: str = TASK_HUB,
                       connection: str = CONNECTION) -> Dict[str, str]:
    """``HttpManagementPayload`` as the extension builds it (``GetClientResponseLinks``)."""
    prefix = f"{origin}{WEBHOOK_PATH}/instances/{url_encode(instance_id)}"
    suffix = f"taskHub={url_encode(task_hub)}&connection={url_encode(connection)}"
    return {
        "id": instance_id,
        "statusQueryGetUri": f"{prefix}?{suffix}",
        "sendEventPostUri": f"{prefix}/raiseEvent/{{eventName}}?{suffix}",
        "terminatePostUri": f"{prefix}/terminate?reason={{text}}&{suffix}",
        "rewindPostUri": f"{prefix}/rewind?reason={{text}}&{suffix}",
        "purgeHistoryDeleteUri": f"{prefix}?{suffix}",
        "restartPostUri": f"{prefix}/restart?{suffix}",
        "suspendPostUri": f"{prefix}/suspend?reason={{text}}&{suffix}",
        "resumePostUri": f"{prefix}/resume?reason={{text}}&{suffix}",
    }


def binding_json(origin: str, rpc_origin: str, *, task_hub: str = TASK_HUB) -> str:
    """The ``durableClient`` binding string the extension hands an out-of-process worker."""
    base = f"{origin}{WEBHOOK_PATH}"
    creation = f"{base}/orchestrators/{{functionName}}[/{{instanceId}}]"
    management = management_payload(origin, INSTANCE_ID_PLACEHOLDER, task_hub=task_hub)
    return json.dumps({
        "taskHubName": task_hub,
        "creationUrls": {
            "createNewInstancePostUri": f"{creation}?",
            "createAndWaitOnNewInstancePostUri":
                f"{creation}?timeout={{timeoutInSeconds}}&pollingInterval={{intervalInSeconds}}&",
        },
        "managementUrls": management,
        "baseUrl": base,
        "requiredQueryStringParameters": "",
        "rpcBaseUrl": f"{rpc_origin}{RPC_PATH}/",
        "httpBaseUrl": "",
        "grpcBaseUrl": None,
    })


# ---------------------------------------------------------------- the handler
def handle(rt: RuntimePort, method: str, path: str, query: Union[str, Mapping[str, str], None] = None,
           body_text: Optional[str] = None, *, headers: Optional[Mapping[str, str]] = None,
           origin: str = PLACEHOLDER_ORIGIN, raise_errors: bool = False) -> Response:
    """Answer one management API request against ``rt``.

    Args:
        rt: the InMemoryRuntime.
        method: HTTP method.
        path: URL path, starting with ``/durabletask/`` (RPC) or
            ``/runtime/webhooks/durabletask/`` (public webhooks).
        query: the raw query string or a mapping (keys are case-insensitive).
        body_text: the request body, or None when there is none.
        headers: request headers (``Content-Type`` matters for raiseEvent).
        origin: scheme://host[:port] for the URLs in check-status payloads.
        raise_errors: re-raise durable-testkit errors from the runtime instead
            of answering 500 (the in-memory client wants them in the test).

    Returns:
        ``(status, headers, body_text)``; body_text is "" for an empty body.
    """
    route = _split(path)
    q = _query(query)
    hdrs = {k.lower(): v for k, v in (headers or {}).items()}
    try:
        with rt.lock:
            return _route(rt, method.upper(), route, q, body_text, hdrs, origin)
    except DurableTestkitError as exc:
        if raise_errors:
            raise
        return _error(500, f"{type(exc).__name__}: {exc}")
    except Exception as exc:  # a handler bug or a user-code failure: answer as the host does
        if raise_errors:
            raise
        # One line, where it was raised, never the Python traceback: an HTTP body is no
        # place for our frames (and the client shows ExceptionMessage anyway).
        return _error(500, f"{type(exc).__name__}: {exc}{_raised_at(exc)}")


def _raised_at(exc: BaseException) -> str:
    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return ""
    last = frames[-1]
    return f" (raised at {os.path.basename(last.filename)}:{last.lineno} in {last.name})"


def _split(path: str) -> Optional[List[str]]:
    path = path.split("?", 1)[0]
    for prefix in (WEBHOOK_PATH + "/", RPC_PATH + "/"):
        if path.lower().startswith(prefix):
            rest = path[len(prefix):]
            return [unquote(s) for s in rest.split("/")]
    return None


def _query(query: Union[str, Mapping[str, str], None]) -> Dict[str, str]:
    if query is None:
        return {}
    if isinstance(query, str):
        # The SDK does not URL-encode its query values (dates, statuses); parse_qsl copes.
        return {k.lower(): v for k, v in parse_qsl(query.lstrip("?"), keep_blank_values=True)}
    return {k.lower(): v for k, v in query.items()}


def _route(rt: RuntimePort, method: str, route: Optional[List[str]], q: Dict[str, str],
           body: Optional[str], headers: Dict[str, str], origin: str) -> Response:
    if not route or not route[0]:
        return _not_found(method, route)
    head = route[0].lower()
    n = len(route)
    if head == "orchestrators" and n in (2, 3) and route[1] and method == "POST":
        return _start(rt, route[1], route[2] if n == 3 and route[2] else None, q, body, origin)
    if head == "instances":
        instance_id = route[1] if n > 1 else ""
        if n <= 2 and not instance_id:
            if method == "GET":
                return _list(rt, q)
            if method == "DELETE":
                return _purge_by(rt, q)
        elif n == 2 and method == "GET":
            return _status(rt, instance_id, q, origin)
        elif n == 2 and method == "DELETE":
            return _purge(rt, instance_id)
        elif n == 4 and route[2].lower() == "raiseevent" and method == "POST":
            return _raise_event(rt, instance_id, route[3], body, headers)
        elif n == 3 and method == "POST":
            op = route[2].lower()
            if op in ("terminate", "suspend", "resume"):
                return _lifecycle(rt, op, instance_id, q.get("reason", ""))
            if op == "rewind":
                return _rewind(rt, instance_id)
            if op == "restart":
                return _restart(rt, instance_id, q, origin)
    if head == "entities" and n == 3 and route[1]:
        if method == "POST":
            return _signal(rt, route[1], route[2], q.get("op", ""), body, headers)
        if method == "GET":
            return _entity_state(rt, route[1], route[2])
    return _not_found(method, route)


# ---------------------------------------------------------------- orchestrations
def _start(rt: RuntimePort, name: str, instance_id: Optional[str], q: Dict[str, str],
           body: Optional[str], origin: str) -> Response:
    try:
        value = _decode_input(body)
    except ValueError as exc:
        return _error(400, "Invalid JSON content", str(exc))
    wait, refused = _wait_arguments(q)
    if refused is not None:
        return refused
    try:
        # SDK 1.5.0+: start_new(version=...) sends ?version=; the instance keeps it.
        instance_id = rt.start(name, value, instance_id, version=q.get("version") or None)
    except UnknownFunctionError as exc:
        # ext: HttpApiHandler answers 400 with GetInvalidOrchestratorFunctionMessage.
        return _error(400, missing_function_text(name, "orchestrator", exc.known))
    except InvalidOperationError as exc:
        if exc.existing_status is not None:
            # dtfx (Azure Storage, ThrowExceptionOnInvalidDedupeStatus): the start finds the id
            # in a dedupe status (NonRunningStates: any non-terminal one) and throws
            # OrchestrationAlreadyExistsException, an InvalidOperationException: the catch-all.
            return _host_error(f"An Orchestration instance with the status "
                               f"{exc.existing_status} already exists.",
                               "DurableTask.Core.Exceptions.OrchestrationAlreadyExistsException")
        return _error(400, str(exc))
    if wait is not None:
        # createAndWaitOnNewInstancePostUri: wait in virtual time, then answer like
        # WaitForCompletionOrCreateCheckStatusResponseAsync.
        drive_until(rt, instance_id, *wait)
        result = rt.status(instance_id)
        if result.runtime_status == Status.Completed:
            return 200, dict(_JSON), json.dumps(result.output)
        if result.is_terminal:  # returnInternalServerErrorOnFailure is false here: a 200
            return 200, dict(_JSON), json.dumps(_status_json(rt, result, show_input=True))
    return _check_status(origin, instance_id, task_hub(rt))


# TimeSpan.MaxValue.TotalSeconds: TimeSpan.FromSeconds refuses anything longer.
_TIMESPAN_MAX_SECONDS = 922_337_203_685.4775807


def _wait_arguments(q: Dict[str, str]
                    ) -> Tuple[Optional[Tuple[timedelta, timedelta]], Optional[Response]]:
    """``timeout`` and ``pollingInterval`` of a start, or the 400 that refuses them.

    ext HandleStartOrchestratorRequestAsync reads each with double.TryParse (text that
    is not a number is ignored: no wait) and TimeSpan.FromSeconds, which throws on NaN
    (ArgumentException) and past TimeSpan's range (OverflowException); then
    WaitForCompletionOrCreateCheckStatusResponseAsync throws ArgumentException when the
    interval exceeds the timeout, and its Task.Delay on a negative interval. The
    extension does so after starting the instance; here nothing is started, so a
    corrected retry does not meet a duplicate (docs/protocol.md).
    """
    timeout = _seconds(q.get("timeout"))
    interval = _seconds(q.get("pollinginterval"))
    for key, value in (("timeout", timeout), ("pollingInterval", interval)):
        if value is None:
            continue
        if value != value:
            return None, _bad_argument(
                key, q, "TimeSpan does not accept floating point Not-a-Number values.",
                "System.ArgumentException")
        if abs(value) > _TIMESPAN_MAX_SECONDS:
            return None, _bad_argument(
                key, q, "TimeSpan overflowed because the duration is too long.",
                "System.OverflowException")
    if timeout is None or interval is None:
        return None, None
    if interval > timeout:
        return None, _bad_argument(
            "pollingInterval", q, f"Total timeout {timeout:g} should be bigger than retry "
                                  f"timeout {interval:g}", "System.ArgumentException")
    if interval < 0 < timeout:
        return None, _bad_argument(
            "pollingInterval", q, "The value needs to translate in milliseconds to -1 "
            "(signifying an infinite timeout), 0, or a positive integer less than or equal to "
            "the maximum allowed timer duration. (Parameter 'delay')",
            "System.ArgumentOutOfRangeException")
    return (timedelta(seconds=timeout), timedelta(seconds=interval)), None


def _bad_argument(key: str, q: Dict[str, str], message: str, exception_type: str) -> Response:
    """HandleRequestAsync's ArgumentException answer, naming the value; nothing started."""
    shown = q.get(key.lower(), "")
    shown = shown if len(shown) <= 40 else shown[:37] + "..."
    body = {"Message": "One or more of the arguments submitted is incorrect",
            "ExceptionMessage": f"{message} ({key}={shown}; no instance was started)",
            "ExceptionType": exception_type}
    return 400, dict(_JSON), json.dumps(body)


def _restart(rt: RuntimePort, instance_id: str, q: Dict[str, str], origin: str) -> Response:
    """ext HandleRestartInstanceRequestAsync and DurableClient.RestartAsync.

    The orchestrator starts again with the input the status query shows (the current
    execution's), under a new id unless ``restartWithNewInstanceId=false``, whose start
    then meets the same dedupe check as any start.
    """
    try:
        result = rt.status(instance_id)
    except UnknownInstanceError:
        body = {"Message": "InstanceId does not match a valid orchestration instance.",
                "ExceptionMessage": f"An orchestrastion with the instanceId {instance_id} was "
                                    "not found.",  # sic: the extension's spelling
                "ExceptionType": "System.ArgumentException"}
        return 400, dict(_JSON), json.dumps(body)
    same_id = q.get("restartwithnewinstanceid", "").strip().lower() == "false"
    query = {k: v for k, v in q.items() if k in ("timeout", "pollinginterval")}
    return _start(rt, result.name, instance_id if same_id else None, query,
                  json.dumps(result.input), origin)


def _decode_input(body: Optional[str]) -> Any:
    """The extension decodes the body once; the SDK encoded it twice (df_dumps, then json=).

    When the decoded value is a string holding JSON text, that text is the
    orchestration input (the extension passes it on as the serialized input).
    """
    if body is None or not body.strip():
        return None
    value = json.loads(body)
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _check_status(origin: str, instance_id: str, hub: str = TASK_HUB) -> Response:
    """ext: CreateCheckStatusResponseMessage, which writes every link but rewind's."""
    payload = management_payload(origin, instance_id, task_hub=hub)
    del payload["rewindPostUri"]
    headers = dict(_JSON, Location=payload["statusQueryGetUri"], **{"Retry-After": "10"})
    return 202, headers, json.dumps(payload)


def _status(rt: RuntimePort, instance_id: str, q: Dict[str, str], origin: str) -> Response:
    # A query answers with the state at this moment, as in Azure: it never runs work.
    if instance_id not in rt.instance_ids:
        return 404, dict(_JSON), ""
    result = rt.status(instance_id)
    body = _status_json(rt, result, show_input=_flag(q, "showinput", True),
                        show_history=_flag(q, "showhistory", False),
                        show_history_output=_flag(q, "showhistoryoutput", False))
    headers = dict(_JSON)
    status = result.runtime_status
    if status in TERMINAL_STATUSES:
        code = 200
        if status == Status.Failed and _flag(q, "returninternalservererroronfailure", False):
            code = 500
    else:
        code = 202
        headers["Location"] = management_payload(origin, instance_id,
                                                  task_hub=task_hub(rt))["statusQueryGetUri"]
        headers["Retry-After"] = "5"  # ext HandleGetStatusRequestAsync (the check-status answer: 10)
    return code, headers, json.dumps(body)


def _list(rt: RuntimePort, q: Dict[str, str]) -> Response:
    try:
        since = _time(q.get("createdtimefrom"))
        until = _time(q.get("createdtimeto"))
    except ValueError as exc:
        return _error(400, str(exc))
    statuses = {s.strip().lower() for s in q.get("runtimestatus", "").split(",") if s.strip()}
    prefix = q.get("instanceidprefix", "")
    # ext: OrchestrationStatusQueryCondition.ShowInput defaults to true; the SDK's
    # get_status_all/get_status_by send no showInput.
    show_input = _flag(q, "showinput", True)
    out = []
    for instance_id in rt.instance_ids:
        result = rt.status(instance_id)
        if not _matches(result, since, until, statuses, prefix):
            continue
        out.append(_status_json(rt, result, show_input=show_input))
    out.extend(_entity_rows(rt, since, until, statuses, prefix))
    return 200, dict(_JSON), json.dumps(out)


def _entity_rows(rt: RuntimePort, since: Optional[datetime], until: Optional[datetime],
                 statuses: Set[str], prefix: str) -> List[Dict[str, Any]]:
    """Entities as instance queries show them in Azure: ``@name@key``, always Running.

    The extension stores an entity as an eternal orchestration, and ListInstances
    returns those too (Azure/azure-functions-durable-extension#1991,
    MicrosoftDocs/azure-docs#42646). Their created time is not tracked here: the
    time of the entity's last batch stands in for both times.
    """
    rows = []
    for entity in rt.entity_statuses():
        when = entity.last_modified or rt.now
        if statuses and "running" not in statuses:
            continue
        if (since is not None and when < since) or (until is not None and when > until):
            continue
        if not entity.entity_id.startswith(prefix):
            continue
        rows.append({"name": entity.name, "instanceId": entity.entity_id,
                     "runtimeStatus": "Running", "input": None, "customStatus": None,
                     "output": None, "createdTime": _stamp(when), "lastUpdatedTime": _stamp(when)})
    return rows


def _matches(result: Any, since: Optional[datetime], until: Optional[datetime],
             statuses: Set[str], prefix: str) -> bool:
    if since is not None and result.created_time < since:
        return False
    if until is not None and result.created_time > until:
        return False
    if statuses and result.runtime_status.value.lower() not in statuses:
        return False
    instance_id: str = result.instance_id  # the SDK's status object is untyped
    return instance_id.startswith(prefix)


def _purge(rt: RuntimePort, instance_id: str) -> Response:
    # ext: HandleDeleteHistoryByIdRequestAsync answers 404 for an unknown id, else purges
    # whatever the status (the Azure Storage provider deletes running instances too).
    if instance_id not in rt.instance_ids:
        return 404, dict(_JSON), ""
    deleted = rt.purge(instance_id)
    return 200, dict(_JSON), json.dumps({"instancesDeleted": deleted})


def _purge_by(rt: RuntimePort, q: Dict[str, str]) -> Response:
    # ext HandleDeleteHistoryWithFiltersRequestAsync: a missing or unreadable createdTimeFrom
    # is a 400 whose body is this JSON string; a missing or unreadable createdTimeTo is now.
    since = _time_or_none(q.get("createdtimefrom"))
    if since is None:
        return 400, dict(_JSON), json.dumps("Please provide value for 'createdTimeFrom' "
                                            "parameter.")
    until = _time_or_none(q.get("createdtimeto")) or rt.now
    statuses = {s.strip().lower() for s in q.get("runtimestatus", "").split(",") if s.strip()}
    deleted = 0
    for instance_id in rt.instance_ids:
        result = rt.status(instance_id)
        if result.is_terminal and _matches(result, since, until, statuses, ""):
            deleted += rt.purge(instance_id)
    if not deleted:
        return 404, dict(_JSON), ""
    return 200, dict(_JSON), json.dumps({"instancesDeleted": deleted})


def _raise_event(rt: RuntimePort, instance_id: str, event_name: str, body: Optional[str],
                 headers: Dict[str, str]) -> Response:
    gone = _gone_or_missing(rt, instance_id)
    if gone is not None:
        return gone
    media = headers.get("content-type", "").split(";")[0].strip().lower()
    if media != "application/json":
        return _error(400, "Only application/json request content is supported")
    try:
        # Decoded once, never unwrapped: the SDK's json.dumps(data) text is the event
        # data, so the orchestrator receives a string (SDK issue #295, as in Azure).
        data = json.loads(body) if body and body.strip() else None
    except ValueError as exc:
        return _error(400, "Invalid JSON content", str(exc))
    rt.raise_event(instance_id, event_name, data)
    return 202, dict(_JSON), ""


def _lifecycle(rt: RuntimePort, op: str, instance_id: str, reason: str) -> Response:
    gone = _gone_or_missing(rt, instance_id)
    if gone is not None:
        return gone
    try:
        getattr(rt, op)(instance_id, reason)
    except InvalidOperationError as exc:
        # ext: the DurableClient's InvalidOperationException reaches HandleRequestAsync's
        # catch-all, which answers 500 with this message (the SDK client then raises "The
        # operation failed with an unexpected status code 500").
        return _host_error(str(exc), "System.InvalidOperationException")
    return 202, dict(_JSON), ""


def _host_error(message: str, exception_type: str) -> Response:
    """HandleRequestAsync's catch-all: 500 with the exception's message and type."""
    body = {"Message": "Something went wrong while processing your request",
            "ExceptionMessage": message, "ExceptionType": exception_type}
    return 500, dict(_JSON), json.dumps(body)


def _rewind(rt: RuntimePort, instance_id: str) -> Response:
    if instance_id not in rt.instance_ids:
        return 404, dict(_JSON), ""
    if rt.status(instance_id).runtime_status != Status.Failed:
        return 410, dict(_JSON), ""
    # The SDK raises Exception(body) when the body is a string: the message reaches the test.
    return 501, dict(_JSON), json.dumps(REWIND_NOT_SUPPORTED)


def _gone_or_missing(rt: RuntimePort, instance_id: str) -> Optional[Response]:
    if instance_id not in rt.instance_ids:
        return 404, dict(_JSON), ""
    if rt.status(instance_id).is_terminal:
        return 410, dict(_JSON), ""
    return None


# ---------------------------------------------------------------- entities
def _signal(rt: RuntimePort, name: str, key: str, op: str, body: Optional[str],
            headers: Dict[str, str]) -> Response:
    value: Any = None
    if body:
        media = headers.get("content-type", "").split(";")[0].strip().lower()
        if media == "application/json":
            try:
                value = _decode_input(body)
            except ValueError as exc:
                return _error(400, f"Could not parse JSON content: {exc}")
        else:
            value = body
    try:
        rt.signal_entity(_sdk.EntityId(name, key), op, value)
    except UnknownFunctionError as exc:  # ext: ThrowIfFunctionDoesNotExist's ArgumentException
        # CreateErrorResponse(BadRequest, e.Message): an HttpError holding only the message.
        return 400, dict(_JSON), json.dumps({"Message": exc.host_text or str(exc)})
    return 202, dict(_JSON), ""


def _entity_state(rt: RuntimePort, name: str, key: str) -> Response:
    state = rt.entity_state(_sdk.EntityId(name, key))
    if state is None:
        return 404, dict(_JSON), ""
    return 200, dict(_JSON), json.dumps(state)


# ---------------------------------------------------------------- waiting in virtual time
_MAX_POLLS = 10_000

def drive_until(rt: RuntimePort, instance_id: str, timeout: timedelta, interval: timedelta) -> None:
    """Poll like the host would, but on virtual time: run ready work, check, skip ``interval``.

    Stops when the instance is finished or ``timeout`` of virtual time has passed,
    so the clock ends on a poll instant, as it would in Azure.
    """
    with rt.lock:
        try:
            deadline = rt.now + timeout
        except OverflowError:  # past year 9999: the clock cannot get there anyway
            deadline = datetime.max.replace(tzinfo=rt.now.tzinfo)
        # Azure polls in real time; here every poll runs the host, so a fine interval on
        # a long timeout (or 0, a busy poll) is widened to at most _MAX_POLLS polls.
        interval = max(interval, (deadline - rt.now) / _MAX_POLLS)
        while True:
            rt.run_until_idle()
            if rt.status(instance_id).is_terminal or rt.now >= deadline:
                return
            rt.advance(min(interval, deadline - rt.now))


# ---------------------------------------------------------------- status JSON
def _status_json(rt: RuntimePort, result: Any, *, show_input: bool, show_history: bool = False,
                 show_history_output: bool = False) -> Dict[str, Any]:
    out: Dict[str, Any] = {
        "name": result.name,
        "instanceId": result.instance_id,
        "runtimeStatus": result.runtime_status.value,
        "input": result.input if show_input else None,
        "customStatus": result.custom_status,
        "output": result.output,
        "createdTime": _stamp(result.created_time),
        "lastUpdatedTime": _stamp(result.last_updated_time),
    }
    if show_history:
        out["historyEvents"] = history_events(result.history.to_wire(), show_history_output,
                                              show_input)
    return out


def history_events(wire: List[Dict[str, Any]], show_output: bool,
                   show_input: bool = True) -> List[Dict[str, Any]]:
    """Shape a history as the extension's ``historyEvents`` (``DurableClient.GetDurableOrchestrationStatusAsync``).

    Names instead of numbers; each completion takes its scheduling event's
    ``FunctionName``, ``ScheduledTime`` and (with ``showInput``) ``Input``, and
    that scheduling event is dropped; OrchestratorStarted/Completed are dropped;
    ``Result`` of completions and of ExecutionCompleted only with
    ``showHistoryOutput`` (then parsed JSON), ``Input`` fields only with
    ``showInput`` (as the JSON text the history holds).
    """
    names = {v: k for k, v in vars(p).items()
             if k.isupper() and isinstance(v, int) and k in _EVENT_NAMES}
    scheduled: Dict[Tuple[str, int], Tuple[int, Dict[str, Any]]] = {}
    drop: Set[int] = set()
    out: List[Dict[str, Any]] = []
    for e in wire:
        kind: Any = e.get("EventType")
        if kind in (p.ORCHESTRATOR_STARTED, p.ORCHESTRATOR_COMPLETED):
            continue
        item = {k: v for k, v in e.items() if k not in ("EventId", "IsPlayed", "EventType")}
        item = {"EventType": _EVENT_NAMES.get(names.get(kind, ""), str(kind)), **item}
        if kind in (p.TASK_SCHEDULED, p.SUB_ORCHESTRATION_CREATED):
            item.pop("Version", None)
            scheduled[(str(kind), e.get("EventId", -1))] = (len(out), dict(item))
        elif kind in (p.TASK_COMPLETED, p.TASK_FAILED, p.SUB_ORCHESTRATION_COMPLETED,
                      p.SUB_ORCHESTRATION_FAILED):
            source = p.TASK_SCHEDULED if kind in (p.TASK_COMPLETED, p.TASK_FAILED) \
                else p.SUB_ORCHESTRATION_CREATED
            found = scheduled.pop((str(source), item.pop("TaskScheduledId", -1)), None)
            if found is not None:
                drop.add(found[0])
                item["ScheduledTime"] = found[1].get("Timestamp")
                item["FunctionName"] = found[1].get("Name")
                if show_input:
                    item["Input"] = found[1].get("Input")
            if kind in (p.TASK_COMPLETED, p.SUB_ORCHESTRATION_COMPLETED):
                if show_output:
                    item["Result"] = w.loads(item.get("Result"))
                else:
                    item.pop("Result", None)
        elif kind == p.EXECUTION_STARTED:
            function_name = item.pop("Name", None)
            for key in ("OrchestrationInstance", "ParentInstance", "Version", "Tags"):
                item.pop(key, None)
            item["FunctionName"] = function_name
        elif kind == p.EXECUTION_COMPLETED:
            status: Any = item.get("OrchestrationStatus")
            item["OrchestrationStatus"] = _DTFX_NAMES.get(status, status)
            if show_output:
                item["Result"] = w.loads(item.get("Result"))
            else:
                item.pop("Result", None)
            item.pop("FailureDetails", None)
        elif kind == p.TIMER_FIRED:
            item.pop("TimerId", None)
        if not show_input:
            item.pop("Input", None)
        out.append(item)
    return [item for i, item in enumerate(out) if i not in drop]


_EVENT_NAMES = {
    "EXECUTION_STARTED": "ExecutionStarted", "EXECUTION_COMPLETED": "ExecutionCompleted",
    "EXECUTION_FAILED": "ExecutionFailed", "EXECUTION_TERMINATED": "ExecutionTerminated",
    "TASK_SCHEDULED": "TaskScheduled", "TASK_COMPLETED": "TaskCompleted",
    "TASK_FAILED": "TaskFailed", "SUB_ORCHESTRATION_CREATED": "SubOrchestrationInstanceCreated",
    "SUB_ORCHESTRATION_COMPLETED": "SubOrchestrationInstanceCompleted",
    "SUB_ORCHESTRATION_FAILED": "SubOrchestrationInstanceFailed",
    "TIMER_CREATED": "TimerCreated", "TIMER_FIRED": "TimerFired",
    "ORCHESTRATOR_STARTED": "OrchestratorStarted", "ORCHESTRATOR_COMPLETED": "OrchestratorCompleted",
    "EVENT_SENT": "EventSent", "EVENT_RAISED": "EventRaised", "CONTINUE_AS_NEW": "ContinueAsNew",
    "GENERIC_EVENT": "GenericEvent", "HISTORY_STATE": "HistoryState",
    "EXECUTION_SUSPENDED": "ExecutionSuspended", "EXECUTION_RESUMED": "ExecutionResumed",
}
_DTFX_NAMES = {0: "Running", 1: "Completed", 2: "ContinuedAsNew", 3: "Failed", 4: "Canceled",
               5: "Terminated", 6: "Pending", 7: "Suspended"}


# ---------------------------------------------------------------- small helpers
def _stamp(t: datetime) -> str:
    # .NET's ToString("s") + "Z": whole seconds, as ConvertFrom(status) writes them.
    return t.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _time(text: Optional[str]) -> Optional[datetime]:
    if not text:
        return None
    try:
        t = p.parse_timestamp(text.replace(" ", "+"))
    except Exception:
        raise ValueError(f"Could not parse '{text}' as a date and time.") from None
    return t if t.tzinfo is not None else t.replace(tzinfo=timezone.utc)


def _time_or_none(text: Optional[str]) -> Optional[datetime]:
    try:
        return _time(text)
    except ValueError:
        return None


# What .NET's double.TryParse reads (NumberStyles.Float, invariant symbols): no "inf" and
# no digit underscores, which Python's float() would take.
_DOUBLE = re.compile(r"^\s*[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?\s*$")
_DOUBLE_SYMBOLS = {"infinity": float("inf"), "+infinity": float("inf"),
                   "-infinity": float("-inf"), "nan": float("nan"), "+nan": float("nan"),
                   "-nan": float("nan")}


def _seconds(text: Optional[str]) -> Optional[float]:
    """A query value as double.TryParse reads it; None when it does not parse."""
    if text is None:
        return None
    symbol = _DOUBLE_SYMBOLS.get(text.strip().lower())
    if symbol is not None:
        return symbol
    return float(text) if _DOUBLE.match(text) else None


def _flag(q: Dict[str, str], key: str, default: bool) -> bool:
    value = q.get(key)
    if value is None or value == "":
        return default
    return value.strip().lower() == "true"


def _error(status: int, message: str, detail: Optional[str] = None) -> Response:
    # The shape of ASP.NET's HttpError, which the SDK reads ExceptionMessage from.
    body: Dict[str, Any] = {"Message": message if status != 400 else "The request is invalid.",
                            "ExceptionMessage": message}
    if detail:
        body["StackTrace"] = detail
    return status, dict(_JSON), json.dumps(body)


def _not_found(method: str, route: Optional[List[str]]) -> Response:
    where = "/".join(route) if route is not None else "(outside the Durable API)"
    return _error(404, f"No Durable management API route for {method} {where}. Routes: "
                       "orchestrators/{name}[/{id}] (POST), instances/[{id}] (GET, DELETE), "
                       "instances/{id}/raiseEvent/{name}, .../terminate, .../suspend, "
                       ".../resume, .../rewind (POST), entities/{name}/{key} (GET, POST).")
