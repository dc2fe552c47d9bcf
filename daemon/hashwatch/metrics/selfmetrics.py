"""The daemon's own live metrics: RPC latency and errors, job runs, failures and durations.

Why not in the snapshot: these are counters and histograms that grow with every call, updated
from the node client's observer hook and the scheduler; prometheus-client's own types fit them.
The registry is passed in (tests use a fresh ``CollectorRegistry()``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from prometheus_client import CollectorRegistry, disable_created_metrics
from prometheus_client.core import Metric
from prometheus_client.registry import Collector

from ..node.rpc import NodeClient, Observer
from . import catalog

# Few buckets on purpose: every bucket is one sample per (node, method) or (node, job) in each
# scrape, and rendering them was a third of a scrape's time (the dashboards only take a p95).
_RPC_BUCKETS = (0.0025, 0.01, 0.025, 0.1, 0.25, 1, 5, 30)  # loopback calls .. a 300k listing
_JOB_BUCKETS = (0.01, 0.05, 0.1, 0.25, 1, 2.5, 10, 60)  # a quick job .. a long backfill


class DaemonMetrics:
    def __init__(self, registry: CollectorRegistry):
        # ``*_created`` series double every counter and histogram in each scrape and no
        # dashboard or rule reads them (the scrape-cost benchmark P3 counts every line).
        disable_created_metrics()
        self.rpc_duration = catalog.live("rpc_duration_seconds", registry, buckets=_RPC_BUCKETS)
        self.rpc_errors = catalog.live("rpc_errors", registry)
        self.rpc_sent = catalog.live("rpc_sent_bytes", registry)
        self.rpc_received = catalog.live("rpc_received_bytes", registry)
        self.job_runs = catalog.live("job_runs", registry)
        self.job_failures = catalog.live("job_failures", registry)
        self.job_duration = catalog.live("job_duration_seconds", registry, buckets=_JOB_BUCKETS)
        self.last_success = catalog.live("last_success_time_seconds", registry)

        self._registry = registry

    def watch_clients(self, clients: Mapping[str, NodeClient]) -> None:
        """Export each client's connection health (reconnects, ZMQ stream, mempool resyncs)."""
        self._registry.register(NodeHealthCollector(clients))

    def rpc_observer(self, node: str) -> Observer:
        """The hook :class:`~hashwatch.node.rpc.NodeClient` calls after every round trip."""

        def observe(
            method: str, seconds: float | None, error_kind: str | None, sent: int, received: int
        ) -> None:
            if seconds is not None:
                self.rpc_duration.labels(node, method).observe(seconds)
            if error_kind:
                self.rpc_errors.labels(node, error_kind).inc()
            if sent:
                self.rpc_sent.labels(node).inc(sent)
            if received:
                self.rpc_received.labels(node).inc(received)

        return observe


class NodeHealthCollector(Collector):
    """Reads :class:`~hashwatch.node.health.NodeHealth` and the clients' reconnect counts.

    Why a collector: the counts live in the node layer (updated by the ZMQ listener thread and
    the mempool job without touching prometheus-client), and are read only at scrape time.
    ZMQ series exist only for nodes with a ZMQ listener.
    """

    def __init__(self, clients: Mapping[str, NodeClient]):
        self.clients = clients

    def describe(self) -> Iterator[Metric]:
        return iter(())  # unchecked: series appear with the nodes

    def collect(self) -> Iterator[Metric]:
        reconnects = catalog.counter("rpc_reconnects")
        messages = catalog.counter("zmq_messages_received")
        gaps = catalog.counter("zmq_sequence_gaps")
        last = catalog.gauge("zmq_last_message_time_seconds")
        resyncs = catalog.counter("mempool_resyncs")
        seq_gaps = catalog.counter("mempool_sequence_gaps")
        for name, client in sorted(self.clients.items()):
            for reason in ("idle", "stale"):
                reconnects.add_metric([name, reason], client.reconnects[reason])
            health = client.health
            for reason, n in sorted(health.mempool_resyncs.items()):
                resyncs.add_metric([name, reason], n)
            if not health.zmq_topics:
                continue
            seq_gaps.add_metric([name], health.mempool_sequence_gaps)
            topics = sorted(set(health.zmq_topics) | set(health.zmq_messages))
            for topic in topics:
                messages.add_metric([name, topic], health.zmq_messages[topic])
                gaps.add_metric([name, topic], health.zmq_gaps[topic])
                at = health.zmq_last_message_time.get(topic)
                if at is not None:
                    last.add_metric([name, topic], at)
        yield from (reconnects, messages, gaps, last, resyncs, seq_gaps)
