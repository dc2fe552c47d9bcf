"""ZMQ loss without a counter gap is found by the mempool sequence, resynced, counted, logged.

Seen on a real node: after a long freeze and restarts the model missed 424 transactions and no
gap was logged. The simulator's ``drop_zmq_messages`` loses A/R messages before they are
numbered, so the topic counter runs on while the node's mempool sequence has moved past them.
The drift check alone would not see 5 lost transactions (its tolerance is 10 + churn).
"""

from __future__ import annotations

import logging
import os

import pytest
from prometheus_client import CollectorRegistry

from hashwatch.collect.mempool import MempoolSync
from hashwatch.indicators.mempool_model import MempoolModel
from hashwatch.metrics.selfmetrics import DaemonMetrics
from hashwatch.node.auth import NodeAuth
from hashwatch.node.rpc import NodeClient
from hashwatch.node.zmq import ZmqListener

from ..support.waiting import wait_for


def fresh(sim) -> dict:
    return MempoolModel.from_verbose(sim.rpc("getrawmempool", True)).normalized()


def all_sequence_received(sim, health) -> bool:
    """Every ``sequence`` message published so far has arrived. Only that topic is compared:
    the hashblock probes sent while the SUB socket was still joining are lost by design."""
    return health.zmq_messages["sequence"] == sim.zmq.sent_on("sequence")


def test_lost_zmq_events_without_counter_gap_resync_and_are_counted(sim_factory, caplog):
    sim = sim_factory(network="regtest", start_height=101, zmq=True, mempool_size=50)
    client = NodeClient("n1", sim.rpc_url, NodeAuth(cookie_file=sim.cookie_path))
    sync = MempoolSync(client, use_events=True)
    health = client.health
    listener = ZmqListener("n1", {"sequence": sim.zmq_url, "hashblock": sim.zmq_url},
                           on_sequence=sync.on_sequence, on_gap=sync.on_gap, health=health)
    listener.start()
    registry = CollectorRegistry()
    DaemonMetrics(registry).watch_clients({"n1": client})
    caplog.set_level(logging.INFO, logger="hashwatch")
    try:
        # the SUB socket joins asynchronously: probe until one message arrives
        def joined() -> bool:
            sim.zmq.hashblock("00" * 32)
            return health.zmq_messages["hashblock"] > 0

        wait_for(joined, timeout=10, what="listener receiving")
        sync.sync()  # the one listing
        assert sim.stats.calls_by_method["getrawmempool"] == 1

        # 1. normal traffic and a block (whose removals take sequence numbers silently)
        sim.mempool.add_random(20)
        sim.mine(1)
        sim.mempool.add_random(20)
        wait_for(lambda: all_sequence_received(sim, health), timeout=10,
                 what="all sequence messages")
        for _ in range(3):
            sync.sync()
        assert sync.model.normalized() == fresh(sim)
        assert health.mempool_sequence_gaps == 0 and not health.mempool_resyncs
        assert sim.stats.calls_by_method["getrawmempool"] == 1  # events only, no listing

        # 2. five A events lost inside the node: no counter gap
        sim.drop_zmq_messages(5)
        sim.mempool.add_random(15)
        wait_for(lambda: all_sequence_received(sim, health), timeout=10,
                 what="all sequence messages")
        assert sync.model.normalized() != fresh(sim)
        for _ in range(3):  # noticed on the 2nd poll, resynced on the 3rd
            sync.sync()
        assert sync.model.normalized() == fresh(sim)
    finally:
        listener.stop()
    assert health.zmq_gaps["sequence"] == 0  # ZMQ's own counter saw nothing
    assert health.mempool_sequence_gaps == 1
    assert health.mempool_resyncs == {"sequence_gap": 1}
    assert sim.stats.calls_by_method["getrawmempool"] == 2
    assert "event=mempool_sequence_gap node=n1 missing=5" in caplog.text
    assert "event=mempool_resync node=n1 reason=sequence_gap" in caplog.text

    def sample(name, **labels):
        return registry.get_sample_value(name, {"node": "n1", **labels})

    assert sample("hashwatch_mempool_sequence_gaps_total") == 1
    assert sample("hashwatch_mempool_resyncs_total", reason="sequence_gap") == 1
    assert sample("hashwatch_zmq_sequence_gaps_total", topic="sequence") == 0
    assert sample("hashwatch_zmq_messages_received_total", topic="sequence") == \
        health.zmq_messages["sequence"] > 50
    assert sample("hashwatch_zmq_last_message_time_seconds", topic="sequence") > 1.7e9


@pytest.fixture(params=["sim", "real"])
def zmq_backend(request, sim_factory):
    """A regtest node publishing ``sequence`` and ``hashblock``: the simulator or bitcoind."""
    if request.param == "sim":
        from ..support.backends import SimBackend

        sim = sim_factory(network="regtest", start_height=101, zmq=True)
        backend = SimBackend(sim)
        backend.zmq_url = sim.zmq_url
        backend.bump = lambda txid: sim.mempool.replace(txid, sim.mempool.entries[txid].fee * 2)
        yield backend
        return
    binary = os.environ.get("BITCOIND")
    if not binary:
        pytest.skip("real node: set BITCOIND=/path/to/bitcoind")
    from ..harness.bitcoind import BitcoindNode

    node = BitcoindNode(binary)
    try:
        node.start()
        node.mine(100)  # mature coinbases: payments below need not chain on each other
        node.bump = lambda txid: node.rpc("bumpfee", txid)["txid"]
        yield node
    finally:
        node.stop()


def test_sequence_accounting_sees_no_loss_in_normal_traffic(zmq_backend, caplog):
    """Block removals take mempool-sequence numbers silently and RBF removes with R: none of it
    may look like a loss (on the real node this checks the accounting against Core itself)."""
    b = zmq_backend
    client = NodeClient("n1", b.rpc_url, NodeAuth(cookie_file=b.cookie_path))
    sync = MempoolSync(client, use_events=True)
    seen: set[str] = set()

    def on_sequence(event) -> None:
        seen.add(event.hash.hex())
        sync.on_sequence(event)

    listener = ZmqListener("n1", {"sequence": b.zmq_url, "hashblock": b.zmq_url},
                           on_sequence=on_sequence, on_gap=sync.on_gap, health=client.health)
    listener.start()
    caplog.set_level(logging.INFO, logger="hashwatch")

    def settle(last: str) -> None:
        wait_for(lambda: last in seen, timeout=20, what=f"ZMQ event for {last[:12]}")
        for _ in range(3):
            sync.sync()
        assert sync.model.normalized() == fresh_of(b)

    try:
        wait_for(lambda: client.health.zmq_messages["hashblock"] > 0 or b.mine(1) and False,
                 timeout=20, what="listener receiving")
        sync.sync()
        for _ in range(3):
            txids = [b.send_at_feerate(2 + i) for i in range(12)]
            settle(txids[-1])
            settle(b.bump(txids[0]))  # R for the replaced, A for the replacement
            settle(b.mine(1)[0])      # C: its transactions leave without R
            settle(b.send_at_feerate(30))
    finally:
        listener.stop()
    assert client.health.mempool_sequence_gaps == 0
    assert not client.health.mempool_resyncs
    assert "event=mempool_sequence_gap" not in caplog.text
    assert client.health.zmq_gaps["sequence"] == 0


def fresh_of(b) -> dict:
    return MempoolModel.from_verbose(b.rpc("getrawmempool", True)).normalized()


def test_mempool_sequence_going_backwards_resyncs_at_once(sim_factory, caplog):
    """A restarted node numbers its mempool events from 1 again. Events below the model's
    sequence are normal only right after a listing (it already held them); later they mean
    the node's counter restarted, and skipping them as "already seen" would lose them."""
    from hashwatch.node.zmq import SequenceEvent

    sim = sim_factory(network="regtest", start_height=101, mempool_size=20)
    client = NodeClient("n1", sim.rpc_url, NodeAuth(cookie_file=sim.cookie_path))
    sync = MempoolSync(client, use_events=True)
    caplog.set_level(logging.INFO, logger="hashwatch")
    sync.sync()  # the listing
    sync.sync()  # events only (none)
    txid = sim.mempool.add_tx(141, 1410)  # the restarted node's first transaction
    sync.on_sequence(SequenceEvent(bytes.fromhex(txid), "A", 1))
    sync.sync()
    assert client.health.mempool_resyncs == {"sequence_reset": 1}
    assert "event=mempool_sequence_reset node=n1 events=1" in caplog.text
    assert sync.model.normalized() == fresh(sim)
