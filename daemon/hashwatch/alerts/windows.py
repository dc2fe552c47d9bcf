"""Bounded, downsampled history of the indicator series that windowed rules need.

Why: "change over 1 h", "3x the 24 h baseline" and "a new 30-day low" need past values, and a
restart must not forget them (a daemon restarted daily would never see a 30-day low). Samples
are folded into fixed buckets (``resolution`` seconds: last, min and max), only the series that
some rule needs are kept, each only as long as the longest window that uses it. Closed buckets
are handed back to the caller to persist; the open bucket lives in memory only (a crash loses at
most one bucket). Pure data structure: no I/O, no clock.
"""

from __future__ import annotations

import bisect
import statistics
from dataclasses import dataclass

SeriesKey = tuple[str, str, tuple[tuple[str, str], ...]]  # node, indicator, labels


@dataclass(frozen=True)
class Bucket:
    index: int  # floor(t / resolution)
    t: float  # time of the last sample folded in
    value: float  # last value
    vmin: float
    vmax: float


class History:
    def __init__(self, resolution: float, retention: dict[str, float]):
        """``retention`` maps indicator name -> seconds to keep (the longest window using it)."""
        self.resolution = resolution
        self.retention = dict(retention)
        self._closed: dict[SeriesKey, list[Bucket]] = {}
        self._open: dict[SeriesKey, Bucket] = {}

    def wants(self, indicator: str) -> bool:
        return indicator in self.retention

    def load(self, key: SeriesKey, buckets: list[Bucket]) -> None:
        """Restore closed buckets read from the store (any order)."""
        self._closed[key] = sorted(buckets, key=lambda b: b.index)

    def add(self, key: SeriesKey, t: float, value: float) -> list[Bucket]:
        """Fold one sample in; return buckets that just closed (to persist)."""
        idx = int(t // self.resolution)
        cur = self._open.get(key)
        closed: list[Bucket] = []
        if cur is None or idx > cur.index:
            if cur is not None:
                closed.append(cur)
                series = self._closed.setdefault(key, [])
                series.append(cur)
                self._prune(key, t)
            self._open[key] = Bucket(idx, t, value, value, value)
        elif idx == cur.index:
            self._open[key] = Bucket(idx, t, value, min(cur.vmin, value), max(cur.vmax, value))
        # a sample older than the open bucket (clock stepped back) is ignored
        return closed

    def cutoff(self, key: SeriesKey, now: float) -> float:
        return now - self.retention.get(key[1], 0.0) - 2 * self.resolution

    def _prune(self, key: SeriesKey, now: float) -> None:
        series = self._closed[key]
        limit = self.cutoff(key, now)
        drop = 0
        while drop < len(series) and series[drop].t < limit:
            drop += 1
        if drop:
            del series[:drop]

    def closed(self, key: SeriesKey, since: float, until: float) -> list[Bucket]:
        """Closed buckets whose last sample is in ``[since, until)``."""
        series = self._closed.get(key, [])
        times = [b.t for b in series]
        return series[bisect.bisect_left(times, since) : bisect.bisect_left(times, until)]

    def covers(self, key: SeriesKey, now: float, span: float) -> bool:
        """True if closed history reaches back at least ``span`` seconds from ``now``."""
        series = self._closed.get(key, [])
        return bool(series) and series[0].t <= now - span + self.resolution

    def value_at(self, key: SeriesKey, t: float) -> float | None:
        """The last value recorded at or before ``t``, if not older than two buckets."""
        series = self._closed.get(key, [])
        times = [b.t for b in series]
        i = bisect.bisect_right(times, t) - 1
        if i < 0 or t - series[i].t > 2 * self.resolution:
            return None
        return series[i].value

    def baseline(self, key: SeriesKey, now: float, window: float) -> float | None:
        """Median of the closed buckets' values over the trailing window (spike-resistant)."""
        values = [b.value for b in self.closed(key, now - window, now)]
        return statistics.median(values) if values else None

    def low(self, key: SeriesKey, now: float, window: float) -> float | None:
        buckets = self.closed(key, now - window, now)
        return min(b.vmin for b in buckets) if buckets else None

    def high(self, key: SeriesKey, now: float, window: float) -> float | None:
        buckets = self.closed(key, now - window, now)
        return max(b.vmax for b in buckets) if buckets else None
