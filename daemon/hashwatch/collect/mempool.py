"""The ``mempool`` job: sync the mempool model (:mod:`.mempool_sync`), publish ``fees``.

Each run brings the model up to date (ZMQ events where the node publishes ``sequence``, a txid
listing otherwise), refreshes Core's fee estimates once a minute, builds the ``fees`` section
and records the fee-spike samples. A ZMQ ``hashblock`` triggers the block-driven jobs at once.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from ..indicators.fees import FeeEstimate, build_section, parse_estimate, with_spike
from ..indicators.mempool_projection import max_block_vsize
from ..node.errors import NodeError
from ..node.rpc import NodeClient
from ..node.zmq import ZmqListener
from ..state.fees import FeeSampleStore
from ..state.sqlite import db_path
from .context import DaemonContext, JobSpec
from .memory import release_free_memory
from .mempool_sync import DRIFT_POLLS, DRIFT_TOLERANCE, MempoolSync

__all__ = ["DRIFT_POLLS", "DRIFT_TOLERANCE", "FeesJob", "MempoolSync", "fetch_estimates",
           "make_jobs"]

log = logging.getLogger("hashwatch.collect.mempool")


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
                db_path(self.ctx.state_dir, "fees", self.node),
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
            self.sync.request_resync("mode_switch")  # switching paths: start from one listing
        self.sync.sync()
        now = self.ctx.clock()
        self._refresh_estimates(now)
        node_snap = self.ctx.store.current().nodes.get(self.node)
        recent = node_snap.blocks if node_snap is not None else None
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
                from ..features import ON_NEW_BLOCK  # the registry imports this module

                for job_name in ON_NEW_BLOCK:
                    ctx.trigger(job_name, name)

            listener = ZmqListener(
                name,
                endpoints,
                on_sequence=job.sync.on_sequence,
                on_hashblock=on_hashblock,
                on_gap=job.sync.on_gap,
                health=job.client.health,
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
