"""The outbox against hostile receivers: a slow channel never delays another, a redirect is held
(not delivered, not dropped), a Retry-After past the age budget never loses the alert or its
resolve.

Real delivery threads and real loopback receivers; waits are conditions with deadlines.
"""

from __future__ import annotations

import time

import pytest

from hashwatch.alerts.delivery import last_chance

from ..support.alertkit import alerts_config, slack_stand_in
from ..support.alertkit import probe_snapshot as snapshot
from ..support.waiting import wait_for
from .hostile_http import Behaviour, HostilePeer


def _hook(name: str, url: str, timeout: float = 5.0) -> dict:
    return {"name": name, "type": "webhook", "url": url, "timeout_seconds": timeout}


@pytest.mark.parametrize("kind", ["trickle", "trickle_body", "silent"])
def test_slow_channel_never_delays_another_channels_notifications(kind, services, tmp_path):
    with HostilePeer(Behaviour(kind, tick=0.2)) as slow, HostilePeer(Behaviour("ok")) as fast:
        cfg = alerts_config(tmp_path, [_hook("slow", slow.url(), timeout=20),
                                       _hook("fast", fast.url())])
        svc = services(cfg)
        svc.start()
        started = time.monotonic()
        assert svc.evaluate(snapshot(5.0)) == 1
        wait_for(lambda: len(fast.seen) == 1, timeout=5, what="fast channel got the firing")
        assert svc.evaluate(snapshot(0.0)) == 1
        wait_for(lambda: len(fast.seen) == 2, timeout=5, what="fast channel got the resolve")
        took = time.monotonic() - started
        assert took < 5  # the slow channel is still inside its 20 s deadline
        assert len(slow.seen) <= 1 and svc.store.status_of(_key(svc, "slow")) == "sending"


def _key(svc, channel: str) -> str:
    (row,) = [r for r in svc.store.outbox(limit=100)
              if r.channel == channel and r.transition == "firing"]
    return row.idem_key


@pytest.mark.parametrize("code", [301, 302, 303, 307, 308])
def test_redirecting_channel_is_held_not_delivered_then_fixed_delivered_once(
    code, services, tmp_path, outputs
):
    with HostilePeer() as good, HostilePeer(Behaviour("redirect", status=code)) as bad:
        bad.behaviour.location = good.url("/landing")
        cfg = alerts_config(tmp_path, [_hook("ops", bad.url())])
        svc = services(cfg)
        svc.start()
        svc.evaluate(snapshot(5.0))
        wait_for(lambda: outputs.log_lines("notification_held"), what="held logged")
        (row,) = svc.store.outbox()
        assert row.status == "pending" and row.last_reason == "redirect"
        assert good.seen == []
        line = outputs.log_lines("notification_held")[0]
        assert f"HTTP {code} redirect to Location {good.origin}/..." in line
        svc.close()
        fixed = services(alerts_config(tmp_path, [_hook("ops", good.url())]))
        fixed.start()  # a restart releases held rows at once
        wait_for(lambda: len(good.seen) == 1, what="held firing delivered after the fix")
        wait_for(lambda: fixed.store.outbox()[0].status == "delivered", what="marked delivered")
    assert len(bad.seen) == 1


@pytest.mark.parametrize(
    "now,delay,end,honour,expected",
    [(0, 10, 100, False, 10), (0, 500, 100, False, 100), (0, 500, 100, True, 500),
     (100, 5, 100, False, None), (150, 5, 100, True, None)],
)
def test_last_chance_within_budget_then_one_last_attempt_then_none(
    now, delay, end, honour, expected
):
    assert last_chance(now, delay, end, honour=honour) == expected


def test_retry_after_longer_than_max_age_delivers_firing_and_resolve(services, tmp_path):
    """429 with Retry-After 3 s on a 1 s budget: held until the receiver allows, then sent;
    the resolve follows. Before the fix the firing was dead after one attempt and its
    resolve dropped with it."""
    slack = slack_stand_in([429])
    try:
        slack.retry_after = "2"
        cfg = alerts_config(tmp_path, [{"name": "ops", "type": "slack",
                                        "webhook_url": slack.url}], max_age_seconds=1.0)
        svc = services(cfg)
        svc.start()
        svc.evaluate(snapshot(5.0))
        wait_for(lambda: len(slack.received) == 1, what="first attempt answered 429")
        svc.evaluate(snapshot(0.0))
        wait_for(lambda: len(slack.accepted) == 2, timeout=15, what="firing and resolve sent")
        texts = slack.texts()
        assert texts[0].startswith("[CRITICAL]") and texts[1].startswith("[RESOLVED]")
        assert sorted(r.status for r in svc.store.outbox()) == ["delivered", "delivered"]
    finally:
        slack.stop()

