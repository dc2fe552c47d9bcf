"""Projected blocks, ancestor scores, histogram and percentiles."""

from __future__ import annotations

import json
import math
from decimal import Decimal
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from hashwatch.indicators.mempool_model import Entry, MempoolModel, btc_to_sat, txid_key
from hashwatch.indicators.mempool_projection import (
    FEE_BANDS,
    _package,
    analyse,
    blocks_to_clear,
    histogram,
    max_block_vsize,
    project_blocks,
    weighted_percentiles,
)

from .refpool import RefMempool

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "core"


def _verbose_fixture() -> dict:
    fx = json.loads((FIXTURES / "getrawmempool_verbose.json").read_text(), parse_float=Decimal)
    return fx["response"]["result"]


def _tx(rate: float, vsize: int = 200, parents: tuple = ()) -> Entry:
    fee = round(rate * vsize)
    return Entry(vsize, fee, fee, parents)


def test_package_core_fixture_matches_core_ancestor_fields():
    raw = _verbose_fixture()
    model = MempoolModel.from_verbose(raw)
    for txid, core in raw.items():
        members, _weight, vsize, fee = _package(txid_key(txid), model, set())
        assert len(members) == core["ancestorcount"], txid
        assert vsize == core["ancestorsize"], txid
        assert fee == btc_to_sat(core["fees"]["ancestor"]), txid


def test_project_blocks_low_fee_parent_high_fee_child_mined_together_at_package_rate():
    entries = {
        "parent": _tx(2, 200),
        "child": _tx(80, 200, ("parent",)),
        "other": _tx(30, 200),
    }
    (block,) = project_blocks(entries, 3, block_vsize=1000)
    assert block.txids[:2] in (("parent", "child"), ("child", "parent"))  # package first: 41 sat/vB
    assert block.txids[2] == "other"
    assert block.min_fee_rate_sat_per_vb == 30
    assert block.max_fee_rate_sat_per_vb == 41
    assert block.total_fee_sat == 400 + 16000 + 6000


def test_project_blocks_full_block_defers_to_next_block():
    entries = {f"t{i}": _tx(100 - i, 400) for i in range(5)}
    blocks = project_blocks(entries, 3, block_vsize=1000)
    assert [b.txids for b in blocks] == [("t0", "t1"), ("t2", "t3"), ("t4",)]
    assert [b.vsize for b in blocks] == [800, 800, 400]


def test_project_blocks_small_mempool_above_cut_fills_from_the_rest():
    # 3 blocks of 1,000 vB want 6,000 vB above the cut; the rest join when the heap runs dry
    entries = {f"h{i}": _tx(500, 500) for i in range(12)} | {f"l{i}": _tx(1, 500) for i in range(4)}
    blocks = project_blocks(entries, 10, block_vsize=1001)  # two 2,000 WU txs < 4,004 WU
    assert sum(b.tx_count for b in blocks) == 16
    assert blocks[-1].max_fee_rate_sat_per_vb == 1


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 120), limit=st.integers(800, 6000))
def test_project_blocks_random_mempool_respects_limit_and_ancestors(seed, n, limit):
    ref = RefMempool(seed)
    for _ in range(n):
        ref.add_random()
    entries = MempoolModel.from_verbose(ref.verbose())  # reads as {txid bytes: Entry}
    blocks = project_blocks(entries, 4, block_vsize=limit)
    seen: dict[bytes, int] = {}
    for k, b in enumerate(blocks):
        assert b.vsize <= limit
        assert b.vsize == sum(entries[t].vsize for t in b.txids)
        assert b.total_fee_sat == sum(entries[t].fee_sat for t in b.txids)
        assert list(b.percentiles_sat_per_vb) == sorted(b.percentiles_sat_per_vb)
        assert b.min_fee_rate_sat_per_vb <= b.median_sat_per_vb <= b.max_fee_rate_sat_per_vb
        for t in b.txids:
            assert t not in seen
            seen[t] = k
    for t, k in seen.items():
        for a in map(txid_key, ref.ancestors(t.hex())):
            assert a in seen and seen[a] <= k  # never a child without its parents
    if sum(e.vsize for e in entries.values()) < limit:  # Core's fit test is strict
        assert len(blocks) == 1 and len(seen) == len(entries)


def test_histogram_rates_on_band_edges_fall_in_their_band():
    entries = {"a": _tx(1, 100), "b": _tx(5, 200), "c": _tx(5.5, 200), "d": _tx(3000, 100)}
    hist = dict(histogram(analyse(entries)))
    assert hist[1.0] == 100
    assert hist[4.0] == 100
    assert hist[5.0] == 300
    assert hist[6.0] == 500
    assert hist[2000.0] == 500
    assert hist[math.inf] == 600
    assert len(hist) == len(FEE_BANDS) + 1


def test_histogram_uses_ancestor_score_for_cpfp_parent_and_child():
    entries = {"p": _tx(2, 200), "c": _tx(80, 200, ("p",))}
    hist = dict(histogram(analyse(entries)))
    assert hist[2.0] == 200  # the parent pays 2 sat/vB
    assert hist[40.0] == 200 and hist[50.0] == 400  # the child's score is the package's 41


def test_weighted_percentiles_by_size_like_getblockstats():
    items = [(1.0, 100), (2.0, 100), (3.0, 600), (10.0, 200)]  # cumulative 100, 200, 800, 1000
    assert weighted_percentiles(items) == (1.0, 3.0, 3.0, 3.0, 10.0)


def test_blocks_to_clear_rounds_up_and_empty_is_zero():
    limit = max_block_vsize()
    assert limit == 998_000
    assert blocks_to_clear(0) == 0
    assert blocks_to_clear(1) == 1
    assert blocks_to_clear(limit + 1) == 2
