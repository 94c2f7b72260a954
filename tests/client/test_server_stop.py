"""The loopback server's serving loop: woken by stop() at once, idempotent, and it serves
requests one after another (it no longer polls, so nothing here waits on a timer)."""
from __future__ import annotations

import socket
import urllib.error
import urllib.request

from durable_testkit import InMemoryRuntime
from durable_testkit._server import LoopbackServer


def test_stop_ends_the_serving_thread_and_frees_the_port() -> None:
    rt = InMemoryRuntime()
    server = LoopbackServer(rt)
    try:
        for _ in range(3):  # sequential requests: the loop goes back to waiting each time
            request = urllib.request.Request(f"{server.origin}/nowhere")
            try:
                urllib.request.urlopen(request, timeout=10)
            except urllib.error.HTTPError as err:
                assert err.code == 404
    finally:
        server.stop()
    assert not server._thread.is_alive()
    server.stop()  # idempotent
    with socket.socket() as probe:
        probe.settimeout(5)
        assert probe.connect_ex(("127.0.0.1", server.port)) != 0
    rt.close()


def test_rt_close_stops_the_server_a_binding_started() -> None:
    rt = InMemoryRuntime()
    rt.client_binding()
    server = rt.server
    assert server is not None and server._thread.is_alive()
    rt.close()
    assert not server._thread.is_alive() and rt.server is None
