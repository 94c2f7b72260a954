"""The loopback server (``durable-testkit serve``, ``rt.client_binding()``) under malformed,
hostile and concurrent requests.

Raw bytes over real sockets to 127.0.0.1: every socket has a 5 s timeout and every thread a
join deadline, so a server that hangs or drops the connection fails the test instead of
stalling it. No test sleeps.
"""
from __future__ import annotations

import http.client
import json
import socket
import threading
import time
from typing import Any, Dict, Iterator, List, Optional, Tuple

import pytest

from durable_testkit import InMemoryRuntime
from durable_testkit._loopback_http import (DEFAULT_MAX_BODY, REQUEST_QUEUE_SIZE,
                                            RequestGuard)
from durable_testkit._server import LoopbackServer
from durable_testkit.errors import InvalidOperationError

MAX_BODY = 4096
WEBHOOK = "/runtime/webhooks/durabletask"
TIMEOUT = 5


class Served:
    def __init__(self, server: LoopbackServer) -> None:
        self.server = server
        self.port = server.port
        self.host = f"127.0.0.1:{server.port}"
        self.log: List[str] = []
        server.log = self.log.append


@pytest.fixture
def served(rt: InMemoryRuntime) -> Iterator[Served]:
    server = LoopbackServer(rt, http_functions=True, max_body=MAX_BODY)
    try:
        yield Served(server)
    finally:
        server.stop()


def _exchange(port: int, data: bytes, *, half_close: bool = False,
              method: str = "GET") -> Tuple[int, http.client.HTTPResponse, bytes, bool]:
    """Send raw bytes, read one response; also report whether the server then closed."""
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as sock:
        sock.sendall(data)
        if half_close:
            sock.shutdown(socket.SHUT_WR)
        response = http.client.HTTPResponse(sock, method=method)
        response.begin()
        body = response.read()
        closed = response.will_close
        if closed:
            closed = sock.recv(1) == b""
        return response.status, response, body, closed


def _request(port: int, method: str, target: str, headers: Dict[str, str],
             body: bytes = b"", **kw: Any) -> Tuple[int, http.client.HTTPResponse, bytes, bool]:
    lines = [f"{method} {target} HTTP/1.1"] + [f"{k}: {v}" for k, v in headers.items()]
    return _exchange(port, ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body,
                     method=method, **kw)


def _error(body: bytes) -> str:
    parsed = json.loads(body)
    assert set(parsed) == {"Message", "ExceptionMessage"}
    return str(parsed["ExceptionMessage"])


def _start_headers(served: Served, length: Optional[str] = "2", **extra: str) -> Dict[str, str]:
    headers = {"Host": served.host, "Content-Type": "application/json"}
    if length is not None:
        headers["Content-Length"] = length
    headers.update(extra)
    return headers


START = f"{WEBHOOK}/orchestrators/echo_input"


# ---------------------------------------------------------------- framing
@pytest.mark.parametrize("length,expected", [
    ("abc", "Invalid Content-Length 'abc'"),
    ("-1", "Invalid Content-Length '-1'"),
    ("+2", "Invalid Content-Length '+2'"),
    ("2.0", "Invalid Content-Length '2.0'"),
    ("99999999999999999999999", "Invalid Content-Length"),
])
def test_bad_content_length_is_400_not_a_dropped_connection(
        served: Served, capsys: pytest.CaptureFixture, length: str, expected: str) -> None:
    status, response, body, closed = _request(served.port, "POST", START,
                                              _start_headers(served, length), b"{}")
    assert status == 400
    assert response.getheader("Content-Type") == "application/json; charset=utf-8"
    assert _error(body).startswith(expected)
    assert closed
    assert capsys.readouterr().err == ""


def test_conflicting_content_lengths_are_400(served: Served) -> None:
    data = (f"POST {START} HTTP/1.1\r\nHost: {served.host}\r\nContent-Type: application/json\r\n"
            "Content-Length: 2\r\nContent-Length: 3\r\n\r\n{} ").encode()
    status, _, body, _ = _exchange(served.port, data, method="POST")
    assert status == 400 and "'2, 3'" in _error(body)


def test_chunked_body_is_411(served: Served) -> None:
    status, _, body, closed = _request(
        served.port, "POST", START, _start_headers(served, None, **{
            "Transfer-Encoding": "chunked"}), b"2\r\n{}\r\n0\r\n\r\n")
    assert status == 411 and "Content-Length" in _error(body) and closed


def test_body_over_max_body_is_413_without_reading_it(served: Served) -> None:
    # Only the headers are sent: a server that tried to read 1 GB would time the client out.
    status, _, body, closed = _request(served.port, "POST", START,
                                       _start_headers(served, str(10 ** 9)))
    assert status == 413
    assert _error(body) == (f"The request body is {10 ** 9} bytes; this server accepts at "
                            f"most {MAX_BODY} (max_body).")
    assert closed


def test_body_slightly_over_max_body_sent_whole_still_gets_its_413(served: Served) -> None:
    payload = b"[" + b"1," * (MAX_BODY // 2) + b"1]"
    status, _, _, _ = _request(served.port, "POST", START,
                               _start_headers(served, str(len(payload))), payload)
    assert status == 413


def test_max_body_is_inclusive(served: Served) -> None:
    payload = json.dumps("x" * (MAX_BODY - 2)).encode()
    assert len(payload) == MAX_BODY
    status, _, body, _ = _request(served.port, "POST", START,
                                  _start_headers(served, str(MAX_BODY)), payload)
    assert status == 202, body


def test_expect_100_continue_is_refused_before_the_body(served: Served) -> None:
    status, _, _, closed = _request(served.port, "POST", START, _start_headers(
        served, str(10 ** 9), Expect="100-continue"))
    assert status == 413 and closed


def test_expect_100_continue_within_limits_continues(served: Served) -> None:
    head = "\r\n".join([f"POST {START} HTTP/1.1"] + [
        f"{k}: {v}" for k, v in _start_headers(served, "2", Expect="100-continue").items()])
    with socket.create_connection(("127.0.0.1", served.port), timeout=TIMEOUT) as sock:
        sock.sendall(head.encode() + b"\r\n\r\n")
        assert sock.recv(64).startswith(b"HTTP/1.1 100 Continue\r\n")
        sock.sendall(b"{}")
        final = http.client.HTTPResponse(sock, method="POST")
        final.begin()
        assert final.status == 202, final.read()


def test_short_body_is_400(served: Served) -> None:
    status, _, body, closed = _request(served.port, "POST", START,
                                       _start_headers(served, "10"), b"{}", half_close=True)
    assert status == 400
    assert _error(body) == ("The request body ended after 2 of the 10 bytes its "
                            "Content-Length gave.")
    assert closed


def test_non_utf8_body_to_the_management_api_is_400(served: Served) -> None:
    status, _, body, _ = _request(served.port, "POST", START, _start_headers(served, "3"),
                                  b'"\xff"')
    assert status == 400
    assert _error(body).startswith("The request body is not UTF-8 (invalid start byte at "
                                   "byte 1)")


def test_non_utf8_charset_to_the_management_api_is_415(served: Served) -> None:
    status, _, body, _ = _request(served.port, "POST", START, _start_headers(
        served, "2", **{"Content-Type": "application/json; charset=latin-1"}), b"{}")
    assert status == 415 and "charset=latin-1" in _error(body)


def test_non_utf8_body_to_an_http_function_reaches_it(served: Served) -> None:
    # HTTP triggers get raw bytes, as in Azure; only the management API reads text.
    status, _, body, _ = _request(served.port, "POST", "/api/orchestrators/echo_input",
                                  _start_headers(served, "3"), b'"\xff"')
    assert status != 400 or b"UTF-8" not in body


@pytest.mark.parametrize("line", [b"GARBAGE", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",
                                  b"GET / HTTP/1.1 extra", b"POST /x HTTP/x.y", b"hello world"])
def test_garbage_request_line_is_400(served: Served, capsys: pytest.CaptureFixture,
                                     line: bytes) -> None:
    status, _, body, closed = _exchange(served.port, line + b"\r\n\r\n")
    assert status == 400
    assert _error(body)
    assert closed
    assert capsys.readouterr().err == ""
    assert not any("error serving" in entry for entry in served.log)


def test_unknown_method_is_501_with_a_json_body(served: Served) -> None:
    status, _, body, _ = _request(served.port, "BREW", "/", {"Host": served.host})
    assert status == 501 and "Unsupported method ('BREW')" in _error(body)


@pytest.mark.parametrize("size", [9 * 1024, 64 * 1024, 70 * 1024])
def test_long_url_is_414(served: Served, capsys: pytest.CaptureFixture, size: int) -> None:
    target = f"{WEBHOOK}/instances/" + "a" * size
    status, _, body, closed = _request(served.port, "GET", target, {"Host": served.host})
    assert status == 414
    assert _error(body)
    assert closed
    assert capsys.readouterr().err == ""


def test_oversized_header_is_431(served: Served, capsys: pytest.CaptureFixture) -> None:
    status, _, body, _ = _request(served.port, "GET", "/", {"Host": served.host,
                                                            "X-Big": "b" * 70000})
    assert status == 431 and _error(body)
    assert capsys.readouterr().err == ""


def test_log_lines_escape_control_characters(served: Served) -> None:
    _request(served.port, "GET", "/api/%1b[31mred", {"Host": served.host})
    _exchange(served.port, b"GET /\x1b[2J HTTP/1.1\r\nHost: " + served.host.encode() + b"\r\n\r\n")
    assert served.log and not any("\x1b" in entry for entry in served.log)
    assert any("\\x1b[2J" in entry for entry in served.log)


def test_keep_alive_survives_a_good_request(served: Served) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", served.port, timeout=TIMEOUT)
    try:
        for _ in range(3):
            conn.request("GET", f"{WEBHOOK}/instances/nope")
            response = conn.getresponse()
            response.read()
            assert response.status == 404
    finally:
        conn.close()


@pytest.mark.parametrize("query", [
    "timeout=inf&pollingInterval=1", "timeout=1e308&pollingInterval=1",
    "timeout=nan&pollingInterval=nan", "timeout=10&pollingInterval=1e308"])
def test_wait_arguments_out_of_range_are_answered_not_tracebacks(
        served: Served, rt: InMemoryRuntime, query: str) -> None:
    # timedelta(seconds=...) raised OverflowError/ValueError after the start: a 500 whose
    # body held the Python traceback. "inf" is no number to .NET (202, no wait); the rest 400.
    status, _, body, _ = _request(served.port, "POST", f"{START}?{query}",
                                  _start_headers(served), b"{}")
    assert b"Traceback" not in body and b"File \"" not in body
    if query.startswith("timeout=inf"):
        assert status == 202
    else:
        assert status == 400 and json.loads(body)["ExceptionMessage"].endswith(
            "; no instance was started)")
        assert rt.instance_ids == []


# ---------------------------------------------------------------- Host and URLs
def _started(served: Served, host: str) -> Tuple[int, http.client.HTTPResponse, bytes, bool]:
    return _request(served.port, "POST", START, _start_headers(served, "2", Host=host), b"{}")


@pytest.mark.parametrize("name", ["127.0.0.1", "localhost", "LocalHost", "[::1]"])
def test_loopback_hosts_build_the_answer_urls(served: Served, name: str) -> None:
    status, response, body, _ = _started(served, f"{name}:{served.port}")
    assert status == 202
    expected = f"http://{name.lower()}:{served.port}{WEBHOOK}/instances/"
    assert json.loads(body)["statusQueryGetUri"].startswith(expected)
    assert response.getheader("Location", "").startswith(expected)


@pytest.mark.parametrize("host", [
    "evil.example", "evil.example:{port}", "attacker.localhost:{port}", "localhost:1",
    "127.0.0.1", "127.0.0.1:{port}/\"><script>", "127.0.0.1:{port}@evil.example",
    "127.0.0.2:{port}", "10.0.0.5:{port}", "",
])
def test_foreign_or_malformed_host_is_400(served: Served, host: str) -> None:
    status, _, body, closed = _started(served, host.format(port=served.port))
    assert status == 400
    message = _error(body)
    assert message.startswith("Invalid Host")
    assert f"127.0.0.1:{served.port}" in message and "public_url" in message
    assert closed


def test_host_is_required_in_http_1_1(served: Served) -> None:
    status, _, body, _ = _exchange(served.port, f"GET {WEBHOOK}/instances/x HTTP/1.1\r\n\r\n"
                                   .encode())
    assert status == 400 and "no Host header" in _error(body)


def test_http_1_0_without_host_uses_the_bound_origin(served: Served) -> None:
    data = (f"POST {START} HTTP/1.0\r\nContent-Type: application/json\r\n"
            "Content-Length: 2\r\n\r\n{}").encode()
    status, _, body, _ = _exchange(served.port, data, method="POST")
    assert status == 202
    assert json.loads(body)["statusQueryGetUri"].startswith(served.server.origin + WEBHOOK)


def test_two_host_headers_are_400(served: Served) -> None:
    data = (f"GET {WEBHOOK}/instances/x HTTP/1.1\r\nHost: {served.host}\r\n"
            "Host: evil.example\r\n\r\n").encode()
    status, _, body, _ = _exchange(served.port, data)
    assert status == 400 and "2 Host headers" in _error(body)


def test_public_url_names_the_server_and_its_urls(rt: InMemoryRuntime) -> None:
    server = LoopbackServer(rt, public_url="https://Tunnel.Example.NET/")
    try:
        served = Served(server)
        status, response, body, _ = _started(served, "tunnel.example.net")
        assert status == 202
        url = json.loads(body)["statusQueryGetUri"]
        assert url.startswith(f"https://tunnel.example.net{WEBHOOK}/instances/")
        assert response.getheader("Location") == url
        assert _started(served, "tunnel.example.net:443")[0] == 202
        assert _started(served, "tunnel.example.net:80")[0] == 400
        local = json.loads(_started(served, served.host)[2])["statusQueryGetUri"]
        assert local.startswith(f"http://{served.host}{WEBHOOK}")
    finally:
        server.stop()


@pytest.mark.parametrize("url", ["ftp://x", "https://x/prefix", "https://u:p@x", "x:80",
                                 "https://x:99999", "https://x?q=1"])
def test_bad_public_url_is_refused_before_binding(rt: InMemoryRuntime, url: str) -> None:
    with pytest.raises(InvalidOperationError, match="is not an http\\(s\\)://host\\[:port\\] URL"):
        LoopbackServer(rt, public_url=url)


def test_negative_max_body_is_refused(rt: InMemoryRuntime) -> None:
    with pytest.raises(InvalidOperationError, match="max_body=-1 is negative"):
        LoopbackServer(rt, max_body=-1)


def test_wildcard_binding_accepts_ip_literals_but_not_names() -> None:
    guard = RequestGuard("0.0.0.0", 7071)
    assert guard.origin(["192.168.1.20:7071"], "HTTP/1.1", "") == "http://192.168.1.20:7071"
    assert guard.origin(["localhost:7071"], "HTTP/1.1", "") == "http://localhost:7071"
    refused = guard.origin(["rebound.example:7071"], "HTTP/1.1", "")
    assert not isinstance(refused, str) and refused.status == 400
    assert "any IP address:7071" in refused.message


def test_specific_binding_accepts_its_own_address() -> None:
    guard = RequestGuard("192.168.1.20", 7071)
    assert guard.origin(["192.168.1.20:7071"], "HTTP/1.1", "") == "http://192.168.1.20:7071"
    refused = guard.origin(["192.168.1.21:7071"], "HTTP/1.1", "")
    assert not isinstance(refused, str)


def test_defaults() -> None:
    assert DEFAULT_MAX_BODY == 8 * 1024 * 1024
    assert REQUEST_QUEUE_SIZE >= 128


def test_listen_backlog_is_raised(served: Served) -> None:
    assert served.server._httpd.request_queue_size == REQUEST_QUEUE_SIZE


# ---------------------------------------------------------------- cross-site requests
@pytest.mark.parametrize("origin", ["https://evil.example", "null", "http://localhost:1",
                                    "http://127.0.0.1.evil.example:{port}",
                                    "https://127.0.0.1:{port}", "http://localhost:{port}/x"])
@pytest.mark.parametrize("content_type", ["text/plain", "application/json"])
def test_foreign_origin_is_403(served: Served, origin: str, content_type: str) -> None:
    status, _, body, closed = _request(served.port, "POST", START, _start_headers(
        served, "2", Origin=origin.format(port=served.port),
        **{"Content-Type": content_type}), b"{}")
    assert status == 403
    assert _error(body).startswith("Cross-origin request refused: Origin")
    assert closed
    assert served.server.rt.instance_ids == []


def test_foreign_origin_get_is_403(served: Served) -> None:
    status, _, _, _ = _request(served.port, "GET", f"{WEBHOOK}/instances/",
                               {"Host": served.host, "Origin": "https://evil.example"})
    assert status == 403


@pytest.mark.parametrize("site", ["cross-site", "same-site", "Cross-Site"])
@pytest.mark.parametrize("method,content_type", [
    ("POST", "text/plain"), ("POST", "application/x-www-form-urlencoded"),
    ("PUT", "multipart/form-data; boundary=x"), ("GET", "")])
def test_cross_site_fetch_metadata_is_403(served: Served, site: str, method: str,
                                          content_type: str) -> None:
    # A cross-site <img src=".../api/orchestrators/x"> GET would start an orchestration.
    status, _, body, _ = _request(served.port, method, "/api/orchestrators/echo_input", {
        "Host": served.host, "Sec-Fetch-Site": site, "Content-Type": content_type,
        "Content-Length": "2"}, b"{}")
    assert status == 403
    assert _error(body).startswith(f"Cross-site request refused (Sec-Fetch-Site: "
                                   f"{site.lower()})")
    assert served.server.rt.instance_ids == []


@pytest.mark.parametrize("extra", [
    {"Origin": "http://127.0.0.1:{port}", "Sec-Fetch-Site": "same-origin"},
    {"Origin": "http://localhost:{port}"},
    {"Sec-Fetch-Site": "none"},
    {},
])
def test_same_origin_and_non_browser_text_posts_are_served(served: Served,
                                                           extra: Dict[str, str]) -> None:
    headers = {k: v.format(port=served.port) for k, v in extra.items()}
    status, _, body, _ = _request(served.port, "POST", "/api/orchestrators/echo_input",
                                  _start_headers(served, "2", **{"Content-Type": "text/plain"},
                                                 **headers), b"{}")
    assert status == 202, body


def test_raise_event_keeps_the_extensions_json_error(served: Served) -> None:
    status, _, body, _ = _started(served, served.host)
    instance = json.loads(body)["id"]
    status, _, body, _ = _request(
        served.port, "POST", f"{WEBHOOK}/instances/{instance}/raiseEvent/E",
        {"Host": served.host, "Content-Type": "text/plain", "Content-Length": "1"}, b"1")
    assert status == 400 and _error(body) == "Only application/json request content is supported"


# ---------------------------------------------------------------- load
CLIENTS = 20
REQUESTS = 50
LOAD_DEADLINE = 30.0


def test_concurrent_clients_get_every_answer(served: Served) -> None:
    """20 clients x 50 requests, a new connection each: no resets, every answer JSON."""
    barrier = threading.Barrier(CLIENTS, timeout=TIMEOUT)
    failures: List[str] = []
    answered = [0] * CLIENTS

    def client(index: int) -> None:
        try:
            barrier.wait()
            instance = None
            for i in range(REQUESTS):
                conn = http.client.HTTPConnection("127.0.0.1", served.port, timeout=TIMEOUT)
                try:
                    if instance is None or i % 2 == 0:
                        conn.request("POST", START, body=json.dumps([index, i]),
                                     headers={"Content-Type": "application/json"})
                    else:
                        conn.request("GET", f"{WEBHOOK}/instances/{instance}")
                    response = conn.getresponse()
                    payload = json.loads(response.read())
                    if response.status not in (200, 202):
                        failures.append(f"client {index} request {i}: {response.status}")
                    instance = payload["id"] if "id" in payload else payload["instanceId"]
                    answered[index] += 1
                finally:
                    conn.close()
        except Exception as exc:  # a reset, a timeout, an unparseable answer
            failures.append(f"client {index}: {type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=client, args=(n,), daemon=True) for n in range(CLIENTS)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(max(0.0, LOAD_DEADLINE - (time.monotonic() - started)))
    assert not any(t.is_alive() for t in threads), f"load test exceeded {LOAD_DEADLINE} s"
    assert failures == []
    assert sum(answered) == CLIENTS * REQUESTS
    assert not any("error serving" in entry for entry in served.log)


def test_too_many_headers_is_431(served: Served) -> None:
    headers = {"Host": served.host, **{f"X-H{n}": "v" for n in range(101)}}
    status, _, body, _ = _request(served.port, "GET", "/", headers)
    assert status == 431 and "Too many headers" in _error(body)


def test_http_0_9_is_400_with_a_status_line(served: Served) -> None:
    status, _, body, closed = _exchange(served.port, b"GET /\r\n\r\n")
    assert status == 400 and _error(body) == "HTTP/0.9 requests are not supported." and closed
