from __future__ import annotations

import socket
import ssl
import subprocess

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from .helpers import FakeClock, RecordingServer


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def http_server():
    server = RecordingServer().start()
    yield server
    server.stop()


class Sink:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        self.messages.append(envelope)
        return "250 OK"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory):
    d = tmp_path_factory.mktemp("tls")
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-keyout",
            str(d / "key.pem"),
            "-out",
            str(d / "cert.pem"),
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=IP:127.0.0.1,DNS:localhost",
        ],
        check=True,
        capture_output=True,
    )
    return d / "cert.pem", d / "key.pem"


def authenticator(server, session, envelope, mechanism, auth_data):
    ok = auth_data.login == b"miner" and auth_data.password == b"hunter2"
    return AuthResult(success=ok, handled=False)


@pytest.fixture
def smtp_starttls(tls_files):
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(*map(str, tls_files))
    sink = Sink()
    ctl = Controller(
        sink,
        hostname="127.0.0.1",
        port=free_port(),
        tls_context=ctx,
        require_starttls=True,
        authenticator=authenticator,
        auth_required=True,
        auth_require_tls=True,
    )
    ctl.start()
    yield ctl, sink
    ctl.stop()
