"""Immutable snapshots of what hashwatch knows, swapped in atomically after each poll.

Why: scrapes and alert evaluation must never call the node and must never see a half-updated
state. Every collector job builds plain data, then calls :meth:`SnapshotStore.update`, which
replaces one node's snapshot with a new frozen object under a lock. Readers take
:meth:`SnapshotStore.current` (one attribute read) and work on it without locks.

Sections (difficulty, blocks, fees, economics, pools) are owned by their indicator modules. Each
section object offers ``values()`` yielding :class:`IndicatorValue` items: the flat, unit-named
view that the alert engine evaluates rules against. Readers use the typed accessors
(``node.difficulty``, ``node.fees``, ``snapshot.price``, ...): the store checks each section's
type when it is written, so readers need no ``isinstance`` re-checks.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal, Protocol, overload, runtime_checkable

from .sections import global_types, section_types

if TYPE_CHECKING:  # the section types import this module (IndicatorValue): no runtime cycle
    from ..indicators.difficulty_view import DifficultyView
    from ..indicators.economics import EconomicsSection, PriceFailure, PriceQuote
    from ..indicators.fees import FeesSection
    from ..indicators.pools import PoolsSection
    from .blocks import RecentBlocks

Labels = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class IndicatorValue:
    """One named number for alert rules, e.g. ``difficulty_last_retarget_change_percent``.

    ``labels`` are extra dimensions beyond the node (e.g. ``(("scenario", "texas"),)``).
    Names use the same words and units as the metric, without the ``hashwatch_`` prefix.
    """

    name: str
    value: float
    labels: Labels = ()


@runtime_checkable
class Section(Protocol):
    """What every snapshot section offers to the alert engine."""

    def values(self) -> Iterable[IndicatorValue]: ...


@dataclass(frozen=True)
class NodeStatus:
    """The node's base state from one poll (getblockchaininfo, getnetworkinfo, ...)."""

    chain: str
    blocks: int
    headers: int
    best_block_hash: str
    best_block_time: float
    median_time: float
    verification_progress: float
    initial_block_download: bool
    difficulty: float
    size_on_disk_bytes: int
    pruned: bool
    version: int
    subversion: str
    protocol_version: int
    connections: int
    connections_in: int
    connections_out: int
    uptime_seconds: float
    mempool_tx_count: int
    mempool_vsize_bytes: int
    mempool_usage_bytes: int
    mempool_max_bytes: int
    mempool_min_fee_sat_per_vb: float
    mempool_total_fee_sat: int
    network_received_bytes: int
    network_sent_bytes: int
    warnings: str = ""

    def values(self) -> Iterator[IndicatorValue]:
        yield IndicatorValue("node_blocks", float(self.blocks))
        yield IndicatorValue("node_headers", float(self.headers))
        yield IndicatorValue(
            "node_initial_block_download", 1.0 if self.initial_block_download else 0.0
        )
        yield IndicatorValue("node_verification_progress_ratio", self.verification_progress)
        yield IndicatorValue("node_best_block_time_seconds", self.best_block_time)
        yield IndicatorValue("node_peers", float(self.connections))
        yield IndicatorValue("node_difficulty", self.difficulty)
        yield IndicatorValue("mempool_transactions", float(self.mempool_tx_count))
        yield IndicatorValue("mempool_vsize_bytes", float(self.mempool_vsize_bytes))
        yield IndicatorValue("mempool_usage_bytes", float(self.mempool_usage_bytes))
        yield IndicatorValue("mempool_min_fee_sat_per_vbyte", self.mempool_min_fee_sat_per_vb)


@dataclass(frozen=True)
class NodeSnapshot:
    """Everything known about one node at one moment. Never mutated; replaced whole.

    ``up`` is the result of the last base poll. ``status`` keeps the last good status so that
    staleness is visible (``status_time``) instead of values silently vanishing; metrics export
    node values only while ``up`` is true (export nothing rather than stale or fake numbers).
    ``sections`` maps a section name (``difficulty``, ``blocks``, ``fees``, ``economics``,
    ``pools``) to the section object, read through the typed properties below;
    ``section_times`` holds when each was last computed (unix seconds).
    """

    node: str
    up: bool = False
    status: NodeStatus | None = None
    status_time: float | None = None
    last_error_kind: str | None = None
    last_error: str | None = None
    sections: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    section_times: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))

    def section(self, name: str) -> Any | None:
        """Untyped access by name; prefer the typed properties (``node.fees``, ...)."""
        return self.sections.get(name)

    @property
    def difficulty(self) -> DifficultyView | None:
        return self.sections.get("difficulty")

    @property
    def blocks(self) -> RecentBlocks | None:
        return self.sections.get("blocks")

    @property
    def fees(self) -> FeesSection | None:
        return self.sections.get("fees")

    @property
    def economics(self) -> EconomicsSection | None:
        return self.sections.get("economics")

    @property
    def pools(self) -> PoolsSection | None:
        return self.sections.get("pools")

    def values(self) -> Iterator[IndicatorValue]:
        """The flat view for alert rules: base status plus every section's values."""
        yield IndicatorValue("node_up", 1.0 if self.up else 0.0)
        if self.up and self.status is not None:
            yield from self.status.values()
        for section in self.sections.values():
            if isinstance(section, Section):
                yield from section.values()


@dataclass(frozen=True)
class Snapshot:
    """All nodes at one moment, plus daemon-wide sections (e.g. the BTC price)."""

    nodes: Mapping[str, NodeSnapshot] = field(default_factory=lambda: MappingProxyType({}))
    globals: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    taken_at: float = 0.0
    version: int = 0

    @property
    def price(self) -> PriceQuote | None:
        """The last good BTC price (kept when it goes stale; check ``is_fresh``)."""
        return self.globals.get("price")

    @property
    def price_error(self) -> PriceFailure | None:
        """Why the last price fetch failed, until one succeeds."""
        return self.globals.get("price_error")


Listener = Callable[[Snapshot], None]


class SnapshotStore:
    """Holds the current :class:`Snapshot`; writers swap it under a lock, readers never lock."""

    def __init__(self, node_names: Iterable[str] = (), clock: Callable[[], float] = time.time):
        self._clock = clock
        self._lock = threading.Lock()
        nodes = {name: NodeSnapshot(node=name) for name in node_names}
        self._current = Snapshot(nodes=MappingProxyType(nodes), taken_at=clock())
        self._listeners: list[Listener] = []

    def current(self) -> Snapshot:
        return self._current

    def add_listener(self, listener: Listener) -> None:
        """Call ``listener(snapshot)`` after every update (in the updating thread)."""
        self._listeners.append(listener)

    def update_node(self, node: str, **changes: Any) -> Snapshot:
        """Replace fields of one node's snapshot (``up=...``, ``status=...``, ...)."""
        return self._swap(lambda snap: _with_node(snap, node, changes))

    @overload
    def set_section(
        self, node: str, name: Literal["difficulty"], value: DifficultyView | None
    ) -> Snapshot: ...
    @overload
    def set_section(
        self, node: str, name: Literal["blocks"], value: RecentBlocks | None
    ) -> Snapshot: ...
    @overload
    def set_section(
        self, node: str, name: Literal["fees"], value: FeesSection | None
    ) -> Snapshot: ...
    @overload
    def set_section(
        self, node: str, name: Literal["economics"], value: EconomicsSection | None
    ) -> Snapshot: ...
    @overload
    def set_section(
        self, node: str, name: Literal["pools"], value: PoolsSection | None
    ) -> Snapshot: ...

    def set_section(self, node: str, name: str, value: Any) -> Snapshot:
        """Put one section (or ``None`` to drop it) into a node's snapshot, stamped now.

        A known section of the wrong type raises ``TypeError`` here, at the writer, so the
        typed readers (``node.fees``, ...) can trust what they get.
        """
        expected = section_types().get(name)
        if value is not None and expected is not None and not isinstance(value, expected):
            raise TypeError(
                f"section {name!r} must be {expected.__name__}, not {type(value).__name__}"
            )
        now = self._clock()

        def change(snap: Snapshot) -> Snapshot:
            current = snap.nodes.get(node) or NodeSnapshot(node=node)
            sections = dict(current.sections)
            times = dict(current.section_times)
            if value is None:
                sections.pop(name, None)
                times.pop(name, None)
            else:
                sections[name] = value
                times[name] = now
            return _with_node(
                snap,
                node,
                {"sections": MappingProxyType(sections), "section_times": MappingProxyType(times)},
            )

        return self._swap(change)

    @overload
    def set_global(self, name: Literal["price"], value: PriceQuote | None) -> Snapshot: ...
    @overload
    def set_global(self, name: Literal["price_error"], value: PriceFailure | None) -> Snapshot: ...

    def set_global(self, name: str, value: Any) -> Snapshot:
        """Daemon-wide values not tied to one node (the BTC price and its last failure)."""
        expected = global_types().get(name)
        if value is not None and expected is not None and not isinstance(value, expected):
            raise TypeError(
                f"global {name!r} must be {expected.__name__}, not {type(value).__name__}"
            )

        def change(snap: Snapshot) -> Snapshot:
            g = dict(snap.globals)
            if value is None:
                g.pop(name, None)
            else:
                g[name] = value
            return dataclasses.replace(snap, globals=MappingProxyType(g))

        return self._swap(change)

    def _swap(self, change: Callable[[Snapshot], Snapshot]) -> Snapshot:
        with self._lock:
            new = change(self._current)
            new = dataclasses.replace(
                new, taken_at=self._clock(), version=self._current.version + 1
            )
            self._current = new
        for listener in list(self._listeners):
            listener(new)
        return new


def _with_node(snap: Snapshot, node: str, changes: Mapping[str, Any]) -> Snapshot:
    nodes = dict(snap.nodes)
    current = nodes.get(node) or NodeSnapshot(node=node)
    nodes[node] = dataclasses.replace(current, **changes)
    return dataclasses.replace(snap, nodes=MappingProxyType(nodes))
