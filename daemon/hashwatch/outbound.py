"""The one bounded HTTP client for everything hashwatch sends out (notifications, price quotes).

Why not urllib or an SDK's transport: they follow redirects (a POST to a webhook answering 301
became a GET to another origin, carrying the ``Authorization`` header, and its 200 marked the
alert delivered), read answers of any size, and bound each socket read rather than the call (a
receiver trickling one byte per second held the worker for hours). This client:

- never follows a redirect: any 3xx is :class:`OutboundError` ``redirect`` whose message names
  the Location reduced to its origin (a path may carry a token), so credentials only ever go
  to the configured URL's origin;
- bounds every call by ONE deadline covering connect, TLS handshake, send, headers and body;
- caps the answer body (``max_body``) and refuses a larger Content-Length before reading it;
- never reads proxy settings from the environment (an unexpected proxy would see secrets).

Error messages never contain the URL's path or query; callers add their own redacted origin.
"""

from __future__ import annotations

import http.client
import io
import select
import socket
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

KINDS = ("timeout", "connection", "tls", "tls_verify", "redirect", "too_large", "bad_http",
         "bad_url")
DEFAULT_MAX_BODY = 1_000_000


class OutboundError(Exception):
    """A failed call; ``kind`` is one of :data:`KINDS`, ``location`` the redirect origin."""

    def __init__(
        self, kind: str, message: str, *, location: str | None = None, status: int | None = None
    ):
        assert kind in KINDS, kind
        super().__init__(message)
        self.kind = kind
        self.location = location
        self.status = status  # the answer's status when one was read (too_large, redirect)


@dataclass(frozen=True)
class Response:
    status: int
    headers: Mapping[str, str]  # lower-case names
    body: bytes

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


def origin(url: str) -> str:
    """``https://hooks.slack.com/services/T/B/x?k=1`` -> ``https://hooks.slack.com``."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or "?"
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "<invalid url>"
    host = "".join(c for c in host if c.isprintable() and c not in " \"'\\")[:100]
    scheme = parts.scheme if parts.scheme in ("http", "https") else "?"
    return f"{scheme}://{host}{port}"


def describe_location(request_url: str, location: str | None) -> str:
    """The redirect target as an origin, and whether it is the request's own origin."""
    if not location:
        return "no Location header"
    target = origin(urljoin(request_url, location.strip()[:2048]))
    same = target == origin(request_url)
    return f"Location {target}/... ({'same origin' if same else 'another origin'})"


class _Deadline:
    def __init__(self, seconds: float):
        self.seconds = seconds
        self.at = time.monotonic() + seconds

    def remaining(self) -> float:
        left = self.at - time.monotonic()
        if left <= 0:
            raise TimeoutError
        return left


class _DeadlineSocket:
    """What :mod:`http.client` needs of a socket, with every operation bounded by the deadline."""

    def __init__(self, sock: socket.socket, deadline: _Deadline):
        self._sock = sock
        self._deadline = deadline

    def sendall(self, data: bytes) -> None:
        self._sock.settimeout(self._deadline.remaining())
        self._sock.sendall(data)

    def recv_into(self, buf: memoryview) -> int:
        # re-armed before every read: a byte per second cannot outlive the deadline
        self._sock.settimeout(self._deadline.remaining())
        return self._sock.recv_into(buf)

    def makefile(self, mode: str = "rb", *args: object, **kwargs: object) -> io.BufferedReader:
        return io.BufferedReader(_RawReader(self), buffer_size=16384)

    def close(self) -> None:
        """http.client closes the connection while the answer is still read from it (HTTP/1.0,
        ``Connection: close``); the real socket is closed by :func:`request` when done."""


class _RawReader(io.RawIOBase):
    def __init__(self, sock: _DeadlineSocket):
        self._sock = sock

    def readable(self) -> bool:
        return True

    def readinto(self, buf: memoryview) -> int:  # type: ignore[override]
        return self._sock.recv_into(buf)


def _handshake(sock: ssl.SSLSocket, deadline: _Deadline) -> None:
    """A TLS handshake that a peer trickling its certificate cannot stretch past the deadline."""
    sock.setblocking(False)
    while True:
        try:
            sock.do_handshake()
            break
        except ssl.SSLWantReadError:
            select.select([sock], [], [], deadline.remaining())
        except ssl.SSLWantWriteError:
            select.select([], [sock], [], deadline.remaining())
        deadline.remaining()
    sock.setblocking(True)


class _Connection(http.client.HTTPConnection):
    def __init__(self, host: str, port: int | None, deadline: _Deadline,
                 context: ssl.SSLContext | None):
        super().__init__(host, port, timeout=deadline.seconds)
        self._deadline = deadline
        self._context = context
        self.raw: socket.socket | None = None

    def connect(self) -> None:
        raw = socket.create_connection((self.host, self.port), self._deadline.remaining())
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock: socket.socket = raw
        if self._context is not None:
            try:
                sock = self._context.wrap_socket(
                    raw, server_hostname=self.host, do_handshake_on_connect=False
                )
                _handshake(sock, self._deadline)  # type: ignore[arg-type]
            except BaseException:
                raw.close()
                raise
        self.raw = sock
        self.sock = _DeadlineSocket(sock, self._deadline)  # type: ignore[assignment]


def request(
    method: str,
    url: str,
    *,
    timeout: float,
    headers: Mapping[str, str] | None = None,
    body: bytes | None = None,
    max_body: int = DEFAULT_MAX_BODY,
    context: ssl.SSLContext | None = None,
) -> Response:
    """One HTTP exchange within ``timeout`` seconds in total; never follows redirects.

    Returns any non-3xx answer (the caller maps 4xx/5xx); raises :class:`OutboundError` for a
    redirect, an answer body over ``max_body`` bytes, a timeout, a transport or TLS failure.
    """
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise OutboundError("bad_url", "invalid URL") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise OutboundError("bad_url", "expected an http(s) URL")
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    deadline = _Deadline(timeout)
    tls = None
    if parts.scheme == "https":
        tls = context or ssl.create_default_context()
    conn = _Connection(parts.hostname, port, deadline, tls)
    try:
        conn.putrequest(method, target, skip_accept_encoding=True)
        for name, value in (headers or {}).items():
            conn.putheader(name, value)
        if body is not None:
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body)
        resp = conn.getresponse()
        status = resp.status
        got = {k.lower(): v for k, v in resp.getheaders()}
        if 300 <= status < 400:
            where = describe_location(url, got.get("location"))
            raise OutboundError(
                "redirect", f"answered HTTP {status} redirect to {where}; redirects are never "
                "followed: configure the final URL", location=where, status=status,
            )
        data = _read_capped(resp, got, max_body, method, status)
        return Response(status, got, data)
    except OutboundError:
        raise
    except TimeoutError:
        raise OutboundError("timeout", f"no complete answer within {timeout:g} s") from None
    except ssl.SSLCertVerificationError:
        raise OutboundError("tls_verify", "TLS certificate not trusted") from None
    except ssl.SSLError as exc:
        raise OutboundError("tls", f"TLS failed ({type(exc).__name__})") from None
    except http.client.HTTPException as exc:
        raise OutboundError("bad_http", f"not a valid HTTP answer ({type(exc).__name__})") from None
    except (OSError, ValueError) as exc:
        raise OutboundError("connection", f"connection failed ({type(exc).__name__})") from None
    finally:
        conn.close()
        if conn.raw is not None:
            conn.raw.close()


def _read_capped(
    resp: http.client.HTTPResponse,
    headers: Mapping[str, str],
    max_body: int,
    method: str,
    status: int,
) -> bytes:
    if method == "HEAD":
        return b""
    length = headers.get("content-length", "")
    if length.strip().isdigit() and int(length) > max_body:
        raise OutboundError("too_large", f"answer body over {max_body} bytes", status=status)
    chunks: list[bytes] = []
    size = 0
    while True:
        chunk = resp.read(min(65536, max_body + 1 - size))
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > max_body:
            raise OutboundError("too_large", f"answer body over {max_body} bytes", status=status)
        chunks.append(chunk)
