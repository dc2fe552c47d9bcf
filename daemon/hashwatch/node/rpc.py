"""A thin, thread-safe client for Bitcoin Core's JSON-RPC over :mod:`.transport`.

Why this layer exists:
- every failure becomes one :mod:`hashwatch.node.errors` type (callers branch on ``kind``);
- each thread gets its own keep-alive connection (one request at a time per connection);
- batching reads each element with both the 1.x and the 2.0 shape in mind (Core answers 2.0
  elements with ``result`` *or* ``error``, never both);
- the cookie changes when bitcoind restarts: after a 401 the cookie is re-read and the call
  retried once, so a node restart needs no daemon restart;
- bitcoind closes keep-alive connections idle past ``-rpcservertimeout`` (30 s): a call that
  finds its reused connection closed before any answer byte is resent once on a new one (the
  transport tells that case apart from a timeout, which is never retried);
- every call has a total deadline (its timeout) and a cap on the answer's size;
- bytes on the wire in and out are counted per call (the ``rpc_*_bytes_total`` metrics).
"""

from __future__ import annotations

import base64
import itertools
import json
import threading
import time
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

from .auth import NodeAuth
from .errors import (
    RPC_IN_WARMUP,
    NodeAuthError,
    NodeError,
    NodeProtocolError,
    NodeTimeout,
    NodeUnavailable,
    NodeWarmingUp,
    RPCError,
)
from .health import NodeHealth
from .transport import Answer, Connection, StaleConnection

# method, seconds (None: an error inside an answered batch), error kind or None, bytes sent,
# bytes received (on the wire: request/status line, headers and body)
Observer = Callable[[str, "float | None", "str | None", int, int], None]
Call = tuple[str, Sequence[Any]]

DEFAULT_TIMEOUT = 10.0
# The largest answer hashwatch asks for on mainnet (docs/rpc-calls.md): ``getrawmempool false
# true`` lists ~67 bytes per transaction, 20 MB at 300k transactions and ~45 MB for the ~700k
# smallest transactions a 300 MB mempool can hold; a batch of 1,000 ``getmempoolentry`` is
# ~600 kB; ``getblock 2`` of a 4 MB block is ~10-30 MB. 64 MiB covers all with room.
DEFAULT_MAX_ANSWER_BYTES = 64 * 1024 * 1024
# Below Core's -rpcservertimeout default (30 s): a connection idle this long is replaced before
# use instead of racing the node's close (the stale-connection retry covers a shorter timeout).
DEFAULT_IDLE_SECONDS = 20.0


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    raise TypeError(f"cannot send {type(value).__name__} to the node")


def _decode(answer: Answer) -> Any:
    """The JSON of an HTTP answer; NodeAuthError / NodeProtocolError where it is none."""
    if answer.status == 401:
        raise NodeAuthError("HTTP 401 Unauthorized: wrong RPC user/password or stale cookie")
    ctype = answer.headers.get("content-type", "")
    if not ctype.startswith("application/json"):
        raise NodeProtocolError(
            f"non-JSON HTTP response {answer.status} {answer.reason[:40]!r} from node"
        )
    try:
        return json.loads(answer.body, parse_float=Decimal)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise NodeProtocolError(
            f"malformed JSON from node (HTTP {answer.status}, {len(answer.body)} bytes)"
        ) from None


def _single(answer: Any) -> Any:
    if not isinstance(answer, dict):
        raise NodeProtocolError("RPC answer is not a JSON object")
    error = answer.get("error")
    if error is not None:
        raise _rpc_error(error if isinstance(error, dict) else {"message": str(error)[:200]})
    if "result" not in answer:
        raise NodeProtocolError("RPC answer without result or error")
    return answer["result"]


def _batch(answer: Any, n: int) -> list[dict]:
    if isinstance(answer, dict):  # a whole-request error, e.g. parse error
        raise _rpc_error(answer.get("error") or {"code": -32603, "message": "bad batch answer"})
    if not isinstance(answer, list):
        raise NodeProtocolError("batch answer is not a JSON array")
    by_id: dict[Any, dict] = {}
    for element in answer:
        if isinstance(element, dict) and "id" in element:
            by_id[element["id"]] = element
    missing = [i for i in range(n) if i not in by_id]
    if missing:
        raise NodeProtocolError(f"batch answer lacks {len(missing)} of {n} elements")
    return [by_id[i] for i in range(n)]


def _rpc_error(error: Any) -> NodeError:
    if not isinstance(error, dict):
        return NodeProtocolError("RPC error that is not a JSON object")
    code = error.get("code")
    if not isinstance(code, int) or isinstance(code, bool):
        code = None
    message = str(error.get("message", ""))
    if code == RPC_IN_WARMUP:
        return NodeWarmingUp(f"node is warming up: {message}", code=code)
    return RPCError(message, code=code)


def _element_value(element: dict) -> Any:
    """Result of one batch element; 1.x elements carry both keys, 2.0 ones only one."""
    error = element.get("error")
    if error is not None:
        return _rpc_error(error)
    if "result" not in element:
        return NodeProtocolError("batch element without result or error")
    return element["result"]


class NodeClient:
    """Calls one node. Safe to share between threads; each thread uses its own connection."""

    def __init__(
        self,
        name: str,
        url: str,
        auth: NodeAuth,
        timeout: float = DEFAULT_TIMEOUT,
        observer: Observer | None = None,
        *,
        max_answer_bytes: int = DEFAULT_MAX_ANSWER_BYTES,
        idle_seconds: float = DEFAULT_IDLE_SECONDS,
    ):
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"node {name!r}: URL must look like http://host:port/")
        self.name = name
        self._host = parts.hostname
        self._port = parts.port or 8332
        self._path = parts.path or "/"
        self._tls = parts.scheme == "https"
        self.auth = auth
        self.timeout = timeout
        self.observer = observer
        self.max_answer_bytes = max_answer_bytes
        self.idle_seconds = idle_seconds
        self._local = threading.local()
        self._generation = 0
        self._gen_lock = threading.Lock()
        self._all_conns: list[Connection] = []
        self._ids = itertools.count(1)
        self.bytes_in_total = 0
        self.bytes_out_total = 0
        # why connections were replaced: "idle" (before use), "stale" (closed by the node)
        self.reconnects = {"idle": 0, "stale": 0}
        # kind of the last failed round trip (None after a success): lets one-shot callers
        # (``hashwatch status``) skip further calls to a node that just timed out
        self.last_error_kind: str | None = None
        self.health = NodeHealth()  # ZMQ and mempool-sync counts, read by the self-metrics

    # -- public API ---------------------------------------------------------------------------

    def call(self, method: str, *params: Any, timeout: float | None = None) -> Any:
        """One RPC. Raises a :class:`NodeError` subclass on any failure.

        ``timeout`` (default: the client's) bounds the whole call: connect, send, receive.
        """
        def payload() -> dict:
            n = next(self._ids)
            return {"version": "1.1", "method": method, "params": list(params), "id": n}

        return self._with_retry(method, payload, _single, timeout)

    def batch(
        self, calls: Sequence[Call], *, timeout: float | None = None, raise_errors: bool = True
    ) -> list[Any]:
        """Many RPCs in one HTTP request, answers in call order.

        With ``raise_errors`` the first failed element raises its error; otherwise failed
        elements are returned as :class:`NodeError` instances in place.
        """
        if not calls:
            return []
        methods = {m for m, _ in calls}
        label = f"batch:{methods.pop()}" if len(methods) == 1 else "batch:mixed"
        payload = [
            {"version": "1.1", "method": m, "params": list(p), "id": i}
            for i, (m, p) in enumerate(calls)
        ]
        elements = self._with_retry(
            label, lambda: payload, lambda a: _batch(a, len(calls)), timeout
        )
        values = [_element_value(e) for e in elements]
        if raise_errors:
            for v in values:
                if isinstance(v, NodeError):
                    v.node = self.name
                    # the HTTP round trip succeeded; count the element's error on its own
                    if self.observer is not None:
                        self.observer(label, None, v.kind, 0, 0)
                    raise v
        return values

    def close(self) -> None:
        """Close every connection this client opened (all threads)."""
        with self._gen_lock:
            conns, self._all_conns = self._all_conns, []
            self._generation += 1
        for conn in conns:
            conn.shutdown()  # wakes a thread blocked in recv() on a hung node
            conn.close()

    # -- internals ----------------------------------------------------------------------------

    def _conn(self) -> tuple[Connection, bytes]:
        """This thread's connection and its Authorization header value."""
        local = self._local
        conn = getattr(local, "conn", None)
        if conn is not None and local.generation == self._generation:
            return conn, local.auth_header
        if conn is not None:
            conn.close()
        user, password = self.auth.credentials()
        conn = Connection(
            self._host,
            self._port,
            tls=self._tls,
            max_answer_bytes=self.max_answer_bytes,
            idle_seconds=self.idle_seconds,
        )
        with self._gen_lock:
            self._all_conns.append(conn)
            local.generation = self._generation
        local.conn = conn
        local.auth_header = b"Basic " + base64.b64encode(f"{user}:{password}".encode())
        return conn, local.auth_header

    def _drop_conn(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None
            with self._gen_lock:
                if conn in self._all_conns:
                    self._all_conns.remove(conn)

    def _head(self, auth_header: bytes, length: int) -> bytes:
        return (
            f"POST {self._path} HTTP/1.1\r\n"
            f"Host: {self._host}\r\n"
            "User-Agent: hashwatch\r\n"
            "Content-Type: application/json\r\n"
            f"Content-Length: {length}\r\n"
            "Authorization: "
        ).encode() + auth_header + b"\r\n\r\n"

    def _with_retry(
        self,
        method: str,
        payload: Callable[[], Any],
        read: Callable[[Any], Any],
        timeout: float | None,
    ) -> Any:
        try:
            return self._once(method, payload, read, timeout)
        except NodeAuthError:
            if not self.auth.uses_cookie:
                raise
            # bitcoind rewrites the cookie on every start: re-read it and try once more.
            with self._gen_lock:
                self._generation += 1
            return self._once(method, payload, read, timeout)

    def _exchange(self, body: bytes, deadline: float) -> Answer:
        """One HTTP exchange; a stale keep-alive connection is replaced and the request resent.

        Credentials are read again whenever a new socket is opened: the node closes every
        connection when it restarts, and then its cookie is new.
        """
        conn, auth_header = self._conn()
        if conn.will_reconnect():
            auth_header = self._fresh_auth()
        try:
            return conn.request(self._head(auth_header, len(body)), body, deadline)
        except StaleConnection:
            # Closed by the node while idle (-rpcservertimeout) before any answer byte: the
            # request was not processed, so resending it once is safe. The socket is new, so
            # this second attempt cannot be stale.
            self.reconnects["stale"] += 1
            conn.reconnects["stale"] += 1
            head = self._head(self._fresh_auth(), len(body))
            try:
                return conn.request(head, body, deadline)
            except StaleConnection:
                raise ConnectionResetError("connection closed by node") from None

    def _fresh_auth(self) -> bytes:
        user, password = self.auth.credentials()
        header = b"Basic " + base64.b64encode(f"{user}:{password}".encode())
        self._local.auth_header = header
        return header

    def _once(
        self,
        method: str,
        payload: Callable[[], Any],
        read: Callable[[Any], Any],
        timeout: float | None,
    ) -> Any:
        started = time.perf_counter()
        limit = timeout or self.timeout
        deadline = time.monotonic() + limit
        error: NodeError | None = None
        conn: Connection | None = None
        out0 = in0 = idle0 = 0
        try:
            conn = self._conn()[0]
            out0, in0, idle0 = conn.bytes_out, conn.bytes_in, conn.reconnects["idle"]
            body = json.dumps(payload(), default=_json_default).encode()
            answer = self._exchange(body, deadline)
            result = read(_decode(answer))
            self.last_error_kind = None
            return result
        except NodeError as exc:
            error = exc
        except TimeoutError:  # a read ran out of the time left, or DeadlineExceeded
            error = NodeTimeout(f"no complete answer within {limit:g} s")
        except ConnectionRefusedError:
            error = NodeUnavailable(f"connection refused by {self._host}:{self._port}")
        except (ConnectionResetError, BrokenPipeError, ConnectionAbortedError):
            error = NodeUnavailable("connection closed by node")
        except OSError as exc:
            error = NodeUnavailable(
                f"cannot reach {self._host}:{self._port}: {exc.strerror or type(exc).__name__}"
            )
        finally:
            elapsed = time.perf_counter() - started
            sent = received = 0
            if conn is not None:
                sent, received = conn.bytes_out - out0, conn.bytes_in - in0
                self.bytes_out_total += sent
                self.bytes_in_total += received
                self.reconnects["idle"] += conn.reconnects["idle"] - idle0
            if self.observer is not None:
                self.observer(method, elapsed, error.kind if error else None, sent, received)
        # Only reached on error: a transport fault leaves the connection in an unknown state.
        assert error is not None
        if error.kind in ("timeout", "unavailable", "protocol", "auth"):
            self._drop_conn()
        if error.kind != "rpc":
            self.last_error_kind = error.kind
        error.node = self.name
        raise error
