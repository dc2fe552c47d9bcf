"""A daemon killed with SIGKILL and restarted: no duplicate notification; killed for good: the
Alertmanager cluster resolves its alert by itself at ``endsAt``.

``hashwatch run`` runs as a real subprocess (wall clock, its own SQLite outbox) against a
simulated node that has just lived through a difficulty drop, and posts to two Alertmanager
peers in one cluster, which notify a local webhook receiver.
"""

from __future__ import annotations

import os
import sys

import pytest
import yaml

from .engines import (
    Proc,
    WebhookSink,
    alertmanager_config,
    free_port,
    start_alertmanagers,
    wait_for,
)
from .test_fleet_alerts import EPOCH, rules_file

pytestmark = pytest.mark.slow
RULE = "difficulty_drop"


@pytest.fixture
def cluster(tmp_path):
    sink = WebhookSink()
    ams = start_alertmanagers(tmp_path, 2, alertmanager_config(sink.url))
    yield sink, [base for _, base in ams]
    for proc, _ in ams:
        proc.stop()
    sink.close()


def daemon(tmp_path, sim, urls: list[str]) -> Proc:
    port = free_port()
    config = {
        "nodes": [{"name": "n1", "url": sim.rpc_url, "cookie_file": str(sim.cookie_path)}],
        "state_dir": str(tmp_path / "state"),
        "polling": {"chain_seconds": 1, "headers_seconds": 1, "mempool_seconds": 1,
                    "blocks_seconds": 5, "jitter_seconds": 0},
        "metrics": {"listen": "127.0.0.1", "port": port},
        "alerts": {
            "site": "a",
            "rule_files": [str(rules_file(tmp_path))],
            # endsAt = now + 2 s x 2: without re-sends the alert ends within about 4 s
            "channels": [{"name": "am", "type": "alertmanager", "urls": urls,
                          "resend_delay": "2s", "ends_at_resends": 2}],
            "delivery": {"backoff_initial_seconds": 0.1, "backoff_max_seconds": 0.5},
        },
    }
    path = tmp_path / "hashwatch.yaml"
    path.write_text(yaml.safe_dump(config))
    env = {k: v for k, v in os.environ.items() if not k.startswith("HASHWATCH_")}
    return Proc([sys.executable, "-m", "hashwatch", "run", "--config", str(path)],
                tmp_path / "hashwatch.log", f"http://127.0.0.1:{port}/metrics", "hashwatch", env)


def sent_total(proc: Proc) -> float:
    import urllib.request

    with urllib.request.urlopen(proc.ready_url, timeout=5) as resp:  # noqa: S310 - loopback
        for line in resp.read().decode().splitlines():
            if line.startswith('hashwatch_alerts_notifications_sent_total{channel="am"}'):
                return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_sigkill_restart_sends_nothing_twice_and_a_dead_daemon_alert_ends_by_itself(
    tmp_path, sim_factory, cluster
):
    sink, urls = cluster
    sim = sim_factory(start_height=925_300)
    retarget = (sim.rpc("getblockcount") // EPOCH + 1) * EPOCH
    sim.mine(retarget - sim.rpc("getblockcount"), interval=3000)  # a slow epoch: difficulty drops
    firing = lambda: sink.notifications("firing", alertname=RULE)  # noqa: E731
    resolved = lambda: sink.notifications("resolved", alertname=RULE)  # noqa: E731

    proc = daemon(tmp_path, sim, urls).start(timeout=60)
    try:
        wait_for(firing, 60, "the difficulty drop notified")
        # the firing and four re-sends, one per 2 s period: longer than the 4 s endsAt horizon
        wait_for(lambda: sent_total(proc) >= 5, 30, "four re-sends delivered (alive)")
        assert not resolved()  # re-sends keep it firing past the horizon
        before = sent_total(proc)  # a counter kept in SQLite: it survives the kill
        proc.kill()  # SIGKILL: no shutdown, whatever was in flight is lost
        proc.start(timeout=60)  # same state dir: the outbox and the alert state survive
        wait_for(lambda: sent_total(proc) >= before + 2, 30, "re-sends after the restart")
        assert not resolved()  # the restart did not end the alert ...
        proc.kill()  # ... and now the daemon is gone for good
        wait_for(resolved, 30, "Alertmanager resolving the alert at its endsAt")
    finally:
        proc.stop()
    (note,) = firing()  # one notification for the event, through the kill and restart
    assert note["groupLabels"] == {"alertname": RULE, "network": sim.rpc("getblockchaininfo")
                                   ["chain"]}
    assert len(resolved()) == 1
