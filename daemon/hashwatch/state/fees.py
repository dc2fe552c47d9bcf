"""Durable (time, next-block median) samples for the fee-spike baseline.

Why SQLite: the baseline spans days (default 7); it must survive daemon restarts, or every
restart would blank the spike ratio for the minimum-history period. Samples are downsampled
(at most one per ``sample_seconds``) and pruned beyond the window, so the file stays small
(7 days at one per 5 minutes is ~2,000 rows).
"""

from __future__ import annotations

import logging
import math
import sqlite3
from pathlib import Path

from .sqlite import CacheDB, transaction

log = logging.getLogger("hashwatch.state.fees")


class FeeSampleStore:
    """One SQLite file per node; safe to call from the scheduler's threads."""

    def __init__(self, path: Path, sample_seconds: float = 300.0, keep_seconds: float = 7 * 86400):
        self.path = path
        self.sample_seconds = sample_seconds
        self.keep_seconds = keep_seconds
        self._cache = CacheDB(path, _init)

    def add(self, time: float, median: float) -> bool:
        """Record a sample unless the last one is younger than ``sample_seconds``; prune old.

        A sample that cannot be a fee rate (NaN, infinite, negative) is refused, never stored.
        """
        if not (math.isfinite(time) and math.isfinite(median) and median >= 0):
            raise ValueError(f"impossible fee sample time={time!r} median={median!r}")

        def write(db: sqlite3.Connection) -> bool:
            with transaction(db):
                row = db.execute("SELECT MAX(time) FROM fee_samples").fetchone()
                last = row[0] if row else None
                if last is not None and time - last < self.sample_seconds and time >= last:
                    return False
                db.execute(
                    "INSERT OR REPLACE INTO fee_samples (time, median) VALUES (?, ?)",
                    (time, median),
                )
                db.execute("DELETE FROM fee_samples WHERE time < ?", (time - self.keep_seconds,))
                return True

        return self._cache.run(write)

    def samples(self, since: float) -> list[tuple[float, float]]:
        """(time, median) samples at or after ``since``, oldest first."""
        return self._cache.run(
            lambda db: [
                (float(t), float(m))
                for t, m in db.execute(
                    "SELECT time, median FROM fee_samples WHERE time >= ? ORDER BY time", (since,)
                )
            ]
        )

    def close(self) -> None:
        self._cache.close()


def _init(db: sqlite3.Connection) -> None:
    db.execute(
        "CREATE TABLE IF NOT EXISTS fee_samples (time REAL PRIMARY KEY, median REAL NOT NULL)"
    )
