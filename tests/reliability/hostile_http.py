"""A hostile HTTP peer on 127.0.0.1: redirects, endless or oversized bodies, byte-per-tick answers.

Why raw sockets rather than http.server: the behaviours under test (an answer trickled one
byte at a time, a body that never ends, a TLS peer that never finishes its handshake) are what a
well-behaved server library will not do. Every loop is bounded (a byte budget and the
``stop`` event), and every request seen is recorded with its headers, so tests can prove that a
credential never reached another origin.
"""

from __future__ import annotations

import socket
import ssl
import threading
from dataclasses import dataclass, field
from typing import Any

MAX_STREAM_BYTES = 64 * 1024 * 1024  # what an "endless" body sends at most


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Behaviour:
    """What the peer does with every request. ``kind``: ok | status | redirect | huge_length |
    endless | endless_chunked | trickle | silent."""

    kind: str = "ok"  # also trickle_body
    status: int = 200
    location: str = ""
    body: bytes = b"ok"
    tick: float = 0.1  # seconds between trickled bytes
    headers: dict[str, str] = field(default_factory=dict)


class HostilePeer:
    def __init__(self, behaviour: Behaviour | None = None, tls: ssl.SSLContext | None = None):
        self.behaviour = behaviour or Behaviour()
        self.seen: list[Seen] = []
        self.sent_bytes = 0
        self.stop = threading.Event()
        self._lock = threading.Lock()
        self._tls = tls
        self._sock = socket.socket()
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(32)
        self._sock.settimeout(0.1)
        self.port = self._sock.getsockname()[1]
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    @property
    def origin(self) -> str:
        return f"{'https' if self._tls else 'http'}://127.0.0.1:{self.port}"

    def url(self, path: str = "/services/T0/B0/s3cretPath") -> str:
        return self.origin + path

    def close(self) -> None:
        self.stop.set()
        self._thread.join(5)
        self._sock.close()

    def __enter__(self) -> HostilePeer:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # -- serving ---------------------------------------------------------------------------
    def _accept(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except (TimeoutError, OSError):
                continue
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        conn.settimeout(10)
        try:
            if self._tls is not None:
                if self.behaviour.kind == "silent":
                    self.stop.wait(30)  # never answer the handshake
                    return
                conn = self._tls.wrap_socket(conn, server_side=True)
            req = self._read_request(conn)
            if req is None:
                return
            with self._lock:
                self.seen.append(req)
            self._answer(conn)
        except OSError:
            pass
        finally:
            conn.close()

    def _read_request(self, conn: socket.socket) -> Seen | None:
        data = b""
        while b"\r\n\r\n" not in data and len(data) < 65536:
            chunk = conn.recv(4096)
            if not chunk:
                return None
            data += chunk
        head, _, rest = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        method, path, _ = lines[0].split(" ", 2)
        headers = {}
        for line in lines[1:]:
            k, _, v = line.partition(":")
            headers[k.strip().lower()] = v.strip()
        length = int(headers.get("content-length", "0") or 0)
        while len(rest) < min(length, 1_000_000):
            chunk = conn.recv(65536)
            if not chunk:
                break
            rest += chunk
        return Seen(method, path, headers, rest)

    def _send(self, conn: socket.socket, data: bytes) -> None:
        conn.sendall(data)
        self.sent_bytes += len(data)

    def _answer(self, conn: socket.socket) -> None:
        b = self.behaviour
        extra = "".join(f"{k}: {v}\r\n" for k, v in b.headers.items())
        if b.kind == "silent":
            self.stop.wait(30)
            return
        if b.kind in ("ok", "status"):
            status = 200 if b.kind == "ok" else b.status
            self._send(conn, f"HTTP/1.1 {status} X\r\nContent-Length: {len(b.body)}\r\n{extra}"
                             "Connection: close\r\n\r\n".encode() + b.body)
        elif b.kind == "redirect":
            self._send(conn, f"HTTP/1.1 {b.status} Moved\r\nLocation: {b.location}\r\n"
                             "Content-Length: 0\r\nConnection: close\r\n\r\n".encode())
        elif b.kind == "huge_length":
            self._send(conn, f"HTTP/1.1 {b.status} X\r\nContent-Length: 50000000000\r\n"
                             "\r\n".encode())
            self._stream(conn, chunked=False)
        elif b.kind == "endless":
            self._send(conn, f"HTTP/1.1 {b.status} X\r\nConnection: close\r\n\r\n".encode())
            self._stream(conn, chunked=False)
        elif b.kind == "endless_chunked":
            self._send(conn, f"HTTP/1.1 {b.status} X\r\nTransfer-Encoding: chunked\r\n"
                             "\r\n".encode())
            self._stream(conn, chunked=True)
        elif b.kind == "trickle":  # the header block never ends, one byte per tick
            self._send(conn, f"HTTP/1.1 {b.status} X\r\nX-Slow: ".encode())
            self._trickle(conn, b.tick)
        elif b.kind == "trickle_body":  # headers at once, then the body one byte per tick
            self._send(conn, f"HTTP/1.1 {b.status} X\r\nContent-Length: 5000\r\n"
                             "\r\n".encode())
            self._trickle(conn, b.tick)

    def _trickle(self, conn: socket.socket, tick: float) -> None:
        for _ in range(100_000):  # bounded; far longer than any deadline under test
            if self.stop.wait(tick):
                return
            self._send(conn, b"a")

    def _stream(self, conn: socket.socket, *, chunked: bool) -> None:
        piece = b"A" * 65536
        frame = (b"10000\r\n" + piece + b"\r\n") if chunked else piece
        while self.sent_bytes < MAX_STREAM_BYTES and not self.stop.is_set():
            self._send(conn, frame)
