"""Durable (time, next-block median) samples for the fee-spike baseline.

Why SQLite: the baseline spans days (default 7); it must survive daemon restarts, or every
restart would blank the spike ratio for the minimum-history period. Samples are downsampled
(at most one per ``sample_seconds``) and pruned beyond the window, so the file stays small
(7 days at one per 5 minutes is ~2,000 rows).
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from .sqlite import open_db

log = logging.getLogger("hashwatch.state.fees")


class FeeSampleStore:
    """One SQLite file per node; safe to call from the scheduler's threads."""

    def __init__(self, path: Path, sample_seconds: float = 300.0, keep_seconds: float = 7 * 86400):
        self.path = path
        self.sample_seconds = sample_seconds
        self.keep_seconds = keep_seconds
        self._lock = threading.Lock()
        self._db = open_db(path)
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS fee_samples (time REAL PRIMARY KEY, median REAL NOT NULL)"
        )

    def add(self, time: float, median: float) -> bool:
        """Record a sample unless the last one is younger than ``sample_seconds``; prune old."""
        with self._lock:
            row = self._db.execute("SELECT MAX(time) FROM fee_samples").fetchone()
            last = row[0] if row else None
            if last is not None and time - last < self.sample_seconds and time >= last:
                return False
            self._db.execute(
                "INSERT OR REPLACE INTO fee_samples (time, median) VALUES (?, ?)", (time, median)
            )
            self._db.execute("DELETE FROM fee_samples WHERE time < ?", (time - self.keep_seconds,))
            return True

    def samples(self, since: float) -> list[tuple[float, float]]:
        """(time, median) samples at or after ``since``, oldest first."""
        with self._lock:
            return [
                (float(t), float(m))
                for t, m in self._db.execute(
                    "SELECT time, median FROM fee_samples WHERE time >= ? ORDER BY time", (since,)
                )
            ]

    def close(self) -> None:
        with self._lock:
            self._db.close()
