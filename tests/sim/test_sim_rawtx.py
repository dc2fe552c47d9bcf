"""getrawtransaction as Core answers it without -txindex (the blocks collector's coinbase path)."""

from __future__ import annotations

import pytest

from hashwatch.sim.rpc_methods import RPCError


def test_getrawtransaction_coinbase_with_blockhash_has_tag_and_payout(sim_node):
    tip = sim_node.rpc("getbestblockhash")
    block = sim_node.rpc("getblock", tip, 1)
    tx = sim_node.rpc("getrawtransaction", block["tx"][0], True, tip)
    assert tx["txid"] == block["tx"][0]
    assert tx["blockhash"] == tip and tx["in_active_chain"] is True
    assert tx["vin"][0]["coinbase"] == block["coinbase_tx"]["coinbase"]
    assert tx["vout"][0]["scriptPubKey"]["address"]
    assert sim_node.rpc("getrawtransaction", block["tx"][0], 0, tip) == tx["hex"]


def test_getrawtransaction_without_blockhash_needs_txindex_error_minus_5(sim_node):
    tip = sim_node.rpc("getbestblockhash")
    txid = sim_node.rpc("getblock", tip, 1)["tx"][0]
    with pytest.raises(RPCError) as info:
        sim_node.rpc("getrawtransaction", txid, True)
    assert info.value.code == -5
    assert "provide a block hash" in info.value.message


def test_getrawtransaction_tx_not_in_block_error_minus_5(sim_node):
    tip = sim_node.rpc("getbestblockhash")
    with pytest.raises(RPCError) as info:
        sim_node.rpc("getrawtransaction", "ab" * 32, True, tip)
    assert info.value.code == -5
    assert "No such transaction found in the provided block" in info.value.message
