"""One recording HTTP server on loopback for every stand-in a test needs.

Slack and webhook receivers, a price API, a node that replays Bitcoin Core's recorded bytes:
each is this server with different options. Why a real server and not a mock: the code under
test must meet real sockets, status codes, keep-alive and hangs through its own HTTP stack.

Answers come, in this order, from the scripted ``responses`` (consumed one per request), the
``responder`` function, or the ``default`` step. A step is an :data:`Answer`, a bare status
code (a 429 carries ``Retry-After: <retry_after>``, "0" unless set), ``"ok"``, :data:`HANG`
(hold the request until ``release`` is set, then drop the connection) or raw ``bytes`` written
with no HTTP framing (a server that does not speak HTTP). Only 2xx answers are ``accepted``.
"""

from __future__ import annotations

import json
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Answer = tuple[int, dict[str, str], bytes]
Step = Answer | int | str | bytes
Responder = Callable[[Any, dict[str, str]], Step]
HANG = "hang"
OK: Answer = (200, {}, b"ok")


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]  # names in lower case
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def payload(self) -> Any:
        """The body as JSON when it parses, else the raw bytes."""
        try:
            return json.loads(self.body)
        except ValueError:
            return self.body


def json_answer(status: int, body: Any) -> Answer:
    return status, {"Content-Type": "application/json"}, json.dumps(body).encode()


def _answer(step: Step, retry_after: str) -> Answer:
    if step == "ok":
        return OK
    if isinstance(step, int):
        headers = {"Retry-After": retry_after} if step == 429 else {}
        return step, headers, b"ok" if step == 200 else b"error"
    return step  # type: ignore[return-value]


class RecordingServer:
    """Records every request (``received``, ``accepted``, ``events``) and answers as scripted.

    ``path``: appended to :attr:`url` (a Slack token path, ``/price?api_key=...``).
    ``responder(payload, headers)``: computes an answer per request (JSON-RPC stubs).
    ``http11``: keep-alive like Bitcoin Core's server (HTTP/1.1); else HTTP/1.0.
    ``content_type``: sent when an answer names none (None: send none).
    """

    def __init__(self, responses: list[Step] | None = None, *, responder: Responder | None = None,
                 default: Step = OK, path: str = "", http11: bool = False,
                 content_type: str | None = "text/plain"):
        self.responses: list[Step] = list(responses or [])
        self.responder = responder
        self.default: Step = default
        self.path = path
        self.content_type = content_type
        self.retry_after = "0"  # sent with every bare 429 step
        self.received: list[Received] = []
        self.accepted: list[Received] = []
        self.events: queue.Queue[Received] = queue.Queue()
        self.lock = threading.Lock()
        self.release = threading.Event()  # ends every HANG
        self.hanging = threading.Event()  # set while a request is held
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1" if http11 else "HTTP/1.0"

            def log_message(self, *args: Any) -> None:
                return

            def do_GET(self) -> None:  # noqa: N802
                owner._handle(self)

            def do_POST(self) -> None:  # noqa: N802
                owner._handle(self)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       kwargs={"poll_interval": 0.05}, daemon=True)

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        body = handler.rfile.read(int(handler.headers.get("Content-Length") or 0))
        rec = Received(handler.command, handler.path,
                       {k.lower(): v for k, v in handler.headers.items()}, body)
        with self.lock:
            step: Step | None = self.responses.pop(0) if self.responses else None
            self.received.append(rec)
        if step is None:
            if self.responder is not None:
                step = self.responder(rec.payload(), rec.headers)
            else:
                step = self.default
        if step == HANG:
            self.hanging.set()
            self.release.wait(30)
            handler.close_connection = True
            return
        if isinstance(step, bytes):
            handler.wfile.write(step)
            handler.close_connection = True
            return
        status, headers, payload = _answer(step, self.retry_after)
        if 200 <= status < 300:
            with self.lock:
                self.accepted.append(rec)
        handler.send_response(status)
        for k, v in headers.items():
            handler.send_header(k, v)
        if self.content_type and not any(k.lower() == "content-type" for k in headers):
            handler.send_header("Content-Type", self.content_type)
        handler.send_header("Content-Length", str(len(payload)))
        handler.end_headers()
        handler.wfile.write(payload)
        self.events.put(rec)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{self.path}"

    @property
    def requests(self) -> list[tuple[Any, dict[str, str]]]:
        """(payload, headers) of every request, in order."""
        with self.lock:
            return [(r.payload(), r.headers) for r in self.received]

    def texts(self) -> list[str]:
        """The ``text`` field of every accepted JSON body (what a Slack channel shows)."""
        with self.lock:
            return [r.json().get("text", "") for r in self.accepted]

    def start(self) -> RecordingServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> RecordingServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
