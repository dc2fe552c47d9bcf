"""Fault matrix, alert side: Slack and SMTP failures, SQLite trouble, SIGKILL mid-delivery.

Each case fires one alert (and resolves it), injects the fault, checks that it is visible in
the alert metrics and the log, clears it, and then asserts the receiver accepted exactly one
firing and one resolve: nothing lost, nothing sent twice.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from ..support.alertkit import (
    SLACK_TOKEN_PATH,
    SMTP_PASSWORD,
    alerts_config,
    probe_snapshot,
    slack_stand_in,
)
from ..support.httpsink import RecordingServer
from ..support.ports import free_port
from ..support.sigkill import sigkill, spawn
from ..support.smtp import smtp_server as _smtp_server
from ..support.waiting import wait_for

pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")


@pytest.fixture
def slack(outputs):
    servers: list[RecordingServer] = []

    def make(script=None) -> RecordingServer:
        s = slack_stand_in(script)
        servers.append(s)
        outputs.secret(s.url, SLACK_TOKEN_PATH)
        return s

    yield make
    for s in servers:
        s.stop()




def metrics(service, outputs) -> dict:
    registry = CollectorRegistry()

    class C:
        def collect(self):
            return service.metrics()

    registry.register(C())
    text = outputs.add("alert metrics", generate_latest(registry).decode())
    out = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def metric(service, outputs, name: str, **labels: str) -> float:
    return metrics(service, outputs).get((name, tuple(sorted(labels.items()))), 0.0)


def slack_channel(url: str, **kw) -> list[dict]:
    return [{"name": "ops", "type": "slack", "webhook_url": url, "timeout_seconds": 1, **kw}]


def fire_and_resolve(service) -> None:
    assert service.evaluate(probe_snapshot(5.0)) == 1
    assert service.evaluate(probe_snapshot(0.0)) == 1


def assert_exactly_once(server: RecordingServer) -> None:
    wait_for(lambda: len(server.accepted) >= 2, what="firing and resolve delivered")
    texts = server.texts()
    assert len(texts) == 2, texts
    assert texts[0].startswith("[CRITICAL]") and "RESOLVED" in texts[1].upper()


# -- Slack -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "script,reason",
    [([429, 429], "rate_limited"), ([500, 500, 500], "http_5xx"), (["hang"], "timeout")],
    ids=["429", "500", "timeout"],
)
def test_fault_slack_failure_retried_then_delivered_exactly_once(slack, services, tmp_path,
                                                                 outputs, script, reason):
    server = slack(script)
    svc = services(alerts_config(tmp_path, slack_channel(server.url)))
    svc.start()
    fire_and_resolve(svc)
    wait_for(lambda: outputs.log_lines("notification_retry"), what="retry logged")
    assert f"reason={reason}" in outputs.log_lines("notification_retry")[0]
    server.release.set()
    assert_exactly_once(server)
    failed = metric(svc, outputs, "hashwatch_alerts_notifications_failed_total", channel="ops",
                    reason=reason)
    assert failed == len(script)
    # the receiver accepts before the outbox commits `delivered`: wait for the commit
    wait_for(lambda: metric(svc, outputs, "hashwatch_alerts_notifications_sent_total",
                            channel="ops") == 2, what="both deliveries committed")
    assert metric(svc, outputs, "hashwatch_alerts_outbox_notifications", channel="ops") == 0


# -- SMTP --------------------------------------------------------------------------------------


def smtp_server(port: int, password: str = SMTP_PASSWORD):
    return _smtp_server(port=port, user="alerts", password=password)


def email_channel(port: int) -> list[dict]:
    return [{"name": "ops", "type": "email", "host": "127.0.0.1", "port": port,
             "security": "none", "username": "alerts", "password": SMTP_PASSWORD,
             "from_address": "hashwatch@example.com", "to": ["ops@example.com"],
             "timeout_seconds": 2}]


def test_fault_smtp_refused_retried_then_delivered_exactly_once(services, tmp_path, outputs):
    outputs.secret(SMTP_PASSWORD)
    port = free_port()  # nothing listens yet: connection refused
    svc = services(alerts_config(tmp_path, email_channel(port)))
    svc.start()
    fire_and_resolve(svc)
    wait_for(lambda: metric(svc, outputs, "hashwatch_alerts_notifications_failed_total",
                            channel="ops", reason="connection") >= 1, what="refusal counted")
    # the counter is committed just before the log line is written: wait for the line too
    wait_for(lambda: outputs.log_lines("notification_retry"), what="retry logged")
    assert "reason=connection" in outputs.log_lines("notification_retry")[0]
    ctl, sink = smtp_server(port)
    try:
        wait_for(lambda: len(sink.messages) >= 2, what="both e-mails delivered")
        wait_for(lambda: metric(svc, outputs, "hashwatch_alerts_notifications_sent_total",
                                channel="ops") == 2, what="sent counted")
    finally:
        ctl.stop()
    assert len(sink.messages) == 2
    assert "[RESOLVED]" in sink.texts()[1].upper() or "resolved" in sink.texts()[1].lower()


def test_fault_smtp_auth_failure_visible_then_held_alert_delivered_after_fix(
    services, tmp_path, outputs
):
    """A wrong SMTP password is the operator's to fix: the failure is visible (metric + log),
    the message is held, not dropped, and after the fix and a restart it is delivered once,
    followed by its resolve."""
    outputs.secret(SMTP_PASSWORD, "server-side-other-pass")
    port = free_port()
    ctl, sink = smtp_server(port, password="server-side-other-pass")
    try:
        cfg = alerts_config(tmp_path, email_channel(port))
        svc = services(cfg)
        svc.start()
        assert svc.evaluate(probe_snapshot(5.0)) == 1
        wait_for(lambda: metric(svc, outputs, "hashwatch_alerts_notifications_failed_total",
                                channel="ops", reason="auth") == 1, what="auth failure visible")
        wait_for(lambda: outputs.log_lines("notification_held"), what="held message logged")
        assert "reason=auth" in outputs.log_lines("notification_held")[0]
        assert sink.messages == []
        assert svc.evaluate(probe_snapshot(0.0)) == 1  # it resolves while the password is wrong
        svc.close()
    finally:
        ctl.stop()
    ctl, sink = smtp_server(port)  # the operator fixed the password and restarted
    try:
        svc = services(cfg)
        svc.start()
        wait_for(lambda: len(sink.messages) == 2, what="held firing and its resolve delivered")
        assert "[RESOLVED]" in sink.texts()[1].upper() or "resolved" in sink.texts()[1].lower()
        wait_for(lambda: metric(svc, outputs, "hashwatch_alerts_notifications_sent_total",
                                channel="ops") == 2, what="both deliveries committed")
    finally:
        ctl.stop()
    assert len(sink.messages) == 2  # nothing twice


# -- SQLite --------------------------------------------------------------------------------------


def _pragma(svc, sql: str) -> None:
    with svc.store._lock:
        svc.store._db.execute(sql)


def _fill_disk(svc) -> None:
    """A full disk, without a loop device: cap the file's pages, then fill the free ones."""
    import sqlite3

    with svc.store._lock:
        db = svc.store._db
        db.execute("CREATE TABLE IF NOT EXISTS test_filler (b BLOB)")
        pages = db.execute("PRAGMA page_count").fetchone()[0]
        db.execute(f"PRAGMA max_page_count={pages + 4}")
        for size in (2000, 200, 20, 1):  # smaller and smaller rows fill the last gaps
            with pytest.raises(sqlite3.OperationalError, match="full"):
                for _ in range(10_000):
                    db.execute(f"INSERT INTO test_filler VALUES (randomblob({size}))")


def _lock_exclusive(path: Path):
    import sqlite3

    other = sqlite3.connect(str(path), timeout=0.1, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    return other


@pytest.mark.parametrize("fault", ["locked", "read_only", "disk_full"])
def test_fault_sqlite_store_error_counted_then_same_alert_delivered_once(
    slack, services, tmp_path, outputs, fault
):
    server = slack()
    # a long description makes each outbox row need fresh pages (a full disk bites only then)
    svc = services(alerts_config(tmp_path, slack_channel(server.url), description="x" * 20_000))
    svc.start()
    _pragma(svc, "PRAGMA busy_timeout=100")  # keep the locked case fast
    other = None
    if fault == "locked":
        other = _lock_exclusive(svc.store.path)
    elif fault == "read_only":
        # we run as root in CI, so chmod cannot make the file read-only; query_only can
        _pragma(svc, "PRAGMA query_only=ON")
    else:
        _fill_disk(svc)
    try:
        svc.evaluate(probe_snapshot(5.0))
        assert svc.store_errors[fault] >= 1
        assert metric(svc, outputs, "hashwatch_alerts_store_errors_total", kind=fault) >= 1
        assert any(f"kind={fault}" in line for line in outputs.log_lines("alert_store_error"))
    finally:
        if other is not None:
            other.execute("ROLLBACK")
            other.close()
        _pragma(svc, "PRAGMA query_only=OFF")
        _pragma(svc, "PRAGMA max_page_count=1073741823")
        _pragma(svc, "DROP TABLE IF EXISTS test_filler")
    assert svc.evaluate(probe_snapshot(5.0)) == 1  # the lost commit's transition, produced again
    assert svc.evaluate(probe_snapshot(0.0)) == 1
    assert_exactly_once(server)


# -- SIGKILL -----------------------------------------------------------------------------------

def test_fault_sigkill_mid_delivery_resent_after_restart_exactly_once(slack, services, tmp_path,
                                                                       outputs):
    server = slack(["hang"])
    child = spawn("tests.support.crash_child", "slack", str(tmp_path), server.url)
    try:
        assert server.hanging.wait(30), "child never started delivering"
    finally:
        err = sigkill(child)  # the firing is on the wire, not yet acknowledged
    outputs.add("child stderr", err)
    server.release.set()
    assert server.accepted == []
    svc = services(alerts_config(tmp_path, slack_channel(server.url)))
    svc.start()  # re-queues the row the kill left in 'sending'
    wait_for(lambda: len(server.accepted) == 1, what="firing re-sent after restart")
    assert outputs.log_lines("outbox_recovered")
    assert svc.evaluate(probe_snapshot(5.0)) == 0  # state survived: no second firing
    assert svc.evaluate(probe_snapshot(0.0)) == 1
    assert_exactly_once(server)
    assert len(server.received) == 3  # the unacknowledged attempt, its resend, the resolve
