"""AlertService end to end with synthetic snapshots: a difficulty drop and a fee spike reach a
local Slack stand-in and an aiosmtpd server, once each, with their numbers, then resolve."""

from __future__ import annotations

import io
from email import message_from_bytes
from email.policy import default as email_policy

import pytest
from prometheus_client import CollectorRegistry

from hashwatch.alerts import commands as alerts_cli
from hashwatch.alerts.metrics_collector import AlertsCollector
from hashwatch.alerts.service import AlertService

from ..support.alertkit import FakeClock, config, iv, snapshot


def channels(http_url: str, smtp_port: int, cert) -> list[dict]:
    return [
        {"name": "slack", "type": "slack", "webhook_url": http_url + "/services/T/B/x"},
        {
            "name": "mail",
            "type": "email",
            "host": "127.0.0.1",
            "port": smtp_port,
            "username": "miner",
            "password": "hunter2",
            "from_address": "hw@example.org",
            "to": ["ops@example.org"],
            "ca_file": str(cert),
        },
    ]


def market(diff_change: float, fee_median: float, fee_baseline: float = 10.0) -> list:
    return [
        iv("difficulty_last_retarget_change_percent", diff_change),
        iv("fees_next_block_median_sat_per_vbyte", fee_median),
        iv("fees_spike_ratio", fee_median / fee_baseline),  # the metric fee_spike compares
        iv("hashrate_drawdown_ratio", 0.01),
        iv("mempool_blocks_to_clear", 3),
    ]


def drain(svc: AlertService) -> None:
    while svc.worker.run_once():
        pass


def test_evaluate_difficulty_drop_and_fee_spike_messages_with_numbers_and_resolves(
    tmp_path, clock, http_server, smtp_starttls, tls_files
):
    ctl, sink = smtp_starttls
    cfg = config(
        tmp_path,
        channels=channels(http_server.url, ctl.port, tls_files.ca_cert),
        grafana_url="http://grafana.local/d/hw",
    )
    svc = AlertService(cfg, tmp_path / "state", clock, rng=lambda: 0.0)
    for i in range(13 * 12):  # 13 h of calm: fees 8..12 sat/vB (median 10), last retarget +1.2%
        svc.evaluate(snapshot(clock, values=market(1.2, 8 + (i % 5))))
        clock.advance(300)
    drain(svc)
    assert http_server.received == [] and sink.messages == []

    svc.evaluate(snapshot(clock, values=market(-2.37, 10)))  # the retarget: -2.37%
    for _ in range(3):  # fee spike: 48 sat/vB, pending for 5 min, then firing
        svc.evaluate(snapshot(clock, values=market(-2.37, 48)))
        clock.advance(150)
    drain(svc)
    for _ in range(3):
        svc.evaluate(snapshot(clock, values=market(-2.37, 12)))  # fees back: 1.2x
        clock.advance(300)
    svc.evaluate(snapshot(clock, values=market(3.1, 12)))  # next retarget +3.1%: recovered
    drain(svc)
    drain(svc)

    slack = [r.json()["text"] for r in http_server.accepted]
    assert slack == [
        "[WARNING] Difficulty dropped -2.37% at the last retarget (n1)",
        "[WARNING] Fee spike: next-block median 48.0 sat/vB, 4.8x its baseline (n1)",
        "[RESOLVED] Fee spike over: next-block median 12.0 sat/vB, 1.2x its baseline (n1)",
        "[RESOLVED] Difficulty recovered: +3.10% at the last retarget (n1)",
    ]
    assert len(http_server.received) == 4
    fee_blocks = str(http_server.accepted[1].json()["attachments"][0]["blocks"])
    assert "4.80 times its baseline of 10.0 sat/vB" in fee_blocks
    assert "http://grafana.local/d/hw" in fee_blocks
    subjects = [
        message_from_bytes(m.content, policy=email_policy)["Subject"] for m in sink.messages
    ]
    assert subjects == ["[hashwatch] " + s for s in slack]


def test_evaluate_node_down_inhibits_fee_spike_and_fires_node_down(tmp_path, clock, http_server):
    cfg = config(
        tmp_path,
        channels=[{"name": "slack", "type": "slack", "webhook_url": http_server.url + "/x"}],
    )
    svc = AlertService(cfg, tmp_path / "state", clock)
    for _ in range(13 * 12):
        svc.evaluate(snapshot(clock, values=market(1.0, 10)))
        clock.advance(300)
    svc.evaluate(snapshot(clock, values=market(1.0, 50)))  # spike starts pending
    clock.advance(60)
    svc.evaluate(snapshot(clock, up=False))
    clock.advance(120)
    svc.evaluate(snapshot(clock, up=False))
    clock.advance(200)
    svc.evaluate(snapshot(clock, values=market(1.0, 50)))  # back: the spike's `for` restarts
    drain(svc)
    texts = [r.json()["text"] for r in http_server.accepted]
    assert texts == [
        "[CRITICAL] Bitcoin Core node n1 is not answering",
        "[RESOLVED] Bitcoin Core node n1 is answering again",
    ]


def test_metrics_report_firing_sent_failed_and_outbox(tmp_path, clock, http_server):
    http_server.responses.append((500, {}, b"x"))
    cfg = config(
        tmp_path,
        channels=[{"name": "slack", "type": "slack", "webhook_url": http_server.url + "/x"}],
    )
    svc = AlertService(cfg, tmp_path / "state", clock, rng=lambda: 0.0)
    registry = CollectorRegistry()
    registry.register(AlertsCollector(svc))
    svc.evaluate(snapshot(clock, values=market(-6.0, 10)))
    get = registry.get_sample_value
    # a network-wide rule: its alert belongs to the network (node ""), not to n1
    labels = {"node": "", "rule": "difficulty_drop_critical", "severity": "critical"}
    assert get("hashwatch_alerts_firing", labels) == 1
    assert get("hashwatch_alerts_firing", {**labels, "node": "n1"}) is None  # no zero twin
    assert get("hashwatch_alerts_outbox_notifications", {"channel": "slack"}) == 2
    svc.worker.run_once()
    assert (
        get(
            "hashwatch_alerts_notifications_failed_total",
            {"channel": "slack", "reason": "http_5xx"},
        )
        == 1
    )
    clock.advance(10)
    drain(svc)
    assert get("hashwatch_alerts_notifications_sent_total", {"channel": "slack"}) == 2
    assert get("hashwatch_alerts_outbox_notifications", {"channel": "slack"}) == 0
    assert get("hashwatch_alerts_notifications_sent_total", {"channel": "log"}) == 0


def test_evaluate_read_only_store_counts_error_then_commits_same_transition(tmp_path, clock):
    svc = AlertService(config(tmp_path), tmp_path / "state", clock)
    svc.store._db.execute("PRAGMA query_only=ON")
    assert svc.evaluate(snapshot(clock, values=market(-3.0, 10))) == 0
    assert svc.store_errors == {"read_only": 1}
    assert svc.active() == []
    svc.store._db.execute("PRAGMA query_only=OFF")
    assert svc.evaluate(snapshot(clock, values=market(-3.0, 10))) == 1
    assert [s.rule for s in svc.active()] == ["difficulty_drop"]


def test_evaluate_disk_full_is_reported_not_raised(tmp_path, clock):
    svc = AlertService(config(tmp_path), tmp_path / "state", clock)
    pages = svc.store._db.execute("PRAGMA page_count").fetchone()[0]
    svc.store._db.execute(f"PRAGMA max_page_count={pages}")
    big = [iv("difficulty_last_retarget_change_percent", -3.0, pad="x" * 50_000)]
    assert svc.evaluate(snapshot(clock, values=big)) == 0
    assert svc.store_errors == {"disk_full": 1}


def test_commit_evaluation_state_and_outbox_roll_back_together(tmp_path, clock):
    from hashwatch.alerts.engine import AlertState
    from hashwatch.alerts.store import AlertStore, NewMessage

    store = AlertStore(tmp_path / "a.sqlite3")
    state = AlertState("fp", "r", "n1", (), "firing", 1, firing_since=clock())
    good = NewMessage("fp/1/firing/log", "log", "fp", 1, "firing", {"a": 1}, None)
    bad = NewMessage("fp/1/firing/x", "x", "fp", 1, "firing", {"a": object()}, None)
    with pytest.raises(TypeError):
        store.commit_evaluation([state], [good, bad], [], {}, clock())
    assert store.load_states() == [] and store.outbox() == []
    store.commit_evaluation([state], [good], [], {}, clock())
    assert store.load_states() == [state] and len(store.outbox()) == 1


def test_commit_evaluation_same_idempotency_key_inserted_once(tmp_path, clock):
    from hashwatch.alerts.store import AlertStore, NewMessage

    store = AlertStore(tmp_path / "a.sqlite3")
    m = NewMessage("fp/1/firing/log", "log", "fp", 1, "firing", {"a": 1}, None)
    store.commit_evaluation([], [m], [], {}, clock())
    store.commit_evaluation([], [m], [], {}, clock())
    assert len(store.outbox()) == 1


def test_service_restart_keeps_state_and_history(tmp_path, clock, http_server):
    cfg = config(
        tmp_path,
        channels=[{"name": "slack", "type": "slack", "webhook_url": http_server.url + "/x"}],
    )
    svc = AlertService(cfg, tmp_path / "state", clock)
    for _ in range(13 * 12):
        svc.evaluate(snapshot(clock, values=market(-2.5, 10)))
        clock.advance(300)
    svc.close()
    again = AlertService(cfg, tmp_path / "state", clock)
    assert again.evaluate(snapshot(clock, values=market(-2.5, 10))) == 0  # no second firing
    clock.advance(300)
    for _ in range(2):
        again.evaluate(snapshot(clock, values=market(-2.5, 40)))  # baseline survived the restart
        clock.advance(300)
    assert sorted(s.rule for s in again.active()) == ["difficulty_drop", "fee_spike"]


def test_alerts_command_lists_active_alerts_and_outbox(tmp_path, clock):
    cfg = config(tmp_path)
    svc = AlertService(cfg, tmp_path / "state", clock)
    svc.evaluate(snapshot(clock, values=market(-2.37, 10)))
    svc.close()
    out = io.StringIO()
    assert alerts_cli.alerts_command(cfg, tmp_path / "state", out=out) == 0
    text = out.getvalue()
    assert "Active alerts: 1" in text
    assert "firing   warning  difficulty_drop network=main value=-2.37" in text
    assert "Outbox: 1 undelivered" in text and "log: 1 undelivered" in text


def test_test_alert_command_sends_to_channel(tmp_path, http_server):
    cfg = config(
        tmp_path,
        channels=[{"name": "slack", "type": "slack", "webhook_url": http_server.url + "/x"}],
    )
    out = io.StringIO()
    assert alerts_cli.test_alert_command(cfg, tmp_path / "s", "slack", out=out) == 0
    assert out.getvalue() == "sent a test notification to slack channel 'slack'\n"
    assert http_server.accepted[0].json()["text"].startswith("[TEST] [INFO] Test notification")


def test_test_alert_command_failure_exit_1_and_unknown_channel_exit_2(tmp_path, http_server):
    http_server.responses.append((403, {}, b"invalid_token"))
    cfg = config(
        tmp_path,
        channels=[
            {"name": "slack", "type": "slack", "webhook_url": http_server.url + "/secretpath"}
        ],
    )
    err = io.StringIO()
    assert alerts_cli.test_alert_command(cfg, tmp_path / "s", "slack", err=err) == 1
    assert "failed (auth)" in err.getvalue() and "secretpath" not in err.getvalue()
    err = io.StringIO()
    assert alerts_cli.test_alert_command(cfg, tmp_path / "s", "pager", err=err) == 2
    assert "unknown channel 'pager'" in err.getvalue()


def test_alerts_command_invalid_rule_file_exit_2_names_rule_and_key(tmp_path):
    rules = tmp_path / "rules.yml"
    rules.write_text("rules:\n  - name: fee_spike\n    for: soon\n")
    cfg = config(tmp_path, rule_files=[str(rules)])
    err = io.StringIO()
    assert alerts_cli.alerts_command(cfg, tmp_path / "s", err=err) == 2
    assert err.getvalue() == (
        f"hashwatch: config error: {rules}:3: rule 'fee_spike': for: "
        "expected a duration like 30s, 5m, 1h, 7d (got 'soon')\n"
    )


def test_fake_clock_helper_advances():
    c = FakeClock(10)
    assert c.advance(5) == 15 and c() == 15
