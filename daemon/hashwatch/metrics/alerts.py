"""Alert metrics are not part of the snapshot: they live in ``AlertService`` (state in memory,
counters in SQLite). They are exported by ``hashwatch.alerts.metrics_collector.AlertsCollector``,
registered next to the snapshot collector; this renderer deliberately yields nothing so the
snapshot collector's renderer list stays uniform.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.metrics_core import Metric

from ..snapshot.store import Snapshot


def render(snapshot: Snapshot) -> Iterator[Metric]:
    return iter(())
