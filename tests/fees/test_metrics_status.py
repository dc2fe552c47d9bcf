"""The fees renderer and the status rows, from a snapshot built by hand."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, generate_latest

from hashwatch.indicators.fees import FeeEstimate, build_section, with_spike
from hashwatch.indicators.mempool_model import Entry
from hashwatch.metrics import SnapshotCollector
from hashwatch.metrics.fees import render
from hashwatch.snapshot.store import SnapshotStore
from hashwatch.status.fees import rows


def _store(up: bool = True) -> SnapshotStore:
    store = SnapshotStore(["n1"], clock=lambda: 1000.0)
    store.update_node("n1", up=up)
    entries = {f"t{i}": Entry(250, 250 * (i + 1), 250 * (i + 1), ()) for i in range(40)}
    section = build_section(entries, n_blocks=2, block_vsize=4001,  # 16 x 1,000 WU fit
                            estimates=[FeeEstimate(6, "economical", 12.5)])  # fmt: skip
    store.set_section("n1", "fees", with_spike(section, [(0.0, 16.0)], 7200.0, 86400, 3600))
    return store


def _registry(store: SnapshotStore) -> CollectorRegistry:
    registry = CollectorRegistry()
    registry.register(SnapshotCollector(store.current, [("fees", render)]))
    return registry


def test_render_node_up_exports_fee_series_with_units():
    reg = _registry(_store())
    get = reg.get_sample_value
    assert get("hashwatch_renderer_success", {"renderer": "fees"}) == 1.0
    assert get("hashwatch_fees_next_block_median_sat_per_vbyte", {"node": "n1"}) == 32.0
    assert get("hashwatch_fees_next_block_percentile_sat_per_vbyte",
               {"node": "n1", "block": "2", "percentile": "90"}) == 23.0  # fmt: skip
    assert get("hashwatch_fees_spike_ratio", {"node": "n1"}) == 2.0
    assert get("hashwatch_fees_estimate_sat_per_vbyte",
               {"node": "n1", "target": "6", "mode": "economical"}) == 12.5  # fmt: skip
    assert get("hashwatch_mempool_histogram_vsize_bytes", {"node": "n1", "le": "+Inf"}) == 10_000
    assert get("hashwatch_mempool_histogram_vsize_bytes", {"node": "n1", "le": "10"}) == 2500
    assert (
        get("hashwatch_mempool_blocks_to_clear", {"node": "n1"}) == 3
    )  # 10,000 vB in 4,000 vB blocks
    text = generate_latest(reg).decode()
    assert "# HELP hashwatch_fees_spike_ratio" in text
    assert "hashwatch_mempool_total_fee_sat" not in text  # the base renderer owns it
    assert "fees_block_fee_share_ratio{" not in text  # no blocks yet: absent, not zero


def test_render_node_down_exports_nothing_for_it():
    reg = _registry(_store(up=False))
    assert (
        reg.get_sample_value("hashwatch_fees_next_block_median_sat_per_vbyte", {"node": "n1"})
        is None
    )


def test_rows_show_mempool_next_block_and_spike():
    store = _store()
    snap = store.current()
    text = dict(rows(snap.nodes["n1"], snap))
    assert text["projected block 1"].startswith("median 32.0 sat/vB")
    assert text["fee spike"].startswith("2.00x")
    assert "40 tx" in text["mempool"]


def test_rows_before_first_poll_say_so():
    store = SnapshotStore(["n1"])
    snap = store.current()
    assert rows(snap.nodes["n1"], snap)[0][1].startswith("not computed yet")
