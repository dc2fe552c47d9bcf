"""Chain model: synthesized history obeys Core's rules; reorgs and tips behave like Core."""

from __future__ import annotations

import statistics

import pytest

from hashwatch.sim import RPCError, SimNode
from hashwatch.sim import consensus as cs


@pytest.fixture(scope="module")
def main_node() -> SimNode:
    return SimNode(network="main", start_height=925_000, seed=5, start_time=1764000000)


def test_history_retargets_follow_core_rule_at_every_epoch_boundary(main_node: SimNode) -> None:
    chain = main_node.chain
    boundaries = [h for h in range(chain.base + 2016, chain.height + 1) if h % 2016 == 0]
    assert len(boundaries) >= 3
    for h in boundaries:
        first, last = chain.at(h - 2016), chain.at(h - 1)
        assert chain.at(h).bits == cs.calculate_next_bits(last.bits, first.time, last.time)
    assert chain.tip.bits == 0x1701D936


def test_history_is_linked_and_mediantime_is_median_of_11(main_node: SimNode) -> None:
    node = main_node
    h = node.chain.height
    hdr = node.rpc("getblockheader", node.rpc("getblockhash", h))
    prev = node.rpc("getblockheader", hdr["previousblockhash"])
    assert prev["height"] == h - 1 and prev["nextblockhash"] == hdr["hash"]
    times = [node.chain.at(x).time for x in range(h - 10, h + 1)]
    assert hdr["mediantime"] == int(statistics.median(times))
    assert int(hdr["chainwork"], 16) - int(prev["chainwork"], 16) == cs.block_proof(0x1701D936)


def test_old_heights_answer_deterministically(main_node: SimNode) -> None:
    a = main_node.rpc("getblockhash", 500_000)
    assert a == main_node.rpc("getblockhash", 500_000)
    assert main_node.rpc("getblockheader", a)["height"] == 500_000
    assert main_node.rpc("getblockhash", 0) == cs.MAIN.genesis_hash
    other = SimNode(network="main", start_height=925_000, seed=5, start_time=1764000000)
    assert other.rpc("getbestblockhash") == main_node.rpc("getbestblockhash")


def test_block_hashes_unique_and_64_hex(main_node: SimNode) -> None:
    hashes = [b.hash for b in main_node.chain.active]
    assert len(set(hashes)) == len(hashes)
    assert all(len(h) == 64 and int(h, 16) >= 0 for h in hashes[:50])


def test_getnetworkhashps_is_chainwork_over_time_span(main_node: SimNode) -> None:
    chain = main_node.chain
    tip = chain.tip
    window = [chain.at(h) for h in range(tip.height - 120, tip.height + 1)]
    span = max(b.time for b in window) - min(b.time for b in window)
    expected = (tip.chainwork - window[0].chainwork) / span
    assert main_node.rpc("getnetworkhashps") == pytest.approx(expected, rel=1e-12)
    since = tip.height % 2016 + 1
    first = chain.at(tip.height - since)
    got = main_node.rpc("getnetworkhashps", -1)
    times = [chain.at(h).time for h in range(first.height, tip.height + 1)]
    assert got == pytest.approx((tip.chainwork - first.chainwork) / (max(times) - min(times)))
    with pytest.raises(RPCError) as err:
        main_node.rpc("getnetworkhashps", 0)
    assert err.value.code == -8


def test_regtest_halves_every_150_and_keeps_bits() -> None:
    node = SimNode(network="regtest", start_height=148, start_time=1795626849)
    node.mine(3)
    assert node.rpc("getblockstats", 149, ["subsidy"])["subsidy"] == 50 * cs.COIN
    assert node.rpc("getblockstats", 150, ["subsidy"])["subsidy"] == 25 * cs.COIN
    assert node.rpc("getblockchaininfo")["bits"] == "207fffff"


def test_mine_retargets_at_epoch_boundary_with_core_rule() -> None:
    node = SimNode(network="main", start_height=925_340, seed=2, start_time=1764200000)
    node.mine(5, interval=700)
    chain = node.chain
    first, last = chain.at(923_328), chain.at(925_343)
    assert chain.at(925_344).bits == cs.calculate_next_bits(0x1701D936, first.time, last.time)
    assert node.rpc("getmininginfo")["next"]["bits"] == f"{chain.at(925_344).bits:08x}"


def test_reorg_replaces_blocks_and_chaintips_shows_valid_fork() -> None:
    node = SimNode(network="regtest", start_height=110, start_time=1795626849)
    old_tip = node.rpc("getbestblockhash")
    new = node.reorg(2)
    assert len(new) == 3 and node.rpc("getblockcount") == 111
    tips = node.rpc("getchaintips")
    assert tips[0] == {"height": 111, "hash": new[-1], "branchlen": 0, "status": "active"}
    assert {"height": 110, "hash": old_tip, "branchlen": 2, "status": "valid-fork"} in tips
    assert node.rpc("getblockheader", old_tip)["confirmations"] == -1


def test_invalidate_then_reconsider_switches_back_to_most_work() -> None:
    node = SimNode(network="regtest", start_height=101, start_time=1795626849)
    tip = node.rpc("getbestblockhash")
    node.rpc("invalidateblock", tip)
    assert node.rpc("getblockcount") == 100
    node.mine(2)
    tips = node.rpc("getchaintips")
    assert {"height": 101, "hash": tip, "branchlen": 1, "status": "invalid"} in tips
    node.rpc("reconsiderblock", tip)
    assert node.rpc("getblockcount") == 102  # the longer chain stays active
    status = {t["hash"]: t["status"] for t in node.rpc("getchaintips")}
    assert status[tip] == "valid-fork"


def test_coinbase_has_height_push_tag_and_pool_address(main_node: SimNode) -> None:
    tags = {p.tag: p for p in main_node.pools if p.tag}
    tip = main_node.chain.height
    seen: dict[int, str] = {}
    for h in range(tip - 40, tip + 1):
        blk = main_node.rpc("getblock", main_node.rpc("getblockhash", h), 1)
        script = bytes.fromhex(blk["coinbase_tx"]["coinbase"])
        assert script[0] == 3 and int.from_bytes(script[1:4], "little") == h  # BIP34
        text = script.decode("utf-8", "replace")
        hit = [t for t in tags if t in text]
        if hit:
            seen[h] = hit[0]
    assert 25 <= len(seen) < 41  # mostly tagged, some unknown miners
    for h in list(seen)[:3]:
        cb = main_node.rpc("getblock", main_node.rpc("getblockhash", h), 2)["tx"][0]
        spk = cb["vout"][0]["scriptPubKey"]
        assert spk["address"] == tags[seen[h]].address
        assert spk["type"] in ("witness_v0_keyhash", "pubkeyhash", "scripthash")
        assert cb["vout"][0]["value"] >= 3.125
