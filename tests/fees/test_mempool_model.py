"""The incremental mempool model against a fresh full load (poll path and ZMQ path)."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hashwatch.indicators.mempool_model import (
    Entry,
    MempoolModel,
    btc_to_sat,
    parse_entry,
    txid_key,
)

from .refpool import RefMempool

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "core"


def _fixture(name: str) -> dict:
    return json.loads((FIXTURES / f"{name}.json").read_text(), parse_float=Decimal)


def _fetch(model: MempoolModel, ref: RefMempool) -> None:
    model.add_entries(
        {t: parse_entry(ref.entry(t.hex())) if t.hex() in ref.txs else None for t in model.pending}
    )


def _keys(txids) -> list[bytes]:
    return [txid_key(t) for t in txids]


def _fresh(ref: RefMempool) -> dict[bytes, Entry]:
    return MempoolModel.from_verbose(ref.verbose()).normalized()


def test_parse_entry_core_fixture_reads_sizes_fees_and_parents():
    raw = _fixture("getmempoolentry")["response"]["result"]
    e = parse_entry(raw)
    assert e.vsize == 208
    assert e.fee_sat == 260_700 and e.modified_fee_sat == 260_700
    parent = "b1cc3a6c432939f779725bbec75b702d029cc6c14eba5b388b12a81f933407ac"
    assert e.parents == (txid_key(parent),)


def test_parse_entry_without_vsize_raises():
    with pytest.raises(ValueError):
        parse_entry({"fees": {"base": Decimal("0.0001")}})


def test_btc_to_sat_decimal_and_float_are_exact():
    assert btc_to_sat(Decimal("0.00000141")) == 141
    assert btc_to_sat(0.0057375) == 573_750


def test_from_verbose_core_fixture_loads_every_transaction():
    raw = _fixture("getrawmempool_verbose")["response"]["result"]
    model = MempoolModel.from_verbose(raw)
    count, vsize, fee = model.totals()
    info = _fixture("getmempoolinfo")["response"]["result"]
    assert count == info["size"] == 14
    assert vsize == info["bytes"]
    assert fee == btc_to_sat(info["total_fee"])


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), rounds=st.lists(st.integers(0, 6), min_size=1, max_size=25))
def test_apply_listing_random_changes_equals_fresh_load(seed, rounds):
    ref = RefMempool(seed)
    for _ in range(5):
        ref.add_random()
    model = MempoolModel()
    for k in rounds:
        for _ in range(k):
            ref.random_op()
        listing = ref.listing()
        model.apply_listing(_keys(listing["txids"]), listing["mempool_sequence"])
        if k % 2:
            ref.random_op()  # the mempool moves between the listing and the entry fetch
        _fetch(model, ref)
    listing = ref.listing()
    model.apply_listing(_keys(listing["txids"]), listing["mempool_sequence"])
    _fetch(model, ref)
    assert not model.pending
    assert model.normalized() == _fresh(ref)
    assert model.sequence == ref.sequence


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    before=st.integers(0, 8),
    rounds=st.lists(st.integers(0, 6), min_size=1, max_size=25),
)
def test_apply_event_random_changes_equals_fresh_load(seed, before, rounds):
    ref = RefMempool(seed)
    for _ in range(before):
        ref.random_op()
    model = MempoolModel()
    listing = ref.listing()
    model.apply_listing(_keys(listing["txids"]), listing["mempool_sequence"])
    _fetch(model, ref)
    cursor = 0  # events from before the listing arrive too: they must be skipped or harmless
    for k in rounds:
        for _ in range(k):
            ref.random_op()
        for label, h, seq in ref.events[cursor:]:
            action = model.apply_event(label, txid_key(h), seq)
            if action == "block":
                model.remove(_keys(ref.blocks[h]))
        cursor = len(ref.events)
        if k % 3 == 1:
            ref.random_op()  # changes between draining events and fetching entries
        _fetch(model, ref)
    for label, h, seq in ref.events[cursor:]:
        if model.apply_event(label, txid_key(h), seq) == "block":
            model.remove(_keys(ref.blocks[h]))
    _fetch(model, ref)
    assert model.normalized() == _fresh(ref)


def test_apply_event_stale_sequence_is_skipped():
    model = MempoolModel(sequence=10)  # a listing said: the next event is number 10
    assert model.apply_event("A", b"\xaa" * 32, 9) == "stale"
    assert not model.pending
    assert model.apply_event("A", b"\xaa" * 32, 10) == "applied"
    assert model.pending == {b"\xaa" * 32} and model.sequence == 11


def test_apply_event_core_fixture_numbers_follow_listing():
    fx = json.loads((FIXTURES / "getrawmempool_sequence.json").read_text())["response"]["result"]
    model = MempoolModel()
    model.apply_listing(_keys(fx["txids"]), fx["mempool_sequence"])  # 14 txs, sequence 15
    zmq = json.loads((FIXTURES / "zmq_messages.json").read_text())["messages"]
    last_add = bytes.fromhex(zmq[13]["frames_hex"][0])  # the 14th A, numbered 14
    seq = int.from_bytes(last_add[33:41], "little")
    assert seq == 14 and model.apply_event("A", last_add[:32], seq) == "stale"


def test_apply_event_disconnect_asks_for_resync():
    assert MempoolModel().apply_event("D", b"\xbb" * 32, None) == "resync"


def test_add_entries_none_drops_pending_txid():
    model = MempoolModel()
    model.apply_listing([b"\xcc" * 32], 1)
    model.add_entries({b"\xcc" * 32: None})
    assert not model.pending and not model.entries


def test_diff_listing_reports_new_and_gone():
    model = MempoolModel({"a": Entry(100, 100, 100, ()), "b": Entry(100, 100, 100, ())})
    assert model.diff(["b", "c"]) == (["c"], ["a"])
