"""``durable-testkit serve``: an app's HTTP triggers and the management API on real time.

Kept apart from ``_server`` because it builds the runtime, and the runtime starts
``_server``'s loopback server itself: this module sits above both.
"""
from __future__ import annotations

import threading
from datetime import datetime, timezone
from typing import Any, Callable, Optional

from . import _management_api as api
from ._loopback_http import DEFAULT_MAX_BODY
from ._http_functions import routes
from ._server import LoopbackServer, RealTimeDriver, install_session_per_loop
from .runtime import InMemoryRuntime

__all__ = ["serve"]


def serve(app: Any, *, host: str = "127.0.0.1", port: int = 7071,
          out: Callable[[str], None] = print, stop: Optional[threading.Event] = None,
          max_body: int = DEFAULT_MAX_BODY, public_url: Optional[str] = None) -> None:
    """Serve ``app``'s HTTP triggers and the management API on real time until ``stop`` is set.

    Prints the listening origin and each route at start-up, then each
    orchestration's status changes. ``stop`` defaults to an event set by
    SIGINT/SIGTERM (main thread only). ``max_body`` bounds request bodies (413
    past it); ``public_url`` is the origin clients use when it is not the bound
    address (a proxy), accepted as Host and used in status URLs.
    """
    import signal

    rt = InMemoryRuntime.from_app(app, start_time=datetime.now(timezone.utc))
    server = LoopbackServer(rt, host, port, http_functions=True, max_body=max_body,
                            public_url=public_url)
    install_session_per_loop()

    def log(message: str) -> None:
        stamp = datetime.now().strftime("%H:%M:%S")
        out(f"[{stamp}] {message}")

    rt.server = server
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
        rt.close()  # stops rt.server
