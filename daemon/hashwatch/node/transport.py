"""One keep-alive HTTP/1.1 connection to a node, bounded in size and in time.

Why: python-bitcoinrpc does the JSON-RPC (``AuthServiceProxy``), but its default transport,
``http.client``, bounds each ``recv`` rather than a call, reads an answer of any size and counts
nothing. The library takes its connection as a constructor argument, so it runs on this one
(through the ``HTTPConnection`` look-alike in :mod:`.proxyconn`), which adds the transport bounds:
- a **total deadline** per request: ``http.client`` bounds each ``recv``, so a node that
  trickles one byte per second holds a job forever. Here every read gets the time left;
- an **answer cap**: the body is read in chunks and refused past ``max_answer_bytes`` (a
  declared ``Content-Length`` past it is refused before reading), so memory stays bounded;
- **wire bytes**: request line, headers and body out; status line, headers and body in;
- **stale keep-alive connections**: bitcoind closes a connection idle longer than
  ``-rpcservertimeout`` (30 s). A request on a *reused* connection that fails before any answer
  byte arrives raises :class:`StaleConnection`, which the caller retries once on a fresh
  connection; a connection idle longer than ``idle_seconds`` is replaced before it is used.
  A timeout is never a :class:`StaleConnection` (retrying would double the wait).
"""

from __future__ import annotations

import socket
import ssl
import time

from .errors import NodeProtocolError

MAX_HEAD_BYTES = 64 * 1024  # status line + headers; Core sends ~150 bytes
_CHUNK = 256 * 1024


def _over_cap(cap: int, length: int | None = None) -> NodeProtocolError:
    size = f"answer of {length} bytes is" if length is not None else "answer"
    return NodeProtocolError(f"{size} over the cap of {cap} bytes (rpc_max_answer_bytes)")


class StaleConnection(ConnectionError):
    """A reused connection was closed by the node before it answered: safe to resend once."""


class DeadlineExceeded(TimeoutError):
    """The request's total deadline passed (connect + send + receive)."""


class Answer:
    """One HTTP answer: status, lower-cased headers, body."""

    __slots__ = ("status", "reason", "headers", "body")

    def __init__(self, status: int, reason: str, headers: dict[str, str], body: bytes):
        self.status, self.reason, self.headers, self.body = status, reason, headers, body


class Connection:
    """Owned by one thread. ``request`` raises ``OSError`` subclasses or NodeProtocolError."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        tls: bool = False,
        max_answer_bytes: int,
        idle_seconds: float = 0.0,
    ):
        self.host, self.port, self.tls = host, port, tls
        self.max_answer_bytes = max_answer_bytes
        self.idle_seconds = idle_seconds
        self.sock: socket.socket | None = None
        self.used = 0  # answers completed on the current socket
        self.last_used = 0.0  # monotonic time the last answer completed
        self.bytes_out = 0
        self.bytes_in = 0
        self.reconnects = {"idle": 0, "stale": 0}

    def will_reconnect(self) -> bool:
        """Whether the next request opens a new socket (none yet, or idle past the limit)."""
        return self.sock is None or (0 < self.idle_seconds < self.idle_for())

    def idle_for(self) -> float:
        """Seconds since the last answer completed on this connection."""
        return time.monotonic() - self.last_used

    # -- lifecycle ------------------------------------------------------------------------------

    def close(self) -> None:
        sock, self.sock = self.sock, None
        self.used = 0
        if sock is not None:
            try:
                sock.close()
            except OSError:
                pass

    def shutdown(self) -> None:
        """Wake a thread blocked in recv() on this connection (close() alone does not)."""
        sock = self.sock
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def _connect(self, deadline: float) -> socket.socket:
        left = _left(deadline)
        sock = socket.create_connection((self.host, self.port), timeout=left)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.tls:
            ctx = ssl.create_default_context()
            sock.settimeout(_left(deadline))
            sock = ctx.wrap_socket(sock, server_hostname=self.host)
        self.sock, self.used = sock, 0
        return sock

    # -- one request ----------------------------------------------------------------------------

    def request(self, head: bytes, body: bytes, deadline: float) -> Answer:
        """Send ``head`` (request line + headers, ending in a blank line) and ``body``.

        ``deadline`` is a ``time.monotonic()`` value bounding the whole exchange.
        """
        if self.sock is not None and 0 < self.idle_seconds < self.idle_for():
            self.reconnects["idle"] += 1
            self.close()  # the node may be about to close it: do not race its timer
        reused = self.sock is not None and self.used > 0
        sock = self.sock if self.sock is not None else self._connect(deadline)
        try:
            sock.settimeout(_left(deadline))
            try:
                sock.sendall(head + body if len(body) < 65536 else head)
                if len(body) >= 65536:
                    sock.sendall(body)
            except (BrokenPipeError, ConnectionResetError):
                if reused:
                    raise StaleConnection("connection closed by node before the request") from None
                raise
            self.bytes_out += len(head) + len(body)
            reader = _Reader(sock, deadline, self)
            answer = reader.read_answer(reused, self.max_answer_bytes)
        except BaseException:
            self.close()
            raise
        if reader.keep_alive:
            self.used += 1
            self.last_used = time.monotonic()
        else:
            self.close()
        return answer


def _left(deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise DeadlineExceeded("deadline passed")
    return left


class _Reader:
    """Reads one answer from ``sock`` with a shrinking timeout and a size cap."""

    def __init__(self, sock: socket.socket, deadline: float, conn: Connection):
        self.sock, self.deadline, self.conn = sock, deadline, conn
        self.buf = bytearray()
        self.got_any = False
        self.keep_alive = True

    def _recv(self, reused: bool = False) -> bytes:
        self.sock.settimeout(_left(self.deadline))
        try:
            data = self.sock.recv(_CHUNK)
        except (ConnectionResetError, BrokenPipeError):
            if reused and not self.got_any:
                raise StaleConnection("connection closed by node before answering") from None
            raise
        if not data:
            if reused and not self.got_any:
                raise StaleConnection("connection closed by node before answering")
            if not self.got_any:
                raise ConnectionResetError("connection closed by node before answering")
            raise NodeProtocolError("answer truncated: the node closed the connection mid-answer")
        self.got_any = True
        self.conn.bytes_in += len(data)
        return data

    def read_answer(self, reused: bool, cap: int) -> Answer:
        buf = self.buf
        while True:
            end = buf.find(b"\r\n\r\n")
            if end >= 0:
                break
            if len(buf) > MAX_HEAD_BYTES:
                raise NodeProtocolError(f"HTTP header section over {MAX_HEAD_BYTES} bytes")
            buf += self._recv(reused)
        head = bytes(buf[:end]).decode("latin-1")
        del buf[: end + 4]
        lines = head.split("\r\n")
        parts = lines[0].split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit():
            raise NodeProtocolError("bad HTTP status line from node")
        version, status = parts[0], int(parts[1])
        reason = parts[2] if len(parts) > 2 else ""
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            if not sep:
                raise NodeProtocolError("bad HTTP header line from node")
            headers[name.strip().lower()] = value.strip()
        connection = headers.get("connection", "").lower()
        if connection == "close" or (version == "HTTP/1.0" and connection != "keep-alive"):
            self.keep_alive = False
        if status == 204 or status == 304 or 100 <= status < 200:
            return Answer(status, reason, headers, b"")
        if "chunked" in headers.get("transfer-encoding", "").lower():
            body = self._chunked(cap)
        elif "content-length" in headers:
            text = headers["content-length"]
            if not text.isdigit():
                raise NodeProtocolError("bad Content-Length from node")
            length = int(text)
            if length > cap:
                raise _over_cap(cap, length)
            body = self._exactly(length)
        else:
            self.keep_alive = False
            body = self._until_close(cap)
        return Answer(status, reason, headers, body)

    def _exactly(self, length: int) -> bytes:
        buf = self.buf
        if len(buf) >= length:
            body = bytes(buf[:length])
            del buf[:length]
            return body
        out = bytearray(length)
        view = memoryview(out)
        have = len(buf)
        view[:have] = buf
        buf.clear()
        sock = self.sock
        while have < length:
            sock.settimeout(_left(self.deadline))
            n = sock.recv_into(view[have:], min(length - have, 4 * _CHUNK))
            if n == 0:
                raise NodeProtocolError(
                    f"answer truncated: connection closed after {have} of {length} bytes"
                )
            have += n
            self.conn.bytes_in += n
        return out  # type: ignore[return-value]  # bytearray: json reads it without a copy

    def _until_close(self, cap: int) -> bytes:
        buf = self.buf
        while True:
            if len(buf) > cap:
                raise _over_cap(cap)
            self.sock.settimeout(_left(self.deadline))
            data = self.sock.recv(_CHUNK)
            if not data:
                return bytes(buf)
            self.conn.bytes_in += len(data)
            buf += data

    def _line(self) -> bytes:
        buf = self.buf
        while True:
            end = buf.find(b"\r\n")
            if end >= 0:
                line = bytes(buf[:end])
                del buf[: end + 2]
                return line
            if len(buf) > 4096:
                raise NodeProtocolError("bad chunked encoding from node")
            buf += self._recv()

    def _chunked(self, cap: int) -> bytes:
        out = bytearray()
        while True:
            size_text = self._line().split(b";", 1)[0].strip()
            try:
                size = int(size_text, 16)
            except ValueError:
                raise NodeProtocolError("bad chunk size from node") from None
            if size == 0:
                while self._line():  # trailers, then the blank line
                    pass
                return bytes(out)
            if len(out) + size > cap:
                raise _over_cap(cap)
            out += self._exactly(size)
            if self._line() != b"":
                raise NodeProtocolError("bad chunked encoding from node")
