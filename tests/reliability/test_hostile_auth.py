"""/metrics basic auth against hostile clients: over-long passwords, user probing, login floods.

What must hold: a password past bcrypt's 72 bytes is a plain 401 (the connection is answered,
not dropped), known and unknown user names cost exactly one bcrypt check each way (no oracle),
and a flood of failed logins is one log line per interval, not one per request.
"""

from __future__ import annotations

import base64
import socket

import bcrypt
import pytest

from hashwatch.serve.auth import BasicAuth, FailureLog

from .test_webconfig import HASH, PASSWORD, get, serve, write

LONG = ["x" * 72, "x" * 73, "x" * 200, "é" * 40, "y" * 5000]


def _header(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


class Counting:
    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, password: bytes, hashed: bytes) -> bool:
        self.calls += 1
        return bcrypt.checkpw(password[:72], hashed)


@pytest.mark.parametrize("password", LONG, ids=lambda p: f"{len(p.encode())}B")
@pytest.mark.parametrize("user", ["prometheus", "nobody"])
def test_long_password_refused_with_one_bcrypt_check_known_or_unknown_user(user, password):
    counting = Counting()
    auth = BasicAuth({"prometheus": HASH}, checkpw=counting)
    assert auth.check(_header(user, password)) is False
    assert counting.calls == 1  # the same work whether the user exists or not


def test_password_equal_to_a_72_byte_prefix_plus_more_is_not_accepted():
    """bcrypt ignores bytes past 72: accepting them would let a longer guess pass."""
    secret = "p" * 72
    hashed = bcrypt.hashpw(secret.encode(), bcrypt.gensalt(rounds=4)).decode()
    auth = BasicAuth({"u": hashed})
    assert auth.check(_header("u", secret)) is True
    assert auth.check(_header("u", secret + "extra")) is False


@pytest.mark.parametrize("password", LONG, ids=lambda p: f"{len(p.encode())}B")
@pytest.mark.parametrize("user", ["prometheus", "nobody"])
def test_server_answers_401_to_long_password_never_drops(tmp_path, user, password):
    web = write(tmp_path, f"basic_auth_users:\n  prometheus: '{HASH}'\n")
    with serve(web) as srv:
        status, headers, _ = get(f"http://127.0.0.1:{srv.port}/metrics",
                                 user=user, password=password)
        ok, _, _ = get(f"http://127.0.0.1:{srv.port}/metrics", user="prometheus",
                       password=PASSWORD)
    assert status == 401 and headers["WWW-Authenticate"].startswith("Basic")
    assert ok == 200


def test_failed_login_flood_is_one_aggregated_log_line(tmp_path, outputs):
    web = write(tmp_path, f"basic_auth_users:\n  prometheus: '{HASH}'\n")
    with serve(web) as srv:
        for i in range(40):
            status, _, _ = get(f"http://127.0.0.1:{srv.port}/metrics", user=f"u{i}",
                               password="guess")
            assert status == 401
    lines = outputs.log_lines("metrics_auth_failed")
    assert len(lines) == 1 and "failures=1 " in lines[0]


def test_failure_log_reports_count_and_clients_after_interval(outputs):
    now = [0.0]
    flog = FailureLog(interval=60, clock=lambda: now[0])
    flog.failed("10.0.0.1", "/metrics")
    for i in range(500):
        flog.failed(f"10.0.1.{i % 250}", "/metrics")
    now[0] = 61.0
    flog.failed("10.0.0.9", "/metrics")
    lines = outputs.log_lines("metrics_auth_failed")
    assert len(lines) == 2
    assert "failures=501 clients=251 " in lines[1]


def test_oversized_authorization_header_answered_not_dropped(tmp_path):
    web = write(tmp_path, f"basic_auth_users:\n  prometheus: '{HASH}'\n")
    with serve(web) as srv, socket.create_connection(("127.0.0.1", srv.port), timeout=10) as s:
        token = base64.b64encode(b"prometheus:" + b"z" * 30_000).decode()
        s.sendall(f"GET /metrics HTTP/1.1\r\nHost: x\r\nAuthorization: Basic {token}\r\n"
                  "Connection: close\r\n\r\n".encode())
        answer = s.recv(200)
    assert answer.startswith(b"HTTP/1.1 401")
