"""The node client's transport against the simulator and raw loopback servers.

Each test names the failure it would catch: idle keep-alive connections closed by the node
(-rpcservertimeout) turned into "node down", timeouts retried (double wait), a trickling node
holding a call past its deadline, an oversized answer read whole into memory, and byte counters
that count JSON bodies instead of the bytes on the wire.
"""

from __future__ import annotations

import socket
import threading
import time
import tracemalloc

import pytest

from hashwatch.node.auth import NodeAuth
from hashwatch.node.errors import NodeProtocolError, NodeTimeout
from hashwatch.node.rpc import NodeClient

from ..support.waiting import wait_for


def client_for(sim, **kw) -> NodeClient:
    return NodeClient("n1", sim.rpc_url, NodeAuth(cookie_file=sim.cookie_path), **kw)


def test_call_after_node_closed_idle_connection_is_resent_once_on_a_new_one(sim_factory):
    sim = sim_factory(network="regtest", start_height=5, rpc_idle_timeout=0.2)
    client = client_for(sim, idle_seconds=0)  # no proactive reconnect: exercise the resend
    assert client.call("getblockcount") == 5
    wait_for(lambda: sim.stats.idle_closes >= 1, timeout=5, what="the sim closing the idle conn")
    assert client.call("getblockcount") == 5  # not NodeUnavailable("connection closed by node")
    assert client.reconnects == {"idle": 0, "stale": 1}
    assert client.last_error_kind is None


def test_connection_idle_past_idle_seconds_is_replaced_before_use(sim_factory):
    sim = sim_factory(network="regtest", start_height=5, rpc_idle_timeout=None)
    client = client_for(sim, idle_seconds=0.1)
    client.call("getblockcount")
    conn = client._local.conn
    wait_for(lambda: time.monotonic() - conn.last_used > 0.15, timeout=5, what="0.15 s idle")
    client.call("getblockcount")
    assert client.reconnects == {"idle": 1, "stale": 0}


def test_timeout_on_reused_connection_is_not_retried(sim_factory):
    sim = sim_factory(network="regtest", start_height=5, rpc_idle_timeout=None)
    client = client_for(sim, timeout=0.4)
    client.call("getblockcount")
    sim.stats.reset()
    sim.set_hang(True)
    try:
        started = time.monotonic()
        with pytest.raises(NodeTimeout):
            client.call("getblockcount")
        elapsed = time.monotonic() - started
    finally:
        sim.set_hang(False)
    assert elapsed < 0.75  # one timeout, not two
    assert sim.stats.requests == 1
    assert client.reconnects["stale"] == 0


def test_trickling_node_fails_at_the_total_deadline(sim_factory):
    sim = sim_factory(network="regtest", start_height=5)
    # one byte every 50 ms: every single read is far inside the timeout, the call is not
    sim.inject_fault("trickle", trickle_seconds=0.05)
    client = client_for(sim, timeout=0.5)
    started = time.monotonic()
    with pytest.raises(NodeTimeout) as info:
        client.call("getblockcount")
    elapsed = time.monotonic() - started
    assert 0.45 < elapsed < 1.0
    assert "0.5 s" in str(info.value)
    assert 0 < client.bytes_in_total < 30  # a trickle of bytes did arrive
    sim.inject_fault(None)
    assert client.call("getblockcount") == 5  # recovers on a fresh connection


@pytest.mark.parametrize("fault", ["oversized", "oversized_chunked"])
def test_oversized_answer_is_a_protocol_error_with_bounded_memory(sim_factory, fault):
    sim = sim_factory(network="regtest", start_height=5)
    cap = 2_000_000
    sim.inject_fault(fault, oversize_bytes=300_000_000)  # like the 300 MB answer of the issue
    client = client_for(sim, max_answer_bytes=cap, timeout=20)
    tracemalloc.start()
    try:
        started = time.monotonic()
        with pytest.raises(NodeProtocolError) as info:
            client.call("getblockcount")
        elapsed = time.monotonic() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert info.value.kind == "protocol"
    assert "cap" in str(info.value) and str(cap) in str(info.value)
    assert peak < 4 * cap  # never the whole 300 MB (nor a tenth of it)
    assert client.bytes_in_total < cap + 600_000  # stopped reading right past the cap
    assert elapsed < 5
    sim.inject_fault(None)
    assert client.call("getblockcount") == 5  # the connection was dropped and replaced


def test_answer_under_the_cap_is_read(sim_factory):
    sim = sim_factory(network="regtest", start_height=5)
    sim.inject_fault("oversized", oversize_bytes=1_500_000)
    client = client_for(sim, max_answer_bytes=2_000_000)
    assert len(client.call("getblockcount")) == 1_500_000 - len('{"result":"","error":null,"id":1}')


class RawServer:
    """Answers each request with fixed bytes and records every byte it read (one connection)."""

    def __init__(self, answer: bytes):
        self.answer = answer
        self.received = 0
        self.requests = 0
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(1)
        self.port = self.listener.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        conn, _ = self.listener.accept()
        buf = b""
        with conn:
            while True:
                data = conn.recv(65536)
                if not data:
                    return
                self.received += len(data)
                buf += data
                while b"\r\n\r\n" in buf:
                    head, rest = buf.split(b"\r\n\r\n", 1)
                    fields = dict(h.split(b":", 1) for h in head.split(b"\r\n")[1:])
                    length = int(fields[b"Content-Length"])
                    if len(rest) < length:
                        break
                    buf = rest[length:]
                    self.requests += 1
                    conn.sendall(self.answer)

    def close(self) -> None:
        self.listener.close()


def test_byte_counters_count_every_byte_on_the_wire():
    body = b'{"result":42,"error":null,"id":1}'
    answer = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nDate: Thu, 03 Dec 2026"
              b" 10:00:00 GMT\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
    server = RawServer(answer)
    seen = []
    try:
        client = NodeClient("n1", f"http://127.0.0.1:{server.port}/",
                            NodeAuth(user="u", password="p"), observer=lambda *a: seen.append(a))
        for _ in range(3):
            assert client.call("getblockcount") == 42
        wait_for(lambda: server.requests == 3, timeout=5, what="3 requests read")
    finally:
        server.close()
    assert client.bytes_out_total == server.received  # request lines + headers + bodies
    assert client.bytes_in_total == 3 * len(answer)  # status lines + headers + bodies
    assert sum(s for *_, s, _ in seen) == server.received
    assert sum(r for *_, r in seen) == 3 * len(answer)
