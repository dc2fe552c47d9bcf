"""Recent history of a fixed set of series, kept in memory for the page's small charts.

Why in memory and bounded: a small miner without Prometheus still wants to see "what did the
last day look like", but the daemon must not grow without limit. Each (series, node) pair has
one fixed-capacity ring buffer of ``(time, value)``; the capacity is the span divided by the
resolution, so memory is known up front (about 16 bytes a point) whatever the uptime.

Why a resolution bucket instead of one point per update: the store calls its listeners once per
section update (several per poll), so points are merged into buckets of ``resolution_seconds``:
the first update in a bucket appends a point, later ones in the same bucket overwrite it. The
last point is therefore always the current value.

Times are the snapshot's own (``taken_at``: the daemon's clock), so a simulated clock that runs
faster than real time fills the charts at its own pace.
"""

from __future__ import annotations

import math
import threading
from array import array
from collections.abc import Callable, Iterable, Sequence

from .store import Snapshot

Sample = tuple[str, str, float]  # (series, node, value)
Sampler = Callable[[Snapshot], Iterable[Sample]]

DEFAULT_SPAN_SECONDS = 24 * 3600.0
MAX_POINTS = 2880  # per series and node: 24 h at 30 s; finer polling is merged into buckets
MAX_NODES = 32  # nodes come from the config; a cap keeps a bug from growing memory


class RingBuffer:
    """Fixed-capacity ``(time, value)`` buffer; the oldest point is overwritten when full."""

    def __init__(self, capacity: int):
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self.capacity = capacity
        self._t = array("d", bytes(8 * capacity))
        self._v = array("d", bytes(8 * capacity))
        self._start = 0
        self._len = 0

    def __len__(self) -> int:
        return self._len

    def append(self, t: float, v: float) -> None:
        i = (self._start + self._len) % self.capacity
        self._t[i], self._v[i] = t, v
        if self._len < self.capacity:
            self._len += 1
        else:
            self._start = (self._start + 1) % self.capacity

    def replace_last(self, t: float, v: float) -> None:
        if self._len == 0:
            raise IndexError("empty buffer")
        i = (self._start + self._len - 1) % self.capacity
        self._t[i], self._v[i] = t, v

    def points(self) -> list[tuple[float, float]]:
        """Oldest first."""
        idx = ((self._start + k) % self.capacity for k in range(self._len))
        return [(self._t[i], self._v[i]) for i in idx]


class History:
    """Ring buffers per (series, node) for the series named at construction, fed by snapshots.

    ``sampler`` turns a snapshot into ``(series, node, value)`` samples; samples of unknown
    series, non-finite values and nodes beyond :data:`MAX_NODES` are dropped, so the set of
    buffers (and so the memory) stays fixed.
    """

    def __init__(
        self,
        series: Sequence[str],
        sampler: Sampler,
        resolution_seconds: float,
        span_seconds: float = DEFAULT_SPAN_SECONDS,
    ):
        self.series = tuple(series)
        self.span_seconds = span_seconds
        # At least span/MAX_POINTS apart: a 2 s poll interval must not need 43,200 points.
        self.resolution_seconds = max(resolution_seconds, span_seconds / MAX_POINTS)
        self.capacity = max(2, math.ceil(span_seconds / self.resolution_seconds) + 1)
        self._sampler = sampler
        self._lock = threading.Lock()
        self._buffers: dict[tuple[str, str], RingBuffer] = {}
        self._bucket: dict[tuple[str, str], float] = {}
        self._nodes: set[str] = set()

    def on_snapshot(self, snapshot: Snapshot) -> None:
        """Store listener: record every sample of ``snapshot`` at its ``taken_at`` time."""
        self.record(snapshot.taken_at, self._sampler(snapshot))

    def record(self, t: float, samples: Iterable[Sample]) -> None:
        with self._lock:
            for series, node, value in samples:
                if series not in self.series or not math.isfinite(value):
                    continue
                if node not in self._nodes:
                    if len(self._nodes) >= MAX_NODES:
                        continue
                    self._nodes.add(node)
                key = (series, node)
                buf = self._buffers.get(key)
                if buf is None:
                    buf = self._buffers[key] = RingBuffer(self.capacity)
                start = self._bucket.get(key)
                if start is not None and start <= t < start + self.resolution_seconds:
                    buf.replace_last(t, value)
                elif start is not None and t < start:
                    continue  # a clock step backwards: keep the history monotonic
                else:
                    buf.append(t, value)
                    self._bucket[key] = t

    def points(self, series: str, node: str, now: float | None = None) -> list[tuple[float, float]]:
        """The points of one series within the span before ``now`` (default: its last point)."""
        with self._lock:
            buf = self._buffers.get((series, node))
            pts = buf.points() if buf is not None else []
        if not pts:
            return []
        end = pts[-1][0] if now is None else now
        return [p for p in pts if p[0] >= end - self.span_seconds]
