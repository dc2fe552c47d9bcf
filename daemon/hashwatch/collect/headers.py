"""The ``headers`` job: keep a node's recent headers in SQLite and publish the ``difficulty`` view.

Why this shape: the first start needs thousands of headers; they are fetched in batched requests
(``getblockhash`` for a chunk of heights, then ``getblockheader`` for those hashes) and stored, so
a restart asks the node only for blocks it has not seen. Every run first checks the stored tip
against the node; if they differ (a reorg, or another chain behind the same node name) it walks
back to the highest height where both agree, deletes everything above, and re-applies from there.
The store only ever holds one contiguous, hash-linked run of heights: older history is fetched
downwards from the lowest stored block, new blocks upwards from the tip, and a chunk that does
not link is not stored (the next run reconciles again).
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Any, TextIO

from ..indicators.difficulty_view import build_view
from ..node.errors import RPC_METHOD_NOT_FOUND, NodeError
from ..node.rpc import NodeClient
from ..state import reorg
from ..state.headers import HeadersStore, StoredHeader
from ..state.sqlite import db_path
from .context import DaemonContext, JobSpec
from .validate import check_bits, check_hash, check_height, check_mapping, check_time

log = logging.getLogger("hashwatch.collect.headers")

Progress = Callable[[int, int], None]  # (headers fetched so far, headers to fetch)

DEFAULT_BATCH = 500
# Fewer missing headers than this is catching up with new blocks, not a backfill: no progress
# reports and a debug line instead of info lines.
BACKFILL_MIN_BLOCKS = 1000


@dataclass(frozen=True)
class SyncResult:
    chain: str
    tip_height: int
    fetched: int
    rolled_back: int  # stored headers removed because the node's chain differs there
    fork_height: int | None  # the highest height both agreed on, when a reorg was found
    pruned: int

    @property
    def changed(self) -> bool:
        return bool(self.fetched or self.rolled_back or self.pruned)


def parse_header(raw: Mapping[str, Any]) -> StoredHeader:
    """A verbose ``getblockheader`` answer -> :class:`StoredHeader` (pure).

    Checked field by field (:mod:`.validate`): an impossible header (bits that encode no
    target, a height out of range, a hash that is not 64 hex digits) is a protocol error and
    is never stored.
    """
    raw = check_mapping(raw, "getblockheader")
    prev = raw.get("previousblockhash")
    work = raw.get("chainwork")
    return StoredHeader(
        height=check_height(raw.get("height")),
        hash=check_hash(raw.get("hash")),
        prev_hash=check_hash(prev, "previousblockhash") if prev is not None else None,
        time=check_time(raw.get("time")),
        bits=check_bits(raw.get("bits")),
        chainwork=check_hash(work, "chainwork") if work is not None else None,
    )


def links(headers: Sequence[StoredHeader], below: str | None, above_prev: str | None) -> bool:
    """True if ``headers`` form one chain, follow the hash ``below`` and precede ``above_prev``."""
    for a, b in pairwise(headers):
        if b.height != a.height + 1 or b.prev_hash != a.hash:
            return False
    if headers and below is not None and headers[0].prev_hash != below:
        return False
    return not (headers and above_prev is not None and headers[-1].hash != above_prev)


def fetch_headers(client: NodeClient, heights: range) -> list[StoredHeader]:
    """Headers of ``heights`` in two batched round trips; raises NodeError on failure."""
    hashes = client.batch([("getblockhash", (h,)) for h in heights])
    raws = client.batch([("getblockheader", (x, True)) for x in hashes])
    headers = [parse_header(r) for r in raws]
    if [h.height for h in headers] != list(heights):
        return []  # the chain moved between the two requests; the caller stops this round
    return headers


def _chunks(r: range, size: int, downwards: bool = False) -> Iterator[range]:
    starts = range(r.start, r.stop, size)
    for s in reversed(starts) if downwards else starts:
        yield range(s, min(s + size, r.stop))


def find_fork(client: NodeClient, store: HeadersStore, top: int, low: int, batch: int) -> int:
    """Highest height in ``low..top`` where the stored hash is the node's; ``low - 1`` if none.

    The shared search of :mod:`hashwatch.state.reorg` (looks back 8, then 64, then ``batch``
    blocks per request: reorgs are nearly always shallow; the top was already compared).
    """
    return reorg.find_fork(
        lambda hs: client.batch([("getblockhash", (x,)) for x in hs]),
        store.hashes,
        top,
        low,
        max_step=batch,
        first_step=8,
    )


def _reconcile(
    client: NodeClient, store: HeadersStore, tip: int, tip_hash: str, batch: int
) -> tuple[int, int | None]:
    """Drop stored headers that are not on the node's active chain: (removed, fork height)."""
    bounds = store.bounds()
    if bounds is None:
        return 0, None
    low, high = bounds
    top = min(high, tip)
    if top < low:  # the node is below everything we hold (a new or rewound chain)
        return store.clear(), None
    node_hash = tip_hash if top == tip else client.call("getblockhash", top)
    stored = store.hashes(top, top).get(top)
    fork = top if stored == node_hash else find_fork(client, store, top - 1, low, batch)
    if fork == top and high == top:
        return 0, None
    removed = store.rollback_to(fork) if fork >= low else store.clear()
    log.info(
        "event=headers_reorg node=%s fork_height=%d removed=%d stored_tip=%d node_tip=%d",
        client.name, fork, removed, high, tip,
    )
    return removed, fork


def backfill(
    client: NodeClient,
    store: HeadersStore,
    *,
    blocks_needed: int,
    progress: Progress | None = None,
    batch_size: int = DEFAULT_BATCH,
) -> SyncResult:
    """Make ``store`` hold the node's last ``blocks_needed`` headers; fetch only what is missing.

    Also the entry point of a ``hashwatch backfill`` command. Raises NodeError on node failures;
    whatever was stored before the failure stays and is not fetched again.
    """
    info = client.call("getblockchaininfo")
    chain, tip, tip_hash = str(info["chain"]), int(info["blocks"]), str(info["bestblockhash"])
    low = max(0, tip - blocks_needed + 1)
    removed, fork = _reconcile(client, store, tip, tip_hash, batch_size)
    pruned, bounds = 0, store.bounds()
    if bounds is not None and bounds[1] < low - 1:
        pruned, bounds = store.clear(), None  # too old to connect: start afresh
    elif bounds is not None and bounds[0] < low:
        pruned, bounds = store.prune_below(low), store.bounds()
    plan: list[tuple[range, bool]] = []
    if bounds is None:
        plan.append((range(low, tip + 1), False))
    else:
        plan.append((range(low, bounds[0]), True))  # older history, fetched downwards
        plan.append((range(bounds[1] + 1, tip + 1), False))
    total = sum(len(r) for r, _ in plan)
    fetched = 0
    is_backfill = total >= BACKFILL_MIN_BLOCKS
    if is_backfill:
        log.info("event=headers_backfill_start node=%s from=%d to=%d missing=%d", client.name,
                 low, tip, total)
    for heights, downwards in plan:
        for chunk in _chunks(heights, batch_size, downwards):
            headers = fetch_headers(client, chunk)
            below, above = store.get(chunk.start - 1), store.get(chunk.stop)
            if not headers or not links(
                headers, below.hash if below else None, above.prev_hash if above else None
            ):
                log.info("event=headers_chain_moved node=%s at=%d", client.name, chunk.start)
                return SyncResult(chain, tip, fetched, removed, fork, pruned)
            fetched += store.add(headers)
            if progress is not None and is_backfill:
                progress(fetched, total)
    if total:
        log.log(logging.INFO if is_backfill else logging.DEBUG,
                "event=headers_fetched node=%s fetched=%d tip=%d", client.name, fetched, tip)
    return SyncResult(chain, tip, fetched, removed, fork, pruned)


class ProgressReporter:
    """``progress(done, total)`` for :func:`backfill`.

    On a terminal: one line redrawn in place with a bar, blocks/s and ETA. Otherwise (a service's
    journal) a log line at every further ~10%, so a slow first start is visible but not noisy.
    """

    def __init__(
        self,
        node: str,
        stream: TextIO | None = None,
        clock: Callable[[], float] = time.monotonic,
        tty: bool | None = None,
    ):
        self.node = node
        self.stream = stream if stream is not None else sys.stderr
        self.tty = tty if tty is not None else bool(getattr(self.stream, "isatty", lambda: False)())
        self.clock = clock
        self._started: float | None = None
        self._logged_tenths = 0

    def __call__(self, done: int, total: int) -> None:
        now = self.clock()
        if self._started is None:
            self._started = now
        elapsed = now - self._started
        rate = done / elapsed if elapsed > 0 else 0.0
        eta = (total - done) / rate if rate > 0 else None
        if self.tty:
            filled = int(30 * done / total) if total else 30
            eta_text = f"{eta:.0f}s" if eta is not None else "?"
            self.stream.write(
                f"\r{self.node}: headers [{'#' * filled}{'.' * (30 - filled)}] "
                f"{done}/{total} {100 * done / total:5.1f}% {rate:7.0f} blocks/s ETA {eta_text}  "
            )
            if done >= total:
                self.stream.write("\n")
            self.stream.flush()
            return
        tenths = 10 * done // total if total else 10
        if tenths > self._logged_tenths:
            self._logged_tenths = tenths
            log.info(
                "event=headers_backfill_progress node=%s done=%d total=%d percent=%d "
                "blocks_per_second=%.0f eta_seconds=%s",
                self.node, done, total, 100 * done // total, rate,
                f"{eta:.0f}" if eta is not None else "unknown",
            )


class HeadersJob:
    """One node's ``headers`` job: sync the store, then publish the ``difficulty`` section."""

    def __init__(self, ctx: DaemonContext, node: str, client: NodeClient):
        self.ctx, self.node, self.client = ctx, node, client
        self.store: HeadersStore | None = None
        self._points: list[tuple[int, int, int]] | None = None
        # (best block hash, chain) when the store last held the node's whole window: an idle
        # node then costs one ``getbestblockhash`` per run; the view is still rebuilt (it ages)
        self._done_at: tuple[str, str] | None = None

    def _best(self) -> str | None:
        try:
            return str(self.client.call("getbestblockhash"))
        except NodeError as exc:
            if exc.code != RPC_METHOD_NOT_FOUND:
                raise
            return None  # a node without it: sync every run

    def run(self) -> None:
        cfg = self.ctx.config.difficulty
        if self.store is None:
            self.store = HeadersStore(db_path(self.ctx.state_dir, "headers", self.node))
        best = self._best()
        if best is not None and self._done_at is not None and self._done_at[0] == best:
            chain = self._done_at[1]
        else:
            result = backfill(
                self.client,
                self.store,
                blocks_needed=cfg.history_blocks,
                progress=ProgressReporter(self.node),
                batch_size=cfg.batch_size,
            )
            chain = result.chain
            if result.changed or self._points is None:
                self._points = self.store.points()
            top = self.store.get(result.tip_height)
            self._done_at = (best, chain) if best and top and top.hash == best else None
        assert self._points is not None
        view = build_view(
            self._points,
            self.ctx.clock(),
            chain=chain,
            windows=cfg.hashrate_windows,
            drawdown_window=cfg.drawdown_window_blocks,
            peak_lookback=cfg.peak_lookback_blocks,
            drop_threshold_ratio=cfg.drop_threshold_ratio,
            recovery_fraction=cfg.recovery_fraction,
        )
        self.ctx.store.set_section(self.node, "difficulty", view)

    def close(self) -> None:
        if self.store is not None:
            self.store.close()
            self.store = None


def make_jobs(ctx: DaemonContext) -> list[JobSpec]:
    """One ``headers`` job per node; the daemon also triggers it on ZMQ ``hashblock``."""
    jobs = []
    for name, client in ctx.clients.items():
        job = HeadersJob(ctx, name, client)
        jobs.append(
            JobSpec("headers", name, ctx.config.polling.headers_seconds, job.run, stop=job.close)
        )
    return jobs
