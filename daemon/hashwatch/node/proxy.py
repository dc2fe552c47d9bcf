"""python-bitcoinrpc's ``AuthServiceProxy`` as hashwatch uses it, and its errors as ours.

Why a subclass: single calls must go through the library's own ``__call__`` (request, id,
``Decimal`` numbers, error answers as ``JSONRPCException``), but its answer reading turns a 401,
a non-JSON or malformed body, or a JSON value that is not an object into a ``KeyError`` or
``AttributeError`` deep inside it; and its ``batch_`` does not work on current Core. So only the
hook that reads the HTTP answer (``_get_response``) is replaced, and the batch is built here on
the library's connection (a :class:`~hashwatch.node.proxyconn.ProxyConnection`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from bitcoinrpc.authproxy import USER_AGENT, AuthServiceProxy, EncodeDecimal, JSONRPCException

from .errors import (
    RPC_IN_WARMUP,
    NodeAuthError,
    NodeError,
    NodeProtocolError,
    NodeWarmingUp,
    RPCError,
)
from .proxyconn import ProxyConnection

Call = tuple[str, Sequence[Any]]

# python-bitcoinrpc's own codes: a non-JSON HTTP answer (401 among them), no result in it
_LIB_HTTP_ERROR = -342
_LIB_NO_RESULT = -343


class Proxy(AuthServiceProxy):
    """python-bitcoinrpc's proxy with strict answer checks and a batch that works on Core.

    Single calls go through the library's own ``__call__`` (request, id, error answers as
    ``JSONRPCException``); only ``_get_response`` (the library's hook that reads the HTTP
    answer) is replaced, so that a 401, a non-JSON or malformed answer, or a JSON value that is
    not an object becomes a clear :class:`NodeError` instead of a ``KeyError`` deep inside it.
    """

    def __init__(self, url: str, timeout: float, conn: ProxyConnection):
        super().__init__(url, timeout=timeout, connection=conn)
        # Credentials are not parsed from the URL (urlparse does not unquote user info, and
        # URLs end up in logs); the connection sets the Authorization header on the wire.
        self._AuthServiceProxy__auth_header = conn.auth_header
        self.conn = conn
        self._want_list = False

    def call(self, method: str, params: Sequence[Any]) -> Any:
        """One call through the library's ``__call__`` on *this* object.

        ``proxy.method(...)`` would build a plain ``AuthServiceProxy`` child that bypasses the
        answer checks below, so the method name is set here instead.
        """
        self._AuthServiceProxy__service_name = method
        self._want_list = False
        return self(*params)

    def batch(self, calls: Sequence[Call]) -> list[dict]:
        """Many calls in one HTTP request on the library's connection; raw elements in order.

        The library's ``batch_`` sends 2.0 elements and then reads ``response['error']``,
        which Core's 2.0 answers omit (fixtures/README.md), so the batch is built here.
        """
        payload = [
            {"version": "1.1", "method": m, "params": list(p), "id": i}
            for i, (m, p) in enumerate(calls)
        ]
        url = self._AuthServiceProxy__url
        self.conn.request(
            "POST",
            url.path or "/",
            json.dumps(payload, default=EncodeDecimal),
            {"Host": url.hostname, "User-Agent": USER_AGENT, "Content-type": "application/json"},
        )
        self.conn.sock.settimeout(self._AuthServiceProxy__timeout)
        self._want_list = True
        return read_batch(self._get_response(), len(calls))

    def _get_response(self) -> Any:
        response = self.conn.getresponse()
        body = response.read()
        if response.status == 401:
            raise NodeAuthError("HTTP 401 Unauthorized: wrong RPC user/password or stale cookie")
        ctype = response.getheader("Content-Type") or ""
        if not ctype.startswith("application/json"):
            raise NodeProtocolError(
                f"non-JSON HTTP response {response.status} {response.reason[:40]!r} from node"
            )
        try:
            answer = json.loads(body, parse_float=Decimal)
        except (UnicodeDecodeError, ValueError, RecursionError):
            raise NodeProtocolError(
                f"malformed JSON from node (HTTP {response.status}, {len(body)} bytes)"
            ) from None
        if self._want_list:
            return answer
        if not isinstance(answer, dict):
            raise NodeProtocolError("RPC answer is not a JSON object")
        error = answer.get("error")
        if error is not None and not isinstance(error, dict):
            raise RPCError(str(error)[:200], code=None)
        return answer


def read_batch(answer: Any, n: int) -> list[dict]:
    if isinstance(answer, dict):  # a whole-request error, e.g. parse error
        raise rpc_error(answer.get("error") or {"code": -32603, "message": "bad batch answer"})
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


def library_error(exc: JSONRPCException) -> NodeError:
    """python-bitcoinrpc's exception as one of ours (Core's code kept for RPC errors)."""
    error = exc.error if isinstance(exc.error, dict) else {}
    code, message = error.get("code"), str(error.get("message", ""))[:200]
    if code == _LIB_HTTP_ERROR:  # the library's own code for a non-JSON HTTP answer
        if "401" in message:
            return NodeAuthError(
                "HTTP 401 Unauthorized: wrong RPC user/password or stale cookie"
            )
        return NodeProtocolError(message)
    if code == _LIB_NO_RESULT:
        return NodeProtocolError("RPC answer without result or error")
    return rpc_error(error)


def rpc_error(error: Any) -> NodeError:
    if not isinstance(error, dict):
        return NodeProtocolError("RPC error that is not a JSON object")
    code = error.get("code")
    if not isinstance(code, int) or isinstance(code, bool):
        code = None
    message = str(error.get("message", ""))
    if code == RPC_IN_WARMUP:
        return NodeWarmingUp(f"node is warming up: {message}", code=code)
    return RPCError(message, code=code)


def element_value(element: dict) -> Any:
    """Result of one batch element; 1.x elements carry both keys, 2.0 ones only one."""
    error = element.get("error")
    if error is not None:
        return rpc_error(error)
    if "result" not in element:
        return NodeProtocolError("batch element without result or error")
    return element["result"]
