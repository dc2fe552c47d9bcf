"""The /metrics listener under bursts: a listen backlog that fits parallel scrapers, and a
start-up line that names the scheme the server really speaks."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest
from prometheus_client import CollectorRegistry, Gauge

from hashwatch.serve.exposition import Exposition, Part
from hashwatch.serve.server import MetricsServer
from hashwatch.serve.webconfig import load_web_config

from ..support.tls import make_tls_files
from .test_webconfig import tls_yaml, write


def _server(**options) -> MetricsServer:
    registry = CollectorRegistry()
    Gauge("hashwatch_probe_ratio", "A probe gauge for the test.", registry=registry).set(1)
    server = MetricsServer(Exposition([Part(registry)]), listen="127.0.0.1", port=0, **options)
    server.start()
    return server


@pytest.mark.skipif(shutil.which("ss") is None, reason="iproute2 `ss` not installed")
def test_listen_backlog_is_at_least_128():
    """``ss -ltn`` shows a listening socket's backlog in Send-Q (it was 5)."""
    server = _server()
    try:
        out = subprocess.run(["ss", "-ltnH", f"sport = :{server.port}"], capture_output=True,
                             text=True, timeout=10, check=True).stdout.split()
    finally:
        server.stop()
    assert int(out[2]) >= 128


def test_hundred_connections_queue_while_server_is_busy_no_syn_retry():
    """With the accept loop not running (a busy server), the kernel completes handshakes into
    the listen queue only up to the backlog; past it SYNs are dropped and clients retry after
    a second. All 100 connections must complete at once (with backlog 5, only ~6 did)."""
    registry = CollectorRegistry()
    server = MetricsServer(Exposition([Part(registry)]), listen="127.0.0.1", port=0)
    sockets = []
    try:
        started = time.monotonic()
        for _ in range(100):
            s = socket.socket()
            s.settimeout(0.5)
            s.connect(("127.0.0.1", server.port))  # raises TimeoutError past the backlog
            sockets.append(s)
        assert time.monotonic() - started < 5
    finally:
        for s in sockets:
            s.close()
        server.stop()


def test_twenty_parallel_scrapers_all_served():
    server = _server()

    def scrape(_: int) -> int:
        with urllib.request.urlopen(server.url, timeout=10) as resp:  # noqa: S310 - loopback
            assert b"hashwatch_probe_ratio" in resp.read()
            return resp.status

    try:
        with ThreadPoolExecutor(max_workers=20) as pool:
            for _round in range(3):
                assert list(pool.map(scrape, range(20))) == [200] * 20
    finally:
        server.stop()


def test_url_says_https_under_tls_and_http_without(tmp_path):
    files = make_tls_files(tmp_path / "tls")
    web = write(tmp_path, tls_yaml(files))
    plain, tls = _server(), _server(**load_web_config(web).server_options())
    try:
        assert plain.url == f"http://127.0.0.1:{plain.port}/metrics"
        assert tls.url == f"https://127.0.0.1:{tls.port}/metrics"
    finally:
        plain.stop()
        tls.stop()
