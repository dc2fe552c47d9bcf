"""Counters about the node connection itself (ZMQ stream, mempool resyncs, reconnects).

Why a holder of its own: the ZMQ listener thread, the mempool job and the RPC client update
these, and the daemon's self-metrics read them. Plain integers and dicts, updated from one
thread each (a listener, a job), read by the scrape: no lock is needed for a monotonic count.
"""

from __future__ import annotations

from collections import Counter


class NodeHealth:
    """Per-node counts; ``zmq_topics`` is empty when the node has no ZMQ listener."""

    def __init__(self) -> None:
        self.zmq_topics: tuple[str, ...] = ()
        self.zmq_messages: Counter[str] = Counter()  # topic -> messages received
        self.zmq_gaps: Counter[str] = Counter()  # topic -> counter gaps seen
        self.zmq_last_message_time: dict[str, float] = {}  # topic -> unix seconds
        # reason -> resyncs of the mempool model (one txid listing each)
        self.mempool_resyncs: Counter[str] = Counter()
        # losses seen as a jump in the node's mempool sequence without a ZMQ counter gap
        self.mempool_sequence_gaps = 0
