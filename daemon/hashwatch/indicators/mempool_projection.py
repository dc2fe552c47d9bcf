"""Projected next blocks and the fee-rate histogram, from the compact mempool model.

Why the way miners build blocks: a low-fee parent with a high-fee child is mined as one package,
so ranking transactions by their own fee rate misplaces both. Like Core's block assembler we rank
by *ancestor score* (the lower of the transaction's own fee rate and the fee rate of its package:
itself plus its not-yet-included ancestors), take a package whole, and fill 4,000,000 weight
less Core's 8,000 WU reserve for the header and coinbase, counting weight (not rounded-up vsize)
and skipping what does not fit the way Core's BlockAssembler does. Fee rates inside a projected
block are the package ("effective") rates: the 2 sat/vB parent of an 80 sat/vB child was paid
for at the package rate.

Speed: at 300k transactions the per-poll work is one pass for the fee-band sizes and one to pick
the transactions above a cut (most transactions have no in-mempool parents: their score is
their own fee rate, read from the packed model), one heapify, and heap pops only for the
transactions that make it into the projected blocks (a few thousand). Nothing is kept per
transaction between those passes, so a poll allocates little beyond the heap.

Pure code: no I/O.
"""

from __future__ import annotations

import heapq
import math
from bisect import bisect_left
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .mempool_model import VSIZE_BITS, VSIZE_MASK, Entry, MempoolModel, as_model

MAX_BLOCK_WEIGHT = 4_000_000
DEFAULT_RESERVED_WEIGHT = 8_000  # Core's -blockreservedweight default (coinbase and header)
MAX_CONSECUTIVE_FAILURES = 1000  # Core's BlockAssembler: skipped packages before giving up...
BLOCK_FULL_ENOUGH_WEIGHT_DELTA = 4000  # ...and only once the block is this close to full
MIN_SCORE = 0.001  # sat/vB: Core's default -blockmintxfee of 1 sat/kvB
PERCENTILES = (10, 25, 50, 75, 90)
FEE_BANDS: tuple[float, ...] = (
    1, 2, 3, 4, 5, 6, 8, 10, 12, 15, 20, 30, 40, 50, 60, 70, 80, 90, 100, 125, 150, 175, 200,
    250, 300, 350, 400, 500, 600, 700, 800, 900, 1000, 1200, 1400, 1600, 1800, 2000,
)  # fmt: skip
_EPS = 1e-9  # float noise when a fee rate sits exactly on a band edge


@dataclass(frozen=True)
class ProjectedBlock:
    """One projected block: size, fees and fee-rate percentiles (weighted by vsize)."""

    tx_count: int
    vsize: int  # sum of the transactions' vsizes (each rounded up, as Core reports them)
    total_fee_sat: int
    percentiles_sat_per_vb: tuple[float, float, float, float, float]  # 10/25/50/75/90
    min_fee_rate_sat_per_vb: float
    max_fee_rate_sat_per_vb: float
    weight: int = 0  # transactions' weight, what the block limit counts
    txids: tuple[Any, ...] = field(
        default=(), compare=False, repr=False
    )  # packages in inclusion order (model keys: raw txid bytes in the daemon)

    @property
    def median_sat_per_vb(self) -> float:
        return self.percentiles_sat_per_vb[2]


def max_block_vsize(reserved_weight: int = DEFAULT_RESERVED_WEIGHT) -> int:
    """Block space for transactions in vB: (4,000,000 - reserved weight) / 4."""
    return (MAX_BLOCK_WEIGHT - reserved_weight) // 4


def _ancestors(
    txid: Any, model: MempoolModel, skip: set[Any] | frozenset[Any] = frozenset()
) -> set[Any]:
    """In-model ancestors of ``txid`` (not itself), leaving out ``skip`` and what lies behind it."""
    entries, parents = model.entries, model.parents
    seen: set[Any] = set()
    stack = [p for p in parents.get(txid, ()) if p in entries and p not in skip]
    while stack:
        p = stack.pop()
        if p in seen:
            continue
        seen.add(p)
        for q in parents.get(p, ()):
            if q in entries and q not in seen and q not in skip:
                stack.append(q)
    return seen


def _package(
    txid: Any, model: MempoolModel, included: set[Any]
) -> tuple[list[Any], int, int, int]:
    """(txids, weight, vsize, modified fee) of ``txid`` plus its unincluded ancestors."""
    entries, deltas = model.entries, model.deltas
    if txid not in model.parents:
        v = entries[txid]
        w = v & VSIZE_MASK
        return [txid], w, (w + 3) >> 2, (v >> VSIZE_BITS) + deltas.get(txid, 0)
    members = [*_ancestors(txid, model, included), txid]
    weight = vsize = fee = 0
    for t in members:
        v = entries[t]
        w = v & VSIZE_MASK
        weight += w
        vsize += (w + 3) >> 2
        fee += (v >> VSIZE_BITS) + deltas.get(t, 0)
    return members, weight, vsize, fee


@dataclass(frozen=True)
class Analysis:
    """One pass over the model: band sizes, child links, and the scores that need more than
    the transaction's own fee rate.

    Computed once per poll and shared by the projection and the histogram. Scores are not
    stored per transaction: at 300k transactions a score dict would be ~30 MB allocated and
    dropped on every poll, and the daemon's resident size would settle at that high-water mark.
    A transaction's score is its own (modified) fee rate, read from the packed model, unless
    ``adjusted`` holds one (in-mempool parents: the package rate may be lower; prioritised:
    the modified fee differs from the base fee).

    Scores are fee per *weight*, expressed in sat/vB (``4 * fee / weight``), because Core ranks
    and fills blocks by weight: ranking by rounded-up vsize misorders transactions whose rates
    differ by less than the rounding.
    """

    model: MempoolModel
    adjusted: Mapping[Any, float]  # txid -> ancestor score, sat/vB by weight, where not own
    children: Mapping[Any, list[Any]]  # txid -> in-model children
    band_vsize: tuple[int, ...]  # vsize per fee band (len(FEE_BANDS) + 1, last is above 2000)

    def score(self, txid: Any) -> float:
        """The ancestor score of one transaction, sat/vB (by weight)."""
        s = self.adjusted.get(txid)
        if s is None:
            v = self.model.entries[txid]
            s = 4 * (v >> VSIZE_BITS) / (v & VSIZE_MASK)
        return s

    @property
    def scores(self) -> dict[Any, float]:
        """txid -> ancestor score for every transaction (built on demand: ~30 MB at 300k)."""
        return {t: self.score(t) for t in self.model.entries}

    def ranked(
        self, above: float = -math.inf, at_most: float = math.inf, skip: Collection[Any] = ()
    ) -> list[tuple[float, Any]]:
        """``(-score, txid)`` for the transactions scoring in (``above``, ``at_most``]."""
        bits, mask, adjusted = VSIZE_BITS, VSIZE_MASK, self.adjusted
        items = self.model.entries.items()
        if skip:
            out = [
                (-s, t)
                for t, v in items
                if above < (s := 4 * (v >> bits) / (v & mask)) <= at_most
                and t not in adjusted
                and t not in skip
            ]
        else:  # the per-poll case: one pass over all transactions, a test per transaction
            out = [
                (-s, t)
                for t, v in items
                if above < (s := 4 * (v >> bits) / (v & mask)) <= at_most and t not in adjusted
            ]
        out += [(-s, t) for t, s in adjusted.items() if above < s <= at_most and t not in skip]
        return out


def analyse(entries: Mapping[Any, Entry]) -> Analysis:
    """Ancestor scores (min of own and ancestor-package fee rate), children, band sizes.

    ``entries`` is the :class:`MempoolModel` (or a ``{txid: Entry}`` mapping, converted).
    The histogram bands use fee per vsize (as Core's fee histogram does); the scores that rank
    the projection use fee per weight.
    """
    model = as_model(entries)
    packed, parents, deltas = model.entries, model.parents, model.deltas
    bits, mask = VSIZE_BITS, VSIZE_MASK
    # The few transactions whose score is not their own base fee rate.
    adjusted: dict[Any, float] = {}
    band_rate: dict[Any, float] = {}  # the same, per vsize, for the histogram
    for txid, delta in deltas.items():
        v = packed[txid]
        w = v & mask
        adjusted[txid] = 4 * ((v >> bits) + delta) / w
        band_rate[txid] = ((v >> bits) + delta) / ((w + 3) >> 2)
    children: dict[Any, list[Any]] = {}
    for txid, ps in parents.items():
        for p in ps:
            if p in packed:
                children.setdefault(p, []).append(txid)
        _, pkg_weight, pkg_vsize, pkg_fee = _package(txid, model, set())
        v = packed[txid]
        w = v & mask
        own = adjusted.get(txid, 4 * (v >> bits) / w)
        own_v = band_rate.get(txid, (v >> bits) / ((w + 3) >> 2))
        adjusted[txid] = min(own, 4 * pkg_fee / pkg_weight)
        band_rate[txid] = min(own_v, pkg_fee / pkg_vsize)
    # Every transaction by its own rate (this runs over all of them on every poll, nothing kept
    # per transaction), then the adjusted ones moved to the band of their score.
    bands = list(FEE_BANDS)
    by_band = [0] * (len(bands) + 1)
    find, eps = bisect_left, _EPS
    for v in packed.values():
        size = ((v & mask) + 3) >> 2
        by_band[find(bands, (v >> bits) / size - eps)] += size
    for txid, rate in band_rate.items():
        v = packed[txid]
        size = ((v & mask) + 3) >> 2
        by_band[find(bands, (v >> bits) / size - eps)] -= size
        by_band[find(bands, rate - eps)] += size
    return Analysis(model, adjusted, children, tuple(by_band))


def ancestor_scores(entries: Mapping[Any, Entry]) -> Mapping[Any, float]:
    """txid -> ancestor score in sat/vB: min(own fee rate, ancestor-package fee rate)."""
    return analyse(entries).scores


def weighted_percentiles(
    items: Sequence[tuple[float, int]],
) -> tuple[float, float, float, float, float]:
    """Fee-rate percentiles 10/25/50/75/90 weighted by size, the way ``getblockstats`` does it.

    ``items`` are (fee rate, vsize). The p-th percentile is the rate of the transaction at which
    the cumulative size (ascending by rate) first reaches p% of the total.
    """
    ordered = sorted(items)
    total = sum(v for _, v in ordered)
    marks = [total * p / 100.0 for p in PERCENTILES]
    result = [0.0] * len(PERCENTILES)
    i = 0
    cumulative = 0
    for rate, vsize in ordered:
        cumulative += vsize
        while i < len(marks) and cumulative >= marks[i]:
            result[i] = rate
            i += 1
    for j in range(i, len(marks)):  # only reachable with zero total size
        result[j] = ordered[-1][0] if ordered else 0.0
    return (result[0], result[1], result[2], result[3], result[4])


def _block(
    items: list[tuple[float, int]], weight: int, vsize: int, fee: int, txids: list[str]
) -> ProjectedBlock:
    rates = [r for r, _ in items]
    return ProjectedBlock(
        txids=tuple(txids),
        tx_count=len(items),
        vsize=vsize,
        weight=weight,
        total_fee_sat=fee,
        percentiles_sat_per_vb=weighted_percentiles(items),
        min_fee_rate_sat_per_vb=min(rates),
        max_fee_rate_sat_per_vb=max(rates),
    )


def project_blocks(
    entries: Mapping[Any, Entry],
    n_blocks: int = 3,
    block_vsize: int | None = None,
    analysis: Analysis | None = None,
    max_failures: int = MAX_CONSECUTIVE_FAILURES,
    block_weight: int | None = None,
) -> list[ProjectedBlock]:
    """The next ``n_blocks`` blocks a miner would build from ``entries`` (fewer if it runs dry).

    Block 1 follows Core's ``BlockAssembler``: packages by descending score (fee per weight);
    a package fits while the block's weight (reserve included) stays *below* the maximum; one
    that does not fit is skipped and the next one tried; the block is closed only when more
    than ``max_failures`` packages in a row failed *and* the block is within 4,000 WU of full,
    or when nothing is left to try. Packages scoring below 1 sat/kvB are never taken. Blocks 2
    and 3 repeat the same on what is left (the skipped packages first).

    ``block_weight`` is the weight available to transactions (4,000,000 less the reserve);
    ``block_vsize`` (older callers) means ``block_weight = 4 * block_vsize``.
    """
    model = as_model(entries)
    packed, deltas = model.entries, model.deltas
    if block_weight is not None:
        limit = block_weight
    elif block_vsize is not None:
        limit = 4 * block_vsize
    else:
        limit = MAX_BLOCK_WEIGHT - DEFAULT_RESERVED_WEIGHT
    full_enough = limit - BLOCK_FULL_ENOUGH_WEIGHT_DELTA
    if analysis is None:
        analysis = analyse(model)
    children = analysis.children
    # Only the top of the mempool goes into the heap: transactions scoring above ``cut`` hold
    # about twice the space of the projected blocks. Lower ones join only if the heap runs dry
    # (and, one by one, when an included ancestor lifts their score).
    cut = max(_score_cut(analysis.band_vsize, 2 * n_blocks * limit // 4), MIN_SCORE)
    heap = analysis.ranked(above=cut)
    heapq.heapify(heap)
    included: set[Any] = set()
    blocks: list[ProjectedBlock] = []
    items: list[tuple[float, int]] = []
    txids: list[Any] = []
    used = used_vsize = fee_total = failures = 0
    deferred: list[tuple[float, Any]] = []
    rest_loaded = cut <= MIN_SCORE

    while len(blocks) < n_blocks:
        if not heap and not rest_loaded:
            heap = analysis.ranked(above=MIN_SCORE, at_most=cut, skip=included)
            heapq.heapify(heap)
            rest_loaded = True
            continue
        if not heap or (failures > max_failures and used > full_enough):
            if not items and not heap:
                break  # only packages larger than a whole block are left
            if items:
                blocks.append(_block(items, used, used_vsize, fee_total, txids))
            items, txids, used, used_vsize, fee_total, failures = [], [], 0, 0, 0, 0
            for d in deferred:
                heapq.heappush(heap, d)
            deferred = []
            continue
        neg, txid = heapq.heappop(heap)
        if txid in included:
            continue
        members, weight, vsize, fee = _package(txid, model, included)
        v = packed[txid]
        own_fee = (v >> VSIZE_BITS) + deltas.get(txid, 0)
        own_w = v & VSIZE_MASK
        score = min(4 * own_fee / own_w, 4 * fee / weight)
        if score < -neg - _EPS:  # an ancestor went into a block: the score dropped, re-rank
            if score > MIN_SCORE:
                heapq.heappush(heap, (-score, txid))
            continue
        if used + weight >= limit:
            deferred.append((-score, txid))
            failures += 1
            continue
        failures = 0
        used += weight
        used_vsize += vsize
        rate = min(own_fee / ((own_w + 3) >> 2), fee / vsize)  # reported per vsize
        for t in members:
            v = packed[t]
            included.add(t)
            items.append((rate, ((v & VSIZE_MASK) + 3) >> 2))
            txids.append(t)
            fee_total += v >> VSIZE_BITS  # base fee
        for t in members:  # descendants may now score higher without these ancestors
            for c in children.get(t, ()):
                if c not in included:
                    _, cw, _, cf = _package(c, model, included)
                    own = 4 * model.modified_fee(c) / (packed[c] & VSIZE_MASK)
                    s = min(own, 4 * cf / cw)
                    if s > MIN_SCORE:
                        heapq.heappush(heap, (-s, c))
    if items and len(blocks) < n_blocks:
        blocks.append(_block(items, used, used_vsize, fee_total, txids))
    return blocks


def _score_cut(band_vsize: Sequence[int], want_vsize: int) -> float:
    """A fee band such that transactions scoring above it hold at least ``want_vsize``.

    -1 (take everything) when the whole mempool is not much bigger than that.
    """
    above = 0
    for i in range(len(FEE_BANDS), 0, -1):  # walk down from the top band
        above += band_vsize[i]
        if above >= want_vsize:
            return float(FEE_BANDS[i - 1])
    return -1.0


def histogram(analysis: Analysis) -> tuple[tuple[float, int], ...]:
    """Cumulative vsize at or below each fee band (by ancestor score), then ``+Inf`` (total).

    Prometheus-histogram shaped: ``(le, vsize)`` pairs, non-decreasing, last ``le`` is ``inf``.
    """
    out = []
    running = 0
    for le, c in zip([*FEE_BANDS, math.inf], analysis.band_vsize, strict=False):
        running += c
        out.append((float(le), running))
    return tuple(out)


def blocks_to_clear(total_vsize: int, block_vsize: int | None = None) -> int:
    """How many full blocks the mempool's current contents need (0 for an empty mempool)."""
    limit = block_vsize if block_vsize is not None else max_block_vsize()
    return -(-total_vsize // limit)
