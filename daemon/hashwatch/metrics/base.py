"""Base node metrics rendered from the snapshot (never from the node).

Node values are exported only while the node is up: when it is down, ``hashwatch_node_up`` is 0
and the value series are absent, so Grafana shows a gap instead of a false drop to zero.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily, InfoMetricFamily
from prometheus_client.metrics_core import Metric

from .. import __version__
from ..snapshot.store import NodeStatus, Snapshot
from . import PREFIX, gauge

_GAUGES: tuple[tuple[str, str, str], ...] = (
    ("node_blocks", "blocks", "Height of the node's best validated block."),
    ("node_headers", "headers", "Height of the best header the node knows."),
    (
        "node_verification_progress_ratio",
        "verification_progress",
        "Estimated fraction of the chain verified (0..1).",
    ),
    (
        "node_best_block_time_seconds",
        "best_block_time",
        "Header time of the best block, unix seconds.",
    ),
    ("node_difficulty", "difficulty", "Current proof-of-work difficulty (dimensionless)."),
    ("node_peers", "connections", "Connected peers (inbound + outbound)."),
    ("node_peers_inbound", "connections_in", "Inbound peer connections."),
    ("node_peers_outbound", "connections_out", "Outbound peer connections."),
    ("node_uptime_seconds", "uptime_seconds", "Seconds since bitcoind started."),
    ("node_size_on_disk_bytes", "size_on_disk_bytes", "Block and undo files on disk, bytes."),
    ("mempool_transactions", "mempool_tx_count", "Transactions in the node's mempool."),
    (
        "mempool_vsize_bytes",
        "mempool_vsize_bytes",
        "Sum of virtual sizes of mempool transactions, vbytes.",
    ),
    ("mempool_usage_bytes", "mempool_usage_bytes", "Memory the mempool uses, bytes."),
    ("mempool_max_bytes", "mempool_max_bytes", "Configured maximum mempool memory, bytes."),
    (
        "mempool_min_fee_sat_per_vbyte",
        "mempool_min_fee_sat_per_vb",
        "Minimum fee rate to enter the mempool now, sat/vB.",
    ),
    (
        "mempool_total_fee_sat",
        "mempool_total_fee_sat",
        "Total fees of all mempool transactions, satoshis.",
    ),
)


def render(snapshot: Snapshot) -> Iterator[Metric]:
    now = snapshot.taken_at
    up = gauge("node_up", "1 if the last poll of the node succeeded, 0 if it failed.")
    last_ok = gauge(
        "node_last_status_time_seconds",
        "When the node's status was last read successfully, unix seconds (staleness).",
    )
    errors = gauge(
        "node_last_error_info",
        "1 for the kind of the last failed poll while the node is down.",
        ["node", "kind"],
    )
    info = InfoMetricFamily(PREFIX + "node", "Node identity: chain and version.", labels=["node"])
    ibd = gauge("node_initial_block_download", "1 while the node is in initial block download.")
    age = gauge(
        "node_best_block_age_seconds",
        "Seconds since the best block's header time (as of the scrape's snapshot).",
    )
    sent = CounterMetricFamily(
        PREFIX + "node_network_sent_bytes", "Bytes the node sent to peers.", labels=["node"]
    )
    received = CounterMetricFamily(
        PREFIX + "node_network_received_bytes",
        "Bytes the node received from peers.",
        labels=["node"],
    )
    families = {name: gauge(name, doc) for name, _, doc in _GAUGES}
    section_age = gauge(
        "section_age_seconds",
        "Seconds since each indicator section was last computed.",
        ["node", "section"],
    )
    for name, node in sorted(snapshot.nodes.items()):
        up.add_metric([name], 1.0 if node.up else 0.0)
        if node.status_time is not None:
            last_ok.add_metric([name], node.status_time)
        if not node.up and node.last_error_kind:
            errors.add_metric([name, node.last_error_kind], 1.0)
        for section, t in sorted(node.section_times.items()):
            section_age.add_metric([name, section], max(0.0, now - t))
        status: NodeStatus | None = node.status
        if not node.up or status is None:
            continue
        info.add_metric(
            [name],
            {
                "chain": status.chain,
                "version": str(status.version),
                "subversion": status.subversion,
            },
        )
        ibd.add_metric([name], 1.0 if status.initial_block_download else 0.0)
        age.add_metric([name], max(0.0, now - status.best_block_time))
        sent.add_metric([name], float(status.network_sent_bytes))
        received.add_metric([name], float(status.network_received_bytes))
        for metric, attr, _ in _GAUGES:
            families[metric].add_metric([name], float(getattr(status, attr)))
    yield up
    yield last_ok
    yield errors
    yield info
    yield ibd
    yield age
    yield sent
    yield received
    yield from families.values()
    yield section_age
    build = InfoMetricFamily(PREFIX + "build", "hashwatch version.", value={"version": __version__})
    yield build
