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

from ..safetext import cap_label
from ..snapshot.store import Snapshot

PREFIX = "hashwatch_"
Renderer = Callable[[Snapshot], Iterable[Metric]]

log = logging.getLogger("hashwatch.metrics")


def default_renderers() -> list[tuple[str, Renderer]]:
    """Every feature's renderer, in a stable order. Imported lazily to keep modules apart."""
    from . import base

    renderers: list[tuple[str, Renderer]] = [("base", base.render)]
    for name in ("difficulty", "fees", "economics", "pools", "alerts"):
        try:
            module = __import__(f"{__name__}.{name}", fromlist=["render"])
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}.{name}":
                raise
            continue
        renderers.append((name, module.render))
    return renderers


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
        success = GaugeMetricFamily(
            PREFIX + "renderer_success",
            "1 if the renderer produced its metrics on this scrape, 0 if it failed.",
            labels=["renderer"],
        )
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


class _CappedGauge(GaugeMetricFamily):
    """Label values can come from outside (pool names, tags): capped, kept distinct."""

    def add_metric(self, labels: Sequence[str], value: float, timestamp: float | None = None
                   ) -> None:
        super().add_metric([cap_label(str(v)) for v in labels], value, timestamp)


def gauge(name: str, documentation: str, labels: Sequence[str] = ("node",)) -> GaugeMetricFamily:
    """A gauge family with the project prefix; ``name`` must already carry its unit."""
    return _CappedGauge(PREFIX + name, documentation, labels=list(labels))


def nodes_up(snapshot: Snapshot) -> Iterator[tuple[str, object]]:
    """(node name, node snapshot) for nodes whose last base poll succeeded.

    Node-derived values are exported only while the node is up: absent, not stale or zero.
    """
    for name, node in sorted(snapshot.nodes.items()):
        if node.up:
            yield name, node
