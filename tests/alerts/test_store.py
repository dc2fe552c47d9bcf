"""The SQLite store: locking, recovery of rows left in `sending`, dependency order, history."""

from __future__ import annotations

import sqlite3

import pytest

from hashwatch.alerts.state import AlertState
from hashwatch.alerts.store import AlertStore, NewMessage, StoreError
from hashwatch.alerts.windows import Bucket


def msg(key: str, depends_on: str | None = None) -> NewMessage:
    transition = key.split("/")[2]
    return NewMessage(key, "log", "fp", 1, transition, {"k": key}, depends_on)


def test_commit_evaluation_locked_by_other_writer_raises_locked(tmp_path):
    store = AlertStore(tmp_path / "a.sqlite3", busy_timeout_seconds=0.05)
    other = sqlite3.connect(tmp_path / "a.sqlite3", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    with pytest.raises(StoreError) as exc:
        store.commit_evaluation([], [msg("fp/1/firing/log")], [], {}, 0.0)
    assert exc.value.kind == "locked"
    other.execute("ROLLBACK")
    store.commit_evaluation([], [msg("fp/1/firing/log")], [], {}, 0.0)
    assert len(store.outbox()) == 1


def test_recover_sending_returns_claimed_rows_to_pending(tmp_path):
    store = AlertStore(tmp_path / "a.sqlite3")
    store.commit_evaluation([], [msg("fp/1/firing/log")], [], {}, 0.0)
    assert [r.idem_key for r in store.claim_due(1.0)] == ["fp/1/firing/log"]
    assert store.claim_due(1.0) == []  # claimed rows are not handed out twice
    store.close()
    again = AlertStore(tmp_path / "a.sqlite3")
    assert again.recover_sending() == 1
    assert [r.idem_key for r in again.claim_due(1.0)] == ["fp/1/firing/log"]


def test_claim_due_resolve_only_after_firing_delivered(tmp_path):
    store = AlertStore(tmp_path / "a.sqlite3")
    firing, resolved = "fp/1/firing/log", "fp/1/resolved/log"
    store.commit_evaluation([], [msg(firing), msg(resolved, firing)], [], {}, 0.0)
    (row,) = store.claim_due(1.0)
    assert row.idem_key == firing
    assert store.claim_due(1.0) == []
    store.mark_delivered(row, 1.0)
    assert [r.idem_key for r in store.claim_due(1.0)] == [resolved]


def test_history_buckets_round_trip_and_prune(tmp_path):
    store = AlertStore(tmp_path / "a.sqlite3")
    key = ("n1", "x", (("window", "144"),))
    buckets = [Bucket(i, i * 60.0, float(i), float(i), float(i)) for i in range(5)]
    store.commit_evaluation([], [], [(key, b) for b in buckets], {key: 120.0}, 300.0)
    assert store.load_history() == {key: buckets[2:]}


def test_load_states_round_trip(tmp_path):
    store = AlertStore(tmp_path / "a.sqlite3")
    s = AlertState("fp", "r", "n1", (("scenario", "texas"),), "pending", 0, pending_since=5.0)
    store.commit_evaluation([s], [], [], {}, 5.0)
    assert AlertStore(tmp_path / "a.sqlite3").load_states() == [s]


def test_open_unwritable_path_raises_store_error(tmp_path):
    (tmp_path / "file").write_text("")
    with pytest.raises(StoreError) as exc:
        AlertStore(tmp_path / "file" / "a.sqlite3")
    assert exc.value.kind == "io"
