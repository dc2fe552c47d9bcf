"""A thin, thread-safe client for Bitcoin Core's JSON-RPC on top of python-bitcoinrpc.

Why this layer exists:
- every failure becomes one :mod:`hashwatch.node.errors` type (callers branch on ``kind``);
- ``AuthServiceProxy`` is not thread-safe, so each thread gets its own proxy and connection;
- python-bitcoinrpc's ``batch_`` breaks on current Core (it sends JSON-RPC 2.0 elements and then
  reads ``response['error']``, which 2.0 answers omit), so batching is done here on the library's
  connection, reading each element with both the 1.x and the 2.0 shape in mind;
- the cookie changes when bitcoind restarts: after a 401 the cookie is re-read and the call
  retried once, so a node restart needs no daemon restart;
- bytes in and out are counted per call (benchmarks and the ``rpc_*_bytes_total`` metrics).
"""

from __future__ import annotations

import base64
import http.client
import json
import socket
import threading
import time
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

from bitcoinrpc.authproxy import AuthServiceProxy, EncodeDecimal, JSONRPCException

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

# method, seconds (None: an error inside an answered batch), error kind or None, bytes sent,
# bytes received
Observer = Callable[[str, "float | None", "str | None", int, int], None]
Call = tuple[str, Sequence[Any]]

DEFAULT_TIMEOUT = 10.0


class _CountingConnection(http.client.HTTPConnection):
    """HTTPConnection that counts request body bytes (the constructor seam of the proxy)."""

    bytes_out = 0

    def request(self, method, url, body=None, headers=None, **kw):  # type: ignore[override]
        self.bytes_out += len(body) if body else 0
        super().request(method, url, body, headers or {}, **kw)


class _Proxy(AuthServiceProxy):
    """AuthServiceProxy with strict response parsing, byte counting and a working batch."""

    def __init__(self, url: str, auth_header: bytes, timeout: float, conn: _CountingConnection):
        super().__init__(url, timeout=timeout, connection=conn)
        # Credentials are set as a header, not parsed from the URL: urlparse does not unquote
        # user info, so passwords with ':' '@' or '%' would break (and URLs end up in logs).
        self._AuthServiceProxy__auth_header = auth_header
        self.conn = conn
        self.bytes_in = 0
        self.timeout = timeout

    def call(self, method: str, params: Sequence[Any]) -> Any:
        """One call through the library's ``__call__`` on *this* object.

        ``proxy.method(...)`` would build a plain ``AuthServiceProxy`` child that bypasses the
        header and response handling above, so the method name is set here instead.
        """
        self._AuthServiceProxy__service_name = method
        return self(*params)

    def set_timeout(self, timeout: float) -> None:
        self._AuthServiceProxy__timeout = timeout
        self.conn.timeout = timeout
        if self.conn.sock is not None:
            self.conn.sock.settimeout(timeout)

    def _get_response(self) -> Any:
        response = self.conn.getresponse()
        body = response.read()  # read fully so the keep-alive connection stays usable
        self.bytes_in += len(body)
        if response.status == 401:
            raise NodeAuthError("HTTP 401 Unauthorized: wrong RPC user/password or stale cookie")
        if response.getheader("Content-Type") != "application/json":
            raise NodeProtocolError(
                f"non-JSON HTTP response {response.status} {response.reason} from node"
            )
        try:
            return json.loads(body.decode("utf-8"), parse_float=Decimal)
        except (UnicodeDecodeError, ValueError):
            raise NodeProtocolError(
                f"malformed JSON from node (HTTP {response.status}, {len(body)} bytes)"
            ) from None

    def batch(self, calls: Sequence[Call]) -> list[Any]:
        """Send many calls in one HTTP request; return the raw answer elements in call order."""
        payload = [
            {"version": "1.1", "method": m, "params": list(p), "id": i}
            for i, (m, p) in enumerate(calls)
        ]
        url = self._AuthServiceProxy__url
        self.conn.request(
            "POST",
            url.path or "/",
            json.dumps(payload, default=EncodeDecimal),
            {
                "Host": url.hostname,
                "User-Agent": "hashwatch",
                "Authorization": self._AuthServiceProxy__auth_header,
                "Content-type": "application/json",
            },
        )
        if self.conn.sock is not None:
            self.conn.sock.settimeout(self._AuthServiceProxy__timeout)
        answer = self._get_response()
        if isinstance(answer, dict):  # a whole-request error, e.g. parse error
            raise _rpc_error(answer.get("error") or {"code": -32603, "message": "bad batch answer"})
        if not isinstance(answer, list):
            raise NodeProtocolError("batch answer is not a JSON array")
        by_id: dict[Any, dict] = {}
        for element in answer:
            if isinstance(element, dict) and "id" in element:
                by_id[element["id"]] = element
        missing = [i for i in range(len(calls)) if i not in by_id]
        if missing:
            raise NodeProtocolError(f"batch answer lacks {len(missing)} of {len(calls)} elements")
        return [by_id[i] for i in range(len(calls))]


def _rpc_error(error: dict) -> NodeError:
    code = error.get("code")
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
    ):
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"node {name!r}: URL must look like http://host:port/")
        self.name = name
        self._host = parts.hostname
        self._port = parts.port or 8332
        self._path = parts.path or "/"
        self._scheme = parts.scheme
        self.auth = auth
        self.timeout = timeout
        self.observer = observer
        self._local = threading.local()
        self._generation = 0
        self._gen_lock = threading.Lock()
        self._all_conns: list[_CountingConnection] = []
        self.bytes_in_total = 0
        self.bytes_out_total = 0

    # -- public API ---------------------------------------------------------------------------

    def call(self, method: str, *params: Any, timeout: float | None = None) -> Any:
        """One RPC. Raises a :class:`NodeError` subclass on any failure."""
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
            sock = conn.sock
            if sock is not None:
                try:  # wakes a thread blocked in recv() on a hung node; close() alone does not
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            conn.close()

    # -- internals ----------------------------------------------------------------------------

    def _proxy(self) -> _Proxy:
        local = self._local
        proxy = getattr(local, "proxy", None)
        if proxy is not None and local.generation == self._generation:
            return proxy
        user, password = self.auth.credentials()
        header = b"Basic " + base64.b64encode(f"{user}:{password}".encode())
        if self._scheme == "https":
            conn: _CountingConnection = http.client.HTTPSConnection(  # type: ignore[assignment]
                self._host, self._port, timeout=self.timeout
            )
        else:
            conn = _CountingConnection(self._host, self._port, timeout=self.timeout)
        url = f"{self._scheme}://hashwatch:hidden@{self._host}:{self._port}{self._path}"
        proxy = _Proxy(url, header, self.timeout, conn)
        with self._gen_lock:
            self._all_conns.append(conn)
            local.generation = self._generation
        local.proxy = proxy
        return proxy

    def _drop_proxy(self) -> None:
        proxy = getattr(self._local, "proxy", None)
        if proxy is not None:
            proxy.conn.close()
            self._local.proxy = None

    def _with_retry(self, method: str, fn: Callable[[_Proxy], Any], timeout: float | None) -> Any:
        try:
            return self._once(method, fn, timeout)
        except NodeAuthError:
            if not self.auth.uses_cookie:
                raise
            # bitcoind rewrites the cookie on every start: re-read it and try once more.
            with self._gen_lock:
                self._generation += 1
            return self._once(method, fn, timeout)

    def _once(self, method: str, fn: Callable[[_Proxy], Any], timeout: float | None) -> Any:
        started = time.perf_counter()
        error: NodeError | None = None
        proxy: _Proxy | None = None
        out0 = in0 = 0
        try:
            proxy = self._proxy()
            out0, in0 = proxy.conn.bytes_out, proxy.bytes_in
            proxy.set_timeout(timeout or self.timeout)
            try:
                return fn(proxy)
            finally:
                if timeout:
                    proxy.set_timeout(self.timeout)
        except NodeError as exc:
            error = exc
        except JSONRPCException as exc:
            error = _rpc_error(exc.error if isinstance(exc.error, dict) else {})
        except TimeoutError:
            error = NodeTimeout(f"no answer within {timeout or self.timeout:g} s")
        except ConnectionRefusedError:
            error = NodeUnavailable(f"connection refused by {self._host}:{self._port}")
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
            error = NodeUnavailable("connection closed by node")
        except http.client.HTTPException as exc:
            error = NodeProtocolError(f"bad HTTP answer from node: {type(exc).__name__}")
        except OSError as exc:
            error = NodeUnavailable(
                f"cannot reach {self._host}:{self._port}: {exc.strerror or exc}"
            )
        finally:
            elapsed = time.perf_counter() - started
            sent = received = 0
            if proxy is not None:
                sent, received = proxy.conn.bytes_out - out0, proxy.bytes_in - in0
                self.bytes_out_total += sent
                self.bytes_in_total += received
            if self.observer is not None:
                self.observer(method, elapsed, error.kind if error else None, sent, received)
        # Only reached on error: a transport fault leaves the connection in an unknown state.
        assert error is not None
        if error.kind in ("timeout", "unavailable", "protocol", "auth"):
            self._drop_proxy()
        error.node = self.name
        raise error
