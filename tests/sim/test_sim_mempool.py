"""Mempool model: ancestor-package block building, RBF, eviction, sequence, scale."""

from __future__ import annotations

import time

import pytest

from hashwatch.sim import MempoolError, RPCError, SimNode


@pytest.fixture
def node() -> SimNode:
    return SimNode(network="regtest", start_height=101, start_time=1795626849)


def test_block_template_takes_cpfp_package_before_mid_fee_tx(node: SimNode) -> None:
    mp = node.mempool
    parent = mp.add_tx(200, 200)  # 1 sat/vB
    child = mp.add_tx(200, 200 * 99)  # package: 50 sat/vB
    mp.remove(child)
    child = mp.add_tx(200, 200 * 99, [parent])
    mid = mp.add_tx(200, 200 * 20)
    low = mp.add_tx(200, 200 * 2)
    order = [e.txid for e in mp.select(4_000_000)]
    assert order.index(parent) < order.index(child) < order.index(mid) < order.index(low)
    tmpl = node.rpc("getblocktemplate", {"rules": ["segwit"]})
    txids = [t["txid"] for t in tmpl["transactions"]]
    assert txids == order
    child_row = tmpl["transactions"][txids.index(child)]
    assert child_row["depends"] == [txids.index(parent) + 1]
    assert child_row["fee"] == 200 * 99 and child_row["weight"] > 0


def test_block_template_respects_block_weight(node: SimNode) -> None:
    node.mempool.add_random(12_000)
    chosen = node.mempool.select(3_992_000)
    assert sum(e.weight for e in chosen) <= 3_992_000
    assert sum(e.weight for e in chosen) > 3_900_000
    rates = [e.fee / e.vsize for e in chosen]
    ids = {e.txid for e in chosen}
    left = [e.fee / e.vsize for e in node.mempool.entries.values() if e.txid not in ids]
    assert min(rates) >= sorted(left)[len(left) // 2]


def test_mining_confirms_selected_txs_and_getblockstats_agrees(node: SimNode) -> None:
    ids = [node.mempool.add_tx(150, 150 * r) for r in (1, 5, 20)]
    block_hash = node.mine(1)[0]
    assert len(node.mempool) == 0
    block = node.rpc("getblock", block_hash, 1)
    assert set(ids) <= set(block["tx"])
    stats = node.rpc("getblockstats", block_hash)
    assert stats["totalfee"] == 150 * 26 and stats["txs"] == 4
    assert stats["minfeerate"] >= 1 and stats["maxfeerate"] == 20


def test_getmempoolentry_ancestor_and_descendant_fields(node: SimNode) -> None:
    a = node.mempool.add_tx(100, 1000)
    b = node.mempool.add_tx(200, 3000, [a])
    c = node.mempool.add_tx(300, 9000, [b])
    ea, ec = node.rpc("getmempoolentry", a), node.rpc("getmempoolentry", c)
    assert (ea["descendantcount"], ea["descendantsize"]) == (3, 600)
    assert (ec["ancestorcount"], ec["ancestorsize"]) == (3, 600)
    assert ec["fees"]["ancestor"] == pytest.approx(0.00013)
    assert ea["fees"]["descendant"] == pytest.approx(0.00013)
    assert ea["spentby"] == [b] and ec["depends"] == [b]
    assert ea["fees"]["chunk"] == pytest.approx(0.00013)  # low parent chunked with children
    node.mempool.remove(b)  # conflict: removes b and c
    assert node.rpc("getmempoolentry", a)["descendantcount"] == 1
    with pytest.raises(RPCError) as err:
        node.rpc("getmempoolentry", c)
    assert (err.value.code, err.value.message) == (-5, "Transaction not in mempool")


def test_rbf_replaces_with_higher_fee_and_rejects_low(node: SimNode) -> None:
    events: list[tuple[str, str, int]] = []
    node.mempool.listeners.append(lambda t, label, seq: events.append((t, label, seq)))
    old = node.mempool.add_tx(200, 400)
    with pytest.raises(MempoolError):
        node.mempool.replace(old, 410)  # does not pay the incremental relay fee
    new = node.mempool.replace(old, 2000)
    assert old not in node.mempool and new in node.mempool
    assert [(t, label) for t, label, _ in events] == [(old, "A"), (old, "R"), (new, "A")]
    seqs = [s for _, _, s in events]
    assert seqs == sorted(seqs) and len(set(seqs)) == 3


def test_eviction_raises_mempoolminfee_and_rejects_cheap_txs() -> None:
    node = SimNode(network="regtest", start_height=101, maxmempool_mb=5,
                   start_time=1795626849)
    node.mempool.add_random(8_000)
    info = node.rpc("getmempoolinfo")
    assert info["usage"] <= info["maxmempool"]
    assert info["mempoolminfee"] > info["minrelaytxfee"]
    floor_sat_vb = info["mempoolminfee"] * 1e5
    with pytest.raises(MempoolError, match="min fee"):
        node.mempool.add_tx(200, int(200 * floor_sat_vb * 0.5))
    rates = [e.fee / e.vsize for e in node.mempool.entries.values()]
    assert min(rates) >= floor_sat_vb - 1 - 1e-9  # evicted below bump minus increment


def test_mempool_sequence_counts_adds_and_block_removals(node: SimNode) -> None:
    start = node.rpc("getrawmempool", False, True)["mempool_sequence"]
    node.mempool.add_random(5)
    node.mine(1)
    after = node.rpc("getrawmempool", False, True)
    assert after == {"txids": [], "mempool_sequence": start + 10}


def test_300k_mempool_builds_fast_and_lists_cheaply() -> None:
    node = SimNode(network="main", start_height=925_000, maxmempool_mb=2000,
                   start_time=1764000000)
    # CPU time, not wall time: the CI machine is shared by parallel jobs
    t0 = time.process_time()
    node.mempool.add_random(300_000)
    build = time.process_time() - t0
    assert len(node.mempool) == 300_000
    assert build < 5.0, build
    t0 = time.process_time()
    txids = node.rpc("getrawmempool")
    listing = time.process_time() - t0
    assert len(txids) == 300_000 and listing < 1.5, listing
