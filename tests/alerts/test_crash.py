"""SIGKILL between state change and delivery, then restart: delivered once, never lost."""

from __future__ import annotations

import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from .crash_child import build
from .helpers import FakeClock, iv, snapshot

REPO = Path(__file__).resolve().parents[2]


def run_child(state_dir: Path, url: str, point: str) -> int:
    proc = subprocess.run(
        [sys.executable, "-m", "tests.alerts.crash_child", str(state_dir), url, point],
        cwd=REPO,
        capture_output=True,
        timeout=60,
    )
    return proc.returncode


def deliver_after_restart(state_dir: Path, url: str, server) -> object:
    svc = build(state_dir, url)
    try:
        svc.start()
        rec = server.events.get(timeout=15)
        assert wait_for(lambda: [r.status for r in svc.store.outbox()] == ["delivered"])
        assert svc.evaluate(snapshot(FakeClock(), values=[iv("x", 12)])) == 0  # still firing
        statuses = [r.status for r in svc.store.outbox()]
    finally:
        svc.close()
    return rec, statuses


def wait_for(predicate, timeout: float = 15.0) -> bool:
    """Poll with a deadline (the worker records delivery just after the server answered)."""
    deadline = time.monotonic() + timeout
    pause = threading.Event()
    while time.monotonic() < deadline:
        if predicate():
            return True
        pause.wait(0.02)
    return predicate()


def test_sigkill_after_commit_then_restart_delivers_once(tmp_path, http_server):
    url = http_server.url + "/hook"
    assert run_child(tmp_path, url, "after_commit") == -signal.SIGKILL
    assert http_server.received == []  # killed before any delivery
    rec, statuses = deliver_after_restart(tmp_path, url, http_server)
    assert rec.json()["alerts"][0]["annotations"]["summary"] == "x is 12"
    assert statuses == ["delivered"]
    assert len(http_server.accepted) == 1
    svc = build(tmp_path, url)  # a second restart sends nothing more
    svc.worker.run_once()
    svc.close()
    assert len(http_server.accepted) == 1


def test_sigkill_after_send_before_record_resends_with_same_idempotency_key(tmp_path, http_server):
    url = http_server.url + "/hook"
    assert run_child(tmp_path, url, "after_send") == -signal.SIGKILL
    assert len(http_server.accepted) == 1  # the receiver had accepted it
    http_server.events = queue.Queue()
    rec, statuses = deliver_after_restart(tmp_path, url, http_server)
    first, second = http_server.accepted
    assert (
        first.headers["idempotency-key"]
        == second.headers["idempotency-key"]
    )
    fp, instance, kind, channel = first.headers["idempotency-key"].split("/")
    assert (fp, kind, channel) == (first.json()["alerts"][0]["fingerprint"], "firing", "hook")
    assert int(instance) > 1  # a fresh state's first instance is unique, not 1 (state.new_state)
    assert statuses == ["delivered"]
