"""Outbox delivery: retries with backoff, Retry-After, exactly-once on success, resolve order."""

from __future__ import annotations

import pytest

from hashwatch.alerts.delivery import backoff
from hashwatch.alerts.service import AlertService
from hashwatch.config.alerts import DeliveryConfig

from ..support.alertkit import config, iv, snapshot
from ..support.waiting import wait_for

RULES = """rules:
  - name: hot
    indicator: x
    op: ">="
    threshold: 10
    summary: "x is {value:g}"
"""


def service(tmp_path, clock, url: str, **delivery) -> AlertService:
    rules = tmp_path / "rules.yml"
    rules.write_text(RULES)
    cfg = config(
        tmp_path,
        use_default_rules=False,
        rule_files=[str(rules)],
        channels=[{"name": "slack", "type": "slack", "webhook_url": url + "/hook"}],
        delivery={"backoff_initial_seconds": 10, **delivery},
    )
    return AlertService(cfg, tmp_path / "state", clock, rng=lambda: 0.0)


def fire(svc, clock, value=12.0):
    return svc.evaluate(snapshot(clock, values=[iv("x", value)]))


def test_run_once_500_then_200_delivers_exactly_once(tmp_path, clock, http_server):
    http_server.responses.append((500, {}, b"oops"))
    svc = service(tmp_path, clock, http_server.url)
    assert fire(svc, clock) == 1
    assert svc.worker.run_once() == 1
    assert len(http_server.received) == 1 and http_server.accepted == []
    clock.advance(4.9)  # backoff with rng=0: half of 10 s
    assert svc.worker.run_once() == 0
    clock.advance(0.1)
    assert svc.worker.run_once() == 1
    clock.advance(3600)
    assert svc.worker.run_once() == 0
    assert fire(svc, clock) == 0  # still firing: no new message
    assert svc.worker.run_once() == 0
    assert len(http_server.accepted) == 1 and len(http_server.received) == 2
    assert http_server.accepted[0].json()["text"] == "[WARNING] x is 12"


def test_run_once_429_retry_after_is_honoured_then_delivered_once(tmp_path, clock, http_server):
    http_server.responses.append((429, {"Retry-After": "30"}, b"rate_limited"))
    svc = service(tmp_path, clock, http_server.url)
    fire(svc, clock)
    svc.worker.run_once()
    clock.advance(29)
    assert svc.worker.run_once() == 0
    clock.advance(1)
    assert svc.worker.run_once() == 1
    clock.advance(3600)
    assert svc.worker.run_once() == 0
    assert len(http_server.accepted) == 1 and len(http_server.received) == 2
    counters = svc.store.counters()
    assert ("failed", "slack", "rate_limited", 1) in counters and (
        "sent",
        "slack",
        "",
        1,
    ) in counters


def test_run_once_resolve_waits_for_its_firing(tmp_path, clock, http_server):
    http_server.responses.append((503, {}, b"busy"))
    svc = service(tmp_path, clock, http_server.url)
    fire(svc, clock)
    svc.worker.run_once()  # firing fails
    assert fire(svc, clock, value=1.0) == 1  # resolved while the firing is still queued
    assert svc.worker.run_once() == 0  # neither the firing (backoff) nor the resolve goes
    clock.advance(60)
    while svc.worker.run_once():
        pass
    texts = [r.json()["text"] for r in http_server.accepted]
    assert texts == ["[WARNING] x is 12", "[RESOLVED] x is 1"]


def test_run_once_firing_given_up_drops_its_resolve(tmp_path, clock, http_server):
    http_server.responses.append((404, {}, b"no_service"))
    svc = service(tmp_path, clock, http_server.url, max_attempts=1)
    fire(svc, clock)
    svc.worker.run_once()
    fire(svc, clock, value=1.0)
    clock.advance(60)
    assert svc.worker.run_once() == 0
    assert http_server.accepted == []
    statuses = sorted((r.transition, r.status) for r in svc.store.outbox())
    assert statuses == [("firing", "dead"), ("resolved", "dropped")]


def test_run_once_retry_budget_exhausted_marks_dead(tmp_path, clock, http_server):
    http_server.responses.extend([(500, {}, b"x")] * 3)
    svc = service(tmp_path, clock, http_server.url, max_attempts=3)
    fire(svc, clock)
    for _ in range(5):
        svc.worker.run_once()
        clock.advance(1000)
    assert len(http_server.received) == 3 and http_server.accepted == []
    assert [r.status for r in svc.store.outbox()] == ["dead"]
    assert ("dead", "slack", "http_5xx", 1) in svc.store.counters()


def test_start_worker_thread_delivers_after_evaluate(tmp_path, http_server):
    import time

    svc = service(tmp_path, time.time, http_server.url)
    svc.start()
    try:
        fire(svc, time.time)
        rec = http_server.events.get(timeout=10)
    finally:
        svc.close()
    assert rec.json()["text"] == "[WARNING] x is 12"


@pytest.mark.parametrize(
    "attempt,rnd,expected",
    [(1, 0.0, 2.5), (1, 0.999999, 5.0), (2, 0.0, 5.0), (10, 0.0, 450.0), (30, 1.0, 900.0)],
)
def test_backoff_exponential_with_jitter_capped(attempt, rnd, expected):
    policy = DeliveryConfig(backoff_initial_seconds=5, backoff_max_seconds=900)
    assert backoff(attempt, policy, rnd) == pytest.approx(expected, rel=1e-5)


def test_config_error_held_not_dropped_then_delivered_after_restart(tmp_path, clock, http_server):
    """A revoked webhook (404) is the operator's to fix: the message waits, and a restart with
    the fixed config sends it at once, followed by its resolve."""
    http_server.responses.append((404, {}, b"no_service"))
    svc = service(tmp_path, clock, http_server.url)
    fire(svc, clock)
    assert svc.worker.run_once() == 1
    clock.advance(60)
    assert svc.worker.run_once() == 0  # held at the longest backoff, not retried every tick
    assert [r.status for r in svc.store.outbox()] == ["pending"]
    fire(svc, clock, value=1.0)  # the alert resolves meanwhile
    svc.close()
    restarted = service(tmp_path, clock, http_server.url)  # the operator fixed it and restarted
    restarted.worker.start()
    try:
        wait_for(lambda: len(http_server.accepted) == 2, what="held firing and its resolve sent")
    finally:
        restarted.close()
    texts = [r.json()["text"] for r in http_server.accepted]
    assert texts == ["[WARNING] x is 12", "[RESOLVED] x is 1"]
