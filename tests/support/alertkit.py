"""The alert tests' kit: synthetic snapshots, config builders, services and a Slack stand-in.

Why one kit: the unit-level alert tests (engine, delivery, service) and the fault matrix
(Slack/SMTP failures, SQLite trouble, SIGKILL) build the same things: a snapshot offering
chosen indicator values, an alerts config with one rule and one channel, and a receiver.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

from hashwatch.alerts.service import AlertService
from hashwatch.config import Config
from hashwatch.snapshot.store import IndicatorValue, NodeSnapshot, NodeStatus, Snapshot

from .clock import T0, FakeClock
from .httpsink import RecordingServer

__all__ = ["T0", "FakeClock"]  # re-exported: every alert test needs a clock with its snapshots

SLACK_TOKEN_PATH = "/services/T0HASHW/B0FAULT/s3cretSlackT0ken42"
SMTP_PASSWORD = "smtp-Pa55-for-faults"
PROBE_RULES = """rules:
  - name: probe_high
    indicator: probe_value
    op: ">"
    threshold: 1
    severity: critical
    summary: "probe is {value:g}"
"""
HOT_RULES = (
    "rules:\n  - {name: hot, indicator: x, op: '>=', threshold: 10, summary: 'x is {value:g}'}\n"
)


# -- snapshots ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Section:
    """A snapshot section offering fixed values (shaped like docs/indicators.md)."""

    items: tuple[IndicatorValue, ...]

    def values(self) -> Iterator[IndicatorValue]:
        return iter(self.items)


def iv(name: str, value: float, **labels: str) -> IndicatorValue:
    return IndicatorValue(name, float(value), tuple(sorted(labels.items())))


def status(best_block_time: float, *, ibd: bool = False) -> NodeStatus:
    return NodeStatus(
        chain="main",
        blocks=925_400,
        headers=925_400,
        best_block_hash="00" * 32,
        best_block_time=best_block_time,
        median_time=best_block_time - 600,
        verification_progress=1.0,
        initial_block_download=ibd,
        difficulty=149.30e12,
        size_on_disk_bytes=1,
        pruned=False,
        version=300000,
        subversion="/Satoshi:30.0.0/",
        protocol_version=70016,
        connections=10,
        connections_in=0,
        connections_out=10,
        uptime_seconds=1000,
        mempool_tx_count=1000,
        mempool_vsize_bytes=1_000_000,
        mempool_usage_bytes=2_000_000,
        mempool_max_bytes=300_000_000,
        mempool_min_fee_sat_per_vb=1.0,
        mempool_total_fee_sat=10_000_000,
        network_received_bytes=0,
        network_sent_bytes=0,
    )


def snapshot(
    clock: FakeClock,
    *,
    node: str = "n1",
    up: bool = True,
    ibd: bool = False,
    block_age: float = 300.0,
    values: Iterable[IndicatorValue] = (),
) -> Snapshot:
    st = status(clock() - block_age, ibd=ibd) if up else None
    sections = {"test": Section(tuple(values))} if up else {}
    ns = NodeSnapshot(
        node=node, up=up, status=st, status_time=clock(), sections=MappingProxyType(sections)
    )
    return Snapshot(nodes=MappingProxyType({node: ns}), taken_at=clock())


def probe_snapshot(value: float, node: str = "sim") -> Snapshot:
    """A wall-clock snapshot whose only value is ``probe_value`` (the fault matrix's rule)."""
    section = Section((IndicatorValue("probe_value", value, ()),))
    ns = NodeSnapshot(node=node, up=True, status=None, status_time=time.time(),
                      sections=MappingProxyType({"probe": section}))
    return Snapshot(nodes=MappingProxyType({node: ns}), taken_at=time.time())


# -- configs and services ----------------------------------------------------------------------


def config(tmp_path, node: str = "n1", **alerts: Any) -> Config:
    data = {
        "nodes": [{"name": node, "cookie_file": str(tmp_path / "cookie")}],
        "state_dir": str(tmp_path / "state"),
        "alerts": alerts,
    }
    return Config.model_validate(data)


def alerts_config(tmp_path: Path, channels: list[dict], description: str = "",
                  **delivery: Any) -> Config:
    """The fault matrix's config: node "sim", the probe rule only, fast backoff."""
    rules = tmp_path / "rules.yml"
    rules.write_text(PROBE_RULES + (f"    description: {description}\n" if description else ""))
    policy = {"backoff_initial_seconds": 0.05, "backoff_max_seconds": 0.2, **delivery}
    return config(tmp_path, node="sim", use_default_rules=False, rule_files=[str(rules)],
                  channels=channels, delivery=policy)


def make_service(config: Config) -> AlertService:
    return AlertService(config, Path(config.state_dir))


def webhook_service(state_dir: Path, url: str, fault=None) -> AlertService:
    """Rule ``hot`` (x >= 10) delivered to one webhook; state kept in ``state_dir``."""
    (state_dir / "rules.yml").write_text(HOT_RULES)
    cfg = config(
        state_dir,
        use_default_rules=False,
        rule_files=[str(state_dir / "rules.yml")],
        channels=[{"name": "hook", "type": "webhook", "url": url}],
    )
    return AlertService(cfg, state_dir, fault=fault)


def slack_stand_in(script: list[Any] | None = None) -> RecordingServer:
    """A Slack webhook behind a secret token path, answering ``script`` then 200 "ok"."""
    return RecordingServer(script, path=SLACK_TOKEN_PATH).start()
