"""The HTTP transport of the loopback server: request limits, Host and Origin checks, the socket.

``_server`` answers requests; this module decides whether a request may be answered
at all, so that a malformed or hostile request gets a 4xx with a JSON body instead of a
dropped connection, a traceback or a hung thread. A server on 127.0.0.1 is still
reachable from any web page the developer opens: a page can POST ``text/plain`` to it
(CSRF) or rebind its own DNS name to 127.0.0.1 and read the answers (DNS rebinding).
The Host check defeats rebinding, and the Origin and ``Sec-Fetch-Site`` checks refuse
the requests a browser sends on another site's behalf. None of this changes how the
real ``df.DurableOrchestrationClient`` (aiohttp: no Origin, JSON bodies with a
Content-Length) or curl talk to the server.
"""
from __future__ import annotations

import ipaddress
import json
import re
import socket
import socketserver
import sys
from dataclasses import dataclass
from http.server import ThreadingHTTPServer
from typing import Any, Callable, Dict, FrozenSet, List, Optional, Tuple, Union
from urllib.parse import urlsplit

from .errors import InvalidOperationError

__all__ = [
    "DEFAULT_MAX_BODY", "MAX_TARGET", "IDLE_TIMEOUT", "LINGER_SECONDS", "LINGER_BYTES",
    "REQUEST_QUEUE_SIZE",
    "Refusal", "RequestGuard", "LoopbackHTTPServer", "error_body", "printable",
]

#: Largest request body accepted (8 MiB), as bytes; ``max_body=`` changes it. The Functions
#: host's own limit is far larger (100 MB), but nothing a test or a local app sends comes near.
DEFAULT_MAX_BODY = 8 * 1024 * 1024
#: Longest request target (path and query) accepted, like Kestrel's 8 KiB request line.
MAX_TARGET = 8 * 1024
#: Seconds a connection may sit idle, or stall mid-request, before the server closes it.
#: Above aiohttp's 15 s keep-alive, so the SDK client never reuses a connection we just closed.
IDLE_TIMEOUT = 60.0
#: After refusing a request, how long and how much of its unread body to drain before
#: closing (so the refusal is not lost to a TCP reset).
LINGER_SECONDS = 1.0
LINGER_BYTES = 1024 * 1024
#: Listen backlog: room for bursts of concurrent connections (socketserver's default is 5).
REQUEST_QUEUE_SIZE = 128

_UTF8 = frozenset({"utf-8", "utf8", "us-ascii", "ascii"})
_LOOPBACK = frozenset({"localhost", "127.0.0.1", "[::1]"})
_WILDCARDS = frozenset({"", "0.0.0.0", "::", "[::]"})
_AUTHORITY = re.compile(
    r"(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?)"
    r"(?::(?P<port>[0-9]{1,5}))?")
_LENGTH = re.compile(r"[0-9]{1,18}")


@dataclass(frozen=True)
class Refusal:
    """A request answered with ``status`` and ``message`` before it reaches the app."""

    status: int
    message: str


def error_body(status: int, message: str) -> Tuple[Dict[str, str], bytes]:
    """Headers and body of an error answer, in the HttpError shape the management API uses."""
    body = {"Message": message if status != 400 else "The request is invalid.",
            "ExceptionMessage": message}
    return ({"Content-Type": "application/json; charset=utf-8"},
            json.dumps(body).encode("utf-8"))


def printable(text: str, limit: int = 200) -> str:
    """``text`` safe for a log line: control characters escaped, long values cut."""
    cut = text[:limit] + ("..." if len(text) > limit else "")
    return "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in cut)


def _bracketed(host: str) -> str:
    host = host.lower()
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def _is_ip_literal(name: str) -> bool:
    try:
        ipaddress.ip_address(name.strip("[]"))
    except ValueError:
        return False
    return True


class RequestGuard:
    """The checks every request passes before ``_server`` routes it.

    Args:
        host: the interface the server is bound to.
        port: the port it is bound to (the real one, after binding port 0).
        max_body: largest request body accepted, in bytes.
        public_url: the server's address as clients see it when that is not a loopback
            one (a tunnel, a proxy, a forwarded container port), e.g.
            ``https://abc.example.net``. Requests naming it in Host are served, and the
            URLs in their answers start with it.

    Raises:
        InvalidOperationError: ``max_body`` is negative or ``public_url`` is not an
            ``http(s)://host[:port]`` URL.
    """

    def __init__(self, host: str, port: int, *, max_body: int = DEFAULT_MAX_BODY,
                 public_url: Optional[str] = None) -> None:
        if max_body < 0:
            raise InvalidOperationError(
                f"max_body={max_body} is negative. It is the largest request body the "
                f"server accepts, in bytes (default {DEFAULT_MAX_BODY}, 8 MiB).")
        self.port = port
        self.max_body = max_body
        bound = _bracketed(host)
        self._wildcard = bound in _WILDCARDS
        self._names: FrozenSet[str] = _LOOPBACK | (frozenset() if self._wildcard
                                                   else frozenset({bound}))
        self._public: Optional[Tuple[str, str, int]] = None
        self.public_origin: Optional[str] = None
        if public_url is not None:
            self._public, self.public_origin = _parse_public_url(public_url)

    # -- Host and Origin ------------------------------------------------------------
    def _is_public(self, scheme: str, name: str, port: Optional[int]) -> bool:
        if self._public is None:
            return False
        p_scheme, p_name, p_port = self._public
        return (scheme in ("", p_scheme) and name == p_name
                and (port if port is not None else _default_port(p_scheme)) == p_port)

    def _is_local(self, scheme: str, name: str, port: Optional[int]) -> bool:
        if scheme not in ("", "http") or (port if port is not None else 80) != self.port:
            return False
        return name in self._names or (self._wildcard and _is_ip_literal(name))

    def _expected(self) -> str:
        names = sorted(self._names) + (["any IP address"] if self._wildcard else [])
        listed = ", ".join(f"{n}:{self.port}" for n in names)
        if self.public_origin is not None:
            listed += f", or {self.public_origin}"
        return listed

    def origin(self, host_values: Optional[List[str]], request_version: str,
               fallback: str) -> Union[str, Refusal]:
        """The ``scheme://host:port`` to build answer URLs from, or a 400 Refusal.

        The Host header is copied into ``Location`` and ``statusQueryGetUri``; one that
        does not name this server would let a rebinding page (or a header injection)
        decide where the client goes next.
        """
        if not host_values:
            if request_version == "HTTP/1.0":
                return fallback
            return Refusal(400, "The request has no Host header, which HTTP/1.1 requires "
                                f"(RFC 9112 section 3.2). Send Host: {fallback.split('//')[1]}.")
        if len(host_values) > 1:
            return Refusal(400, f"The request has {len(host_values)} Host headers; "
                                "HTTP allows one.")
        value = host_values[0].strip()
        match = _AUTHORITY.fullmatch(value)
        if match is not None:
            name = match.group("host").lower()
            port = int(match.group("port")) if match.group("port") else None
            if self.public_origin is not None and self._is_public("", name, port):
                return self.public_origin
            if self._is_local("", name, port):
                return f"http://{name}" + (f":{port}" if port is not None else "")
        return Refusal(400, f"Invalid Host {printable(value, 80)!r}: it does not name this "
                            f"server (expected {self._expected()}). The server refuses "
                            "other names so that a web page cannot reach it by DNS "
                            "rebinding. Behind a proxy or tunnel, pass its address as "
                            "public_url.")

    def refuse_cross_site(self, sec_fetch_site: Optional[str],
                          origin_values: Optional[List[str]]) -> Optional[Refusal]:
        """A 403 Refusal for a request a browser sent on another origin's behalf, else None.

        Browsers send ``Origin`` on every POST and cross-origin fetch, and
        ``Sec-Fetch-Site`` on every request; curl and the SDK client send neither. A
        cross-site ``text/plain`` or form POST (a CSRF) carries one or both, and so does a
        cross-site ``<img>`` GET of an HTTP starter that accepts GET, so both are refused
        whatever the method and content type: the server answers no CORS anyway.
        """
        for value in origin_values or ():
            parts = urlsplit(value.strip())
            try:
                port = parts.port
            except ValueError:
                port = -1
            scheme, name = parts.scheme.lower(), _bracketed(parts.hostname or "")
            own = (value.strip().lower() != "null" and bool(name) and port != -1
                   and parts.path in ("", "/") and not parts.query
                   and (self._is_public(scheme, name, port)
                        or self._is_local(scheme, name, port)))
            if not own:
                return Refusal(403, f"Cross-origin request refused: Origin "
                                    f"{printable(value, 80)!r} is not this server "
                                    f"({self._expected()}). durable-testkit serve answers "
                                    "no CORS, so that web pages on other origins cannot "
                                    "start, signal or terminate your orchestrations.")
        site = (sec_fetch_site or "").strip().lower()
        if site not in ("", "same-origin", "none"):
            return Refusal(403, f"Cross-site request refused (Sec-Fetch-Site: "
                                f"{printable(site, 40)}): a web page on another origin sent "
                                "it. Call the server from your code, a shell or the address "
                                "bar instead.")
        return None

    # -- the body --------------------------------------------------------------------
    def body_length(self, length_values: Optional[List[str]],
                    transfer_encoding: Optional[str]) -> Union[int, Refusal]:
        """The body's length from Content-Length, or the 400/411/413 Refusal to answer."""
        if transfer_encoding is not None:
            return Refusal(411, f"Transfer-Encoding: {printable(transfer_encoding, 40)} is not "
                                "supported; send the body with a Content-Length.")
        if not length_values:
            return 0
        values = {v.strip() for v in length_values}
        if len(values) > 1 or not _LENGTH.fullmatch(next(iter(values))):
            shown = ", ".join(printable(v, 30) for v in length_values)
            return Refusal(400, f"Invalid Content-Length {shown!r}: it must be one "
                                "non-negative whole number of bytes.")
        length = int(next(iter(values)))
        if length > self.max_body:
            return Refusal(413, f"The request body is {length} bytes; this server accepts at "
                                f"most {self.max_body} (max_body).")
        return length

    @staticmethod
    def body_text(raw: bytes, content_type: Optional[str]) -> Union[str, Refusal]:
        """A management API body as text: UTF-8 (the JSON the extension reads), or a Refusal."""
        for param in (content_type or "").split(";")[1:]:
            key, _, value = param.partition("=")
            charset = value.strip().strip('"').lower()
            if key.strip().lower() == "charset" and charset not in _UTF8:
                return Refusal(415, f"charset={printable(charset, 40)} is not supported: the "
                                    "Durable management API reads UTF-8 JSON.")
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            return Refusal(400, f"The request body is not UTF-8 ({exc.reason} at byte "
                                f"{exc.start}); the Durable management API reads UTF-8 JSON.")


def _default_port(scheme: str) -> int:
    return 443 if scheme == "https" else 80


def _parse_public_url(url: str) -> Tuple[Tuple[str, str, int], str]:
    parts = urlsplit(url.strip())
    try:
        port = parts.port
    except ValueError:
        port = -1
    if (parts.scheme.lower() not in ("http", "https") or not parts.hostname or port == -1
            or parts.path not in ("", "/") or parts.query or parts.fragment
            or parts.username or parts.password):
        raise InvalidOperationError(
            f"public_url={url!r} is not an http(s)://host[:port] URL. It is the address "
            "clients use to reach the server through a proxy or tunnel, such as "
            "'https://abc.example.net' (no path, query or credentials).")
    scheme = parts.scheme.lower()
    name = _bracketed(parts.hostname)
    netloc = name + (f":{port}" if port is not None else "")
    return (scheme, name, port if port is not None else _default_port(scheme)), \
        f"{scheme}://{netloc}"


class LoopbackHTTPServer(ThreadingHTTPServer):
    """``ThreadingHTTPServer`` with a deep backlog, IPv6 binding and quiet disconnects.

    Args:
        address: ``(host, port)`` to bind.
        handler: the request handler class.
        log: returns the server's log function (or None) when an error needs reporting.
    """

    request_queue_size = REQUEST_QUEUE_SIZE
    daemon_threads = True

    def __init__(self, address: Tuple[str, int], handler: Any,
                 log: Callable[[], Optional[Callable[[str], None]]]) -> None:
        self._log = log
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__((address[0].strip("[]"), address[1]), handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind resolves getfqdn(host), a DNS lookup that can take seconds
        # and that nothing here reads.
        socketserver.TCPServer.server_bind(self)
        self.server_name = str(self.server_address[0])
        self.server_port = int(self.server_address[1])

    def handle_error(self, request: Any, client_address: Any) -> None:
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, TimeoutError)):
            return  # the client went away; nothing to answer and nothing to fix
        log = self._log()
        if log is None:
            super().handle_error(request, client_address)
        else:
            log(f"error serving {client_address}: {type(exc).__name__}: {exc}")
