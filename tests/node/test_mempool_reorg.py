"""Polling-mode mempool sync notices a reorg (a new tip not extending the last one) and reloads.

Without ZMQ there is no ``D`` event; before, the polling path diffed txid listings only and kept
entries whose parent links a reorg changes (transactions of disconnected blocks come back).
"""

from __future__ import annotations

import logging

from hashwatch.collect.mempool import MempoolSync
from hashwatch.indicators.mempool_model import MempoolModel
from hashwatch.node.auth import NodeAuth
from hashwatch.node.rpc import NodeClient


def fresh(sim) -> dict:
    return MempoolModel.from_verbose(sim.rpc("getrawmempool", True)).normalized()


def test_poll_path_reloads_on_reorg_but_not_on_a_new_block(sim_factory, caplog):
    sim = sim_factory(network="regtest", start_height=101, mempool_size=60)
    client = NodeClient("n1", sim.rpc_url, NodeAuth(cookie_file=sim.cookie_path))
    sync = MempoolSync(client)  # polling mode
    caplog.set_level(logging.INFO, logger="hashwatch")
    sync.sync()
    sim.mine(1)  # a child of the tip seen: no reorg
    sim.mempool.add_random(10)
    sync.sync()
    assert sync.model.normalized() == fresh(sim)
    assert not client.health.mempool_resyncs
    model_before = sync.model
    old_tip = sim.rpc("getbestblockhash")
    sim.reorg(2)  # two blocks replaced by three: their transactions come back first
    sync.sync()
    assert sync.model is not model_before  # reloaded, every entry fetched again
    assert sync.model.normalized() == fresh(sim)
    assert client.health.mempool_resyncs == {"reorg": 1}
    assert f"event=mempool_reorg node=n1 old_tip={old_tip}" in caplog.text
    sim.mine(1)
    sync.sync()
    assert client.health.mempool_resyncs == {"reorg": 1}


def test_poll_path_after_invalidateblock_equals_getrawmempool(rpc_backend, caplog):
    """Shared by the simulator and a real node (BITCOIND). On the real node the later payments
    may spend a coinbase that the invalidated block had made mature: Core drops them from the
    mempool while the block's own transactions come back."""
    b = rpc_backend
    client = NodeClient("n1", b.rpc_url, NodeAuth(cookie_file=b.cookie_path))
    sync = MempoolSync(client)
    caplog.set_level(logging.INFO, logger="hashwatch")
    for rate in (2, 5, 8):
        b.send_at_feerate(rate)
    block = b.mine(1)[0]
    for rate in (3, 6, 9):
        b.send_at_feerate(rate)
    sync.sync()
    assert sync.model.normalized() == MempoolModel.from_verbose(
        b.rpc("getrawmempool", True)).normalized()
    b.rpc("invalidateblock", block)  # the tip goes back: not a child of the tip seen last
    sync.sync()
    want = MempoolModel.from_verbose(b.rpc("getrawmempool", True)).normalized()
    assert len(want) >= 3  # at least the invalidated block's transactions are back
    assert sync.model.normalized() == want
    assert client.health.mempool_resyncs == {"reorg": 1}
    assert "event=mempool_reorg node=n1" in caplog.text
