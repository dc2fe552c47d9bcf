"""ZMQ publisher with Bitcoin Core's message layout.

Every message is three frames: topic, body, and a 4-byte little-endian counter kept per
topic.  hashblock bodies are the 32-byte block hash in display order; sequence bodies are
hash + label (A/R with an 8-byte LE mempool sequence, C/D without).
"""

from __future__ import annotations

import struct
import threading

import zmq

HWM = 1000  # Core's default -zmqpub<topic>hwm


class ZmqPublisher:
    def __init__(self, bind: str = "127.0.0.1", port: int | None = None, hwm: int = HWM) -> None:
        self._ctx: zmq.Context[zmq.Socket[bytes]] = zmq.Context.instance()
        self._sock = self._ctx.socket(zmq.PUB)
        self.hwm = hwm
        self._sock.setsockopt(zmq.SNDHWM, hwm)
        self._sock.setsockopt(zmq.LINGER, 0)
        if port:
            self._sock.bind(f"tcp://{bind}:{port}")
            self.port = port
        else:
            self.port = self._sock.bind_to_random_port(f"tcp://{bind}")
        self.url = f"tcp://{bind}:{self.port}"
        self._counters: dict[bytes, int] = {}
        self._lock = threading.Lock()
        self.sent = 0
        self._drop_mempool = 0  # fault: A/R messages to lose without a counter gap
        self.dropped = 0

    def drop_mempool_events(self, n: int) -> None:
        with self._lock:
            self._drop_mempool += int(n)

    def _send(self, topic: bytes, body: bytes) -> None:
        with self._lock:
            n = self._counters.get(topic, 0)
            self._counters[topic] = (n + 1) & 0xFFFFFFFF
            try:
                self._sock.send_multipart([topic, body, struct.pack("<I", n)], zmq.NOBLOCK)
                self.sent += 1
            except zmq.ZMQError:
                pass  # like Core: a slow subscriber loses messages, the publisher goes on

    def sent_on(self, topic: str) -> int:
        """Messages published on one topic so far (its counter), lost by subscribers or not."""
        with self._lock:
            return self._counters.get(topic.encode(), 0)

    def hashblock(self, block_hash: str) -> None:
        self._send(b"hashblock", bytes.fromhex(block_hash))

    def block_connected(self, block_hash: str) -> None:
        self._send(b"sequence", bytes.fromhex(block_hash) + b"C")

    def block_disconnected(self, block_hash: str) -> None:
        self._send(b"sequence", bytes.fromhex(block_hash) + b"D")

    def mempool_event(self, txid: str, label: str, mempool_seq: int) -> None:
        if self._drop_mempool:
            with self._lock:
                if self._drop_mempool:
                    self._drop_mempool -= 1
                    self.dropped += 1
                    return  # lost before numbering: the topic counter shows no gap
        body = bytes.fromhex(txid) + label.encode() + struct.pack("<Q", mempool_seq)
        self._send(b"sequence", body)

    def notifications(self) -> list[dict]:
        """What getzmqnotifications reports for this publisher."""
        return [{"type": t, "address": self.url, "hwm": self.hwm}
                for t in ("pubhashblock", "pubsequence")]

    def close(self) -> None:
        with self._lock:
            self._sock.close(0)
