"""Threaded HTTP JSON-RPC front end with Core's status codes, auth and error shapes.

Legacy (1.0/1.1) requests: 404 for an unknown method, 400 for an invalid request, 500 for
other errors, and both "result" and "error" in the body.  JSON-RPC 2.0: HTTP 200 with only
one of them; a 2.0 request without id is a notification (HTTP 204).  Batches: HTTP 200.
"""

from __future__ import annotations

import base64
import hmac
import json
import socket
import sys
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from .rpc_methods import (
    METHODS,
    RPC_IN_WARMUP,
    RPC_INVALID_REQUEST,
    RPC_METHOD_NOT_FOUND,
    RPC_PARSE_ERROR,
    RPC_WALLET_NOT_FOUND,
    RPCError,
    dispatch,
    encode,
)

FAULTS = ("http500", "malformed_json", "truncated_json", "empty_body", "incomplete_read",
          "disconnect", "trickle", "oversized", "oversized_chunked")

# Core's -rpcservertimeout default: a keep-alive connection idle this long is closed by the node.
DEFAULT_IDLE_TIMEOUT = 30.0
_FILL_CHUNK = 64 * 1024


class ServerStats:
    """Counters the benchmarks read: HTTP requests, calls per method, bytes each way."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.requests = 0
            self.calls_by_method: Counter[str] = Counter()
            self.bytes_out = 0
            self.bytes_in = 0
            self.idle_closes = 0  # keep-alive connections closed for -rpcservertimeout

    def record_idle_close(self) -> None:
        with self._lock:
            self.idle_closes += 1

    def record_request(self, nbytes: int) -> None:
        with self._lock:
            self.requests += 1
            self.bytes_in += nbytes

    def record_call(self, method: str) -> None:
        with self._lock:
            self.calls_by_method[method] += 1

    def record_out(self, nbytes: int) -> None:
        with self._lock:
            self.bytes_out += nbytes


def _legacy_status(code: int) -> int:
    if code == RPC_METHOD_NOT_FOUND:
        return 404
    if code == RPC_INVALID_REQUEST:
        return 400
    return 500


def execute_one(node: Any, req: Any, path: str) -> tuple[dict | None, int]:
    """One JSON-RPC request object -> (reply or None for a notification, HTTP status)."""
    v2 = False
    rid = None
    try:
        if not isinstance(req, dict):
            raise RPCError(RPC_INVALID_REQUEST, "Invalid Request object")
        rid = req.get("id")
        if "jsonrpc" in req:
            if not isinstance(req["jsonrpc"], str):
                raise RPCError(RPC_INVALID_REQUEST, "jsonrpc field must be a string")
            if req["jsonrpc"] == "2.0":
                v2 = True
            elif req["jsonrpc"] != "1.0":
                raise RPCError(RPC_INVALID_REQUEST, "JSON-RPC version not supported")
        method = req.get("method")
        if method is None:
            raise RPCError(RPC_INVALID_REQUEST, "Missing method")
        if not isinstance(method, str):
            raise RPCError(RPC_INVALID_REQUEST, "Method must be a string")
        node.stats.record_call(method)
        warm = node.warmup_message()
        if warm is not None:
            raise RPCError(RPC_IN_WARMUP, warm)
        if path.startswith("/wallet/") and method not in METHODS:
            raise RPCError(RPC_WALLET_NOT_FOUND, "Requested wallet does not exist or is not loaded")
        result = dispatch(node, method, req.get("params"))
        error = None
    except RPCError as exc:
        result, error = None, exc
    if v2 and isinstance(req, dict) and "id" not in req:
        return None, 204
    if v2:
        if error is None:
            return {"jsonrpc": "2.0", "result": result, "id": rid}, 200
        return {"jsonrpc": "2.0", "error": error.to_json(), "id": rid}, 200
    if error is None:
        return {"result": result, "error": None, "id": rid}, 200
    return {"result": None, "error": error.to_json(), "id": rid}, _legacy_status(error.code)


def handle_body(node: Any, body: bytes, path: str) -> tuple[int, bytes]:
    """A whole HTTP body -> (status, response bytes); empty bytes for 204."""
    try:
        req = json.loads(body)
    except ValueError:
        return 500, encode({"result": None, "error": {"code": RPC_PARSE_ERROR,
                                                      "message": "Parse error"}, "id": None})
    if isinstance(req, list):
        replies = [r for r, _ in (execute_one(node, item, path) for item in req) if r is not None]
        return 200, encode(replies)
    if not isinstance(req, dict):
        return 500, encode({"result": None, "error": {"code": RPC_PARSE_ERROR,
                            "message": "Top-level object parse error"}, "id": None})
    reply, status = execute_one(node, req, path)
    return status, (b"" if reply is None else encode(reply))


class RPCServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], node: Any) -> None:
        self.node = node
        self.closing = False
        self.conns: set[socket.socket] = set()
        self.conns_lock = threading.Lock()
        super().__init__(address, _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hangs up mid-answer is normal (timeouts, shutdown): no traceback."""
        exc = sys.exc_info()[1]
        if isinstance(exc, (BrokenPipeError, ConnectionResetError, TimeoutError)):
            return
        super().handle_error(request, client_address)

    def close_all(self) -> None:
        """Stop serving and drop keep-alive connections, like a node process exiting."""
        self.closing = True
        self.shutdown()
        self.server_close()
        with self.conns_lock:
            conns = list(self.conns)
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class _Handler(BaseHTTPRequestHandler):
    # Headers and body go out in two writes; with Nagle on, the body waits for the client's
    # delayed ACK (~40 ms per request on Linux). Core's libevent server has no such stall.
    disable_nagle_algorithm = True
    protocol_version = "HTTP/1.1"
    server: RPCServer

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib name
        """Silenced: logging every request would dominate a benchmark."""

    def log_error(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib name
        if format.startswith("Request timed out"):
            self.server.node.stats.record_idle_close()

    def version_string(self) -> str:
        return "hashwatch-sim"

    def setup(self) -> None:
        # Like Core's -rpcservertimeout: a connection with no request for this long is closed
        # (the stdlib handler closes on a socket timeout while waiting for the request line).
        self.timeout = self.server.node.rpc_idle_timeout  # type: ignore[misc]
        super().setup()
        with self.server.conns_lock:
            self.server.conns.add(self.connection)

    def finish(self) -> None:
        with self.server.conns_lock:
            self.server.conns.discard(self.connection)
        try:
            super().finish()
        except OSError:
            pass

    def _send(self, status: int, body: bytes, ctype: str = "application/json",
              extra: dict | None = None, length: int | None = None) -> None:
        self.send_response(status)
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body) if length is None else length))
        self.end_headers()
        self.server.node.stats.record_out(len(body))  # before the write: clients race us
        self.wfile.write(body)

    def _authorized(self) -> bool:
        header = self.headers.get("Authorization", "")
        if not header.startswith("Basic "):
            return False
        try:
            creds = base64.b64decode(header[6:].strip()).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            return False
        return any(hmac.compare_digest(creds, ok) for ok in self.server.node.credentials())

    def do_GET(self) -> None:  # noqa: N802 - stdlib name
        self._send(405, b"JSONRPC server handles only POST requests", "text/html")

    def do_POST(self) -> None:  # noqa: N802 - stdlib name
        node = self.server.node
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        node.stats.record_request(len(body))
        while not node.hang_released.wait(0.05):
            if self.server.closing:
                self.close_connection = True
                return
        if self.server.closing:
            self.close_connection = True
            return
        if not self._authorized():
            self._send(401, b"", "text/html; charset=ISO-8859-1",
                       {"WWW-Authenticate": 'Basic realm="jsonrpc"'})
            return
        fault = node.fault
        if fault == "disconnect":
            self.close_connection = True
            return
        if fault == "http500":
            self._send(500, b"Internal Server Error", "text/html")
            return
        if fault == "trickle":
            self._trickle(handle_body(node, body, self.path)[1])
            return
        if fault in ("oversized", "oversized_chunked"):
            self._oversized(node.oversize_bytes, chunked=fault == "oversized_chunked")
            return
        if fault == "empty_body":
            self._send(200, b"")
            return
        if fault == "malformed_json":
            self._send(200, b"{result: not json,,}")
            return
        status, payload = handle_body(node, body, self.path)
        if fault == "truncated_json":
            self._send(status, payload[: max(1, len(payload) // 2)])
        elif fault == "incomplete_read":
            self._send(status, payload[: max(1, len(payload) // 2)], length=len(payload))
            self.close_connection = True
        elif status == 204:
            self.send_response(204)
            self.end_headers()
        else:
            self._send(status, payload)

    # -- hostile answers (fault hooks) -----------------------------------------------------------

    def _trickle(self, payload: bytes) -> None:
        """A valid answer sent one byte every ``node.trickle_seconds`` (a slowloris node)."""
        head = (f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(payload)}\r\n\r\n").encode()
        self.close_connection = True
        stop = threading.Event()
        for i, byte in enumerate(head + payload):
            if self.server.closing or (i and stop.wait(self.server.node.trickle_seconds)):
                return
            try:
                self.wfile.write(bytes((byte,)))
                self.wfile.flush()
            except OSError:
                return  # the client gave up

    def _oversized(self, size: int, chunked: bool) -> None:
        """A JSON answer of ``size`` bytes streamed from a small buffer (never held whole)."""
        self.close_connection = True
        prefix, suffix = b'{"result":"', b'","error":null,"id":1}'
        fill = b"x" * _FILL_CHUNK
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Content-Length", str(size))
        self.end_headers()
        left = max(0, size - len(prefix) - len(suffix))

        def write(data: bytes) -> None:
            if chunked:
                data = f"{len(data):x}\r\n".encode() + data + b"\r\n"
            self.wfile.write(data)

        try:
            write(prefix)
            while left > 0 and not self.server.closing:
                piece = fill if left >= _FILL_CHUNK else fill[:left]
                left -= len(piece)
                write(piece)
            write(suffix)
            if chunked:
                self.wfile.write(b"0\r\n\r\n")
        except OSError:
            return  # the client dropped the connection at its cap: what we want
