"""The fees section: estimates, mined-block windows, spike baseline, values() names."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from hashwatch.indicators.fees import (
    block_fee_windows,
    build_section,
    parse_estimate,
    spike_baseline,
    spike_ratio,
    with_spike,
)
from hashwatch.indicators.mempool_model import Entry
from hashwatch.metrics.catalog import CATALOG
from hashwatch.snapshot.blocks import BlockRecord
from hashwatch.state.fees import FeeSampleStore

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "core"


def _block(height: int, fee: int, subsidy: int = 312_500_000, p50: float = 5.0) -> BlockRecord:
    return BlockRecord(
        height=height, hash=f"{height:064x}", time=1_700_000_000 + 600 * height,
        total_fee_sat=fee, subsidy_sat=subsidy, tx_count=3000, total_weight=3_990_000,
        feerate_percentiles_sat_per_vb=(1.0, 2.0, p50, 10.0, 20.0), avg_feerate_sat_per_vb=6.0,
        coinbase_text="", payout_addresses=(),
    )  # fmt: skip


def test_parse_estimate_core_without_feerate_is_absent():
    fx = json.loads((FIXTURES / "estimatesmartfee_6.json").read_text(), parse_float=Decimal)
    assert parse_estimate(6, "economical", fx["response"]["result"]) is None


def test_parse_estimate_btc_per_kvb_to_sat_per_vbyte():
    est = parse_estimate(2, "conservative", {"feerate": Decimal("0.00012345"), "blocks": 2})
    assert est is not None and abs(est.sat_per_vb - 12.345) < 1e-9


def test_block_fee_windows_share_and_mean_over_each_window():
    blocks = [_block(h, 10_000_000) for h in range(100, 243)] + [_block(243, 30_000_000, p50=9.0)]
    windows = {w.window: w for w in block_fee_windows(blocks)}
    assert windows[1].fee_share_ratio == 30_000_000 / 342_500_000
    assert windows[1].mean_total_fee_sat == 30_000_000
    assert windows[1].percentiles_sat_per_vb[2] == 9.0
    assert windows[6].mean_total_fee_sat == (5 * 10_000_000 + 30_000_000) / 6
    assert windows[144].fee_share_ratio == (143 * 10e6 + 30e6) / (143 * 10e6 + 30e6 + 144 * 312.5e6)


def test_block_fee_windows_short_history_leaves_long_windows_out():
    windows = block_fee_windows([_block(h, 1000) for h in range(10)])
    assert [w.window for w in windows] == [1, 6]


def test_spike_baseline_short_history_is_absent():
    samples = [(1000.0 + 300 * i, 5.0) for i in range(11)]  # 50 minutes
    assert spike_baseline(samples, 4000.0, 7 * 86400, 3600) is None
    assert spike_baseline(samples, 4700.0, 7 * 86400, 3600) == 5.0


@given(st.lists(st.floats(0.5, 1000), min_size=1, max_size=50))
def test_spike_baseline_is_median_of_samples_in_window(values):
    samples = [(float(i * 300), v) for i, v in enumerate(values)]
    now = 300.0 * len(values) + 3600
    base = spike_baseline(samples, now, 10 * 86400, 3600)
    ordered = sorted(values)
    assert base is not None and ordered[0] <= base <= ordered[-1]
    assert sum(v < base for v in values) <= len(values) / 2


def test_spike_baseline_ignores_samples_older_than_window():
    samples = [(0.0, 100.0), (10_000.0, 4.0), (20_000.0, 6.0)]
    assert spike_baseline(samples, 20_000.0, 15_000.0, 3600) == 5.0


def test_spike_ratio_missing_input_is_absent():
    assert spike_ratio(None, 5.0) is None
    assert spike_ratio(10.0, None) is None
    assert spike_ratio(10.0, 5.0) == 2.0


def test_fee_sample_store_survives_reopen_and_downsamples(tmp_path):
    store = FeeSampleStore(tmp_path / "fees.sqlite3", sample_seconds=300, keep_seconds=3600)
    assert store.add(1000.0, 5.0)
    assert not store.add(1100.0, 50.0)  # within 5 minutes: not kept
    assert store.add(1300.0, 7.0)
    assert store.add(5000.0, 9.0)  # prunes the ones older than an hour
    store.close()
    again = FeeSampleStore(tmp_path / "fees.sqlite3", sample_seconds=300, keep_seconds=3600)
    assert again.samples(0) == [(5000.0, 9.0)]
    assert again.add(5400.0, 3.0)
    assert again.samples(5000.0) == [(5000.0, 9.0), (5400.0, 3.0)]
    again.close()


def test_build_section_values_use_contract_names():
    entries = {f"t{i}": Entry(250, 250 * (i + 1), 250 * (i + 1), ()) for i in range(40)}
    # 4,001 vB: 16 x 1,000 WU stay below the 16,004 WU limit (Core's fit test is strict)
    section = build_section(entries, n_blocks=3, block_vsize=4001,
                            recent_blocks=[_block(h, 1000) for h in range(200)])  # fmt: skip
    section = with_spike(section, [(0.0, 10.0), (7200.0, 20.0)], 7200.0, 86400, 3600)
    names = {v.name for v in section.values()}
    for name in names:
        assert CATALOG[name].rule, name
    assert (
        section.projected[0].tx_count == 16 and section.projected[0].median_sat_per_vb == 32
    )  # 16 x 250 vB at 25..40: the 8th
    assert section.spike_baseline_sat_per_vb == 15.0
    assert section.spike_ratio == 32 / 15.0
    labels = {(v.name, v.labels) for v in section.values()}
    assert ("fees_next_block_total_fee_sat", (("block", "3"),)) in labels
    assert ("mempool_histogram_vsize_bytes", (("le", "+Inf"),)) in labels


def test_build_section_empty_mempool_has_no_projection_and_no_median():
    section = build_section({})
    assert section.projected == () and section.next_block_median is None
    names = {v.name for v in section.values()}
    assert "fees_next_block_median_sat_per_vbyte" not in names
    assert "fees_spike_ratio" not in names
