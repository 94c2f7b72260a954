"""A loopback HTTP server playing the Durable extension's management API (and, for
``durable-testkit serve``, the app's HTTP triggers), plus the ``durableClient`` binding
that points the real ``df.DurableOrchestrationClient`` at it.

Requests are served on daemon threads; every runtime access holds ``rt._lock``.
Coroutines of HTTP-triggered functions run on one event loop owned by the server,
so the SDK's module-global aiohttp session stays on one loop while serving.
"""
from __future__ import annotations

import asyncio
import json
import threading
from concurrent.futures import Future
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Coroutine, Dict, Optional, Tuple, cast
from urllib.parse import urlsplit

from . import _management_api as api

__all__ = ["LoopbackServer", "client_binding", "serve", "RealTimeDriver"]


class LoopbackServer:
    """``ThreadingHTTPServer`` on ``host:port`` (port 0 picks a free one), on a daemon thread.

    Args:
        rt: the runtime to serve.
        host: interface to bind; loopback unless told otherwise.
        port: TCP port; 0 for an ephemeral one (see :attr:`port`).
        http_functions: also route other paths to the app's HTTP triggers.
    """

    def __init__(self, rt: Any, host: str = "127.0.0.1", port: int = 0, *,
                 http_functions: bool = False) -> None:
        self.rt = rt
        self.http_functions = http_functions
        self.log: Optional[Callable[[str], None]] = None
        self._httpd = ThreadingHTTPServer((host, port), _make_handler(self))
        self._httpd.daemon_threads = True
        self.host = host
        self.port: int = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever,
                                        name=f"durable-testkit-server:{self.port}", daemon=True)
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._loop_thread: Optional[threading.Thread] = None
        self._loop_guard = threading.Lock()
        self._thread.start()

    @property
    def origin(self) -> str:
        """``http://host:port`` as a client on this machine reaches it."""
        host = "127.0.0.1" if self.host in ("", "0.0.0.0") else self.host
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}"

    def binding_json(self) -> str:
        return api.binding_json(self.origin, self.origin)

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

    def stop(self) -> None:
        """Stop serving, close the socket and the event loop. Idempotent."""
        if self._thread.is_alive():
            self._httpd.shutdown()
            self._thread.join()
        self._httpd.server_close()
        with self._loop_guard:
            loop, self._loop = self._loop, None
        if loop is not None:
            _close_sdk_session_on(loop)
            loop.call_soon_threadsafe(loop.stop)
            if self._loop_thread is not None:
                self._loop_thread.join()
            loop.close()


def client_binding(rt: Any) -> str:
    """The ``durableClient`` binding JSON for ``rt``, starting its loopback server on first use."""
    _install_session_per_loop()
    with rt._lock:
        if rt._server is None:
            rt._server = LoopbackServer(rt)
        server: LoopbackServer = rt._server
    return server.binding_json()


# ---------------------------------------------------------------- request handling
def _make_handler(server: LoopbackServer) -> type:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "durable-testkit"

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

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            parts = urlsplit(self.path)
            headers = {k: v for k, v in self.headers.items()}
            host = self.headers.get("Host") or f"{server.host}:{server.port}"
            origin = f"http://{host}"
            path_l = parts.path.lower()
            if path_l.startswith(api.WEBHOOK_PATH + "/") or path_l.startswith(api.RPC_PATH + "/"):
                status, out_headers, text = api.handle(
                    server.rt, self.command, parts.path, parts.query,
                    raw.decode("utf-8") if length else None, headers=headers, origin=origin)
                payload = text.encode("utf-8")
            elif server.http_functions:
                status, out_headers, payload = _call_function(server, self.command, self.path,
                                                              raw, headers, origin)
            else:
                status, out_headers, text = api.handle(server.rt, self.command, parts.path,
                                                       parts.query, None, origin=origin)
                payload = text.encode("utf-8")
            self.send_response(status)
            for key, value in out_headers.items():
                if key.lower() not in ("content-length", "transfer-encoding", "connection"):
                    self.send_header(key, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            if server.log is not None:
                server.log(f"{self.command} {self.path} -> {args[1] if len(args) > 1 else ''}")

    return Handler


def _call_function(server: LoopbackServer, method: str, path: str, raw: bytes,
                   headers: Dict[str, str], origin: str) -> Tuple[int, Dict[str, str], bytes]:
    from ._http_functions import invoke_http
    from .errors import UnknownRouteError

    try:
        response = invoke_http(server.rt, method, path, raw or None, headers, origin=origin)
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


def _install_session_per_loop() -> None:
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
        from azure.durable_functions.models.utils import http_utils
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
        from azure.durable_functions.models.utils import http_utils
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

    def __init__(self, rt: Any, log: Callable[[str], None], tick: float = 0.05) -> None:
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
        with rt._lock:
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


def serve(app: Any, *, host: str = "127.0.0.1", port: int = 7071,
          out: Callable[[str], None] = print, stop: Optional[threading.Event] = None) -> None:
    """Serve ``app``'s HTTP triggers and the management API on real time until ``stop`` is set.

    Prints the listening origin and each route at start-up, then each
    orchestration's status changes. ``stop`` defaults to an event set by
    SIGINT/SIGTERM (main thread only).
    """
    import signal

    from ._http_functions import routes
    from .runtime import InMemoryRuntime

    rt = InMemoryRuntime.from_app(app, start_time=datetime.now(timezone.utc))
    server = LoopbackServer(rt, host, port, http_functions=True)
    _install_session_per_loop()

    def log(message: str) -> None:
        stamp = datetime.now().strftime("%H:%M:%S")
        out(f"[{stamp}] {message}")

    rt._server = server
    server.log = log
    driver = RealTimeDriver(rt, log)
    if stop is None:
        stop = threading.Event()
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                signal.signal(sig, lambda *_: stop.set())
    out(f"durable-testkit serving {app} on {server.origin} (virtual clock follows real time)")
    out("Functions:")
    for method_list, route, name in routes(rt.app):
        out(f"  {name}: [{method_list}] {server.origin}/api/{route}")
    out(f"  Durable management API: {server.origin}{api.WEBHOOK_PATH}/instances/{{id}}")
    out(f"Listening on {server.origin}")
    driver.start()
    try:
        while not stop.wait(0.2):
            pass
    finally:
        out("Stopping.")
        driver.stop()
        rt.close()  # stops rt._server
