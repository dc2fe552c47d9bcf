"""HTTP basic auth for ``/metrics`` against bcrypt hashes from the web config file.

Why the care: bcrypt is slow on purpose, so a successful (user, password) is remembered as a
keyed HMAC and compared in constant time; unknown users still pay one bcrypt check so timing
does not reveal which user names exist. A password over bcrypt's 72-byte limit (which bcrypt
5 refuses with an exception, and older versions silently truncate) is refused like a wrong one
and at the same cost, for known and unknown users alike, as Go's bcrypt (exporter-toolkit)
does. Failed logins are logged as one aggregated line per interval, never one per request.
Checking the hashes' format is :mod:`.webconfig`'s job (at start-up); this module only
answers requests.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler

# the logger of the module this was split from: log filters and dashboards keep matching
log = logging.getLogger("hashwatch.serve.webconfig")

REALM = "hashwatch"
_CACHE_MAX = 256
BCRYPT_MAX_BYTES = 72
LOG_INTERVAL_SECONDS = 60.0
_MAX_CLIENTS_NAMED = 5
_MAX_CLIENTS_COUNTED = 1024  # memory stays bounded under a flood from many addresses


class FailureLog:
    """Failed logins as at most one log line per interval: count, distinct clients, examples.

    The first failure is logged at once (an operator testing a password sees it); later ones
    are counted and reported with the next failure after the interval.
    """

    def __init__(self, interval: float = LOG_INTERVAL_SECONDS,
                 clock: Callable[[], float] = time.monotonic):
        self.interval = interval
        self.clock = clock
        self._lock = threading.Lock()
        self._last = -float("inf")
        self._count = 0
        self._clients: set[str] = set()

    def failed(self, client: str, path: str) -> None:
        now = self.clock()
        with self._lock:
            self._count += 1
            if len(self._clients) < _MAX_CLIENTS_COUNTED:
                self._clients.add(client)
            if now - self._last < self.interval:
                return
            count, clients = self._count, sorted(self._clients)
            self._last, self._count, self._clients = now, 0, set()
        distinct = str(len(clients)) + ("+" if len(clients) >= _MAX_CLIENTS_COUNTED else "")
        log.info(
            "event=metrics_auth_failed failures=%d clients=%s examples=%s path=%s "
            "next_report_after_seconds=%.0f",
            count, distinct, ",".join(clients[:_MAX_CLIENTS_NAMED]), path, self.interval,
        )


class BasicAuth:
    """Checks ``Authorization: Basic`` against bcrypt hashes; thread-safe."""

    def __init__(
        self, users: Mapping[str, str], checkpw: Callable[[bytes, bytes], bool] | None = None
    ):
        import bcrypt  # imported here: only needed when basic auth is configured

        self._users = {u: h.encode() for u, h in users.items()}
        self._checkpw = checkpw or bcrypt.checkpw
        rounds = max((int(h[4:6]) for h in users.values()), default=10)
        self._dummy = bcrypt.hashpw(secrets.token_bytes(16), bcrypt.gensalt(rounds=rounds))
        self._key = secrets.token_bytes(32)
        self._ok: set[bytes] = set()
        self._lock = threading.Lock()
        self.failures = FailureLog()

    def check(self, header: str | None) -> bool:
        """True if ``header`` carries a configured user's password."""
        creds = parse_basic_header(header)
        if creds is None:
            return False
        user, password = creds
        hashed = self._users.get(user)
        digest = hmac.new(
            self._key, b"\0".join([user.encode(), password.encode(), hashed or b""]),
            hashlib.sha256,
        ).digest()
        with self._lock:
            cached = any(hmac.compare_digest(digest, d) for d in self._ok)
        if cached:
            return True
        secret = password.encode()
        if hashed is None or len(secret) > BCRYPT_MAX_BYTES:
            self._waste(secret)  # same cost as checking a real user's password
            return False
        try:
            ok = bool(self._checkpw(secret, hashed))
        except ValueError:
            return False
        if ok:
            with self._lock:
                if len(self._ok) >= _CACHE_MAX:
                    self._ok.clear()
                self._ok.add(digest)
        return ok

    def _waste(self, secret: bytes) -> None:
        """One bcrypt check against the dummy hash, whatever the password's length."""
        try:
            self._checkpw(secret[:BCRYPT_MAX_BYTES], self._dummy)
        except ValueError:
            pass

    def authorize(self, handler: BaseHTTPRequestHandler) -> bool:
        """MetricsServer hook: True to serve; otherwise answers 401 itself."""
        if self.check(handler.headers.get("Authorization")):
            return True
        client = handler.client_address[0] if handler.client_address else "-"
        self.failures.failed(str(client), handler.path.split("?", 1)[0][:64])
        body = b"401 Unauthorized\n"
        handler.send_response(401)
        handler.send_header("WWW-Authenticate", f'Basic realm="{REALM}", charset="UTF-8"')
        handler.send_header("Content-Type", "text/plain; charset=utf-8")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        if handler.command != "HEAD":
            handler.wfile.write(body)
        return False


def parse_basic_header(header: str | None) -> tuple[str, str] | None:
    """``"Basic dXNlcjpwdw=="`` -> ``("user", "pw")``; None for anything else."""
    if not header:
        return None
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "basic" or not token:
        return None
    try:
        decoded = base64.b64decode(token.strip(), validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        return None
    user, sep, password = decoded.partition(":")
    return (user, password) if sep else None
