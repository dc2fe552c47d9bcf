"""The ``alertmanager`` channel against a real Alertmanager (Debian's) and loopback servers:
API v2 alerts with network identity, every member of the list, re-sends with ``endsAt`` so the
alert ends by itself when the daemon stops, credentials sent but never logged, no redirects."""

from __future__ import annotations

import logging
import time

import pytest
from prometheus_client import CollectorRegistry

from hashwatch.alerts.metrics_collector import AlertsCollector
from hashwatch.alerts.service import AlertService

from ..support.alertkit import FakeClock, config, iv, snapshot
from ..support.httpsink import RecordingServer
from .engines import (
    WebhookSink,
    alertmanager_config,
    free_port,
    http_json,
    start_alertmanagers,
    wait_for,
)

ONLY = "difficulty_drop"


@pytest.fixture
def am_one(tmp_path):
    sink = WebhookSink()
    procs = start_alertmanagers(tmp_path, 1, alertmanager_config(sink.url))
    yield procs[0][1], sink
    for proc, _ in procs:
        proc.stop()
    sink.close()


def rules_only(tmp_path, name: str = ONLY):
    path = tmp_path / "rules.yml"
    path.write_text(
        "rules:\n"
        + "".join(
            f"  - {{name: {n}, enabled: false}}\n"
            for n in (
                "difficulty_drop_critical", "difficulty_projected_drop", "hashrate_drawdown",
                "fee_spike", "mempool_congestion", "margin_negative", "hashprice_new_low",
                "pool_dominance", "nakamoto_coefficient_low", "node_down",
                "node_initial_block_download", "no_new_block",
            )
            if n != name
        )
    )
    return path


def service(tmp_path, clock, channel: dict, **alerts) -> AlertService:
    cfg = config(
        tmp_path,
        rule_files=[str(rules_only(tmp_path))],
        channels=[{"name": "am", "type": "alertmanager", **channel}],
        delivery={"backoff_initial_seconds": 0.05, "backoff_max_seconds": 0.2},
        external_url="http://hashwatch.site-a.example:9332/",
        **alerts,
    )
    return AlertService(cfg, tmp_path / "state", clock, rng=lambda: 0.0)


def drain(svc: AlertService) -> None:
    while svc.worker.run_once():
        pass


def am_alerts(base: str) -> list[dict]:
    return http_json(base + "/api/v2/alerts")


def test_firing_reaches_every_member_with_network_identity_and_a_dead_member_is_counted(
    tmp_path, am_one
):
    base, _ = am_one
    dead = f"http://127.0.0.1:{free_port()}"
    clock = FakeClock(time.time() - 600)
    svc = service(tmp_path, clock, {"urls": [dead, base]}, site="site-a")
    svc.evaluate(snapshot(clock, values=[iv("difficulty_last_retarget_change_percent", -3.1)]))
    drain(svc)
    alerts = wait_for(lambda: am_alerts(base), what="the alert in Alertmanager")
    (alert,) = alerts
    # network-wide: identified by network, no node and no site, so every daemon sends the same
    assert alert["labels"] == {
        "alertname": "difficulty_drop", "severity": "warning", "class": "market", "network": "main"
    }
    assert alert["status"]["state"] == "active"
    assert alert["generatorURL"] == "http://hashwatch.site-a.example:9332/"
    assert alert["annotations"]["summary"] == "Difficulty dropped -3.10% at the last retarget (n1)"
    assert svc.store.status_of(svc.store.outbox(limit=1)[0].idem_key) == "delivered"
    registry = CollectorRegistry()
    registry.register(AlertsCollector(svc))
    target = dead.removeprefix("http://")
    failed = registry.get_sample_value(
        "hashwatch_alerts_alertmanager_requests_failed_total",
        {"channel": "am", "alertmanager": target, "reason": "connection"},
    )
    assert failed == 1
    svc.close()


def test_resolve_is_delivered_and_alertmanager_notifies_it_once(tmp_path, am_one):
    base, sink = am_one
    clock = FakeClock(time.time() - 600)
    svc = service(tmp_path, clock, {"urls": [base]})
    svc.evaluate(snapshot(clock, values=[iv("difficulty_last_retarget_change_percent", -3.1)]))
    drain(svc)
    wait_for(lambda: sink.notifications("firing", alertname=ONLY), what="firing notification")
    clock.advance(60)
    svc.evaluate(snapshot(clock, values=[iv("difficulty_last_retarget_change_percent", 1.0)]))
    drain(svc)
    wait_for(lambda: sink.notifications("resolved", alertname=ONLY), what="resolved notification")
    assert len(sink.notifications("firing", alertname=ONLY, network="main")) == 1
    assert len(sink.notifications("resolved", alertname=ONLY, network="main")) == 1
    svc.close()


def test_resends_keep_the_alert_alive_and_it_ends_by_itself_when_the_daemon_stops(
    tmp_path, am_one
):
    base, sink = am_one
    clock = FakeClock(time.time() - 600)
    # endsAt = now + 1 s x 2: without re-sends Alertmanager would resolve it within ~2 s
    svc = service(tmp_path, clock, {"urls": [base], "resend_delay": "1s", "ends_at_resends": 2})
    svc.start()
    low = [iv("difficulty_last_retarget_change_percent", -3.1)]
    started = time.monotonic()
    svc.evaluate(snapshot(clock, values=low))

    def resent_four_times() -> bool:
        svc.evaluate(snapshot(clock, values=low))  # the daemon keeps evaluating
        sent = {(n, ch): v for n, ch, _, v in svc.store.counters()}
        return sent.get(("sent", "am"), 0) >= 5  # the firing and four re-sends

    # one re-send per 1 s period: four of them span more than the 2 s endsAt horizon
    wait_for(resent_four_times, timeout=15, what="four delivered re-sends")
    assert time.monotonic() - started > 2.0
    wait_for(lambda: sink.notifications("firing", alertname=ONLY), what="firing notification")
    assert not sink.notifications("resolved", alertname=ONLY)  # still firing past the horizon
    refresh = [r for r in svc.store.outbox(limit=50) if r.transition == "refresh"]
    assert len([r for r in refresh if r.status == "delivered"]) == 1  # older ones forgotten
    (alert,) = am_alerts(base)
    assert alert["status"]["state"] == "active"
    svc.close()  # the daemon dies: no more re-sends, no resolve message
    wait_for(
        lambda: sink.notifications("resolved", alertname=ONLY),
        timeout=15,
        what="Alertmanager resolving the alert at its endsAt",
    )


def test_bearer_token_from_file_is_sent_never_logged_and_redirects_are_not_followed(
    tmp_path, caplog
):
    token = "s3cr3t-t0ken"
    (tmp_path / "token").write_text(token + "\n")
    target = RecordingServer().start()
    redirector = RecordingServer(
        responses=[(307, {"Location": target.url + "/api/v2/alerts"}, b"")] * 5
    ).start()
    ok = RecordingServer().start()
    try:
        clock = FakeClock(time.time())
        svc = service(
            tmp_path,
            clock,
            {"urls": [redirector.url, ok.url], "bearer_token_file": str(tmp_path / "token")},
        )
        caplog.set_level(logging.DEBUG)
        svc.evaluate(snapshot(clock, values=[iv("difficulty_last_retarget_change_percent", -3)]))
        drain(svc)
        assert ok.accepted[0].path == "/api/v2/alerts"
        assert ok.accepted[0].headers["authorization"] == f"Bearer {token}"
        assert redirector.received  # asked, answered 307 ...
        assert target.received == []  # ... and the credential never went to the redirect target
        assert token not in caplog.text
        assert "redirect" in caplog.text
        svc.close()
    finally:
        for server in (target, redirector, ok):
            server.stop()


def test_basic_auth_password_file_and_all_members_failing_is_retried(tmp_path):
    (tmp_path / "pw").write_text("hunter2")
    server = RecordingServer(responses=[(503, {}, b"busy")]).start()
    try:
        clock = FakeClock(time.time())
        svc = service(
            tmp_path,
            clock,
            {
                "urls": [server.url],
                "basic_auth": {"username": "hw", "password_file": str(tmp_path / "pw")},
            },
        )
        svc.evaluate(snapshot(clock, values=[iv("difficulty_last_retarget_change_percent", -3)]))
        svc.worker.run_once()
        (row,) = svc.store.outbox(limit=5)
        assert row.status == "pending" and row.last_reason == "http_5xx"  # kept for a retry
        clock.advance(5)
        drain(svc)
        assert svc.store.status_of(row.idem_key) == "delivered"
        assert server.accepted[0].headers["authorization"] == "Basic aHc6aHVudGVyMg=="
        svc.close()
    finally:
        server.stop()


def test_resend_retried_after_the_resolve_is_skipped_and_restart_resends_firing(tmp_path):
    server = RecordingServer().start()
    try:
        clock, wall = FakeClock(time.time()), FakeClock(time.time())
        cfg = config(
            tmp_path,
            rule_files=[str(rules_only(tmp_path))],
            channels=[{"name": "am", "type": "alertmanager", "urls": [server.url]}],
            delivery={"backoff_initial_seconds": 1, "backoff_max_seconds": 2},
        )
        svc = AlertService(cfg, tmp_path / "state", clock, rng=lambda: 0.0, resend_clock=wall)
        low = [iv("difficulty_last_retarget_change_percent", -3)]
        svc.evaluate(snapshot(clock, values=low))
        drain(svc)
        wall.advance(60)  # the next re-send period (resend_delay 1m)
        server.responses.append((503, {}, b"busy"))
        svc.evaluate(snapshot(clock, values=low))
        drain(svc)  # the re-send fails and waits for a retry
        clock.advance(30)
        svc.evaluate(snapshot(clock, values=[iv("difficulty_last_retarget_change_percent", 1)]))
        drain(svc)
        statuses = [r.json()[0]["labels"]["alertname"] for r in server.received]
        assert len(statuses) == 3  # firing, the failed re-send, the resolve: no late re-send
        last = server.received[-1].json()[0]
        assert last["endsAt"] < server.received[0].json()[0]["endsAt"]  # the resolve ended it
        kinds = {r.transition: r.status for r in svc.store.outbox(limit=10)}
        assert kinds["refresh"] == "delivered" and kinds["resolved"] == "delivered"
        # restart while a new alert fires: the new process re-sends it at its first evaluation
        clock.advance(60)
        svc.evaluate(snapshot(clock, values=low))
        drain(svc)
        svc.close()
        before = len(server.received)
        svc = AlertService(cfg, tmp_path / "state", clock, rng=lambda: 0.0, resend_clock=wall)
        svc.evaluate(snapshot(clock, values=low))
        drain(svc)
        assert len(server.received) == before + 1
        assert server.received[-1].json()[0]["labels"]["network"] == "main"
        svc.close()
    finally:
        server.stop()


@pytest.mark.parametrize(
    ("channel", "expected"),
    [
        ('urls: ["http://hw:s3cret@127.0.0.1:9093"]',
         "urls: put credentials in basic_auth / bearer_token_file, not the URL"),
        ('urls: ["ftp://127.0.0.1:9093"]', "expected http(s)://host:port of an Alertmanager"),
        ('urls: ["https://127.0.0.1:9093"]\n      tls: {ca_file: /nonexistent/ca.pem}',
         "tls: ca_file: file /nonexistent/ca.pem not found"),
        ('urls: ["http://a:9093"]\n      bearer_token: t0k\n'
         '      basic_auth: {username: u, password: p}', "set basic_auth or bearer_token"),
        ('urls: ["http://a:9093", "http://a:9093"]', "an Alertmanager is listed twice"),
    ],
)
def test_config_errors_name_file_line_key_and_never_echo_secrets(tmp_path, channel, expected):
    from hashwatch.config import ConfigError, load_config

    path = tmp_path / "hashwatch.yaml"
    path.write_text(
        "nodes:\n  - {name: n, url: 'http://127.0.0.1:8332', cookie_file: /tmp/x}\n"
        "alerts:\n  channels:\n    - name: am\n      type: alertmanager\n      " + channel + "\n"
    )
    with pytest.raises(ConfigError) as exc:
        load_config(path)
    text = str(exc.value)
    assert f"{path}:" in text and "alerts.channels[0]" in text and expected in text, text
    assert "s3cret" not in text and "t0k" not in text
