"""``hashwatch status`` and ``hashwatch backfill``: run the collectors once and print a table.

Why a one-shot path: operators want to see what hashwatch sees right now (and why a value is
missing) without setting up Prometheus. It uses the same jobs as the daemon, in order.
"""

from __future__ import annotations

import datetime as dt
import importlib
import time
from collections.abc import Callable, Iterable
from typing import TextIO

from .config import Config
from .daemon import Daemon
from .snapshot import NodeSnapshot, NodeStatus, Snapshot

FEATURES = ("difficulty", "fees", "economics", "pools")


def _fmt_time(t: float) -> str:
    return dt.datetime.fromtimestamp(t, dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def base_rows(node: NodeSnapshot, now: float) -> list[tuple[str, str]]:
    if not node.up or node.status is None:
        return [("node", f"DOWN ({node.last_error_kind}): {node.last_error}")]
    s: NodeStatus = node.status
    rows = [
        ("chain", s.chain),
        ("version", f"{s.subversion} ({s.version})"),
        ("blocks / headers", f"{s.blocks:,} / {s.headers:,}"),
        ("best block", f"{_fmt_time(s.best_block_time)} ({now - s.best_block_time:,.0f} s ago)"),
        ("initial block download", "yes" if s.initial_block_download else "no"),
        ("verification progress", f"{s.verification_progress * 100:.2f} %"),
        ("difficulty", f"{s.difficulty:,.0f} ({s.difficulty / 1e12:.2f} T)"),
        ("peers", f"{s.connections} ({s.connections_in} in, {s.connections_out} out)"),
        (
            "mempool",
            f"{s.mempool_tx_count:,} tx, {s.mempool_vsize_bytes:,} vB, "
            f"min fee {s.mempool_min_fee_sat_per_vb:.2f} sat/vB",
        ),
        ("uptime", f"{s.uptime_seconds:,.0f} s"),
    ]
    if s.warnings:
        rows.append(("warnings", s.warnings))
    return rows


def feature_rows(node: NodeSnapshot, snapshot: Snapshot) -> Iterable[tuple[str, str, str]]:
    """(feature, label, value) rows from each feature's ``status`` module, if present."""
    for feature in FEATURES:
        try:
            module = importlib.import_module(f"{__package__}.status.{feature}")
        except ModuleNotFoundError:
            continue
        for label, value in module.rows(node, snapshot):
            yield feature, label, value


def render_status(snapshot: Snapshot, now: float) -> str:
    lines: list[str] = []
    for name, node in sorted(snapshot.nodes.items()):
        lines.append(f"node {name}")
        rows = [("base", label, value) for label, value in base_rows(node, now)]
        if node.up:
            rows.extend(feature_rows(node, snapshot))
        width = max((len(label) for _, label, _ in rows), default=10)
        section = None
        for feature, label, value in rows:
            if feature != section:
                section = feature
                if feature != "base":
                    lines.append(f"  [{feature}]")
            lines.append(f"  {label:<{width}}  {value}")
        lines.append("")
    return "\n".join(lines)


def _run_jobs_once(daemon: Daemon) -> None:
    for spec in daemon.jobs:
        daemon.run_job_now(spec.name, spec.node)


def run_status(config: Config, out: TextIO, clock: Callable[[], float] = time.time) -> int:
    daemon = Daemon(config, serve_metrics=False, alerts=False, clock=clock)
    try:
        _run_jobs_once(daemon)
        snapshot = daemon.store.current()
        out.write(render_status(snapshot, daemon.clock()))
        out.flush()
        return 0 if all(n.up for n in snapshot.nodes.values()) else 1
    finally:
        daemon.stop()


def run_backfill(config: Config, clock: Callable[[], float] = time.time) -> int:
    daemon = Daemon(
        config,
        serve_metrics=False,
        alerts=False,
        clock=clock,
        job_modules=("chain", "headers", "blocks"),
    )
    try:
        _run_jobs_once(daemon)
        return 0 if all(n.up for n in daemon.store.current().nodes.values()) else 1
    finally:
        daemon.stop()
