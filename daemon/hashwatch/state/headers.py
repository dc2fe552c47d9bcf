"""Local SQLite copy of the active chain's recent block headers, one file per node.

Why: the difficulty indicators need a few epochs of header times and bits. Fetching them takes
thousands of RPCs, so the first start backfills once and every later start reads them from here;
new blocks extend the table and a reorg deletes back to the fork point.

The store holds a contiguous run of heights of one chain (``collect/headers.py`` keeps it so);
it owns its connection, has a single writer (the node's ``headers`` job) and uses WAL so that
``hashwatch status`` can read while the daemon writes.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import NamedTuple

from .sqlite import open_db

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS headers (
    height    INTEGER PRIMARY KEY,
    hash      TEXT    NOT NULL,
    prev_hash TEXT,
    time      INTEGER NOT NULL,
    bits      INTEGER NOT NULL,
    chainwork TEXT
)
"""


class StoredHeader(NamedTuple):
    height: int
    hash: str
    prev_hash: str | None
    time: int
    bits: int
    chainwork: str | None = None


class HeadersStore:
    """Headers by height. Thread-safe (one lock); every write is one transaction."""

    def __init__(self, path: Path | str):
        self.path = Path(path)
        self._lock = threading.Lock()
        self._db = open_db(path)
        with self._lock:
            version = self._db.execute("PRAGMA user_version").fetchone()[0]
            if version not in (0, SCHEMA_VERSION):
                # An unknown layout is only a cache: start again rather than misread it.
                self._db.execute("DROP TABLE IF EXISTS headers")
            self._db.execute(_SCHEMA)
            self._db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")

    # -- reads --------------------------------------------------------------------------------

    def bounds(self) -> tuple[int, int] | None:
        """(lowest, highest) stored height, or None when empty."""
        with self._lock:
            lo, hi = self._db.execute("SELECT MIN(height), MAX(height) FROM headers").fetchone()
        return None if lo is None else (int(lo), int(hi))

    def count(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM headers").fetchone()[0])

    def get(self, height: int) -> StoredHeader | None:
        with self._lock:
            row = self._db.execute(
                "SELECT height, hash, prev_hash, time, bits, chainwork FROM headers "
                "WHERE height = ?",
                (height,),
            ).fetchone()
        return StoredHeader(*row) if row else None

    def tip(self) -> StoredHeader | None:
        bounds = self.bounds()
        return None if bounds is None else self.get(bounds[1])

    def hashes(self, low: int, high: int) -> dict[int, str]:
        """Stored hashes for heights ``low..high`` (inclusive)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT height, hash FROM headers WHERE height BETWEEN ? AND ?", (low, high)
            ).fetchall()
        return {int(h): str(x) for h, x in rows}

    def all(self) -> list[StoredHeader]:
        with self._lock:
            rows = self._db.execute(
                "SELECT height, hash, prev_hash, time, bits, chainwork FROM headers "
                "ORDER BY height"
            ).fetchall()
        return [StoredHeader(*r) for r in rows]

    def points(self) -> list[tuple[int, int, int]]:
        """(height, time, bits) ascending: the input of the difficulty indicators."""
        with self._lock:
            rows = self._db.execute("SELECT height, time, bits FROM headers ORDER BY height")
            return [(int(h), int(t), int(b)) for h, t, b in rows.fetchall()]

    # -- writes -------------------------------------------------------------------------------

    def add(self, headers: Iterable[StoredHeader]) -> int:
        """Insert or replace ``headers`` in one transaction; returns how many."""
        rows = [tuple(h) for h in headers]
        if not rows:
            return 0
        with self._lock, self._transaction():
            self._db.executemany(
                "INSERT OR REPLACE INTO headers (height, hash, prev_hash, time, bits, chainwork) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                rows,
            )
        return len(rows)

    def rollback_to(self, height: int) -> int:
        """Delete every header above ``height`` (a reorg's fork point); returns how many."""
        with self._lock, self._transaction():
            return self._db.execute("DELETE FROM headers WHERE height > ?", (height,)).rowcount

    def prune_below(self, height: int) -> int:
        """Delete headers below ``height`` (outside the history window); returns how many."""
        with self._lock, self._transaction():
            return self._db.execute("DELETE FROM headers WHERE height < ?", (height,)).rowcount

    def clear(self) -> int:
        with self._lock, self._transaction():
            return self._db.execute("DELETE FROM headers").rowcount

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> HeadersStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _transaction(self) -> _Transaction:
        return _Transaction(self._db)


class _Transaction:
    """BEGIN IMMEDIATE ... COMMIT, ROLLBACK on error (autocommit connection)."""

    def __init__(self, db: sqlite3.Connection):
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, *rest: object) -> None:
        self._db.execute("ROLLBACK" if exc_type else "COMMIT")
