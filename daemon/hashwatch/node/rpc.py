"""A thread-safe client for Bitcoin Core: python-bitcoinrpc on a bounded connection.

Why this layer exists:
- the JSON-RPC is python-bitcoinrpc's (``AuthServiceProxy``: requests, ids, ``Decimal``
  numbers, error answers as ``JSONRPCException``); the HTTP underneath is our bounded
  :class:`~hashwatch.node.transport.Connection`, handed to the library through its constructor
  seam ``AuthServiceProxy(url, connection=...)`` (:mod:`.proxyconn`);
- every failure becomes one :mod:`hashwatch.node.errors` type (callers branch on ``kind``),
  Core's error code kept (-28 is :class:`NodeWarmingUp`);
- ``AuthServiceProxy`` is not thread-safe, so each thread gets its own proxy and keep-alive
  connection;
- python-bitcoinrpc's ``batch_`` breaks on current Core (it sends JSON-RPC 2.0 elements and then
  reads ``response['error']``, which 2.0 answers omit), so batching is done here on the
  library's proxy and connection, reading each element with both the 1.x and 2.0 shapes in mind;
- the cookie changes when bitcoind restarts: after a 401 the cookie is re-read and the call
  retried once, so a node restart needs no daemon restart;
- the transport bounds every call: a total deadline (its timeout), a cap on the answer's size,
  bytes on the wire counted (the ``rpc_*_bytes_total`` metrics), and one resend of a call whose
  reused keep-alive connection bitcoind closed for idleness (``-rpcservertimeout``).
"""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import urlsplit

from bitcoinrpc.authproxy import JSONRPCException

from .auth import NodeAuth
from .errors import (
    NodeAuthError,
    NodeError,
    NodeTimeout,
    NodeUnavailable,
)
from .health import NodeHealth
from .proxy import Call, Proxy, element_value, library_error
from .proxyconn import ProxyConnection
from .transport import Connection

# method, seconds (None: an error inside an answered batch), error kind or None, bytes sent,
# bytes received (on the wire: request/status line, headers and body)
Observer = Callable[[str, "float | None", "str | None", int, int], None]

DEFAULT_TIMEOUT = 10.0
# The largest answer hashwatch asks for on mainnet (docs/rpc-calls.md): ``getrawmempool false
# true`` lists ~67 bytes per transaction, 20 MB at 300k transactions and ~45 MB for the ~700k
# smallest transactions a 300 MB mempool can hold; a batch of 1,000 ``getmempoolentry`` is
# ~600 kB; ``getblock 2`` of a 4 MB block is ~10-30 MB. 64 MiB covers all with room.
DEFAULT_MAX_ANSWER_BYTES = 64 * 1024 * 1024
# Below Core's -rpcservertimeout default (30 s): a connection idle this long is replaced before
# use instead of racing the node's close (the stale-connection retry covers a shorter timeout).
DEFAULT_IDLE_SECONDS = 20.0


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
        """One RPC through python-bitcoinrpc. Raises a :class:`NodeError` subclass on failure.

        ``timeout`` (default: the client's) bounds the whole call: connect, send, receive.
        """
        return self._with_retry(method, lambda p: p.call(method, params), timeout)

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
        elements = self._with_retry(label, lambda p: p.batch(calls), timeout)
        values = [element_value(e) for e in elements]
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

    def _proxy(self) -> Proxy:
        """This thread's proxy (``AuthServiceProxy`` is not thread-safe) and connection."""
        local = self._local
        proxy = getattr(local, "proxy", None)
        if proxy is not None and local.generation == self._generation:
            return proxy
        if proxy is not None:
            proxy.conn.close()
        conn = Connection(
            self._host,
            self._port,
            tls=self._tls,
            max_answer_bytes=self.max_answer_bytes,
            idle_seconds=self.idle_seconds,
        )
        scheme = "https" if self._tls else "http"
        url = f"{scheme}://hashwatch:hidden@{self._host}:{self._port}{self._path}"
        proxy = Proxy(url, self.timeout, ProxyConnection(conn, self._auth_header))
        with self._gen_lock:
            self._all_conns.append(conn)
            local.generation = self._generation
        local.proxy = proxy
        local.conn = conn
        return proxy

    def _auth_header(self) -> bytes:
        """Read on every new socket: the node closes all connections when it restarts, and
        then its cookie is new."""
        user, password = self.auth.credentials()
        return b"Basic " + base64.b64encode(f"{user}:{password}".encode())

    def _drop_proxy(self) -> None:
        proxy = getattr(self._local, "proxy", None)
        if proxy is not None:
            conn = proxy.conn.conn
            conn.close()
            self._local.proxy = self._local.conn = None
            with self._gen_lock:
                if conn in self._all_conns:
                    self._all_conns.remove(conn)

    def _with_retry(self, method: str, fn: Callable[[Proxy], Any], timeout: float | None) -> Any:
        try:
            return self._once(method, fn, timeout)
        except NodeAuthError:
            if not self.auth.uses_cookie:
                raise
            # bitcoind rewrites the cookie on every start: re-read it and try once more.
            with self._gen_lock:
                self._generation += 1
            return self._once(method, fn, timeout)

    def _once(self, method: str, fn: Callable[[Proxy], Any], timeout: float | None) -> Any:
        started = time.perf_counter()
        limit = timeout or self.timeout
        error: NodeError | None = None
        conn: Connection | None = None
        out0 = in0 = idle0 = stale0 = 0
        try:
            proxy = self._proxy()
            conn = proxy.conn.conn
            out0, in0 = conn.bytes_out, conn.bytes_in
            idle0, stale0 = conn.reconnects["idle"], conn.reconnects["stale"]
            proxy._AuthServiceProxy__timeout = limit
            proxy.conn.deadline = time.monotonic() + limit  # the whole call, not each read
            result = fn(proxy)
            self.last_error_kind = None
            return result
        except NodeError as exc:
            error = exc
        except JSONRPCException as exc:
            error = library_error(exc)
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
                self.reconnects["stale"] += conn.reconnects["stale"] - stale0
            if self.observer is not None:
                self.observer(method, elapsed, error.kind if error else None, sent, received)
        # Only reached on error: a transport fault leaves the connection in an unknown state.
        assert error is not None
        if error.kind in ("timeout", "unavailable", "protocol", "auth"):
            self._drop_proxy()
        if error.kind != "rpc":
            self.last_error_kind = error.kind
        error.node = self.name
        raise error
