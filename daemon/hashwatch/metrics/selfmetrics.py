"""The daemon's own live metrics: RPC latency and errors, job runs, failures and durations.

Why not in the snapshot: these are counters and histograms that grow with every call, updated
from the node client's observer hook and the scheduler; prometheus-client's own types fit them.
The registry is passed in (tests use a fresh ``CollectorRegistry()``).
"""

from __future__ import annotations

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
)

from ..node.rpc import Observer
from . import PREFIX

# Few buckets on purpose: every bucket is one sample per (node, method) or (node, job) in each
# scrape, and rendering them was a third of a scrape's time (the dashboards only take a p95).
_RPC_BUCKETS = (0.0025, 0.01, 0.025, 0.1, 0.25, 1, 5, 30)  # loopback calls .. a 300k listing
_JOB_BUCKETS = (0.01, 0.05, 0.1, 0.25, 1, 2.5, 10, 60)  # a quick job .. a long backfill


class DaemonMetrics:
    def __init__(self, registry: CollectorRegistry):
        # ``*_created`` series double every counter and histogram in each scrape and no
        # dashboard or rule reads them (the scrape-cost benchmark P3 counts every line).
        disable_created_metrics()
        self.rpc_duration = Histogram(
            PREFIX + "rpc_duration_seconds",
            "Time for one RPC round trip (a batch counts once), by method, seconds.",
            ["node", "method"],
            buckets=_RPC_BUCKETS,
            registry=registry,
        )
        self.rpc_errors = Counter(
            PREFIX + "rpc_errors",
            "Failed RPC calls by error kind (unavailable, timeout, auth, warmup, rpc, protocol).",
            ["node", "kind"],
            registry=registry,
        )
        self.rpc_sent = Counter(
            PREFIX + "rpc_sent_bytes",
            "Request body bytes sent to the node.",
            ["node"],
            registry=registry,
        )
        self.rpc_received = Counter(
            PREFIX + "rpc_received_bytes",
            "Response body bytes received from the node.",
            ["node"],
            registry=registry,
        )
        self.job_runs = Counter(
            PREFIX + "job_runs", "Collector job runs.", ["node", "job"], registry=registry
        )
        self.job_failures = Counter(
            PREFIX + "job_failures",
            "Collector job runs that failed.",
            ["node", "job"],
            registry=registry,
        )
        self.job_duration = Histogram(
            PREFIX + "job_duration_seconds",
            "Duration of one collector job run (the poll duration), seconds.",
            ["node", "job"],
            buckets=_JOB_BUCKETS,
            registry=registry,
        )
        self.last_success = Gauge(
            PREFIX + "last_success_time_seconds",
            "When each collector job last succeeded, unix seconds.",
            ["node", "job"],
            registry=registry,
        )

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
