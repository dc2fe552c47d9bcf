"""The in-memory history behind the page's charts: bounded, bucketed, fed by the store."""

from __future__ import annotations

import math

import pytest

from hashwatch.snapshot.history import MAX_NODES, MAX_POINTS, History, RingBuffer
from hashwatch.snapshot.store import SnapshotStore


def test_ring_buffer_keeps_the_newest_points_in_order():
    buf = RingBuffer(3)
    for i in range(5):
        buf.append(float(i), i * 10.0)
    assert buf.points() == [(2.0, 20.0), (3.0, 30.0), (4.0, 40.0)]
    buf.replace_last(4.5, 45.0)
    assert buf.points()[-1] == (4.5, 45.0)
    assert len(buf) == 3


def test_updates_within_a_resolution_bucket_merge_into_the_last_point():
    h = History(("x",), lambda s: (), resolution_seconds=60, span_seconds=3600)
    h.record(1000, [("x", "n1", 1.0)])
    h.record(1030, [("x", "n1", 2.0)])  # same bucket: overwrites
    h.record(1061, [("x", "n1", 3.0)])  # next bucket
    assert h.points("x", "n1") == [(1030.0, 2.0), (1061.0, 3.0)]


def test_capacity_is_span_over_resolution_and_never_grows():
    h = History(("x",), lambda s: (), resolution_seconds=60, span_seconds=3600)
    assert h.capacity == 61
    for i in range(1000):
        h.record(i * 60.0, [("x", "n1", float(i))])
    pts = h.points("x", "n1")
    assert len(pts) == 61
    assert pts[-1] == (999 * 60.0, 999.0)
    assert pts[0][0] >= 999 * 60.0 - 3600


def test_fast_polling_is_coarsened_to_a_day_in_max_points():
    h = History(("x",), lambda s: (), resolution_seconds=2)
    assert h.resolution_seconds == pytest.approx(86400 / MAX_POINTS)
    assert h.capacity <= MAX_POINTS + 1


def test_unknown_series_non_finite_values_and_extra_nodes_are_dropped():
    h = History(("x",), lambda s: (), resolution_seconds=60)
    h.record(0, [("y", "n1", 1.0), ("x", "n1", math.nan), ("x", "n1", math.inf)])
    assert h.points("y", "n1") == [] and h.points("x", "n1") == []
    h.record(0, [("x", f"n{i}", 1.0) for i in range(MAX_NODES + 5)])
    assert h.points("x", f"n{MAX_NODES - 1}") and not h.points("x", f"n{MAX_NODES}")


def test_a_clock_step_backwards_does_not_reorder_history():
    h = History(("x",), lambda s: (), resolution_seconds=60)
    h.record(1000, [("x", "n1", 1.0)])
    h.record(500, [("x", "n1", 9.0)])
    assert h.points("x", "n1") == [(1000.0, 1.0)]


def test_fed_by_the_snapshot_store_listener_at_the_snapshot_time():
    now = [5000.0]
    store = SnapshotStore(["n1"], clock=lambda: now[0])
    h = History(("blocks",), lambda snap: [("blocks", "n1", float(snap.version))],
                resolution_seconds=10, span_seconds=600)
    store.add_listener(h.on_snapshot)
    store.update_node("n1", up=True)
    now[0] += 20
    store.update_node("n1", up=False)
    assert h.points("blocks", "n1") == [(5000.0, 1.0), (5020.0, 2.0)]
