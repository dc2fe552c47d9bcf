"""Fixtures for the alert tests: a hand-moved clock, a recording HTTP receiver, TLS files and
an aiosmtpd server requiring STARTTLS and AUTH (all from tests/support)."""

from __future__ import annotations

import pytest

from ..support.alertkit import FakeClock
from ..support.httpsink import RecordingServer
from ..support.smtp import smtp_server
from ..support.tls import make_tls_files


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def http_server():
    server = RecordingServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory):
    return make_tls_files(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def smtp_starttls(tls_files):
    ctl, sink = smtp_server("starttls", tls=tls_files)
    yield ctl, sink
    ctl.stop()
