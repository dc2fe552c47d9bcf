"""The HTTP server for ``/metrics`` (and ``/healthz`` for container health checks).

Why our own small server rather than ``prometheus_client.start_http_server``: it lets the
daemon add basic auth and TLS the way exporters configure them (a web config file), report its
bound port (``port: 0`` in tests), and stop cleanly on SIGTERM.
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from .exposition import Exposition
from .page import HEADERS as PAGE_HEADERS

log = logging.getLogger("hashwatch.serve.server")

# (handler) -> None if allowed, else sends the error response itself and returns False
Authorizer = Callable[[BaseHTTPRequestHandler], bool]


class _Server(ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        """Scrapers that hang up or time out are routine: log one line, never a traceback."""
        exc = sys.exc_info()[1]
        if isinstance(exc, (BrokenPipeError, ConnectionResetError, TimeoutError, OSError)):
            log.debug("event=client_gone address=%s error=%s", client_address, type(exc).__name__)
            return
        log.error("event=request_failed address=%s error=%r", client_address, exc)


class MetricsServer:
    def __init__(
        self,
        exposition: Exposition,
        listen: str = "127.0.0.1",
        port: int = 9332,
        authorize: Authorizer | None = None,
        wrap_socket: Callable | None = None,
        health: Callable[[], bool] | None = None,
        page: Callable[[], bytes] | None = None,
    ):
        self.exposition = exposition
        self.page = page  # the live page at "/" (serve/page.py); None: a link to /metrics
        self.authorize = authorize
        self.health = health or (lambda: True)
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # headers and body are two writes: without this the body waits ~40 ms for an ACK
            disable_nagle_algorithm = True
            timeout = 30  # a silent client must not hold a server thread forever

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                return

            def _send(
                self,
                code: int,
                body: bytes,
                ctype: str = "text/plain; charset=utf-8",
                extra: dict[str, str] | None = None,
            ) -> None:
                self.send_response(code)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                for k, v in (extra or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            def do_GET(self) -> None:  # noqa: N802
                if server.authorize is not None and not server.authorize(self):
                    return
                path = self.path.split("?", 1)[0]
                if path == "/metrics":
                    try:
                        body, ctype = server.exposition.render(self.headers.get("Accept", ""))
                    except Exception:  # noqa: BLE001
                        log.exception("event=scrape_failed")
                        self._send(500, b"scrape failed\n")
                        return
                    self._send(200, body, ctype)
                elif path in ("/healthz", "/-/healthy"):
                    ok = server.health()
                    self._send(200 if ok else 503, b"ok\n" if ok else b"unhealthy\n")
                elif path == "/" and server.page is not None:
                    try:
                        body = server.page()
                    except Exception:  # noqa: BLE001 - a page bug must not take /metrics down
                        log.exception("event=page_failed")
                        self._send(500, b"page failed\n")
                        return
                    self._send(200, body, "text/html; charset=utf-8", PAGE_HEADERS)
                elif path == "/":
                    self._send(
                        200,
                        b"<html><body><h1>hashwatch</h1>"
                        b"<a href='/metrics'>metrics</a></body></html>",
                        "text/html; charset=utf-8",
                    )
                else:
                    self._send(404, b"not found\n")

            do_HEAD = do_GET

        self._httpd = _Server((listen, port), Handler)
        self._httpd.daemon_threads = True
        if wrap_socket is not None:
            self._httpd.socket = wrap_socket(self._httpd.socket)
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def address(self) -> str:
        return str(self._httpd.server_address[0])

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            name="metrics-http",
            daemon=True,
            kwargs={"poll_interval": 0.2},
        )
        self._thread.start()

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
