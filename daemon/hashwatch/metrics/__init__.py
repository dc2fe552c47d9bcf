"""Prometheus exposition: a custom collector that renders the latest snapshot.

Why: a scrape must never call the node (exporters that do block for 30+ s when the node is
down). Each feature has a renderer module with ``render(snapshot) -> Iterable[Metric]``; the
collector chains them. A renderer that raises never fails the scrape: it shows up in
``hashwatch_renderer_success{renderer}`` instead.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Sequence

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from ..snapshot.store import NodeSnapshot, Snapshot

PREFIX = "hashwatch_"  # = catalog.PREFIX (not imported here: `python -m ...catalog` runs it)
Renderer = Callable[[Snapshot], Iterable[Metric]]

log = logging.getLogger("hashwatch.metrics")


def default_renderers() -> list[tuple[str, Renderer]]:
    """Every feature's renderer, in a stable order (the registry in ``hashwatch.features``).

    Imported here, not at the top: the registry imports the renderer modules, which import this
    package.
    """
    from ..features import renderers

    return renderers()


class SnapshotCollector(Collector):
    """Renders ``get_snapshot()`` through every renderer on each scrape."""

    def __init__(
        self,
        get_snapshot: Callable[[], Snapshot],
        renderers: Sequence[tuple[str, Renderer]] | None = None,
    ):
        self._get_snapshot = get_snapshot
        self._renderers = list(renderers) if renderers is not None else default_renderers()

    def collect(self) -> Iterator[Metric]:
        snapshot = self._get_snapshot()
        from . import catalog

        success = catalog.gauge("renderer_success")
        for name, render in self._renderers:
            try:
                families = list(render(snapshot))
            except Exception:  # noqa: BLE001 - a broken renderer must not fail the scrape
                log.exception("event=render_failed renderer=%s", name)
                success.add_metric([name], 0.0)
                continue
            success.add_metric([name], 1.0)
            yield from families
        yield success


def gauge(
    name: str, documentation: str | None = None, labels: Sequence[str] | None = None
) -> GaugeMetricFamily:
    """The gauge family ``name`` from the metric catalog (HELP and labels live there).

    ``documentation``/``labels`` only serve a metric not yet in the catalog; the catalog test
    fails until it is added there.
    """
    from . import catalog

    if name in catalog.CATALOG or documentation is None:
        return catalog.gauge(name)
    return catalog.CappedGauge(PREFIX + name, documentation, labels=list(labels or ("node",)))


def nodes_up(snapshot: Snapshot) -> Iterator[tuple[str, NodeSnapshot]]:
    """(node name, node snapshot) for nodes whose last base poll succeeded.

    Node-derived values are exported only while the node is up: absent, not stale or zero.
    """
    for name, node in sorted(snapshot.nodes.items()):
        if node.up:
            yield name, node
