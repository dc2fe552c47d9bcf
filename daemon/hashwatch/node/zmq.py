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
import time
from collections.abc import Callable
from typing import NamedTuple

import zmq

from .health import NodeHealth

log = logging.getLogger("hashwatch.node.zmq")

POLL_MS = 200
BATCH_SECONDS = 0.005  # after a wake-up, let a burst of messages gather before draining
RCV_HWM = 500_000  # a burst of mempool activity must not overflow before we read it


class SequenceEvent(NamedTuple):
    """One decoded ``sequence`` message (a tuple: cheap to build for every message)."""

    hash: bytes  # txid for A/R, block hash for C/D: the 32 raw bytes in display order
    label: str  # "A", "R", "C" or "D"
    mempool_sequence: int | None  # only for A/R


_LABELS = {ord(c): c for c in "ARCD"}
_unpack_q = struct.Struct("<Q").unpack_from
_unpack_i = struct.Struct("<I").unpack
_new_event = tuple.__new__  # SequenceEvent without the Python-level __new__


def parse_sequence(body: bytes) -> SequenceEvent:
    """Decode a ``sequence`` body; raises ``ValueError`` on a malformed one.

    ``event.hash.hex()`` is the hash as Core's RPC shows it.
    """
    if len(body) == 41:
        label = _LABELS.get(body[32])
        if label == "A" or label == "R":
            return _new_event(SequenceEvent, (body[:32], label, _unpack_q(body, 33)[0]))
    elif len(body) == 33:
        label = _LABELS.get(body[32])
        if label == "C" or label == "D":
            return _new_event(SequenceEvent, (body[:32], label, None))
    if len(body) < 33:
        raise ValueError(f"sequence body of {len(body)} bytes, expected 33 or 41")
    label = chr(body[32])
    if label in ("A", "R"):
        raise ValueError(f"sequence {label} body of {len(body)} bytes, expected 41")
    raise ValueError(f"unknown sequence label {label!r} or length {len(body)}")


def parse_counter(frame: bytes) -> int:
    if len(frame) != 4:
        raise ValueError(f"counter frame of {len(frame)} bytes, expected 4")
    return _unpack_i(frame)[0]


class CounterTracker:
    """Per-topic message counters; ``check`` says whether messages were lost before this one."""

    def __init__(self) -> None:
        self.last: dict[str, int] = {}  # topic -> last counter seen

    def check(self, topic: str, counter: int) -> int | None:
        """The expected counter if this one shows a gap, else ``None``. First message: no gap."""
        last = self.last.get(topic)
        self.last[topic] = counter
        if last is None:
            return None
        expected = (last + 1) & 0xFFFFFFFF
        return expected if counter != expected else None

    def reset(self) -> None:
        self.last.clear()


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
        health: NodeHealth | None = None,
    ):
        self.node = node
        self.endpoints = {t: e for t, e in endpoints.items() if e}
        self.health = health if health is not None else NodeHealth()
        self.health.zmq_topics = tuple(sorted(self.endpoints))
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
            self._receive(sock)
        except Exception as exc:  # noqa: BLE001 - the listener must never take the daemon down
            log.error("event=zmq_failed node=%s error=%s", self.node, type(exc).__name__)
        finally:
            self._ready.set()
            if sock is not None:
                sock.close(linger=0)
            log.info("event=zmq_stopped node=%s", self.node)

    def _receive(self, sock: zmq.Socket) -> None:
        """Receive until stopped: wait for a message, let a burst gather, drain the queue.

        Why this shape: at ~6,000 messages per poll on a busy mempool the listener's cost is
        per message. Waking the thread for every message (the node publishes them one by one)
        costs more than decoding it, so after a wake-up the listener sleeps ``BATCH_SECONDS``
        and then takes everything queued in one go (events wait for the next mempool poll
        anyway; a block notification is delayed by that much at most). Frames are received
        zero-copy: the frame carries the "more" flag, where ``recv_multipart`` would ask the
        socket with a Python-level ``getsockopt`` per frame. A well-formed ``sequence`` A/R
        message (almost all of them) is decoded inline; anything else goes through
        :meth:`_handle`. ``stop()`` waits at most ``POLL_MS``.
        """
        poller = zmq.Poller()
        poller.register(sock, zmq.POLLIN)
        poll, recv, handle, stopped = poller.poll, sock.recv, self._handle, self._stop.is_set
        noblock, again, pause = zmq.NOBLOCK, zmq.Again, time.sleep
        labels, unpack_q, unpack_i, new_event = _LABELS, _unpack_q, _unpack_i, _new_event
        health = self.health
        while not stopped():
            if not poll(POLL_MS):
                continue
            pause(BATCH_SECONDS)
            n_fast = 0  # messages taken by the inline path, counted once per burst
            while not stopped():
                try:
                    first = recv(noblock, copy=False)
                except again:
                    break
                frames = [first.bytes]
                frame = first
                while frame.more:  # the rest of a multipart message arrives with its first frame
                    frame = recv(noblock, copy=False)
                    frames.append(frame.bytes)
                if len(frames) == 3:
                    topic, body, counter_frame = frames
                    if (
                        topic == b"sequence"
                        and len(body) == 41
                        and len(counter_frame) == 4
                        and (body[32] == 65 or body[32] == 82)  # "A" / "R"
                    ):
                        # _handle's path for the common message, without the calls
                        self.messages += 1
                        n_fast += 1
                        counter = unpack_i(counter_frame)[0]
                        last_counters = self.counters.last
                        last = last_counters.get("sequence")
                        last_counters["sequence"] = counter
                        if last is not None and counter != (last + 1) & 0xFFFFFFFF:
                            self._gap("sequence", (last + 1) & 0xFFFFFFFF, counter)
                        on_sequence = self.on_sequence
                        if on_sequence:
                            event = (body[:32], labels[body[32]], unpack_q(body, 33)[0])
                            try:
                                on_sequence(new_event(SequenceEvent, event))
                            except Exception as exc:  # noqa: BLE001 - as in _handle
                                self._bad(exc)
                        continue
                handle(frames)
            if n_fast:
                health.zmq_messages["sequence"] += n_fast
                health.zmq_last_message_time["sequence"] = time.time()

    def _gap(self, topic: str, expected: int, counter: int) -> None:
        self.gaps += 1
        self.health.zmq_gaps[topic if topic in self.endpoints else "other"] += 1
        log.warning(
            "event=zmq_gap node=%s topic=%s expected=%d got=%d",
            self.node, topic, expected, counter,
        )  # fmt: skip
        if self.on_gap:
            self.on_gap(topic, expected, counter)

    def _bad(self, exc: Exception) -> None:
        self.bad_messages += 1
        log.warning(
            "event=zmq_bad_message node=%s error=%s detail=%s",
            self.node, type(exc).__name__, str(exc)[:200],
        )  # fmt: skip

    def _handle(self, frames: list[bytes]) -> None:
        """One message: counter check, decode, callback (any message; see ``_receive``)."""
        self.messages += 1
        try:
            if len(frames) != 3:
                raise ValueError(f"{len(frames)} frames, expected 3")
            topic_frame, body, counter_frame = frames
            topic = topic_frame.decode("ascii", "replace")
            known = topic if topic in self.endpoints else "other"  # bounded label values
            self.health.zmq_messages[known] += 1
            self.health.zmq_last_message_time[known] = time.time()
            counter = parse_counter(counter_frame)
            expected = self.counters.check(topic, counter)
            if expected is not None:
                self._gap(topic, expected, counter)
            if topic == "sequence":
                event = parse_sequence(body)
                if self.on_sequence:
                    self.on_sequence(event)
            elif topic == "hashblock":
                if len(body) != 32:
                    raise ValueError(f"hashblock body of {len(body)} bytes")
                if self.on_hashblock:
                    self.on_hashblock(body.hex())
        except Exception as exc:  # noqa: BLE001 - one bad message or callback is logged, not fatal
            self._bad(exc)
