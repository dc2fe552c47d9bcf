"""Issue 15 end to end: a fleet of daemons, two Alertmanager peers, one notification per event.

Four daemons watch three simulated nodes that live through the same network events (a slow
epoch ending in a difficulty drop, then a fee spike): site a runs an HA pair (two daemons on
node n1), sites b and c one daemon each. Every daemon posts to both Alertmanager peers, which
gossip as one cluster and notify a local webhook receiver. Along the way one Alertmanager peer
is killed and one daemon is restarted. Expected: exactly one firing notification per network
event, the same for its resolve, and one per node for a node-health event (n1 watched by the
HA pair: still one).
"""

from __future__ import annotations

import pytest
import yaml

from hashwatch.alerts.rules import default_rules_path
from hashwatch.config import Config
from hashwatch.daemon import Daemon

from .engines import WebhookSink, alertmanager_config, start_alertmanagers, wait_for

pytestmark = pytest.mark.slow

TESTED = {"difficulty_drop", "difficulty_drop_critical", "fee_spike", "node_down"}
JOBS = ("chain", "headers", "mempool")
EPOCH = 2016
NETWORK_EVENTS = ("difficulty_drop", "difficulty_drop_critical", "fee_spike")


def rules_file(tmp_path):
    names = [r["name"] for r in yaml.safe_load(default_rules_path().read_text())["rules"]]
    path = tmp_path / "rules.yml"
    path.write_text(
        yaml.safe_dump({"rules": [{"name": n, "enabled": False} for n in names if n not in TESTED]})
    )
    return path


class Member:
    """One hashwatch daemon of the fleet (in process, on its simulated node's clock)."""

    def __init__(self, tmp_path, key: str, site: str, node: str, sim, am_urls: list[str]):
        self.key, self.sim, self.node = key, sim, node
        self.config = Config.model_validate({
            "nodes": [{"name": node, "url": sim.rpc_url, "cookie_file": str(sim.cookie_path)}],
            "state_dir": str(tmp_path / key),
            "fees": {"block_window": 144},
            "alerts": {
                "site": site,
                "rule_files": [str(rules_file(tmp_path))],
                "channels": [{"name": "am", "type": "alertmanager", "urls": am_urls,
                              "resend_delay": "10m", "timeout_seconds": 2}],
                "delivery": {"backoff_initial_seconds": 0.05, "backoff_max_seconds": 0.2},
            },
        })
        self.daemon: Daemon | None = None
        self.start()

    def start(self) -> None:
        self.daemon = Daemon(self.config, clock=self.sim.clock.now, serve_metrics=False)
        assert self.daemon.alerts is not None
        self.daemon.alerts.start()

    def stop(self) -> None:
        if self.daemon is not None:
            self.daemon.stop()
            self.daemon = None

    def run_jobs(self, *jobs: str) -> None:
        assert self.daemon is not None
        for job in jobs or JOBS:
            self.daemon.run_job_now(job, self.node)

    def outbox_empty(self) -> bool:
        assert self.daemon is not None and self.daemon.alerts is not None
        return not self.daemon.alerts.store.outbox(open_only=True)


@pytest.fixture
def fleet(tmp_path, sim_factory):
    sink = WebhookSink()
    ams = start_alertmanagers(tmp_path, 2, alertmanager_config(sink.url))
    urls = [base for _, base in ams]
    sims = [sim_factory(start_height=925_300) for _ in range(3)]
    members = []
    try:
        for key, site, node, sim in (
            ("a1", "a", "n1", sims[0]), ("a2", "a", "n1", sims[0]),  # HA pair on one node
            ("b", "b", "n2", sims[1]), ("c", "c", "n3", sims[2]),
        ):
            members.append(Member(tmp_path, key, site, node, sim, urls))
        yield sink, ams, sims, members
    finally:
        for m in members:
            m.stop()
        for proc, _ in ams:
            proc.stop()
        sink.close()


def firing(sink, name: str, **labels: str) -> list[dict]:
    return sink.notifications("firing", alertname=name, **labels)


def resolved(sink, name: str, **labels: str) -> list[dict]:
    return sink.notifications("resolved", alertname=name, **labels)


def test_fleet_one_notification_per_network_event_and_per_node(fleet):
    sink, ams, sims, members = fleet

    def step(blocks: int = 0, interval: float = 600, minutes: float = 0, fee_rate: float = 2.0):
        """The same network event on every simulated node, then every daemon polls."""
        for sim in sims:
            if blocks:
                sim.mine(blocks, interval=interval)
            elif minutes:
                sim.clock.advance(minutes * 60)
            for _ in range(40):
                sim.mempool.add_tx(vsize=250, fee_sat=int(250 * fee_rate))
        for m in members:
            m.run_jobs()

    # 1. A slow end of epoch: the retarget drops difficulty on every node.
    retarget = (sims[0].rpc("getblockcount") // EPOCH + 1) * EPOCH
    step()
    while sims[0].rpc("getblockcount") < retarget:
        step(blocks=1, interval=3000)
    for name in ("difficulty_drop", "difficulty_drop_critical"):
        wait_for(lambda n=name: firing(sink, n, network="main"), what=f"{name} notified")
    # every daemon delivered its copy (so Alertmanager merged four, it did not just get one)
    wait_for(lambda: all(m.outbox_empty() for m in members), what="all outboxes delivered")

    # 2. One Alertmanager peer dies (SIGKILL); a day of calm fees builds the 24 h baseline.
    ams[0][0].kill()
    for _ in range(30):
        step(blocks=1, interval=3000)

    # 3. Fee spike on every node: 1.5 MvB paying 60 sat/vB; `for: 5m` then fires.
    for sim in sims:
        for _ in range(6000):
            sim.mempool.add_tx(vsize=250, fee_sat=250 * 60)
    step(minutes=1)
    step(minutes=6)
    wait_for(lambda: firing(sink, "fee_spike", network="main"), what="fee_spike notified")

    # 4. Daemon b is restarted while the spike fires: it re-sends what fires, nothing new.
    members[2].stop()
    members[2].start()
    step(minutes=1)
    wait_for(lambda: members[2].outbox_empty(), what="restarted daemon's re-sends delivered")

    # 5. Blocks clear the spike: one resolve for the whole fleet.
    for _ in range(4):
        step(blocks=1, interval=600)
    step(minutes=6)
    wait_for(lambda: resolved(sink, "fee_spike", network="main"), what="fee_spike resolved")

    # 6. Node health: n3 (site c) and n1 (site a, watched by the HA pair) stop answering.
    for sim in (sims[2], sims[0]):
        sim.stop_server()
    for _ in range(2):  # node_down has `for: 2m`
        for sim in (sims[2], sims[0]):
            sim.clock.advance(150)
        for m in members:
            m.run_jobs("chain")
    wait_for(lambda: firing(sink, "node_down", site="c", node="n3"), what="n3 down notified")
    wait_for(lambda: firing(sink, "node_down", site="a", node="n1"), what="n1 down notified")
    wait_for(lambda: all(m.outbox_empty() for m in members), what="all outboxes delivered")

    # Exactly one notification per event: merged across daemons, deduplicated across peers.
    for name in NETWORK_EVENTS:
        (note,) = firing(sink, name)
        assert note["groupLabels"] == {"alertname": name, "network": "main"}
        (alert,) = note["alerts"]  # four daemons' alerts merged into one
        assert "node" not in alert["labels"] and "site" not in alert["labels"]
    assert len(resolved(sink, "fee_spike")) == 1
    assert not resolved(sink, "difficulty_drop")  # still firing: no retarget raised it yet
    for site, node in (("c", "n3"), ("a", "n1")):
        (note,) = firing(sink, "node_down", site=site, node=node)
        (alert,) = note["alerts"]
        assert alert["labels"]["node"] == node and alert["labels"]["site"] == site
    assert len(firing(sink, "node_down")) == 2  # n2 is up: nothing for it
