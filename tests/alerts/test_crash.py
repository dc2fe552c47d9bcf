"""SIGKILL between state change and delivery, then restart: delivered once, never lost."""

from __future__ import annotations

import queue
import signal
from pathlib import Path

from ..support.alertkit import FakeClock, iv, snapshot, webhook_service
from ..support.sigkill import run_until_killed
from ..support.waiting import wait_until

CHILD = "tests.support.crash_child"


def run_child(state_dir: Path, url: str, point: str) -> int:
    return run_until_killed(CHILD, "webhook", str(state_dir), url, point)


def deliver_after_restart(state_dir: Path, url: str, server) -> object:
    svc = webhook_service(state_dir, url)
    try:
        svc.start()
        rec = server.events.get(timeout=15)
        # the worker records delivery just after the server answered
        assert wait_until(lambda: [r.status for r in svc.store.outbox()] == ["delivered"], 15)
        assert svc.evaluate(snapshot(FakeClock(), values=[iv("x", 12)])) == 0  # still firing
        statuses = [r.status for r in svc.store.outbox()]
    finally:
        svc.close()
    return rec, statuses


def test_sigkill_after_commit_then_restart_delivers_once(tmp_path, http_server):
    url = http_server.url + "/hook"
    assert run_child(tmp_path, url, "after_commit") == -signal.SIGKILL
    assert http_server.received == []  # killed before any delivery
    rec, statuses = deliver_after_restart(tmp_path, url, http_server)
    assert rec.json()["alerts"][0]["annotations"]["summary"] == "x is 12"
    assert statuses == ["delivered"]
    assert len(http_server.accepted) == 1
    svc = webhook_service(tmp_path, url)  # a second restart sends nothing more
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
