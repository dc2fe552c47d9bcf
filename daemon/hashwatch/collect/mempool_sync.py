"""Keeping the mempool model in sync with the node (the ``mempool`` job's first half).

Why incremental: a verbose mempool listing costs ~500 bytes per transaction; a mainnet poll of
that kind moves ~100 MB. Here each poll moves the change only:
- poll path: ``getrawmempool false true`` (txids + mempool sequence, ~67 B per tx: the floor of
  any poll that lists) diffed against the model, then batched ``getmempoolentry`` for new txids;
- ZMQ path (node ``zmq_sequence`` configured and published by the node): ``sequence`` events
  (A/R) are queued by the listener thread and applied here; a block (C) removes its txids
  (``getblock hash 1``), a disconnect (D), a counter gap or a persistent count drift against
  ``getmempoolinfo`` triggers one txid listing (resync). No listing in steady state.

Losses ZMQ does not show as a counter gap (a publisher restart, a queue lost inside the node)
show in the node's *mempool sequence*: every add or removal takes the next number, so an A/R
event whose number is past the last one seen means events went missing, unless a block
explains it (block inclusion takes numbers without publishing R events: those are counted when
the block's txids are removed). A jump left unexplained for two polls triggers a resync.

Reorgs: a disconnected block (ZMQ ``D``) or, in polling mode, a new tip whose predecessor chain
no longer holds the tip seen last (``getbestblockhash``, then ``getblockheader`` of the old tip:
``confirmations`` -1 off the active chain) reloads the model entirely: transactions come back
from disconnected blocks and change the parent links of entries the model already holds.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable
from typing import Any

from ..indicators.mempool_model import MempoolModel, parse_entry, txid_key
from ..node.errors import RPC_INVALID_ADDRESS_OR_KEY, RPC_METHOD_NOT_FOUND, NodeError
from ..node.health import NodeHealth
from ..node.rpc import NodeClient
from ..node.zmq import SequenceEvent

log = logging.getLogger("hashwatch.collect.mempool")

DRIFT_TOLERANCE = 10  # transactions in flight between getmempoolinfo and the ZMQ queue
DRIFT_POLLS = 3  # resync after this many polls in a row with a larger count difference
SEQUENCE_POLLS = 2  # resync after an unexplained mempool-sequence jump lasting this many polls


class MempoolSync:
    """A :class:`MempoolModel` kept in sync with one node, by polling or by ZMQ events."""

    def __init__(self, client: NodeClient, batch_size: int = 1000, use_events: bool = False):
        self.client = client
        self.batch_size = batch_size
        self.use_events = use_events
        self.model = MempoolModel()
        self._events: deque[SequenceEvent] = deque()
        # The listener's ``on_sequence`` callback is the queue's own ``append``: no Python frame
        # per event in the listener thread (thousands per poll on a busy mempool).
        self.on_sequence: Callable[[SequenceEvent], None] = self._events.append
        self._lock = threading.Lock()
        self._need_resync = True
        self._resync_reason = "start"
        self._reload = False  # next resync replaces the model (reorg: parent links changed)
        self._drift = 0
        self._churn = 0  # adds + removals applied in the last poll: the in-flight bound
        self._reloaded = False
        self._unexplained = 0  # mempool-sequence numbers skipped and not explained by a block
        self._unexplained_polls = 0
        self._tip: str | None = None  # polling mode: the best block hash seen last
        self._after_listing = False  # events below the model's sequence are expected once
        self._tip_check = True
        self.resyncs = 0

    @property
    def health(self) -> NodeHealth:
        return self.client.health

    # -- listener callbacks (listener thread; keep them quick) --------------------------------
    # ``on_sequence(event)``: set in ``__init__``.

    def on_gap(self, topic: str, expected: int, got: int) -> None:
        if topic == "sequence":
            self.request_resync("zmq_gap")

    def request_resync(self, reason: str, reload: bool = False) -> None:
        """Resync at the next poll (any thread); ``reason`` labels the resync counter."""
        self._resync_reason = reason
        self._reload = self._reload or reload
        self._need_resync = True

    # -- one poll ---------------------------------------------------------------------------

    def sync(self) -> None:
        """Bring the model up to date. Raises :class:`NodeError` (the model stays usable)."""
        with self._lock:
            if not self.use_events:
                self._check_tip()
                self._resync()
            elif self._need_resync:
                self._resync()
            else:
                self._apply_events()
            self._fetch_pending()
            if self.use_events:
                self._check_drift()

    def model_reloaded(self) -> bool:
        """True once after a listing replaced many entries (worth returning memory at once)."""
        reloaded, self._reloaded = self._reloaded, False
        return reloaded

    def _check_tip(self) -> None:
        """Polling mode: a new tip that does not extend the last one seen is a reorg."""
        if not self._tip_check:
            return
        try:
            tip = str(self.client.call("getbestblockhash"))
        except NodeError as exc:
            if exc.code != RPC_METHOD_NOT_FOUND:
                raise
            log.warning("event=mempool_reorg_check_off node=%s reason=no_getbestblockhash",
                        self.client.name)
            self._tip_check = False
            return
        last, self._tip = self._tip, tip
        if last is None or last == tip:
            return
        try:
            header = self.client.call("getblockheader", last, True)
            on_chain = int(header.get("confirmations", -1)) >= 0
        except NodeError as exc:
            if exc.kind != "rpc":
                self._tip = last  # check again next poll
                raise
            on_chain = False  # the old tip is unknown to the node now
        if not on_chain:
            log.info(
                "event=mempool_reorg node=%s old_tip=%s new_tip=%s", self.client.name, last, tip
            )
            self.request_resync("reorg", reload=True)

    def _resync(self) -> None:
        reason, reload = self._resync_reason, self._reload
        self._need_resync, self._reload, self._resync_reason = False, False, "poll"
        self._events.clear()  # all of these are reflected in the listing that follows
        self._unexplained = self._unexplained_polls = 0
        self._after_listing = True
        try:
            listing = self.client.call("getrawmempool", False, True)
        except NodeError:
            self._need_resync, self._reload, self._resync_reason = True, reload, reason
            raise
        txids, sequence = listing["txids"], int(listing["mempool_sequence"])
        del listing
        if reload:
            self.model = MempoolModel()  # entries refetched: their parent links changed
        elif not self.use_events and self.model.sequence == sequence and not self.model.pending:
            # nothing changed since the last listing (in event mode the sequence came from
            # events, and equal numbers do not prove that none was lost)
            return
        before, first = len(self.model), self.model.sequence is None
        fetch = self.model.apply_listing(map(txid_key, txids), sequence)
        self._reloaded = reload or len(fetch) > 10_000
        if (self.use_events or reload) and not (first and not reload):
            self.resyncs += 1
            self.health.mempool_resyncs[reason] += 1
            log.info(
                "event=mempool_resync node=%s reason=%s txs=%d new=%d",
                self.client.name,
                reason,
                len(txids),
                len(fetch),
            )
        elif before == 0 and fetch:
            log.info("event=mempool_full_load node=%s txs=%d", self.client.name, len(txids))

    def _apply_events(self) -> None:
        # Take exactly the events queued now (the listener keeps appending to ``_events``).
        queued, pop = self._events, self._events.popleft
        batch: deque[SequenceEvent] = deque(pop() for _ in range(len(queued)))
        jump, backwards = self._sequence_jump(batch)
        fresh_listing, self._after_listing = self._after_listing, False
        if backwards and not fresh_listing:
            # Numbers below the model's can only be events the last listing already held, and
            # those arrive right after it: later, the node's counter restarted (a restart).
            log.warning(
                "event=mempool_sequence_reset node=%s events=%d sequence=%s",
                self.client.name, backwards, self.model.sequence,
            )  # fmt: skip
            self.request_resync("sequence_reset")
            self._resync()
            return
        self._unexplained += jump
        before = len(self.model.entries) + len(self.model.pending)
        applied = 0
        try:
            while batch:
                n, stop = self.model.apply_events(batch)  # A/R in bulk, up to a C or D
                applied += n
                if stop is None:
                    continue
                event = SequenceEvent(*stop)
                if event.label == "C":
                    self._remove_block(event.hash)
                elif event.label == "D":
                    log.info("event=mempool_block_disconnected node=%s", self.client.name)
                    self.request_resync("reorg", reload=True)
                    self._resync()
                    return
        except BaseException:
            queued.extendleft(reversed(batch))  # not applied yet: first in line next poll
            self._unexplained -= jump  # counted again when the rest is scanned next poll
            raise
        after = len(self.model.entries) + len(self.model.pending)
        self._churn = applied + abs(after - before)
        self._check_sequence()

    def _sequence_jump(self, batch: deque[SequenceEvent]) -> tuple[int, int]:
        """(numbers skipped, events numbered below the model's) over the A/R events of
        ``batch`` (see the module doc)."""
        expected = self.model.sequence
        if expected is None:
            return 0, 0
        jump = backwards = 0
        for _txid, _label, number in batch:
            if number is None:  # C/D
                continue
            if number < expected:  # already in the last listing, or the counter restarted
                backwards += 1
                continue
            jump += number - expected
            expected = number + 1
        return jump, backwards

    def _check_sequence(self) -> None:
        if self._unexplained <= 0:
            self._unexplained_polls = 0
            return
        self._unexplained_polls += 1
        if self._unexplained_polls >= SEQUENCE_POLLS:
            self.health.mempool_sequence_gaps += 1
            log.warning(
                "event=mempool_sequence_gap node=%s missing=%d sequence=%s",
                self.client.name, self._unexplained, self.model.sequence,
            )  # fmt: skip
            self.request_resync("sequence_gap")

    def _remove_block(self, block_hash: bytes) -> None:
        """Block inclusion removes transactions without R events: drop the block's txids."""
        try:
            block = self.client.call("getblock", block_hash.hex(), 1)
        except NodeError as exc:
            if exc.code == RPC_INVALID_ADDRESS_OR_KEY:  # block gone again (reorg): relist
                self.request_resync("block_gone")
                return
            raise
        model = self.model
        keys = [txid_key(t) for t in block.get("tx", ())]
        # each transaction of the block the node held took one mempool-sequence number
        held = sum(1 for k in keys if k in model.entries or k in model.pending)
        # may go below 0: the jump shows only in the first A/R after the C (next poll, maybe)
        self._unexplained -= held
        model.remove(keys)

    def _fetch_pending(self) -> None:
        pending = sorted(self.model.pending)
        for i in range(0, len(pending), self.batch_size):
            chunk = pending[i : i + self.batch_size]
            answers = self.client.batch(
                [("getmempoolentry", (t.hex(),)) for t in chunk], raise_errors=False
            )
            fetched: dict[bytes, Any] = {}
            for txid, answer in zip(chunk, answers, strict=False):
                if isinstance(answer, NodeError):
                    if answer.code != RPC_INVALID_ADDRESS_OR_KEY:  # not "not in mempool"
                        answer.node = self.client.name
                        raise answer
                    fetched[txid] = None  # left the mempool since it was listed
                else:
                    fetched[txid] = parse_entry(answer)
            self.model.add_entries(fetched)

    def _check_drift(self) -> None:
        info = self.client.call("getmempoolinfo")
        known = len(self.model.entries) + len(self.model.pending)
        # Between the last event applied and this call the node moved on by about one poll's
        # churn; only a difference beyond that, poll after poll, means the model went wrong.
        if abs(int(info.get("size", known)) - known) > DRIFT_TOLERANCE + self._churn:
            self._drift += 1
            if self._drift >= DRIFT_POLLS:
                log.warning(
                    "event=mempool_drift node=%s model=%d node_size=%s",
                    self.client.name, known, info.get("size"),
                )  # fmt: skip
                self._drift = 0
                self.request_resync("drift")
        else:
            self._drift = 0
