"""A tiny real HTTP server on loopback whose answers a test scripts (for node-client tests).

Why not the simulator: these tests replay Bitcoin Core's *recorded* bytes (tests/fixtures/core)
and protocol faults precisely, one request at a time.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "core"

Answer = tuple[int, dict[str, str], bytes]
Responder = Callable[[Any, dict[str, str]], Answer]


def fixture(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def json_answer(status: int, body: Any) -> Answer:
    return status, {"Content-Type": "application/json"}, json.dumps(body).encode()


def fixture_answer(name: str) -> Answer:
    fx = fixture(name)
    body = b"" if fx["response"] is None else json.dumps(fx["response"]).encode()
    headers = {k: v for k, v in fx["headers"].items() if k.lower() != "content-length"}
    return fx["http_status"], headers, body


class StubServer:
    """Serves ``responder(request_json, request_headers)``; records every request."""

    def __init__(self, responder: Responder):
        self.responder = responder
        self.requests: list[tuple[Any, dict[str, str]]] = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                return

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length", 0))
                raw = self.rfile.read(length)
                try:
                    body = json.loads(raw)
                except ValueError:
                    body = raw
                headers = {k: v for k, v in self.headers.items()}
                stub.requests.append((body, headers))
                status, out_headers, payload = stub.responder(body, headers)
                self.send_response(status)
                for k, v in out_headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/"

    def __enter__(self) -> StubServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def basic_user(headers: dict[str, str]) -> tuple[str, str] | None:
    auth = headers.get("Authorization", "")
    if not auth.startswith("Basic "):
        return None
    user, _, password = base64.b64decode(auth[6:]).decode().partition(":")
    return user, password
