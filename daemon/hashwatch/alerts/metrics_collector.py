"""Prometheus metrics of the alerting itself (not in the snapshot, so a second collector).

Register next to the snapshot collector: ``registry.register(AlertsCollector(service))``.
Counters come from the SQLite ``counters`` table, so they survive restarts (monotonic).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from .store import StoreError

if TYPE_CHECKING:
    from .service import AlertService

P = "hashwatch_alerts_"


def alert_metrics(service: AlertService) -> Iterator[Metric]:
    now = service.clock()
    labels = ["node", "rule", "severity"]
    firing = GaugeMetricFamily(P + "firing", "Alert instances firing, by rule.", labels=labels)
    pending = GaugeMetricFamily(
        P + "pending", "Alert instances pending (waiting out `for`).", labels=labels
    )
    counts: Counter[tuple[str, str, str]] = Counter()
    for s in service.active():
        counts[(s.state, s.node, s.rule)] += 1
    # One series per rule and node; node="" (network-wide values) only for a rule that has a
    # network-wide instance, so a per-node rule is never exported twice (node="x" and node="").
    global_rules = {rule for (_, node, rule) in counts if node == ""}
    for rule in service.rules:
        nodes = service.node_names + ([""] if rule.name in global_rules else [])
        for node in nodes:
            key = (node, rule.name, rule.severity)
            firing.add_metric(list(key), counts[("firing", node, rule.name)])
            pending.add_metric(list(key), counts[("pending", node, rule.name)])
    yield firing
    yield pending
    store_errors = CounterMetricFamily(
        P + "store_errors", "Alert store write failures since start, by kind.", labels=["kind"]
    )
    for kind, n in sorted(service.store_errors.items()):
        store_errors.add_metric([kind], n)
    try:
        counters = service.store.counters()
        depth = service.store.outbox_depth()
    except StoreError as exc:
        store_errors.add_metric([exc.kind], service.store_errors[exc.kind])
        yield store_errors
        return
    yield store_errors
    sent = CounterMetricFamily(
        P + "notifications_sent", "Notifications delivered, by channel.", labels=["channel"]
    )
    failed = CounterMetricFamily(
        P + "notifications_failed",
        "Failed delivery attempts, by channel and reason.",
        labels=["channel", "reason"],
    )
    dropped = CounterMetricFamily(
        P + "notifications_dropped",
        "Notifications given up after the retry budget or a permanent "
        "error, by channel and reason.",
        labels=["channel", "reason"],
    )
    sent_channels = {ch for name, ch, _, _ in counters if name == "sent"}
    for name, channel, reason, value in counters:
        if name == "sent":
            sent.add_metric([channel], value)
        elif name == "failed":
            failed.add_metric([channel, reason], value)
        elif name == "dead":
            dropped.add_metric([channel, reason], value)
    for ch in sorted(set(service.notifiers) - sent_channels):
        sent.add_metric([ch], 0)
    yield sent
    yield failed
    yield dropped
    outbox = GaugeMetricFamily(
        P + "outbox_notifications",
        "Notifications in the outbox not yet delivered, by channel.",
        labels=["channel"],
    )
    oldest = GaugeMetricFamily(
        P + "outbox_oldest_age_seconds",
        "Age of the oldest undelivered notification, by channel.",
        labels=["channel"],
    )
    for ch in sorted(set(service.notifiers) | set(depth)):
        n, first = depth.get(ch, (0, None))
        outbox.add_metric([ch], n)
        if first is not None:
            oldest.add_metric([ch], max(0.0, now - first))
    yield outbox
    yield oldest


class AlertsCollector(Collector):
    def __init__(self, service: AlertService):
        self._service = service

    def collect(self) -> Iterator[Metric]:
        return self._service.metrics()
