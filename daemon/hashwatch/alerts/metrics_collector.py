"""Prometheus metrics of the alerting itself (not in the snapshot, so a second collector).

Register next to the snapshot collector: ``registry.register(AlertsCollector(service))``.
Counters come from the SQLite ``counters`` table, so they survive restarts (monotonic).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, Protocol

from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from ..metrics import catalog
from .rules import Rule
from .state import AlertState
from .store import AlertStore, StoreError


class AlertSource(Protocol):
    """What the alert metrics read (the service offers it; this module does not import the
    service, so the service can import this one: no cycle)."""

    @property
    def clock(self) -> Callable[[], float]: ...
    @property
    def rules(self) -> Sequence[Rule]: ...
    @property
    def node_names(self) -> Sequence[str]: ...
    @property
    def store_errors(self) -> Mapping[str, int]: ...
    @property
    def store(self) -> AlertStore: ...
    @property
    def notifiers(self) -> Mapping[str, Any]: ...

    def active(self) -> list[AlertState]: ...

    def metrics(self) -> Iterator[Metric]: ...


def alert_metrics(service: AlertSource) -> Iterator[Metric]:
    now = service.clock()
    firing = catalog.gauge("alerts_firing")
    pending = catalog.gauge("alerts_pending")
    counts: Counter[tuple[str, str, str]] = Counter()
    for s in service.active():
        counts[(s.state, s.node, s.rule)] += 1
    for rule in service.rules:
        # One series per instance identity a rule can have: node="" for a network-wide rule,
        # one per node otherwise (and any identity that really has an active instance, e.g. a
        # network rule evaluated per node while the node's network was unknown), so a rule is
        # never exported twice with a zero twin.
        base = [""] if rule.scope == "network" else list(service.node_names)
        extra = sorted({node for (_, node, name) in counts if name == rule.name} - set(base))
        nodes = base + extra
        for node in nodes:
            key = (node, rule.name, rule.severity)
            firing.add_metric(list(key), counts[("firing", node, rule.name)])
            pending.add_metric(list(key), counts[("pending", node, rule.name)])
    yield firing
    yield pending
    store_errors = catalog.counter("alerts_store_errors")
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
    sent = catalog.counter("alerts_notifications_sent")
    failed = catalog.counter("alerts_notifications_failed")
    dropped = catalog.counter("alerts_notifications_dropped")
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
    members = catalog.counter("alerts_alertmanager_requests_failed")
    for name, n in sorted(service.notifiers.items()):
        for (target, reason), value in sorted(getattr(n, "failures", {}).items()):
            members.add_metric([name, target, reason], value)
    yield members
    outbox = catalog.gauge("alerts_outbox_notifications")
    oldest = catalog.gauge("alerts_outbox_oldest_age_seconds")
    for ch in sorted(set(service.notifiers) | set(depth)):
        n, first = depth.get(ch, (0, None))
        outbox.add_metric([ch], n)
        if first is not None:
            oldest.add_metric([ch], max(0.0, now - first))
    yield outbox
    yield oldest


class AlertsCollector(Collector):
    def __init__(self, service: AlertSource):
        self._service = service

    def collect(self) -> Iterator[Metric]:
        return self._service.metrics()
