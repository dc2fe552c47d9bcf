"""Open a state database the way every hashwatch store does.

Why one place: each store (headers, blocks, fee samples) is a small SQLite file that one job
writes and other threads or a second process (``hashwatch status``) may read. WAL lets readers
work beside the writer, autocommit leaves transactions explicit, a busy timeout rides out a
concurrent writer, and ``synchronous=NORMAL`` is durable enough for data that can be refetched.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

BUSY_TIMEOUT_SECONDS = 5.0


def db_path(state_dir: Path | str, kind: str, node: str | None = None) -> Path:
    """Where a store lives: ``<state_dir>/<kind>-<node>.sqlite3`` (``<kind>.sqlite3`` daemon-wide).

    The one place file names are made, so ``hashwatch status``, backfill and the daemon open the
    same files, and an operator finds them by the same rule (headers-, blocks-, fees-, alerts).
    """
    return Path(state_dir) / (f"{kind}-{node}.sqlite3" if node else f"{kind}.sqlite3")


def open_db(path: Path | str, *, busy_timeout: float = BUSY_TIMEOUT_SECONDS) -> sqlite3.Connection:
    """A connection usable from several threads (callers serialise with their own lock)."""
    if str(path) != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(
        str(path), check_same_thread=False, isolation_level=None, timeout=busy_timeout
    )
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    return db
