"""TLS for ``/metrics``: the server context, certificate reloading, and lazy handshakes.

Why apart from :mod:`.webconfig`: that module decides *what* the operator asked for and rejects
bad files at start-up; this one runs for the life of the server and owns the socket-level
behaviour, which has its own failure modes:

- the TLS handshake runs in the request thread, not in the accept loop, so one client that
  connects and sends nothing cannot stall every scrape; a failed handshake closes that
  connection quietly (no traceback on stderr per port scan);
- certificate files are re-read when they change on disk (renewals need no restart), and a
  half-written renewal keeps the previous context serving.
"""

from __future__ import annotations

import logging
import os
import socket
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# the logger of the module this was split from: log filters and dashboards keep matching
log = logging.getLogger("hashwatch.serve.webconfig")

TLS_VERSIONS = {
    "TLS10": ssl.TLSVersion.TLSv1,
    "TLS11": ssl.TLSVersion.TLSv1_1,
    "TLS12": ssl.TLSVersion.TLSv1_2,
    "TLS13": ssl.TLSVersion.TLSv1_3,
}


@dataclass(frozen=True)
class TLSFiles:
    """The checked TLS settings: resolved paths and the exporter-toolkit option values."""

    cert: Path
    key: Path
    ca: Path | None
    client_auth: str
    min_version: str
    max_version: str | None


def build_context(f: TLSFiles) -> ssl.SSLContext:
    """A server SSLContext for ``f``; raises ssl.SSLError / OSError if a file does not load."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = TLS_VERSIONS[f.min_version]
    if f.max_version is not None:
        ctx.maximum_version = TLS_VERSIONS[f.max_version]
    ctx.load_cert_chain(str(f.cert), str(f.key))
    if f.ca is not None:
        ctx.load_verify_locations(cafile=str(f.ca))
    ctx.verify_mode = {
        "NoClientCert": ssl.CERT_NONE,
        "VerifyClientCertIfGiven": ssl.CERT_OPTIONAL,
        "RequireAndVerifyClientCert": ssl.CERT_REQUIRED,
    }[f.client_auth]
    ctx.sslsocket_class = _QuietSSLSocket
    return ctx


def tls_wrapper(files: TLSFiles) -> Callable[[socket.socket], socket.socket]:
    """MetricsServer ``wrap_socket`` hook: TLS from ``files``, reloaded when they change."""
    holder = ContextHolder(files)
    return lambda sock: TLSListener(sock, holder)


class _QuietSSLSocket(ssl.SSLSocket):
    """Server-side connection whose failed handshake reads as EOF instead of a traceback."""

    def recv_into(self, buffer: Any, nbytes: int | None = None, flags: int = 0) -> int:
        try:
            return super().recv_into(buffer, nbytes, flags)
        except (ssl.SSLError, ConnectionResetError) as exc:
            log.debug("event=metrics_tls_failed error=%s", type(exc).__name__)
            return 0


class ContextHolder:
    """The current SSLContext, rebuilt when the certificate, key or CA file changes."""

    def __init__(self, files: TLSFiles):
        self.files = files
        self._lock = threading.Lock()
        self._stamp = self._stat()
        self._ctx = build_context(files)
        self._failed_stamp: tuple | None = None

    def _stat(self) -> tuple:
        out = []
        for p in (self.files.cert, self.files.key, self.files.ca):
            try:
                st = os.stat(p) if p is not None else None
                out.append((st.st_mtime_ns, st.st_size, st.st_ino) if st else None)
            except OSError:
                out.append(None)
        return tuple(out)

    def current(self) -> ssl.SSLContext:
        stamp = self._stat()
        with self._lock:
            if stamp != self._stamp and stamp != self._failed_stamp:
                try:
                    self._ctx = build_context(self.files)
                    self._stamp = stamp
                    log.info("event=metrics_tls_reloaded cert=%s", self.files.cert)
                except (ssl.SSLError, OSError) as exc:
                    self._failed_stamp = stamp  # half-written renewal: keep serving the old one
                    log.warning("event=metrics_tls_reload_failed cert=%s error=%s",
                                self.files.cert, type(exc).__name__)
            return self._ctx


class TLSListener(socket.socket):
    """Listening socket whose ``accept`` hands out TLS connections that handshake lazily."""

    def __init__(self, sock: socket.socket, holder: ContextHolder):
        super().__init__(sock.family, sock.type, sock.proto, fileno=sock.detach())
        self._holder = holder

    def accept(self) -> tuple[socket.socket, Any]:
        conn, addr = super().accept()
        try:
            tls = self._holder.current().wrap_socket(
                conn, server_side=True, do_handshake_on_connect=False
            )
        except (ssl.SSLError, OSError):
            conn.close()
            raise
        return tls, addr

