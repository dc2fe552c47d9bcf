"""Behaviour switches the fault suite relies on: initial block download."""

from __future__ import annotations


def test_set_initial_block_download_reports_catching_up_then_synced(sim_node):
    height = sim_node.rpc("getblockcount")
    sim_node.set_initial_block_download(1000)
    info = sim_node.rpc("getblockchaininfo")
    assert info["initialblockdownload"] is True
    assert info["headers"] == height + 1000
    assert 0 < info["verificationprogress"] < 1
    sim_node.set_initial_block_download(False)
    info = sim_node.rpc("getblockchaininfo")
    assert info["initialblockdownload"] is False
    assert info["headers"] == info["blocks"] == height
    assert info["verificationprogress"] == 1.0
