"""The ZMQ listener against a real PUB socket on loopback, replaying Core's recorded frames."""

from __future__ import annotations

import json
import struct
import threading
from pathlib import Path

import pytest
import zmq

from hashwatch.node.zmq import CounterTracker, ZmqListener, parse_sequence

from ..support.waiting import wait_until

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "core"


def _messages() -> list[tuple[str, list[bytes]]]:
    fx = json.loads((FIXTURES / "zmq_messages.json").read_text())
    return [
        (m["topic"], [bytes.fromhex(h) for h in m["frames_hex"]])
        for m in fx["messages"]
        if m["topic"] in ("sequence", "hashblock")
    ]


def test_parse_sequence_core_frames_decode_labels_and_mempool_sequence():
    msgs = _messages()
    first = parse_sequence(msgs[0][1][0])
    assert first.label == "A" and first.mempool_sequence == 1
    assert first.hash.hex() == "d800624467987748358c452b343ab49852ffa0685d8a714a97b138e717a72be4"
    connected = [parse_sequence(f[0]) for t, f in msgs if t == "sequence" and len(f[0]) == 33]
    assert connected and all(e.label == "C" and e.mempool_sequence is None for e in connected)


def test_parse_sequence_truncated_body_raises():
    with pytest.raises(ValueError):
        parse_sequence(b"\x00" * 32 + b"A" + b"\x01")


def test_counter_tracker_gap_and_wraparound():
    t = CounterTracker()
    assert t.check("sequence", 0xFFFFFFFF) is None
    assert t.check("sequence", 0) is None  # wraps
    assert t.check("sequence", 5) == 1
    assert t.check("hashblock", 9) is None  # per topic


@pytest.fixture
def pub():
    ctx = zmq.Context.instance()
    sock = ctx.socket(zmq.PUB)
    sock.setsockopt(zmq.LINGER, 0)
    port = sock.bind_to_random_port("tcp://127.0.0.1")
    yield sock, f"tcp://127.0.0.1:{port}"
    sock.close()


class _Collect:
    def __init__(self) -> None:
        self.sequence: list = []
        self.blocks: list[str] = []
        self.gaps: list[tuple[str, int, int]] = []
        self.lock = threading.Lock()


def _listener(endpoint: str, got: _Collect) -> ZmqListener:
    return ZmqListener(
        "n1",
        {"sequence": endpoint, "hashblock": endpoint},
        on_sequence=got.sequence.append,
        on_hashblock=got.blocks.append,
        on_gap=lambda topic, exp, val: got.gaps.append((topic, exp, val)),
    )


def _connect(sock, listener: ZmqListener, got: _Collect) -> None:
    """PUB drops messages until the SUB has joined: probe until one arrives, then start clean."""
    probe = [b"hashblock", b"\x00" * 32, struct.pack("<I", 0)]
    assert wait_until(lambda: (sock.send_multipart(probe), bool(got.blocks))[1])
    listener.counters.reset()
    got.blocks.clear()


def test_listener_core_frames_reach_callbacks_in_order(pub):
    sock, endpoint = pub
    got = _Collect()
    listener = _listener(endpoint, got)
    listener.start()
    try:
        _connect(sock, listener, got)
        msgs = [m for m in _messages()[:14]]  # the 14 A events, counters 0x66..0x73
        for topic, frames in msgs:
            sock.send_multipart([topic.encode(), *frames])
        assert wait_until(lambda: len(got.sequence) == 14)
        assert [e.mempool_sequence for e in got.sequence] == list(range(1, 15))
        assert [g for g in got.gaps if g[0] == "sequence"] == []
    finally:
        listener.stop()
    assert not listener.running


def test_listener_counter_gap_reported_and_bad_message_survived(pub):
    sock, endpoint = pub
    got = _Collect()
    listener = _listener(endpoint, got)
    listener.start()
    try:
        _connect(sock, listener, got)
        body = bytes.fromhex("aa" * 32) + b"A" + struct.pack("<Q", 7)
        sock.send_multipart([b"sequence", body, struct.pack("<I", 10)])
        sock.send_multipart([b"sequence", b"short"])  # malformed: two frames
        sock.send_multipart([b"sequence", body, struct.pack("<I", 13)])  # 11, 12 lost
        sock.send_multipart([b"hashblock", bytes.fromhex("bb" * 32), struct.pack("<I", 1)])
        assert wait_until(lambda: len(got.sequence) == 2 and "bb" * 32 in got.blocks)
        assert [g for g in got.gaps if g[0] == "sequence"] == [("sequence", 11, 13)]
        assert listener.bad_messages == 1 and listener.running
    finally:
        listener.stop()


def test_listener_callback_error_does_not_stop_thread(pub):
    sock, endpoint = pub
    seen: list[bytes] = []

    def boom(event) -> None:
        seen.append(event.hash)
        raise RuntimeError("callback bug")

    got = _Collect()
    listener = ZmqListener("n1", {"sequence": endpoint, "hashblock": endpoint},
                           on_sequence=boom, on_hashblock=got.blocks.append)  # fmt: skip
    listener.start()
    try:
        _connect(sock, listener, got)
        body = bytes.fromhex("cc" * 32) + b"R" + struct.pack("<Q", 3)
        for i in range(2):
            sock.send_multipart([b"sequence", body, struct.pack("<I", i)])
        assert wait_until(lambda: len(seen) == 2)
        assert listener.running
    finally:
        listener.stop()
