"""SQLite: alert state, the notification outbox, history buckets and delivery counters.

Why an outbox: a state change and the notifications it causes are written in ONE transaction,
so a crash can never leave a firing without its messages or messages without their state. The
delivery worker then works the outbox: ``pending`` -> ``sending`` -> ``delivered`` (or back to
``pending`` with a later ``next_attempt_at``, or ``dead`` after the retry budget; a resolve whose
firing was never delivered becomes ``dropped``). Each row carries an idempotency key per
(alert instance, transition, channel), so replays are no-ops.

One connection guarded by a lock serves the evaluating threads and the worker (every statement
is milliseconds); WAL lets ``hashwatch alerts`` read from another process meanwhile. Failures
become :class:`StoreError` with a small ``kind`` (locked, read_only, disk_full, io, corrupt) so
the daemon can count and log them instead of crashing.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from .records import SCHEMA, NewMessage, OutboxRow, StoreError, classify
from .state import AlertState
from .windows import Bucket, SeriesKey

__all__ = ["AlertStore", "NewMessage", "OutboxRow", "StoreError", "classify"]
log = logging.getLogger("hashwatch.alerts.store")


def _labels_json(labels: Iterable[tuple[str, str]]) -> str:
    return json.dumps([list(p) for p in labels], separators=(",", ":"))


class AlertStore:
    def __init__(self, path: Path, *, busy_timeout_seconds: float = 5.0):
        self.path = Path(path)
        self._busy = busy_timeout_seconds
        self._lock = threading.RLock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = self._connect()
            self._db.executescript(SCHEMA)
        except sqlite3.Error as exc:
            raise StoreError(classify(exc), str(exc)) from None
        except OSError as exc:
            raise StoreError("io", f"{self.path}: {exc.strerror}") from None
        self._inode = self._file_inode()

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(
            str(self.path), timeout=self._busy, isolation_level=None, check_same_thread=False
        )
        db.execute(f"PRAGMA busy_timeout={int(self._busy * 1000)}")
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")  # an acknowledged alert survives power loss
        return db

    def _file_inode(self) -> int | None:
        try:
            return os.stat(self.path).st_ino
        except OSError:
            return None

    def _ensure_file(self) -> None:
        """If the file was deleted or replaced while open, write the live database back.

        Why: SQLite keeps writing to a deleted file, so every alert state and queued
        notification would vanish at the next restart. The open connection still holds all of
        it: copy it to the path (SQLite's backup API) and continue there, logged. If that is
        impossible (directory gone for good, read-only), raise ``StoreError('io')``: the
        service counts and logs it and the daemon keeps serving.
        """
        if self._inode is None or self._file_inode() == self._inode:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            for suffix in ("-wal", "-shm"):
                Path(f"{self.path}{suffix}").unlink(missing_ok=True)
            fresh = self._connect()
            self._db.backup(fresh)
            old, self._db = self._db, fresh
            old.close()
        except (sqlite3.Error, OSError) as exc:
            raise StoreError(
                "io", f"{self.path}: deleted while running and cannot be restored: {exc}"
            ) from None
        self._inode = self._file_inode()
        log.warning("event=alert_store_restored file=%s", self.path)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._ensure_file()
            try:
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    yield self._db
                    self._db.execute("COMMIT")
                except BaseException:
                    self._rollback()
                    raise
            except sqlite3.Error as exc:
                raise StoreError(classify(exc), str(exc)) from None

    def _rollback(self) -> None:
        """SQLite may already have rolled back (disk full, I/O error): keep the first error."""
        if self._db.in_transaction:
            try:
                self._db.execute("ROLLBACK")
            except sqlite3.Error:
                pass

    def _query(self, sql: str, args: tuple = ()) -> list[tuple]:
        with self._lock:
            self._ensure_file()
            try:
                return self._db.execute(sql, args).fetchall()
            except sqlite3.Error as exc:
                raise StoreError(classify(exc), str(exc)) from None

    # --- state and history -------------------------------------------------------------------
    def load_states(self) -> list[AlertState]:
        rows = self._query("SELECT * FROM alert_state")
        return [
            AlertState(r[0], r[1], r[2], tuple(tuple(p) for p in json.loads(r[3])), *r[4:])
            for r in rows
        ]

    def load_history(self) -> dict[SeriesKey, list[Bucket]]:
        out: dict[SeriesKey, list[Bucket]] = {}
        for node, ind, labels, bucket, t, v, lo, hi in self._query("SELECT * FROM history"):
            key = (node, ind, tuple(tuple(p) for p in json.loads(labels)))
            out.setdefault(key, []).append(Bucket(bucket, t, v, lo, hi))
        return out

    def commit_evaluation(
        self,
        states: Iterable[AlertState],
        messages: Iterable[NewMessage],
        buckets: Iterable[tuple[SeriesKey, Bucket]],
        history_cutoffs: dict[SeriesKey, float],
        now: float,
    ) -> None:
        """State changes, their notifications and history: all or nothing."""
        with self._tx() as db:
            for s in states:
                db.execute(
                    "INSERT OR REPLACE INTO alert_state VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    (
                        s.fingerprint,
                        s.rule,
                        s.node,
                        _labels_json(s.labels),
                        s.state,
                        s.instance,
                        s.pending_since,
                        s.firing_since,
                        s.resolved_at,
                        s.last_notified_at,
                        s.last_seen_at,
                        s.value,
                        s.observed,
                        s.reference,
                    ),
                )
            for m in messages:
                db.execute(
                    "INSERT OR IGNORE INTO outbox (idem_key, channel, fingerprint, instance, "
                    "transition, payload, next_attempt_at, created_at, depends_on) "
                    "VALUES (?,?,?,?,?,?,?,?,?)",
                    (
                        m.idem_key,
                        m.channel,
                        m.fingerprint,
                        m.instance,
                        m.transition,
                        json.dumps(m.payload),
                        now,
                        now,
                        m.depends_on,
                    ),
                )
            for (node, ind, labels), b in buckets:
                db.execute(
                    "INSERT OR REPLACE INTO history VALUES (?,?,?,?,?,?,?,?)",
                    (node, ind, _labels_json(labels), b.index, b.t, b.value, b.vmin, b.vmax),
                )
            for (node, ind, labels), cutoff in history_cutoffs.items():
                db.execute(
                    "DELETE FROM history WHERE node=? AND indicator=? AND labels=? AND t<?",
                    (node, ind, _labels_json(labels), cutoff),
                )

    # --- outbox ------------------------------------------------------------------------------
    def recover_sending(self) -> int:
        """After a restart, rows left in ``sending`` go back to ``pending`` (at-least-once)."""
        with self._tx() as db:
            return db.execute("UPDATE outbox SET status='pending' WHERE status='sending'").rowcount

    def release_held(self, now: float, reasons: Iterable[str]) -> int:
        """Make rows held for a config problem due now (the config may have been fixed)."""
        reasons = tuple(reasons)
        marks = ",".join("?" * len(reasons))
        with self._tx() as db:
            return db.execute(
                f"UPDATE outbox SET next_attempt_at=? WHERE status='pending' AND "
                f"last_reason IN ({marks})",
                (now, *reasons),
            ).rowcount

    def claim_due(
        self, now: float, limit: int = 20, channel: str | None = None
    ) -> list[OutboxRow]:
        """Mark due rows ``sending`` (of ``channel`` only, if given) and return them; resolves
        wait for their firing."""
        only = "" if channel is None else "AND o.channel=? "
        with self._tx() as db:
            db.execute(
                "UPDATE outbox SET status='dropped', last_reason='firing_undelivered' "
                "WHERE status='pending' AND depends_on IS NOT NULL AND EXISTS (SELECT 1 FROM "
                "outbox d WHERE d.idem_key=outbox.depends_on AND d.status IN ('dead','dropped'))"
            )
            rows = db.execute(
                "SELECT * FROM outbox o WHERE status='pending' AND next_attempt_at<=? AND "
                "(depends_on IS NULL OR EXISTS (SELECT 1 FROM outbox d WHERE "
                f"d.idem_key=o.depends_on AND d.status='delivered')) {only}ORDER BY id LIMIT ?",
                (now, limit) if channel is None else (now, channel, limit),
            ).fetchall()
            for r in rows:
                db.execute("UPDATE outbox SET status='sending' WHERE id=?", (r[0],))
        return [self._row(r, status="sending") for r in rows]

    @staticmethod
    def _row(r: tuple, status: str | None = None) -> OutboxRow:
        return OutboxRow(
            id=r[0],
            idem_key=r[1],
            channel=r[2],
            fingerprint=r[3],
            instance=r[4],
            transition=r[5],
            payload=json.loads(r[6]),
            status=status or r[7],
            attempts=r[8],
            next_attempt_at=r[9],
            created_at=r[10],
            delivered_at=r[11],
            depends_on=r[12],
            last_reason=r[13],
        )

    def _count(self, db: sqlite3.Connection, name: str, channel: str, reason: str = "") -> None:
        db.execute(
            "INSERT INTO counters VALUES (?,?,?,1) ON CONFLICT(name, channel, reason) "
            "DO UPDATE SET value=value+1",
            (name, channel, reason),
        )

    def mark_delivered(self, row: OutboxRow, now: float) -> None:
        with self._tx() as db:
            db.execute(
                "UPDATE outbox SET status='delivered', delivered_at=?, attempts=attempts+1 "
                "WHERE id=?",
                (now, row.id),
            )
            self._count(db, "sent", row.channel)

    def mark_failed(
        self, row: OutboxRow, now: float, reason: str, error: str, retry_at: float | None
    ) -> None:
        """A failed attempt: retry at ``retry_at``, or give up (``dead``) when it is None."""
        with self._tx() as db:
            db.execute(
                "UPDATE outbox SET status=?, attempts=attempts+1, next_attempt_at=?, "
                "last_reason=?, last_error=? WHERE id=?",
                (
                    "pending" if retry_at is not None else "dead",
                    retry_at if retry_at is not None else now,
                    reason,
                    error[:500],
                    row.id,
                ),
            )
            self._count(db, "failed", row.channel, reason)
            if retry_at is None:
                self._count(db, "dead", row.channel, reason)

    def prune(self, before: float) -> int:
        """Forget finished rows older than ``before``, except those a still-firing alert's
        resolve will need (its firing rows name the channels and the dependency)."""
        with self._tx() as db:
            return db.execute(
                "DELETE FROM outbox WHERE status IN ('delivered','dead','dropped') AND "
                "created_at<? AND NOT EXISTS (SELECT 1 FROM alert_state s WHERE "
                "s.fingerprint=outbox.fingerprint AND s.instance=outbox.instance AND "
                "s.state='firing') AND idem_key NOT IN (SELECT depends_on FROM outbox WHERE "
                "depends_on IS NOT NULL AND status IN ('pending','sending'))",
                (before,),
            ).rowcount

    def firing_channels(self, fingerprint: str, instance: int) -> dict[str, str]:
        """channel -> idem_key of the firing rows of one alert instance."""
        rows = self._query(
            "SELECT channel, idem_key FROM outbox WHERE fingerprint=? AND instance=? AND "
            "transition='firing'",
            (fingerprint, instance),
        )
        return dict(rows)

    def next_due(self, channel: str | None = None) -> float | None:
        if channel is not None:
            rows = self._query(
                "SELECT MIN(next_attempt_at) FROM outbox WHERE status='pending' AND channel=?",
                (channel,),
            )
            return rows[0][0] if rows else None
        rows = self._query("SELECT MIN(next_attempt_at) FROM outbox WHERE status='pending'")
        return rows[0][0] if rows else None

    # --- reading for metrics and `hashwatch alerts` ----------------------------------------
    def counters(self) -> list[tuple[str, str, str, int]]:
        return [tuple(r) for r in self._query("SELECT * FROM counters ORDER BY 1,2,3")]

    def outbox_depth(self) -> dict[str, tuple[int, float | None]]:
        """channel -> (undelivered rows, oldest created_at)."""
        rows = self._query(
            "SELECT channel, COUNT(*), MIN(created_at) FROM outbox WHERE status IN "
            "('pending','sending') GROUP BY channel"
        )
        return {ch: (n, oldest) for ch, n, oldest in rows}

    def outbox(self, *, open_only: bool = False, limit: int = 50) -> list[OutboxRow]:
        where = "WHERE status IN ('pending','sending')" if open_only else ""
        rows = self._query(f"SELECT * FROM outbox {where} ORDER BY id DESC LIMIT ?", (limit,))
        return [self._row(r) for r in rows]

    def status_of(self, idem_key: str) -> str | None:
        rows = self._query("SELECT status FROM outbox WHERE idem_key=?", (idem_key,))
        return rows[0][0] if rows else None
