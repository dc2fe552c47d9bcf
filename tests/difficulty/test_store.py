"""The SQLite headers store: persistence across reopen, rollback, pruning, schema guard."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from hashwatch.state.headers import HeadersStore, StoredHeader
from hashwatch.state.sqlite import db_path

from .helpers import synthetic_chain, with_hashes


def test_db_path_is_per_node_under_state_dir(tmp_path: Path) -> None:
    assert db_path(tmp_path, "headers", "n1") == tmp_path / "headers-n1.sqlite3"
    assert db_path(tmp_path, "alerts") == tmp_path / "alerts.sqlite3"


def test_add_then_reopen_keeps_headers(tmp_path: Path) -> None:
    headers = with_hashes(synthetic_chain(100, 50))
    with HeadersStore(tmp_path / "h.sqlite3") as store:
        assert store.add(headers) == 50
    with HeadersStore(tmp_path / "h.sqlite3") as store:
        assert store.all() == headers
        assert store.bounds() == (100, 149)
        assert store.tip() == headers[-1]
        assert store.points() == [(h.height, h.time, h.bits) for h in headers]


def test_store_uses_wal_journal(tmp_path: Path) -> None:
    with HeadersStore(tmp_path / "h.sqlite3"):
        mode = sqlite3.connect(tmp_path / "h.sqlite3").execute("PRAGMA journal_mode").fetchone()
    assert mode[0] == "wal"


def test_rollback_to_removes_only_above_fork(tmp_path: Path) -> None:
    with HeadersStore(tmp_path / "h.sqlite3") as store:
        store.add(with_hashes(synthetic_chain(0, 20)))
        assert store.rollback_to(16) == 3
        assert store.bounds() == (0, 16)


def test_prune_below_and_clear(tmp_path: Path) -> None:
    with HeadersStore(tmp_path / "h.sqlite3") as store:
        store.add(with_hashes(synthetic_chain(0, 20)))
        assert store.prune_below(5) == 5
        assert store.bounds() == (5, 19)
        assert store.hashes(5, 6).keys() == {5, 6}
        assert store.clear() == 15
        assert store.bounds() is None and store.tip() is None


def test_failed_write_rolls_back_whole_batch(tmp_path: Path) -> None:
    with HeadersStore(tmp_path / "h.sqlite3") as store:
        good = with_hashes(synthetic_chain(0, 3))
        bad = StoredHeader(3, None, good[-1].hash, 0, 0)  # type: ignore[arg-type]  # NOT NULL hash
        try:
            store.add([*good, bad])
        except sqlite3.IntegrityError:
            pass
        assert store.count() == 0


def test_unknown_schema_version_starts_empty(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite3"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE headers (x)")
    db.execute("PRAGMA user_version=99")
    db.commit()
    db.close()
    with HeadersStore(path) as store:
        assert store.bounds() is None
        store.add(with_hashes(synthetic_chain(0, 2)))
        assert store.count() == 2
