"""Start-up check of the state directory: refuse to start, in one line, when it cannot work.

Why before anything is served: a daemon that starts with an unusable state directory serves
metrics while silently losing alerts (the outbox cannot be written) or failing every job. The
operator learns it from one line and exit code 2, like a config error, and can fix it:

- the path is a file, or cannot be created -> name the path and the reason;
- the directory is not writable (read-only mount, permissions) -> say so, tested by writing;
- the alert store exists but is not a readable SQLite database -> name it; it is *not* rebuilt
  silently, because it holds promised notifications (move it aside to start afresh).

The caches (headers, blocks, fee samples) are not checked here: they rebuild themselves
(:class:`hashwatch.state.sqlite.CacheDB`).
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
from pathlib import Path


class StateDirError(Exception):
    """One line naming the path, what is wrong and the fix."""


def check_state_dir(state_dir: Path | str, alert_db: Path | str | None = None) -> Path:
    """Create ``state_dir`` if needed and prove it usable; raise :class:`StateDirError`."""
    path = Path(state_dir)
    if path.exists() and not path.is_dir():
        raise StateDirError(
            f"state_dir {path} is a file, not a directory: remove it or set state_dir elsewhere"
        )
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StateDirError(
            f"state_dir {path} cannot be created ({exc.strerror}): create it or fix permissions"
        ) from None
    try:
        fd, probe = tempfile.mkstemp(prefix=".write-test-", dir=path)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise StateDirError(
            f"state_dir {path} is not writable ({exc.strerror}): fix its permissions or mount"
        ) from None
    if alert_db is not None:
        check_alert_store(Path(alert_db))
    return path


def check_alert_store(db: Path) -> None:
    """An existing alert store must be a SQLite database that passes ``quick_check``."""
    if not db.exists():
        return
    if not db.is_file():
        raise StateDirError(f"alert store {db} is not a file: remove it")
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5.0)
        try:
            row = conn.execute("PRAGMA quick_check").fetchone()
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise StateDirError(
            f"alert store {db} is unreadable ({exc}): move it aside to start with empty alert "
            "state (its undelivered notifications are lost)"
        ) from None
    if not row or row[0] != "ok":
        raise StateDirError(
            f"alert store {db} is corrupt ({row[0] if row else 'no answer'}): move it aside to "
            "start with empty alert state (its undelivered notifications are lost)"
        )
