"""The alert store's schema, rows and error type (kept apart so ``store.py`` is only queries).

Why an error ``kind``: a full disk, a read-only mount or a locked file must not crash the
daemon; the service counts them by kind (a metric label) and retries on the next snapshot.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS alert_state (
    fingerprint TEXT PRIMARY KEY, rule TEXT NOT NULL, node TEXT NOT NULL, labels TEXT NOT NULL,
    state TEXT NOT NULL, instance INTEGER NOT NULL, pending_since REAL, firing_since REAL,
    resolved_at REAL, last_notified_at REAL, last_seen_at REAL, value REAL, observed REAL,
    reference REAL
);
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT, idem_key TEXT NOT NULL UNIQUE, channel TEXT NOT NULL,
    fingerprint TEXT NOT NULL, instance INTEGER NOT NULL, transition TEXT NOT NULL,
    payload TEXT NOT NULL, status TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0, next_attempt_at REAL NOT NULL, created_at REAL NOT NULL,
    delivered_at REAL, depends_on TEXT, last_reason TEXT, last_error TEXT
);
CREATE INDEX IF NOT EXISTS outbox_due ON outbox(status, next_attempt_at);
CREATE INDEX IF NOT EXISTS outbox_alert ON outbox(fingerprint, instance);
CREATE TABLE IF NOT EXISTS history (
    node TEXT NOT NULL, indicator TEXT NOT NULL, labels TEXT NOT NULL, bucket INTEGER NOT NULL,
    t REAL NOT NULL, value REAL NOT NULL, vmin REAL NOT NULL, vmax REAL NOT NULL,
    PRIMARY KEY (node, indicator, labels, bucket)
);
-- Alertmanager re-sends (alerts/resend.py) are one row per period while an alert fires: keep
-- only the newest delivered one per alert and channel, or a month-long alert would keep ~43k.
CREATE TRIGGER IF NOT EXISTS outbox_forget_old_refreshes AFTER UPDATE OF status ON outbox
WHEN NEW.status = 'delivered' AND NEW.transition = 'refresh'
BEGIN
    DELETE FROM outbox WHERE transition = 'refresh' AND fingerprint = NEW.fingerprint
        AND channel = NEW.channel AND id < NEW.id AND status IN ('delivered', 'dead', 'dropped');
END;
CREATE TABLE IF NOT EXISTS counters (
    name TEXT NOT NULL, channel TEXT NOT NULL, reason TEXT NOT NULL, value INTEGER NOT NULL,
    PRIMARY KEY (name, channel, reason)
);
"""


class StoreError(Exception):
    """``kind``: locked, read_only, disk_full, io, corrupt, error."""

    def __init__(self, kind: str, message: str):
        super().__init__(f"alert store {kind}: {message}")
        self.kind = kind


def classify(exc: sqlite3.Error) -> str:
    name = getattr(exc, "sqlite_errorname", "") or ""
    text = str(exc).lower()
    for prefix, kind in (
        ("SQLITE_BUSY", "locked"),
        ("SQLITE_LOCKED", "locked"),
        ("SQLITE_READONLY", "read_only"),
        ("SQLITE_FULL", "disk_full"),
        ("SQLITE_IOERR", "io"),
        ("SQLITE_CANTOPEN", "io"),
        ("SQLITE_CORRUPT", "corrupt"),
        ("SQLITE_NOTADB", "corrupt"),
    ):
        if name.startswith(prefix):
            return kind
    for needle, kind in (
        ("locked", "locked"),
        ("readonly", "read_only"),
        ("full", "disk_full"),
        ("i/o", "io"),
        ("malformed", "corrupt"),
        ("not a database", "corrupt"),
    ):
        if needle in text:
            return kind
    return "error"


@dataclass(frozen=True)
class OutboxRow:
    id: int
    idem_key: str
    channel: str
    fingerprint: str
    instance: int
    transition: str
    payload: dict[str, Any]
    status: str
    attempts: int
    next_attempt_at: float
    created_at: float
    depends_on: str | None
    last_reason: str | None = None
    delivered_at: float | None = None


@dataclass(frozen=True)
class NewMessage:
    idem_key: str
    channel: str
    fingerprint: str
    instance: int
    transition: str
    payload: dict[str, Any]
    depends_on: str | None
