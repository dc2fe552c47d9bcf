"""Alerts end to end: a simulated difficulty drop and fee spike, delivered to Slack and email.

The daemon runs its real jobs against the simulator over HTTP; the simulated clock drives both
the chain and the alert engine (``for:`` times, the 24 h fee baseline). Slack is a local HTTP
server, email a real aiosmtpd server with STARTTLS and AUTH.
"""

from __future__ import annotations

import email
import json
from email import policy

import yaml

from hashwatch.alerts.rules import default_rules_path
from hashwatch.config import Config
from hashwatch.daemon import Daemon

from ..support.waiting import wait_for

TESTED = {"difficulty_drop", "difficulty_drop_critical", "fee_spike"}
JOBS = ("chain", "headers", "mempool")  # blocks (fee share, pools) are not needed here
EPOCH = 2016


def only_tested_rules(tmp_path):
    """A user rule file that switches off every default rule but the ones under test."""
    names = [r["name"] for r in yaml.safe_load(default_rules_path().read_text())["rules"]]
    path = tmp_path / "rules.yml"
    path.write_text(yaml.safe_dump(
        {"rules": [{"name": n, "enabled": False} for n in names if n not in TESTED]}
    ))
    return path


def make_config(sim, tmp_path, slack_url, smtp_port, cert) -> Config:
    return Config.model_validate({
        "nodes": [{"name": "n1", "url": sim.rpc_url, "cookie_file": str(sim.cookie_path)}],
        "state_dir": str(tmp_path / "state"),
        "fees": {"block_window": 144},
        "alerts": {
            "rule_files": [str(only_tested_rules(tmp_path))],
            "channels": [
                {"name": "ops-slack", "type": "slack", "webhook_url": slack_url},
                {"name": "ops-mail", "type": "email", "host": "127.0.0.1", "port": smtp_port,
                 "security": "starttls", "username": "miner", "password": "hunter2",
                 "from_address": "hashwatch@example.org", "to": ["ops@example.org"],
                 "ca_file": str(cert)},
            ],
            "delivery": {"backoff_initial_seconds": 0.05, "backoff_max_seconds": 0.2},
        },
    })


def slack_titles(server) -> list[str]:
    return [json.loads(r.body)["text"] for r in server.accepted]


def mail_subjects(sink) -> list[str]:
    out = []
    for envelope in sink.messages:
        msg = email.message_from_bytes(envelope.content, policy=policy.default)
        out.append(str(msg["Subject"]))
    return out


def retarget_change_percent(sim, height: int) -> float:
    new = float(sim.rpc("getblockheader", sim.rpc("getblockhash", height))["difficulty"])
    old = float(sim.rpc("getblockheader", sim.rpc("getblockhash", height - 1))["difficulty"])
    return (new / old - 1) * 100


def test_difficulty_drop_and_fee_spike_deliver_exact_messages_and_resolves(
    sim_factory, tmp_path, http_server, smtp_starttls, tls_files
):
    ctl, sink = smtp_starttls
    sim = sim_factory(start_height=925_300)
    retarget = (sim.rpc("getblockcount") // EPOCH + 1) * EPOCH
    daemon = Daemon(
        make_config(sim, tmp_path, http_server.url + "/services/T0/B0/secret", ctl.port,
                    tls_files.ca_cert),
        clock=sim.clock.now, serve_metrics=False,
    )
    daemon.alerts.start()

    def step(minutes: float = 0, blocks: int = 0, interval: float = 600, fee_rate: float = 2.0):
        """Let time pass on the simulated node, keep a low-fee mempool, run every job once."""
        if blocks:
            sim.mine(blocks, interval=interval)
        elif minutes:
            sim.clock.advance(minutes * 60)
        sim.mempool.add_random(40) if fee_rate is None else [
            sim.mempool.add_tx(vsize=250, fee_sat=int(250 * fee_rate)) for _ in range(40)
        ]
        for job in JOBS:
            daemon.run_job_now(job, "n1")

    try:
        # 1. A slow end of epoch (3000 s blocks) until the retarget: difficulty drops.
        step()
        while sim.rpc("getblockcount") < retarget:
            step(blocks=1, interval=3000)
        change = retarget_change_percent(sim, retarget)
        assert change <= -5, change
        # 2. A day of calm fees builds the engine's 24 h baseline (~2 sat/vB).
        for _ in range(30):
            step(blocks=1, interval=3000)
        # 3. Fee spike: 1.5 MvB paying 60 sat/vB tops the next block; `for: 5m` then fires.
        for _ in range(6000):
            sim.mempool.add_tx(vsize=250, fee_sat=250 * 60)
        step(minutes=1)
        step(minutes=6)
        wait_for(lambda: len(http_server.accepted) >= 3, what="3 firing messages on Slack")
        # 4. Blocks clear the spike: fee spike resolves.
        for _ in range(4):
            step(blocks=1, interval=600)
        step(minutes=6)
        # 5. A fast epoch (300 s blocks) raises difficulty at the next retarget: recovered.
        sim.mine(EPOCH - (sim.rpc("getblockcount") % EPOCH) - 1, interval=300)
        step(blocks=1, interval=300)
        rise = retarget_change_percent(sim, retarget + EPOCH)
        assert rise > 0, rise
        wait_for(lambda: len(http_server.accepted) >= 6, what="6 Slack messages in all")
        wait_for(lambda: len(sink.messages) >= 6, what="6 emails in all")
    finally:
        daemon.stop()

    fee_firing = [t for t in slack_titles(http_server) if t.startswith("[WARNING] Fee spike:")]
    assert len(fee_firing) == 1
    assert "60.0 sat/vB" in fee_firing[0]
    expected = [
        f"[WARNING] Difficulty dropped {change:.2f}% at the last retarget (n1)",
        f"[CRITICAL] Difficulty dropped {change:.2f}% at the last retarget (n1)",
        fee_firing[0],
    ]
    titles = slack_titles(http_server)
    assert sorted(titles[:2]) == sorted(expected[:2])
    assert titles[2] == expected[2]
    assert titles[3].startswith("[RESOLVED] Fee spike over: next-block median ")
    assert sorted(titles[4:]) == sorted([
        f"[RESOLVED] Difficulty recovered: {rise:+.2f}% at the last retarget (n1)",
        f"[RESOLVED] Difficulty recovered: {rise:+.2f}% at the last retarget (n1)",
    ])
    assert len(titles) == 6  # nothing twice, nothing else
    subjects = mail_subjects(sink)
    assert sorted(subjects) == sorted(f"[hashwatch] {t}" for t in titles)
