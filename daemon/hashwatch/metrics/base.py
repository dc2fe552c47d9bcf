"""Base node metrics rendered from the snapshot (never from the node).

Node values are exported only while the node is up: when it is down, ``hashwatch_node_up`` is 0
and the value series are absent, so Grafana shows a gap instead of a false drop to zero.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.metrics_core import Metric

from .. import __version__
from ..snapshot.store import NodeStatus, Snapshot
from . import catalog

# (metric name in the catalog, NodeStatus attribute)
_GAUGES: tuple[tuple[str, str], ...] = (
    ("node_blocks", "blocks"),
    ("node_headers", "headers"),
    ("node_verification_progress_ratio", "verification_progress"),
    ("node_best_block_time_seconds", "best_block_time"),
    ("node_difficulty", "difficulty"),
    ("node_peers", "connections"),
    ("node_peers_inbound", "connections_in"),
    ("node_peers_outbound", "connections_out"),
    ("node_uptime_seconds", "uptime_seconds"),
    ("node_size_on_disk_bytes", "size_on_disk_bytes"),
    ("mempool_transactions", "mempool_tx_count"),
    ("mempool_vsize_bytes", "mempool_vsize_bytes"),
    ("mempool_usage_bytes", "mempool_usage_bytes"),
    ("mempool_max_bytes", "mempool_max_bytes"),
    ("mempool_min_fee_sat_per_vbyte", "mempool_min_fee_sat_per_vb"),
    ("mempool_total_fee_sat", "mempool_total_fee_sat"),
)


def render(snapshot: Snapshot) -> Iterator[Metric]:
    now = snapshot.taken_at
    up = catalog.gauge("node_up")
    last_ok = catalog.gauge("node_last_status_time_seconds")
    errors = catalog.gauge("node_last_error_info")
    info = catalog.info("node")
    ibd = catalog.gauge("node_initial_block_download")
    age = catalog.gauge("node_best_block_age_seconds")
    sent = catalog.counter("node_network_sent_bytes")
    received = catalog.counter("node_network_received_bytes")
    families = {name: catalog.gauge(name) for name, _ in _GAUGES}
    section_age = catalog.gauge("section_age_seconds")
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
        for metric, attr in _GAUGES:
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
    build = catalog.info("build", value={"version": __version__})
    yield build
