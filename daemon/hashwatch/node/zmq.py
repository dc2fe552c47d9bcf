"""A ZMQ SUB listener for Core's ``sequence`` and ``hashblock`` topics, in its own thread.

Why: with ``-zmqpubsequence`` the node pushes every mempool add/remove (~50 bytes each) and every
block connect/disconnect as it happens, so the mempool model can follow the node without listing
all txids each poll. ZMQ drops messages silently (high-water mark, reconnects); Core numbers the
messages of each topic, so a gap in that counter is reported and the caller resyncs.

Core's layout: frames ``[topic, body, 4-byte little-endian counter]``. ``hashblock`` body: the
32-byte block hash (as displayed). ``sequence`` body: 32-byte hash, one label byte (``A`` added,
``R`` removed, ``C`` block connected, ``D`` block disconnected) and for A/R an 8-byte
little-endian mempool sequence number.

The listener never raises into the daemon: decode errors and callback errors are logged (one
line each) and the thread carries on; ``stop()`` returns within the poll timeout.
"""

from __future__ import annotations

import logging
import struct
import threading
from collections.abc import Callable
from dataclasses import dataclass

import zmq

log = logging.getLogger("hashwatch.node.zmq")

POLL_MS = 200
RCV_HWM = 500_000  # a burst of mempool activity must not overflow before we read it


@dataclass(frozen=True)
class SequenceEvent:
    hash: str  # txid for A/R, block hash for C/D (hex as displayed)
    label: str  # "A", "R", "C" or "D"
    mempool_sequence: int | None  # only for A/R


def parse_sequence(body: bytes) -> SequenceEvent:
    """Decode a ``sequence`` body; raises ``ValueError`` on a malformed one."""
    if len(body) < 33:
        raise ValueError(f"sequence body of {len(body)} bytes, expected 33 or 41")
    label = chr(body[32])
    if label in ("A", "R"):
        if len(body) != 41:
            raise ValueError(f"sequence {label} body of {len(body)} bytes, expected 41")
        return SequenceEvent(body[:32].hex(), label, struct.unpack("<Q", body[33:41])[0])
    if label in ("C", "D") and len(body) == 33:
        return SequenceEvent(body[:32].hex(), label, None)
    raise ValueError(f"unknown sequence label {label!r} or length {len(body)}")


def parse_counter(frame: bytes) -> int:
    if len(frame) != 4:
        raise ValueError(f"counter frame of {len(frame)} bytes, expected 4")
    return struct.unpack("<I", frame)[0]


class CounterTracker:
    """Per-topic message counters; ``check`` says whether messages were lost before this one."""

    def __init__(self) -> None:
        self._last: dict[str, int] = {}

    def check(self, topic: str, counter: int) -> int | None:
        """The expected counter if this one shows a gap, else ``None``. First message: no gap."""
        last = self._last.get(topic)
        self._last[topic] = counter
        if last is None:
            return None
        expected = (last + 1) & 0xFFFFFFFF
        return expected if counter != expected else None

    def reset(self) -> None:
        self._last.clear()


class ZmqListener:
    """Subscribes to ``sequence`` and/or ``hashblock`` and calls back from its own thread.

    ``on_sequence(event)``, ``on_hashblock(hash)`` and ``on_gap(topic, expected, got)`` must be
    quick (queue the work); they run in the listener thread.
    """

    def __init__(
        self,
        node: str,
        endpoints: dict[str, str],
        on_sequence: Callable[[SequenceEvent], None] | None = None,
        on_hashblock: Callable[[str], None] | None = None,
        on_gap: Callable[[str, int, int], None] | None = None,
        context: zmq.Context | None = None,
    ):
        self.node = node
        self.endpoints = {t: e for t, e in endpoints.items() if e}
        self.on_sequence = on_sequence
        self.on_hashblock = on_hashblock
        self.on_gap = on_gap
        self._ctx = context or zmq.Context.instance()
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread: threading.Thread | None = None
        self.counters = CounterTracker()
        self.messages = 0
        self.gaps = 0
        self.bad_messages = 0

    def start(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._ready.clear()
        self._thread = threading.Thread(
            target=self._run, name=f"hashwatch-zmq-{self.node}", daemon=True
        )
        self._thread.start()
        self._ready.wait(5.0)  # subscribed before the caller lists the mempool

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _run(self) -> None:
        sock = None
        try:
            sock = self._ctx.socket(zmq.SUB)
            sock.setsockopt(zmq.RCVHWM, RCV_HWM)
            sock.setsockopt(zmq.LINGER, 0)
            for topic in self.endpoints:
                sock.setsockopt(zmq.SUBSCRIBE, topic.encode())
            for endpoint in sorted(set(self.endpoints.values())):
                sock.connect(endpoint)
            log.info(
                "event=zmq_started node=%s topics=%s", self.node, ",".join(sorted(self.endpoints))
            )
            self._ready.set()
            poller = zmq.Poller()
            poller.register(sock, zmq.POLLIN)
            while not self._stop.is_set():
                if not dict(poller.poll(POLL_MS)):
                    continue
                while not self._stop.is_set():
                    try:
                        frames = sock.recv_multipart(zmq.NOBLOCK)
                    except zmq.Again:
                        break
                    self._handle(frames)
        except Exception as exc:  # noqa: BLE001 - the listener must never take the daemon down
            log.error("event=zmq_failed node=%s error=%s", self.node, type(exc).__name__)
        finally:
            self._ready.set()
            if sock is not None:
                sock.close(linger=0)
            log.info("event=zmq_stopped node=%s", self.node)

    def _handle(self, frames: list[bytes]) -> None:
        self.messages += 1
        try:
            if len(frames) != 3:
                raise ValueError(f"{len(frames)} frames, expected 3")
            topic = frames[0].decode("ascii", "replace")
            counter = parse_counter(frames[2])
            expected = self.counters.check(topic, counter)
            if expected is not None:
                self.gaps += 1
                log.warning(
                    "event=zmq_gap node=%s topic=%s expected=%d got=%d",
                    self.node, topic, expected, counter,
                )  # fmt: skip
                if self.on_gap:
                    self.on_gap(topic, expected, counter)
            if topic == "sequence":
                event = parse_sequence(frames[1])
                if self.on_sequence:
                    self.on_sequence(event)
            elif topic == "hashblock":
                if len(frames[1]) != 32:
                    raise ValueError(f"hashblock body of {len(frames[1])} bytes")
                if self.on_hashblock:
                    self.on_hashblock(frames[1].hex())
        except Exception as exc:  # noqa: BLE001 - one bad message or callback is logged, not fatal
            self.bad_messages += 1
            log.warning(
                "event=zmq_bad_message node=%s error=%s detail=%s",
                self.node, type(exc).__name__, str(exc)[:200],
            )  # fmt: skip
