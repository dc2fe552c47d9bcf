"""ZMQ messages: Core's three-frame layout, per-topic counters, sequence labels."""

from __future__ import annotations

import struct
from collections.abc import Callable

import zmq

from hashwatch.sim import SimNode


def _subscriber(url: str) -> zmq.Socket:
    sock = zmq.Context.instance().socket(zmq.SUB)
    sock.setsockopt(zmq.SUBSCRIBE, b"")
    sock.setsockopt(zmq.RCVTIMEO, 5000)
    sock.connect(url)
    return sock


def _wait_connected(node: SimNode, sock: zmq.Socket) -> None:
    """PUB drops messages until the SUB is joined: publish probes until one arrives."""
    poller = zmq.Poller()
    poller.register(sock, zmq.POLLIN)
    for _ in range(100):
        node.zmq.hashblock("00" * 32)
        if poller.poll(50):
            while poller.poll(0):
                sock.recv_multipart()
            return
    raise AssertionError("subscriber never connected")


def test_zmq_block_and_mempool_messages(sim_factory: Callable[..., SimNode]) -> None:
    node = sim_factory(network="regtest", start_height=101, zmq=True)
    assert node.rpc("getzmqnotifications") == [
        {"type": "pubhashblock", "address": node.zmq_url, "hwm": 1000},
        {"type": "pubsequence", "address": node.zmq_url, "hwm": 1000}]
    sock = _subscriber(node.zmq_url)
    try:
        _wait_connected(node, sock)
        seq0 = node.mempool.sequence
        txid = node.mempool.add_tx(141, 1410)
        topic, body, counter = sock.recv_multipart()
        assert topic == b"sequence" and len(counter) == 4
        assert body == bytes.fromhex(txid) + b"A" + struct.pack("<Q", seq0)
        first_counter = struct.unpack("<I", counter)[0]
        block = node.mine(1)[0]
        msgs = [sock.recv_multipart() for _ in range(2)]
        assert msgs[0][:2] == [b"sequence", bytes.fromhex(block) + b"C"]
        assert struct.unpack("<I", msgs[0][2])[0] == first_counter + 1
        assert msgs[1][:2] == [b"hashblock", bytes.fromhex(block)]
        node.mempool.remove(node.mempool.add_tx(141, 1410))
        a, r = sock.recv_multipart(), sock.recv_multipart()
        assert a[1][32:33] == b"A" and r[1][32:33] == b"R"
        assert struct.unpack("<Q", r[1][33:])[0] == struct.unpack("<Q", a[1][33:])[0] + 1
        assert node.mempool.sequence == seq0 + 4  # add, block removal, add, remove
    finally:
        sock.close(0)


def test_zmq_disconnect_message_on_reorg(sim_factory: Callable[..., SimNode]) -> None:
    node = sim_factory(network="regtest", start_height=101, zmq=True)
    sock = _subscriber(node.zmq_url)
    try:
        _wait_connected(node, sock)
        old = node.rpc("getbestblockhash")
        node.reorg(1)
        first = sock.recv_multipart()
        assert first[0] == b"sequence" and first[1] == bytes.fromhex(old) + b"D"
    finally:
        sock.close(0)


def test_drop_zmq_messages_loses_events_without_a_counter_gap(
        sim_factory: Callable[..., SimNode]) -> None:
    """The fault behind "ZMQ silently missing messages": the node's mempool sequence moves on,
    the topic counter does not show it."""
    node = sim_factory(network="regtest", start_height=101, zmq=True)
    sock = _subscriber(node.zmq_url)
    try:
        _wait_connected(node, sock)
        node.mempool.add_tx(141, 1410)
        _, first, c1 = sock.recv_multipart()
        node.drop_zmq_messages(3)
        for _ in range(4):
            node.mempool.add_tx(141, 1410)
        _, body, c2 = sock.recv_multipart()
        assert struct.unpack("<I", c2)[0] == struct.unpack("<I", c1)[0] + 1  # no counter gap
        seq1 = struct.unpack("<Q", first[33:])[0]
        assert struct.unpack("<Q", body[33:])[0] == seq1 + 4  # the mempool sequence jumped
        assert node.zmq.dropped == 3
    finally:
        sock.close(0)
