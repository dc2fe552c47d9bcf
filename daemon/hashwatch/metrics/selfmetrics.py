"""The daemon's own live metrics: RPC latency and errors, job runs, failures and durations.

Why not in the snapshot: these are counters and histograms that grow with every call, updated
from the node client's observer hook and the scheduler; prometheus-client's own types fit them.
The registry is passed in (tests use a fresh ``CollectorRegistry()``).
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, disable_created_metrics

from ..node.rpc import Observer
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
