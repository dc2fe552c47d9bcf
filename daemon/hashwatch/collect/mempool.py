"""The ``mempool`` job: keep the mempool model in sync, then publish the ``fees`` section.

Why incremental: a verbose mempool listing costs ~500 bytes per transaction; a mainnet poll of
that kind moves ~100 MB. Here each poll moves the change only:
- poll path: ``getrawmempool false true`` (txids + mempool sequence, ~67 B per tx: the floor of
  any poll that lists) diffed against the model, then batched ``getmempoolentry`` for new txids;
- ZMQ path (node ``zmq_sequence`` configured and published by the node): ``sequence`` events
  (A/R) are queued by the listener thread and applied here; a block (C) removes its txids
  (``getblock hash 1``), a disconnect (D), a counter gap or a persistent count drift against
  ``getmempoolinfo`` triggers one txid listing (resync). No listing in steady state.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

from .context import DaemonContext, JobSpec
from ..state.fees import FeeSampleStore
from ..indicators.fees import FeeEstimate, build_section, parse_estimate, with_spike
from ..indicators.mempool_model import MempoolModel, parse_entry, txid_key
from ..indicators.mempool_projection import max_block_vsize
from .memory import release_free_memory
from ..node.errors import RPC_INVALID_ADDRESS_OR_KEY, NodeError
from ..node.rpc import NodeClient
from ..node.zmq import SequenceEvent, ZmqListener

log = logging.getLogger("hashwatch.collect.mempool")

DRIFT_TOLERANCE = 10  # transactions in flight between getmempoolinfo and the ZMQ queue
DRIFT_POLLS = 3  # resync after this many polls in a row with a larger count difference


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
        self._drift = 0
        self._churn = 0  # adds + removals applied in the last poll: the in-flight bound
        self._reloaded = False
        self.resyncs = 0

    # -- listener callbacks (listener thread; keep them quick) --------------------------------
    # ``on_sequence(event)``: set in ``__init__``.

    def on_gap(self, topic: str, expected: int, got: int) -> None:
        if topic == "sequence":
            self._need_resync = True

    # -- one poll ---------------------------------------------------------------------------

    def sync(self) -> None:
        """Bring the model up to date. Raises :class:`NodeError` (the model stays usable)."""
        with self._lock:
            if not self.use_events or self._need_resync:
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

    def _resync(self) -> None:
        self._need_resync = False
        self._events.clear()  # all of these are reflected in the listing that follows
        try:
            listing = self.client.call("getrawmempool", False, True)
        except NodeError:
            self._need_resync = True
            raise
        txids, sequence = listing["txids"], int(listing["mempool_sequence"])
        del listing
        if self.model.sequence == sequence and not self.model.pending:
            return  # nothing changed since the last listing
        before, first = len(self.model), self.model.sequence is None
        fetch = self.model.apply_listing(map(txid_key, txids), sequence)
        self._reloaded = len(fetch) > 10_000
        if self.use_events and not first:
            self.resyncs += 1
            log.info(
                "event=mempool_resync node=%s txs=%d new=%d",
                self.client.name,
                len(txids),
                len(fetch),
            )
        elif before == 0 and fetch:
            log.info("event=mempool_full_load node=%s txs=%d", self.client.name, len(txids))

    def _apply_events(self) -> None:
        before = len(self.model.entries) + len(self.model.pending)
        applied = 0
        while self._events:
            n, stop = self.model.apply_events(self._events)  # A/R in bulk, up to a C or D
            applied += n
            if stop is None:
                continue
            event = SequenceEvent(*stop)
            if event.label == "C":
                self._remove_block(event.hash)
            elif event.label == "D":
                log.info("event=mempool_block_disconnected node=%s", self.client.name)
                self._resync()
                return
        after = len(self.model.entries) + len(self.model.pending)
        self._churn = applied + abs(after - before)

    def _remove_block(self, block_hash: bytes) -> None:
        """Block inclusion removes transactions without R events: drop the block's txids."""
        try:
            block = self.client.call("getblock", block_hash.hex(), 1)
        except NodeError as exc:
            if exc.code == RPC_INVALID_ADDRESS_OR_KEY:  # block gone again (reorg): relist
                self._need_resync = True
                return
            self._events.appendleft(SequenceEvent(block_hash, "C", None))  # retry next poll
            raise
        self.model.remove(map(txid_key, block.get("tx", ())))

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
                self._need_resync = True
        else:
            self._drift = 0


def fetch_estimates(
    client: NodeClient, targets: Sequence[int], modes: Sequence[str]
) -> list[FeeEstimate]:
    """``estimatesmartfee`` for every (target, mode) in one batch; missing estimates left out."""
    pairs = [(t, m) for t in targets for m in modes]
    answers = client.batch([("estimatesmartfee", (t, m)) for t, m in pairs], raise_errors=False)
    out = []
    for (t, m), answer in zip(pairs, answers, strict=False):
        if isinstance(answer, NodeError):
            continue
        est = parse_estimate(t, m, answer)
        if est is not None:
            out.append(est)
    return out


class FeesJob:
    """One node's ``mempool`` job: sync the model, compute the ``fees`` section, store it."""

    def __init__(self, ctx: DaemonContext, node: str, want_events: bool = False):
        cfg = ctx.config.fees
        self.ctx = ctx
        self.node = node
        self.cfg = cfg
        self.client = ctx.clients[node]
        self.sync = MempoolSync(self.client, cfg.entry_batch_size, use_events=False)
        self.want_events = want_events  # zmq_sequence configured (and published by the node)
        self.listener: ZmqListener | None = None
        self.block_vsize = max_block_vsize(cfg.block_reserved_weight)
        self._samples: FeeSampleStore | None = None
        self._estimates: list[FeeEstimate] = []
        self._estimates_at: float | None = None

    @property
    def samples(self) -> FeeSampleStore:
        if self._samples is None:  # opened lazily: construction must not touch the disk
            self._samples = FeeSampleStore(
                self.ctx.state_dir / f"fees-{self.node}.sqlite3",
                sample_seconds=self.cfg.spike_sample_seconds,
                keep_seconds=self.cfg.spike_baseline_seconds,
            )
        return self._samples

    def run(self) -> None:
        # Follow ZMQ events only while the listener thread lives; otherwise list every poll.
        events = self.want_events and self.listener is not None and self.listener.running
        if events != self.sync.use_events:
            log.info(
                "event=mempool_sync_mode node=%s mode=%s", self.node, "zmq" if events else "poll"
            )
            self.sync.use_events = events
            self.sync.on_gap("sequence", 0, 0)  # switching paths: start from one listing
        self.sync.sync()
        now = self.ctx.clock()
        self._refresh_estimates(now)
        node_snap = self.ctx.store.current().nodes.get(self.node)
        recent = node_snap.section("blocks") if node_snap is not None else None
        section = build_section(
            self.sync.model,
            n_blocks=self.cfg.projected_blocks,
            block_vsize=self.block_vsize,
            estimates=self._estimates,
            recent_blocks=recent.blocks if recent is not None else (),
            sync_mode="zmq" if self.sync.use_events else "poll",
        )
        median = section.next_block_median
        if median is not None and median > 0:
            self.samples.add(now, median)
        history = self.samples.samples(now - self.cfg.spike_baseline_seconds)
        section = with_spike(
            section,
            history,
            now,
            self.cfg.spike_baseline_seconds,
            self.cfg.spike_min_history_seconds,
        )
        self.ctx.store.set_section(self.node, "fees", section)
        release_free_memory(force=self.sync.model_reloaded())

    def _refresh_estimates(self, now: float) -> None:
        if self._estimates_at is not None and now - self._estimates_at < self.cfg.estimate_seconds:
            return
        try:
            self._estimates = fetch_estimates(
                self.client, self.cfg.estimate_targets, self.cfg.estimate_modes
            )
            self._estimates_at = now
        except NodeError as exc:  # the mempool part is still worth publishing
            log.warning("event=estimates_failed node=%s kind=%s", self.node, exc.kind)

    def close(self) -> None:
        if self._samples is not None:
            self._samples.close()
            self._samples = None


def _publishes_sequence(client: NodeClient) -> bool:
    """Whether the node itself publishes ``sequence`` (else ZMQ would silently go stale)."""
    try:
        notes = client.call("getzmqnotifications")
    except NodeError as exc:
        return exc.kind != "rpc"  # node down now: trust the config; method missing: no ZMQ
    return any(n.get("type") == "pubsequence" for n in notes or ())


def make_jobs(ctx: DaemonContext) -> list[JobSpec]:
    """One ``mempool`` job per node, with a ZMQ listener next to it where configured."""
    jobs = []
    for node_cfg in ctx.config.nodes:
        name = node_cfg.name
        endpoints = {
            "sequence": node_cfg.zmq_sequence or "",
            "hashblock": node_cfg.zmq_hashblock or "",
        }
        job = FeesJob(ctx, name, want_events=bool(node_cfg.zmq_sequence))
        listener: ZmqListener | None = None
        if any(endpoints.values()):

            def on_hashblock(block_hash: str, name: str = name) -> None:
                for job_name in ("chain", "headers", "blocks", "mempool"):
                    ctx.trigger(job_name, name)

            listener = ZmqListener(
                name,
                endpoints,
                on_sequence=job.sync.on_sequence,
                on_hashblock=on_hashblock,
                on_gap=job.sync.on_gap,
            )
            job.listener = listener
        jobs.append(
            JobSpec(
                name="mempool",
                node=name,
                interval=ctx.config.polling.mempool_seconds,
                run=job.run,
                start=_starter(job, listener),
                stop=_stopper(job, listener),
            )
        )
    return jobs


def _starter(job: FeesJob, listener: ZmqListener | None):
    def start() -> None:
        if listener is None:
            return
        if job.want_events and not _publishes_sequence(job.client):
            log.warning("event=zmq_sequence_not_published node=%s fallback=poll", job.node)
            job.want_events = False
        listener.start()  # subscribed before the first listing, so no event falls between

    return start


def _stopper(job: FeesJob, listener: ZmqListener | None):
    def stop() -> None:
        if listener is not None:
            listener.stop()
        job.close()

    return stop
