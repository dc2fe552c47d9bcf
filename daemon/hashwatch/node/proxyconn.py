"""The connection python-bitcoinrpc's ``AuthServiceProxy`` talks through.

Why: the library does the JSON-RPC (request building, ids, ``Decimal`` numbers, error answers
as ``JSONRPCException``) but sits on ``http.client``, which bounds each ``recv`` and not a
call, reads any answer size and counts nothing. ``AuthServiceProxy(url, connection=conn)``
accepts any object shaped like ``http.client.HTTPConnection``; :class:`ProxyConnection` is that
object, built on the bounded :class:`~hashwatch.node.transport.Connection`:

- ``request()`` only records the request; ``getresponse()`` runs the whole exchange within
  :attr:`ProxyConnection.deadline` (a total deadline, not a per-read timeout);
- the answer is capped in size and its wire bytes counted by the transport;
- a reused keep-alive connection that the node closed while idle (``-rpcservertimeout``) is
  resent once on a new socket (:class:`~hashwatch.node.transport.StaleConnection`);
- credentials are read again whenever a new socket is opened (a restarted node has a new
  cookie), so the ``Authorization`` header is ours, not the one the proxy was built with.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

from .transport import Answer, Connection, StaleConnection

# Set by the transport per request; the proxy must not add these a second time.
_OURS = frozenset({"authorization", "content-length", "connection", "transfer-encoding"})


class ProxyResponse:
    """The parts of ``http.client.HTTPResponse`` that ``AuthServiceProxy`` reads."""

    def __init__(self, answer: Answer):
        self.status = answer.status
        self.reason = answer.reason
        self._headers = answer.headers  # names lower-cased by the transport
        self._body: bytes | None = answer.body

    def getheader(self, name: str, default: str | None = None) -> str | None:
        return self._headers.get(name.lower(), default)

    def read(self, amt: int | None = None) -> bytes:
        """The whole body (already read within the cap); empty on a second read."""
        body, self._body = self._body or b"", b""
        return body


class _DeadlineClock:
    """Stands in for ``HTTPConnection.sock``: the proxy calls ``sock.settimeout(timeout)``.

    A timeout set here becomes the total deadline of the pending request unless the caller
    already set a deadline (the node client always does, per call).
    """

    def __init__(self, owner: ProxyConnection):
        self._owner = owner

    def settimeout(self, seconds: float | None) -> None:
        if seconds is not None and self._owner.deadline is None:
            self._owner.deadline = time.monotonic() + seconds


class ProxyConnection:
    """An ``http.client.HTTPConnection`` look-alike on a bounded keep-alive connection.

    Owned by one thread, like the proxy using it.
    """

    def __init__(self, conn: Connection, credentials: Callable[[], bytes]):
        self.conn = conn
        self._credentials = credentials  # -> the Authorization header value
        self.auth_header = credentials()
        self.deadline: float | None = None  # time.monotonic() bound of the next exchange
        self.sock = _DeadlineClock(self)
        self._pending: tuple[bytes, bytes] | None = None

    def request(
        self,
        method: str,
        url: str,
        body: str | bytes | None = None,
        headers: Mapping[str, str | bytes] | None = None,
    ) -> None:
        data = body.encode("utf-8") if isinstance(body, str) else bytes(body or b"")
        lines = [f"{method} {url or '/'} HTTP/1.1"]
        for name, value in (headers or {}).items():
            if name.lower() in _OURS:
                continue
            text = value.decode("latin-1") if isinstance(value, bytes) else str(value)
            if "\r" in text or "\n" in text or "\r" in name or "\n" in name:
                raise ValueError(f"invalid HTTP header {name!r}")
            lines.append(f"{name}: {text}")
        lines.append(f"Content-Length: {len(data)}")
        self._pending = ("\r\n".join(lines) + "\r\nAuthorization: ").encode("latin-1"), data

    def getresponse(self) -> ProxyResponse:
        pending, self._pending = self._pending, None
        deadline, self.deadline = self.deadline, None
        if pending is None:
            raise RuntimeError("getresponse() without request()")
        if deadline is None:
            raise RuntimeError("no deadline: set .deadline or call sock.settimeout() first")
        head, body = pending
        if self.conn.will_reconnect():
            self.auth_header = self._credentials()
        try:
            answer = self.conn.request(head + self.auth_header + b"\r\n\r\n", body, deadline)
        except StaleConnection:
            # Closed by the node while idle before any answer byte: the request was not
            # processed, so resending it once is safe. The socket is new, so this second
            # attempt cannot be stale.
            self.conn.reconnects["stale"] += 1
            self.auth_header = self._credentials()
            try:
                answer = self.conn.request(head + self.auth_header + b"\r\n\r\n", body, deadline)
            except StaleConnection:
                raise ConnectionResetError("connection closed by node") from None
        return ProxyResponse(answer)

    def close(self) -> None:
        self.conn.close()
