"""Open a state database the way every hashwatch store does, and keep caches alive.

Why one place: each store (headers, blocks, fee samples) is a small SQLite file that one job
writes and other threads or a second process (``hashwatch status``) may read. WAL lets readers
work beside the writer, autocommit leaves transactions explicit, a busy timeout rides out a
concurrent writer, and ``synchronous=NORMAL`` is durable enough for data that can be refetched.

Two rules every store follows:

- every write runs in :func:`transaction`: ``BEGIN IMMEDIATE`` ... ``COMMIT``, ``ROLLBACK`` on
  any error, so a failure inside a write (a bad value, a full disk) never leaves a transaction
  open for the next write to trip over;
- the stores are caches the node can rebuild: :class:`CacheDB` replaces a file that is not a
  database or is malformed (at open or later) with an empty one and logs
  ``event=state_cache_rebuilt`` naming the file, instead of failing forever. Errors that a new
  file would not fix (read-only directory, disk full, locked) are raised as they are.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

BUSY_TIMEOUT_SECONDS = 5.0

log = logging.getLogger("hashwatch.state")
T = TypeVar("T")


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
    try:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
    except BaseException:
        db.close()
        raise
    return db


@contextmanager
def transaction(db: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """``BEGIN IMMEDIATE`` ... ``COMMIT``; ``ROLLBACK`` on any exception (then re-raised)."""
    db.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        if db.in_transaction:
            db.execute("ROLLBACK")
        raise
    else:
        db.execute("COMMIT")


def is_corruption(exc: BaseException) -> bool:
    """A database error a fresh file fixes: not a database, malformed image, schema mismatch.

    ``OperationalError`` (read-only, locked, disk I/O, cannot open) is not: deleting the file
    would lose nothing but also fix nothing, and a read-only directory must stay visible.
    """
    if not isinstance(exc, sqlite3.DatabaseError) or isinstance(exc, sqlite3.IntegrityError):
        return False
    text = str(exc).lower()
    if isinstance(exc, sqlite3.OperationalError):
        return "malformed" in text or "no such table" in text or "no such column" in text
    return True


def _remove(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


class CacheDB:
    """One cache file: a connection, a lock, and rebuild-on-corruption.

    ``init`` creates the schema on a fresh or existing connection. :meth:`run` runs a function
    on the connection under the lock; if SQLite reports corruption, the file is replaced by an
    empty one (logged with its name) and the error re-raised, so this call fails and the next
    one works on the rebuilt cache.
    """

    def __init__(self, path: Path | str, init: Callable[[sqlite3.Connection], None]):
        self.path = Path(path)
        self._init = init
        self.lock = threading.RLock()
        self.rebuilds = 0
        self._inode: int | None = None
        self.db = self._open()

    def _open(self) -> sqlite3.Connection:
        db = self._open_or_rebuild()
        self._inode = self._current_inode()
        return db

    def _current_inode(self) -> int | None:
        if str(self.path) == ":memory:":
            return None
        try:
            return os.stat(self.path).st_ino
        except OSError:
            return None

    def _replaced(self) -> bool:
        """The file was deleted or replaced under us (its directory removed, a restore...)."""
        return self._inode is not None and self._current_inode() != self._inode

    def _open_or_rebuild(self) -> sqlite3.Connection:
        try:
            db = open_db(self.path)
            try:
                self._init(db)
                if str(self.path) != ":memory:":
                    db.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchall()
            except BaseException:
                db.close()
                raise
            return db
        except sqlite3.DatabaseError as exc:
            if not is_corruption(exc):
                raise
            self._note_rebuild(exc)
            _remove(self.path)
            db = open_db(self.path)
            self._init(db)
            return db

    def _note_rebuild(self, exc: BaseException) -> None:
        self.rebuilds += 1
        log.warning(
            "event=state_cache_rebuilt file=%s error=%r", self.path, str(exc)[:120]
        )

    def run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        with self.lock:
            if self._replaced():  # writes would go to a deleted file and vanish at restart
                self._note_rebuild(FileNotFoundError("file deleted or replaced while open"))
                try:
                    self.db.close()
                except sqlite3.Error:
                    pass
                self.db = self._open()  # raises (job fails, logged, counted) if it cannot
            try:
                return fn(self.db)
            except sqlite3.DatabaseError as exc:
                if not is_corruption(exc):
                    raise
                self._note_rebuild(exc)
                try:
                    self.db.close()
                except sqlite3.Error:
                    pass
                _remove(self.path)
                self.db = self._open()
                raise

    def close(self) -> None:
        with self.lock:
            self.db.close()
