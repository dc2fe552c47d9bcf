"""``hashwatch status`` and ``hashwatch backfill``: run the collectors once and print a table.

Why a one-shot path: operators want to see what hashwatch sees right now (and why a value is
missing) without setting up Prometheus. It uses the same jobs as the daemon, in order.
"""

from __future__ import annotations

import datetime as dt
import sys
import time
from collections.abc import Callable, Iterable
from typing import TextIO

from .. import features
from ..config import Config
from ..daemon import Daemon
from ..safetext import safe_text
from ..snapshot.store import NodeSnapshot, NodeStatus, Snapshot
from .difficulty import format_age, format_difficulty


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
        ("best block", f"{_fmt_time(s.best_block_time)} ({format_age(now - s.best_block_time)})"),
        ("initial block download", "yes" if s.initial_block_download else "no"),
        ("verification progress", f"{s.verification_progress * 100:.2f} %"),
        ("difficulty", format_difficulty(s.difficulty)),
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
    """(feature, label, value) rows from each feature's ``status`` module (the registry)."""
    for feature, rows in features.status_rows():
        for label, value in rows(node, snapshot):
            yield feature, label, value


def render_status(
    snapshot: Snapshot, now: float, skipped: dict[str, tuple[str, list[str]]] | None = None
) -> str:
    lines: list[str] = []
    for name, node in sorted(snapshot.nodes.items()):
        lines.append(f"node {name}")
        rows = [("base", label, value) for label, value in base_rows(node, now)]
        if skipped and name in skipped:
            why, jobs = skipped[name]
            rows.append(("base", "skipped", f"{', '.join(jobs)}: {why}"))
        if node.up:
            rows.extend(feature_rows(node, snapshot))
        width = max((len(label) for _, label, _ in rows), default=10)
        section = None
        for feature, label, value in rows:
            if feature != section:
                section = feature
                if feature != "base":
                    lines.append(f"  [{feature}]")
            lines.append(f"  {label:<{width}}  {safe_text(value, 1000)}")  # node text: no ESC
        lines.append("")
    return "\n".join(lines)


# A node that failed like this will very likely fail the next call the same way, after the same
# wait: a frozen node would cost one full timeout per remaining job.
_GIVE_UP_KINDS = ("timeout", "unavailable")


def _run_jobs_once(daemon: Daemon) -> dict[str, tuple[str, list[str]]]:
    """Run every job once; after a node times out or is unreachable, skip its other jobs.

    Returns node -> (why, skipped job names) for the output.
    """
    skipped: dict[str, tuple[str, list[str]]] = {}
    for spec in daemon.jobs:
        node = spec.node
        if node is not None and node in skipped:
            skipped[node][1].append(spec.name)
            continue
        daemon.run_job_now(spec.name, node)
        if node is None:
            continue
        client = daemon.clients.get(node)
        if client is not None and client.last_error_kind in _GIVE_UP_KINDS:
            why = f"not run: the node failed ({client.last_error_kind}) during {spec.name}"
            skipped[node] = (why, [])
    return {n: v for n, v in skipped.items() if v[1]}


def run_status(config: Config, out: TextIO, clock: Callable[[], float] = time.time) -> int:
    daemon = Daemon(config, serve_metrics=False, alerts=False, clock=clock)
    try:
        skipped = _run_jobs_once(daemon)
        snapshot = daemon.store.current()
        out.write(render_status(snapshot, daemon.clock(), skipped))
        out.flush()
        return 0 if all(n.up for n in snapshot.nodes.values()) else 1
    finally:
        daemon.stop()


def run_backfill(config: Config, clock: Callable[[], float] = time.time) -> int:
    """Headers (with their progress bar), then the recent blocks window, to completion.

    The daemon's ``blocks`` job fetches at most a slice per run so a first start never stalls
    the other jobs; here the slices are run back to back until the window is full.
    """
    daemon = Daemon(
        config,
        serve_metrics=False,
        alerts=False,
        clock=clock,
        job_modules=("chain", "headers", "blocks"),
    )
    try:
        _run_jobs_once(daemon)
        for name, node in daemon.store.current().nodes.items():
            if node.up:
                _fill_blocks(daemon, name)
        return 0 if all(n.up for n in daemon.store.current().nodes.values()) else 1
    finally:
        daemon.stop()


def _blocks_held(daemon: Daemon, node: str) -> int:
    section = daemon.store.current().nodes[node].blocks
    return len(section.blocks) if section is not None else 0


def _fill_blocks(daemon: Daemon, node: str) -> None:
    status = daemon.store.current().nodes[node].status
    want = min(daemon.config.fees.block_window, (status.blocks + 1) if status else 0)
    held = _blocks_held(daemon, node)
    while held < want:
        print(f"{node}: blocks {held}/{want}", file=sys.stderr, flush=True)
        daemon.run_job_now("blocks", node)
        now_held = _blocks_held(daemon, node)
        if now_held <= held:  # the node cannot serve more (pruned) or the job failed
            break
        held = now_held
    print(f"{node}: blocks {held}/{want} done", file=sys.stderr, flush=True)
