"""Invoke an app's HTTP-triggered functions as the Python worker would.

``invoke_http`` matches a path against the app's route templates (under the
default ``api/`` prefix), builds a real ``func.HttpRequest``, fills the
``durableClient`` binding with the runtime's binding JSON (V2's DFApp
middleware and V1 starters both build ``df.DurableOrchestrationClient`` from
that string), calls the function by binding name and returns the
``func.HttpResponse`` it produced.
"""
from __future__ import annotations

import inspect
import json
import logging
import re
from typing import Any, Dict, List, Mapping, Optional, Pattern, Tuple
from urllib.parse import parse_qsl, urlsplit

from . import _management_api as _api
from ._loopback_http import Refusal, RequestGuard, error_body
from ._sdk import OutputBinding
from ._sdk import azure_functions as func
from ._host.ports import RuntimePort

from ._sync import as_coroutine, run_sync
from ._virtual_wait import sdk_waits_on_virtual_time
from .errors import DurableTestkitError, InvalidOperationError, UnknownRouteError

# pytest hides this module's frames in failure reports (--full-trace shows them):
# what the user needs is the line of their own code.
__tracebackhide__ = True

__all__ = ["invoke_http", "routes"]

_log = logging.getLogger("durable_testkit.http")

ROUTE_PREFIX = "api"

# ASP.NET route constraints -> regex for one path segment.
_CONSTRAINTS = {
    "int": r"-?\d+", "long": r"-?\d+", "alpha": r"[A-Za-z]+", "bool": r"(?i:true|false)",
    "guid": r"[0-9A-Fa-f]{8}-?[0-9A-Fa-f]{4}-?[0-9A-Fa-f]{4}-?[0-9A-Fa-f]{4}-?[0-9A-Fa-f]{12}",
    "decimal": r"-?\d+(?:\.\d+)?", "double": r"-?\d+(?:\.\d+)?", "float": r"-?\d+(?:\.\d+)?",
    "datetime": r"[^/]+",
}
_PARAM = re.compile(r"\{(\*?)([A-Za-z_][A-Za-z0-9_]*)(?::([A-Za-z]+)(?:\([^)]*\))?)?(\?)?\}")


def routes(app: Any) -> List[Tuple[str, str, str]]:
    """``(methods, route, function name)`` for each HTTP trigger, for listings."""
    if app is None:
        return []
    return [(",".join(info.methods) or "ALL", info.route, info.name)
            for info in app.http.values()]


def invoke_http(rt: RuntimePort, method: str, path: str, body: Any = None,
                headers: Optional[Mapping[str, str]] = None, *,
                origin: Optional[str] = None, virtual_waits: bool = False,
                raise_errors: bool = False) -> func.HttpResponse:
    """Call the HTTP-triggered function routed at ``path`` and return its response.

    Args:
        rt: the runtime; ``rt.app`` (set by ``InMemoryRuntime.from_app``) lists the functions.
        method: HTTP method.
        path: ``/api/orchestrators/x?q=1`` or ``orchestrators/x``.
        body: bytes, str, or a JSON value (sent as JSON).
        headers: request headers.
        origin: scheme://host[:port] of the request URL; default the runtime's
            loopback server, so check-status URLs in the response can be followed.
        virtual_waits: the SDK client's waits inside the function
            (``wait_for_completion_or_create_check_status_response``) drive the
            runtime on virtual time (``rt.http`` sets it; ``serve`` runs on real time).
        raise_errors: re-raise what the function raised instead of answering 500 as
            the host does (the exception is logged either way).

    A path under ``/runtime/webhooks/durabletask/`` (the check-status URLs) is the
    Durable management API, which the host serves itself, app or no app: it is
    answered by that API, as a status GET on the loopback server would be.

    Raises:
        UnknownRouteError: no function's route and methods match.
    """
    parts = urlsplit(path)
    if parts.path.lower().startswith(_api.WEBHOOK_PATH + "/"):
        return _management(rt, method, parts.path, parts.query, body, headers, origin)
    if rt.app is None:
        raise InvalidOperationError(
            "rt.http(...) calls the app's HTTP-triggered functions, but this runtime has no "
            "app. Build it with InMemoryRuntime.from_app(app_or_folder).")
    method = method.upper()
    rel = parts.path.lstrip("/")
    if rel.lower() == ROUTE_PREFIX or rel.lower().startswith(ROUTE_PREFIX + "/"):
        rel = rel[len(ROUTE_PREFIX) + 1:]
    found = _match(rt.app, method, rel)
    if found is None:
        raise UnknownRouteError(method, path, routes(rt.app))
    info, route_params = found

    binding = rt.client_binding() if info.client_param else None
    if origin is None:
        origin = _origin(rt)
    req_headers = dict(headers or {})
    data = _body_bytes(body, req_headers)
    url = f"{origin}/{ROUTE_PREFIX}/{rel}" + (f"?{parts.query}" if parts.query else "")
    request = func.HttpRequest(method, url, headers=req_headers,
                               params=dict(parse_qsl(parts.query, keep_blank_values=True)),
                               route_params=route_params, body=data)

    kwargs: Dict[str, Any] = {}
    outs: Dict[str, OutputBinding] = {}
    for b in info.bindings:
        name = b.get("name")
        kind = str(b.get("type", "")).lower()
        if name == info.trigger_param:
            kwargs[name] = request
        elif name == info.client_param:
            kwargs[name] = binding
        elif kind == "http" and str(b.get("direction", "")).lower() == "out" and name != "$return":
            outs[name] = OutputBinding()
            kwargs[name] = outs[name]
    if info.trigger_param not in kwargs:
        kwargs[info.trigger_param] = request
    try:
        if virtual_waits:
            with sdk_waits_on_virtual_time(rt):
                returned = _call(rt, info.function, kwargs)
        else:
            returned = _call(rt, info.function, kwargs)
    except DurableTestkitError:
        raise  # the harness's own verdict (a runaway, a drive timeout...): the test's business
    except Exception as exc:
        if raise_errors:
            raise
        # The Functions host answers an invocation that raised with 500 and an empty body,
        # and logs the exception (ExceptionMiddleware): the log is where the test sees it.
        _log.error("Executed 'Functions.%s' (Failed): %s: %s", info.name, type(exc).__name__,
                   exc, exc_info=exc)
        return func.HttpResponse(status_code=500)
    if returned is None and outs:
        returned = next(iter(outs.values())).get()
    return _to_response(info.name, returned)


def _management(rt: RuntimePort, method: str, path: str, query: str, body: Any,
                headers: Optional[Mapping[str, str]], origin: Optional[str]) -> func.HttpResponse:
    req_headers = dict(headers or {})
    data = _body_bytes(body, req_headers)
    content_type = next((v for k, v in req_headers.items() if k.lower() == "content-type"), None)
    text = RequestGuard.body_text(data, content_type) if data else None
    if isinstance(text, Refusal):
        out, payload = error_body(text.status, text.message)
        return func.HttpResponse(payload, status_code=text.status, headers=out)
    if origin is None:
        origin = _origin(rt)
    # The harness's own errors (a drive past drive_timeout, a runaway orchestrator...)
    # reach the test, as from every other rt call; `serve` answers them as a 500.
    status, out_headers, answer = _api.handle(rt, method, path, query, text,
                                              headers=req_headers, origin=origin,
                                              raise_errors=True)
    return func.HttpResponse(answer, status_code=status, headers=out_headers)


def _origin(rt: RuntimePort) -> str:
    """Where request URLs point: the runtime's loopback server, if it runs, so the
    check-status URLs in answers can be followed; else where ``func start`` listens."""
    return rt.server.origin if rt.server is not None else _api.PLACEHOLDER_ORIGIN


def _match(app: Any, method: str, rel: str) -> Optional[Tuple[Any, Dict[str, str]]]:
    candidates = sorted(app.http.values(), key=lambda i: (i.route.count("{"), i.route))
    for info in candidates:
        if info.methods and method not in info.methods:
            continue
        m = _compile(info.route).fullmatch(rel.rstrip("/"))
        if m is not None:
            return info, {k: v for k, v in m.groupdict().items() if v is not None}
    return None


_compiled: Dict[str, Pattern[str]] = {}


def _compile(template: str) -> Pattern[str]:
    pattern = _compiled.get(template)
    if pattern is not None:
        return pattern
    out = ""
    for i, segment in enumerate(template.strip("/").split("/")):
        sep = "/" if i else ""
        whole = _PARAM.fullmatch(segment)
        if whole is not None:
            star, name, constraint, optional = whole.groups()
            body = ".*" if star else _CONSTRAINTS.get((constraint or "").lower(), r"[^/]+")
            piece = f"{sep}(?P<{name}>{body})"
            out += f"(?:{piece})?" if optional or star else piece
            continue
        pos = 0
        piece = ""
        for m in _PARAM.finditer(segment):
            piece += re.escape(segment[pos:m.start()])
            body = _CONSTRAINTS.get((m.group(3) or "").lower(), r"[^/]+?")
            piece += f"(?P<{m.group(2)}>{body})" + ("?" if m.group(4) else "")
            pos = m.end()
        piece += re.escape(segment[pos:])
        out += sep + piece
    # Literal segments match case-insensitively, as in ASP.NET routing.
    pattern = re.compile(out, re.IGNORECASE)
    _compiled[template] = pattern
    return pattern


def _body_bytes(body: Any, headers: Dict[str, str]) -> bytes:
    if body is None:
        return b""
    if isinstance(body, (bytes, bytearray)):
        return bytes(body)
    if isinstance(body, str):
        return body.encode("utf-8")
    if not any(k.lower() == "content-type" for k in headers):
        headers["Content-Type"] = "application/json"
    return json.dumps(body).encode("utf-8")


def _call(rt: RuntimePort, fn: Any, kwargs: Dict[str, Any]) -> Any:
    out = fn(**kwargs)
    if not inspect.isawaitable(out):
        return out
    server = rt.server
    if server is not None and hasattr(server, "run_coroutine"):
        # One loop for every function call, so the SDK's global aiohttp session stays valid.
        return server.run_coroutine(as_coroutine(out))
    return run_sync(out, thread_name="durable-testkit-http")


def _to_response(name: str, returned: Any) -> func.HttpResponse:
    if isinstance(returned, func.HttpResponse):
        return returned
    if returned is None:
        return func.HttpResponse(status_code=204)
    if isinstance(returned, (str, bytes)):
        return func.HttpResponse(returned)
    raise TypeError(
        f"HTTP function '{name}' returned {type(returned).__name__}; the worker's http output "
        "binding takes a func.HttpResponse, str or bytes.")

