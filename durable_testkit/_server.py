"""A loopback HTTP server playing the Durable extension's management API (and, for
``durable-testkit serve``, the app's HTTP triggers), plus the ``durableClient`` binding
that points the real ``df.DurableOrchestrationClient`` at it.

Requests are served on daemon threads; every runtime access holds ``rt.lock``.
Coroutines of HTTP-triggered functions run on one event loop owned by the server,
so the SDK's module-global aiohttp session stays on one loop while serving.
"""
from __future__ import annotations

import asyncio
import json
import selectors
import socket
import threading
from concurrent.futures import Future
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler
from typing import Any, Callable, Coroutine, Dict, Optional, Tuple, cast
from urllib.parse import urlsplit

from . import _loopback_http as _http
from . import _management_api as api
from . import _sdk
from ._host.ports import RuntimePort

__all__ = ["LoopbackServer", "client_binding", "RealTimeDriver", "install_session_per_loop"]


class LoopbackServer:
    """``ThreadingHTTPServer`` on ``host:port`` (port 0 picks a free one), on a daemon thread.

    Args:
        rt: the runtime to serve.
        host: interface to bind; loopback unless told otherwise.
        port: TCP port; 0 for an ephemeral one (see :attr:`port`).
        http_functions: also route other paths to the app's HTTP triggers.
        max_body: largest request body accepted, in bytes (default 8 MiB); larger
            ones are answered 413 unread.
        public_url: the server's address as clients see it through a proxy or tunnel
            (``https://host[:port]``). Requests are served only when their Host names
            a loopback address with this port, the bound address, or this URL.

    Raises:
        InvalidOperationError: ``max_body`` is negative or ``public_url`` malformed.
    """

    def __init__(self, rt: RuntimePort, host: str = "127.0.0.1", port: int = 0, *,
                 http_functions: bool = False, max_body: int = _http.DEFAULT_MAX_BODY,
                 public_url: Optional[str] = None) -> None:
        self.rt = rt
        self.http_functions = http_functions
        self.log: Optional[Callable[[str], None]] = None
        # Built before binding, so bad arguments leave no socket open; told the port after.
        self._guard = _http.RequestGuard(host, port, max_body=max_body, public_url=public_url)
        self._httpd = _http.LoopbackHTTPServer((host, port), _make_handler(self),
                                               log=lambda: self.log)
        self.host = host
        self.port: int = self._httpd.server_address[1]
        self._guard.port = self.port
        # stop() (every rt.close()) wakes the serving loop through this pair at once;
        # serve_forever's poll made every rt.close() wait up to one poll interval.
        self._wake_r, self._wake_w = socket.socketpair()
        self._stopping = False
        self._thread = threading.Thread(target=self._serve,
                                        name=f"durable-testkit-server:{self.port}", daemon=True)
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._loop_thread: Optional[threading.Thread] = None
        self._loop_guard = threading.Lock()
        self._thread.start()

    @property
    def origin(self) -> str:
        """``http://host:port`` as a client on this machine reaches it."""
        host = "127.0.0.1" if self.host in ("", "0.0.0.0") else \
            "::1" if self.host.strip("[]") == "::" else self.host.strip("[]")
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}"

    def binding_json(self) -> str:
        return api.binding_json(self.origin, self.origin, task_hub=api.task_hub(self.rt))

    def run_coroutine(self, coro: Coroutine[Any, Any, Any]) -> Any:
        """Run ``coro`` on the server's event loop thread and return its result."""
        with self._loop_guard:
            if self._loop is None:
                self._loop = asyncio.new_event_loop()
                self._loop_thread = threading.Thread(target=self._loop.run_forever,
                                                     name="durable-testkit-functions",
                                                     daemon=True)
                self._loop_thread.start()
            loop = self._loop
        future: Future[Any] = asyncio.run_coroutine_threadsafe(coro, loop)
        return future.result()

    def _serve(self) -> None:
        """``serve_forever`` without its poll: it sleeps until a request or ``stop()``."""
        httpd = self._httpd
        with selectors.DefaultSelector() as selector:
            selector.register(httpd, selectors.EVENT_READ)
            selector.register(self._wake_r, selectors.EVENT_READ)
            while not self._stopping:
                ready = selector.select()
                if self._stopping:
                    break
                if any(key.fileobj is httpd for key, _ in ready):
                    httpd.handle_request()  # readable: accepts and hands it to a thread

    def stop(self) -> None:
        """Stop serving, close the socket and the event loop. Idempotent."""
        if self._thread.is_alive():
            self._stopping = True
            try:
                self._wake_w.send(b"\0")
            except OSError:  # pragma: no cover - closed already: the loop has ended
                pass
            self._thread.join()
        self._wake_r.close()
        self._wake_w.close()
        self._httpd.server_close()
        with self._loop_guard:
            loop, self._loop = self._loop, None
        if loop is not None:
            _close_sdk_session_on(loop)
            loop.call_soon_threadsafe(loop.stop)
            if self._loop_thread is not None:
                self._loop_thread.join()
            loop.close()


def client_binding(rt: RuntimePort) -> str:
    """The ``durableClient`` binding JSON for ``rt``, starting its loopback server on first use."""
    install_session_per_loop()
    with rt.lock:
        if rt.server is None:
            rt.server = LoopbackServer(rt)
        server: LoopbackServer = rt.server
    return server.binding_json()


# ---------------------------------------------------------------- request handling
def _make_handler(server: LoopbackServer) -> type:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "durable-testkit"
        timeout = _http.IDLE_TIMEOUT  # an idle or stalled connection is closed, not kept forever

        def do_GET(self) -> None:
            self._serve()

        def do_POST(self) -> None:
            self._serve()

        def do_DELETE(self) -> None:
            self._serve()

        def do_PUT(self) -> None:
            self._serve()

        def do_PATCH(self) -> None:
            self._serve()

        def handle_expect_100(self) -> bool:
            # Refuse before "100 Continue", so an oversized or unwanted body is never sent.
            admitted = self._admit()
            if isinstance(admitted, _http.Refusal):
                self._refuse(admitted)
                return False
            return bool(super().handle_expect_100())

        def _admit(self) -> Any:
            """``(origin, body length)``, or the Refusal to answer instead of routing."""
            guard = server._guard
            if self.request_version == "HTTP/0.9":
                return _http.Refusal(400, "HTTP/0.9 requests are not supported.")
            if len(self.path) > _http.MAX_TARGET:
                return _http.Refusal(414, f"The request target is {len(self.path)} characters; "
                                          f"this server accepts at most {_http.MAX_TARGET}.")
            origin = guard.origin(self.headers.get_all("Host"), self.request_version,
                                  server.origin)
            if isinstance(origin, _http.Refusal):
                return origin
            refusal = guard.refuse_cross_site(self.headers.get("Sec-Fetch-Site"),
                                              self.headers.get_all("Origin"))
            if refusal is not None:
                return refusal
            length = guard.body_length(self.headers.get_all("Content-Length"),
                                       self.headers.get("Transfer-Encoding"))
            if isinstance(length, _http.Refusal):
                return length
            return origin, length

        def _serve(self) -> None:
            admitted = self._admit()
            if isinstance(admitted, _http.Refusal):
                self._refuse(admitted)
                return
            origin, length = admitted
            raw = self.rfile.read(length) if length else b""
            if len(raw) < length:
                self._refuse(_http.Refusal(400, f"The request body ended after {len(raw)} of "
                                                f"the {length} bytes its Content-Length gave."))
                return
            try:
                status, out_headers, payload = self._route(origin, raw)
            except Exception as exc:  # a bug of ours: answer 500 rather than drop the client
                out_headers, payload = _http.error_body(500, f"{type(exc).__name__}: {exc}")
                status = 500
            self._respond(status, out_headers, payload)

        def _route(self, origin: str, raw: bytes) -> Tuple[int, Dict[str, str], bytes]:
            parts = urlsplit(self.path)
            headers = {k: v for k, v in self.headers.items()}
            path_l = parts.path.lower()
            if path_l.startswith(api.WEBHOOK_PATH + "/") or path_l.startswith(api.RPC_PATH + "/"):
                body = _http.RequestGuard.body_text(raw, self.headers.get("Content-Type")) \
                    if raw else None
                if isinstance(body, _http.Refusal):
                    return body.status, *_http.error_body(body.status, body.message)
                status, out_headers, text = api.handle(
                    server.rt, self.command, parts.path, parts.query,
                    body, headers=headers, origin=origin)
                return status, out_headers, text.encode("utf-8")
            if server.http_functions:
                return _call_function(server, self.command, self.path, raw, headers, origin)
            status, out_headers, text = api.handle(server.rt, self.command, parts.path,
                                                   parts.query, None, origin=origin)
            return status, out_headers, text.encode("utf-8")

        def _respond(self, status: int, out_headers: Dict[str, str], payload: bytes) -> None:
            if self.request_version == "HTTP/0.9":  # a one-word garbage line parses as 0.9
                self.request_version = "HTTP/1.0"  # answer with a status line all the same
            self.send_response(status)
            for key, value in out_headers.items():
                if key.lower() not in ("content-length", "transfer-encoding", "connection"):
                    self.send_header(key, value)
            if self.close_connection:
                self.send_header("Connection", "close")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(payload)

        def _refuse(self, refusal: _http.Refusal) -> None:
            # Unread request bytes may remain on the socket, so the connection ends here.
            self.close_connection = True
            self._respond(refusal.status, *_http.error_body(refusal.status, refusal.message))
            self._linger()

        def _linger(self) -> None:
            # Closing a socket with unread input sends RST, and the client may then lose
            # the answer it has not read yet: half-close, then drain (bounded) first.
            try:
                self.wfile.flush()
                self.connection.shutdown(socket.SHUT_WR)
                self.connection.settimeout(_http.LINGER_SECONDS)
                drained = 0
                while drained < _http.LINGER_BYTES:
                    chunk = self.rfile.read1(65536)
                    if not chunk:
                        break
                    drained += len(chunk)
            except OSError:  # the client is gone already, or timed out: close anyway
                pass

        def send_error(self, code: int, message: Optional[str] = None,
                       explain: Optional[str] = None) -> None:
            # http.server's own refusals (bad request line, header too long, unknown
            # method, HTTP version), with the JSON body of every other error here.
            self.close_connection = True
            short = self.responses.get(code, ("Error", ""))[0]
            text = message or short
            if explain:
                text = f"{text}: {explain}"
            if not hasattr(self, "path"):  # refused before the request line was parsed
                self.command, self.path = "", ""
            self._respond(code, *_http.error_body(code, text))
            self._linger()

        def log_request(self, code: Any = "-", size: Any = "-") -> None:
            if server.log is not None:
                command = getattr(self, "command", None) or "-"
                path = _http.printable(getattr(self, "path", None) or "-")
                server.log(f"{_http.printable(command, 20)} {path} -> {code}")

        def log_message(self, format: str, *args: Any) -> None:
            # log_error's lines (timeouts); log_request has the requests themselves.
            if server.log is not None:
                server.log(_http.printable(format % args))

    return Handler


def _call_function(server: LoopbackServer, method: str, path: str, raw: bytes,
                   headers: Dict[str, str], origin: str) -> Tuple[int, Dict[str, str], bytes]:
    from ._http_functions import invoke_http
    from .errors import UnknownRouteError

    try:
        response = invoke_http(server.rt, method, path, raw or None, headers, origin=origin,
                               raise_errors=True)  # answered below, with the error's text
    except UnknownRouteError as exc:
        return 404, {"Content-Type": "text/plain; charset=utf-8"}, str(exc).encode("utf-8")
    except Exception as exc:  # the host answers 500 when a function raises
        return 500, {"Content-Type": "text/plain; charset=utf-8"}, \
            f"{type(exc).__name__}: {exc}".encode("utf-8")
    out = dict(response.headers)
    if response.mimetype and "content-type" not in {k.lower() for k in out}:
        charset = f"; charset={response.charset}" if response.charset else ""
        out["Content-Type"] = f"{response.mimetype}{charset}"
    return response.status_code, out, response.get_body() or b""


# ---------------------------------------------------------------- the SDK's aiohttp session
_session_guard = threading.Lock()
_session_owner: Dict[str, Any] = {}  # "session" -> the session we saw created, "loop" -> its loop


def install_session_per_loop() -> None:
    """Give the SDK's module-global aiohttp session one life per event loop.

    Since 1.5 the SDK keeps one ``ClientSession`` in
    ``models.utils.http_utils._client_session``; created under one event loop,
    it fails under the next (every ``asyncio.run`` makes a new loop). We wrap
    the module's ``_get_session`` so that when the running loop is not the one
    the session was made on, the global is reset (and the old session closed on
    its own loop if that loop still runs). Older SDKs have no global session and
    are left alone. This touches an SDK internal; it is the only one here.
    """
    try:
        http_utils = _sdk.http_utils()
    except ImportError:  # pragma: no cover
        return
    if not hasattr(http_utils, "_client_session") or not hasattr(http_utils, "_get_session"):
        return
    with _session_guard:
        if getattr(http_utils._get_session, "_durable_testkit", False):
            return
        original = http_utils._get_session

        async def _get_session_per_loop() -> Any:
            loop = asyncio.get_running_loop()
            with _session_guard:
                current = http_utils._client_session
                # cast: an `is` test against "Any | None" would re-widen `current` to Optional
                if (current is not None and current is cast(Any, _session_owner.get("session"))
                        and _session_owner.get("loop") is not loop):
                    old_loop = _session_owner.get("loop")
                    http_utils._client_session = None
                    if hasattr(http_utils, "_session_lock"):
                        http_utils._session_lock = asyncio.Lock()
                    if (old_loop is not None and not old_loop.is_closed()
                            and old_loop.is_running() and not current.closed):
                        asyncio.run_coroutine_threadsafe(current.close(), old_loop)
            session = await original()
            with _session_guard:
                if session is not _session_owner.get("session"):
                    _session_owner["session"] = session
                    _session_owner["loop"] = loop
            return session

        _get_session_per_loop._durable_testkit = True  # type: ignore[attr-defined]
        http_utils._get_session = _get_session_per_loop


def _close_sdk_session_on(loop: asyncio.AbstractEventLoop) -> None:
    """Close the SDK's global session if it lives on ``loop`` (before that loop closes)."""
    try:
        http_utils = _sdk.http_utils()
    except ImportError:  # pragma: no cover
        return
    with _session_guard:
        session = getattr(http_utils, "_client_session", None)
        if session is None or _session_owner.get("loop") is not loop or session.closed:
            return
        http_utils._client_session = None
        _session_owner.clear()
    if loop.is_running():
        try:
            asyncio.run_coroutine_threadsafe(session.close(), loop).result(timeout=5)
        except Exception:  # pragma: no cover - shutting down anyway
            pass


# ---------------------------------------------------------------- serve: real time
class RealTimeDriver:
    """Moves the runtime's virtual clock along with the wall clock and runs ready work.

    The runtime's clock is virtual; a served app expects a 30-second timer to
    fire after 30 seconds, so every ``tick`` seconds this advances virtual time
    by the wall time that passed (firing due timers) and reports each instance's
    status changes to ``log``.
    """

    def __init__(self, rt: RuntimePort, log: Callable[[str], None], tick: float = 0.05) -> None:
        import time

        self.rt = rt
        self.log = log
        self.tick = tick
        self._monotonic = time.monotonic
        self._stop = threading.Event()
        self._seen: Dict[str, str] = {}
        self._start_wall = self._monotonic()
        self._start_virtual = rt.now
        self._thread = threading.Thread(target=self._run, name="durable-testkit-driver",
                                        daemon=True)
        self.error: Optional[BaseException] = None

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Stop the thread, then report what changed since its last tick."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        try:
            self.step()
        except Exception as exc:  # shutting down; report and go
            self.log(f"error while running orchestrations: {type(exc).__name__}: {exc}")

    def _run(self) -> None:
        while not self._stop.wait(self.tick):
            try:
                self.step()
            except Exception as exc:  # keep serving; report what broke
                self.log(f"error while running orchestrations: {type(exc).__name__}: {exc}")

    def step(self) -> None:
        rt = self.rt
        with rt.lock:
            target = self._start_virtual + timedelta(
                seconds=self._monotonic() - self._start_wall)
            if target > rt.now:
                rt.advance(target - rt.now)
            else:
                rt.run_until_idle()
            for instance_id in rt.instance_ids:
                result = rt.status(instance_id)
                status = result.runtime_status.value
                if self._seen.get(instance_id) == status:
                    continue
                self._seen[instance_id] = status
                detail = ""
                if result.is_terminal:
                    detail = f" error={result.error}" if result.error else \
                        f" output={json.dumps(result.output, default=str)[:200]}"
                self.log(f"{result.name} [{instance_id}] {status}{detail}")
