"""Projected next blocks and the fee-rate histogram, from the compact mempool model.

Why the way miners build blocks: a low-fee parent with a high-fee child is mined as one package,
so ranking transactions by their own fee rate misplaces both. Like Core's block assembler we rank
by *ancestor score* (the lower of the transaction's own fee rate and the fee rate of its package:
itself plus its not-yet-included ancestors), take a package whole, and fill 4,000,000 weight
(1,000,000 vB) less a reserve for the coinbase. Fee rates inside a projected block are the
package ("effective") rates: the 2 sat/vB parent of an 80 sat/vB child was paid for at the
package rate.

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
    vsize: int
    total_fee_sat: int
    percentiles_sat_per_vb: tuple[float, float, float, float, float]  # 10/25/50/75/90
    min_fee_rate_sat_per_vb: float
    max_fee_rate_sat_per_vb: float
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


def _package(txid: Any, model: MempoolModel, included: set[Any]) -> tuple[list[Any], int, int]:
    """(txids of the package, its vsize, its modified fee): ``txid`` plus unincluded ancestors."""
    entries, deltas = model.entries, model.deltas
    if txid not in model.parents:
        v = entries[txid]
        return [txid], v & VSIZE_MASK, (v >> VSIZE_BITS) + deltas.get(txid, 0)
    members = [*_ancestors(txid, model, included), txid]
    vsize = fee = 0
    for t in members:
        v = entries[t]
        vsize += v & VSIZE_MASK
        fee += (v >> VSIZE_BITS) + deltas.get(t, 0)
    return members, vsize, fee


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
    """

    model: MempoolModel
    adjusted: Mapping[Any, float]  # txid -> ancestor score, sat/vB, where not the own base rate
    children: Mapping[Any, list[Any]]  # txid -> in-model children
    band_vsize: tuple[int, ...]  # vsize per fee band (len(FEE_BANDS) + 1, last is above 2000)

    def score(self, txid: Any) -> float:
        """The ancestor score of one transaction, sat/vB."""
        s = self.adjusted.get(txid)
        if s is None:
            v = self.model.entries[txid]
            s = (v >> VSIZE_BITS) / (v & VSIZE_MASK)
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
                if above < (s := (v >> bits) / (v & mask)) <= at_most
                and t not in adjusted
                and t not in skip
            ]
        else:  # the per-poll case: one pass over all transactions, a test per transaction
            out = [
                (-s, t)
                for t, v in items
                if above < (s := (v >> bits) / (v & mask)) <= at_most and t not in adjusted
            ]
        out += [(-s, t) for t, s in adjusted.items() if above < s <= at_most and t not in skip]
        return out


def analyse(entries: Mapping[Any, Entry]) -> Analysis:
    """Ancestor scores (min of own and ancestor-package fee rate), children, band sizes.

    ``entries`` is the :class:`MempoolModel` (or a ``{txid: Entry}`` mapping, converted).
    """
    model = as_model(entries)
    packed, parents, deltas = model.entries, model.parents, model.deltas
    bits, mask = VSIZE_BITS, VSIZE_MASK
    # The few transactions whose score is not their own base fee rate.
    adjusted: dict[Any, float] = {}
    for txid, delta in deltas.items():
        v = packed[txid]
        adjusted[txid] = ((v >> bits) + delta) / (v & mask)
    children: dict[Any, list[Any]] = {}
    for txid, ps in parents.items():
        for p in ps:
            if p in packed:
                children.setdefault(p, []).append(txid)
        _, pkg_vsize, pkg_fee = _package(txid, model, set())
        own = adjusted.get(txid)
        if own is None:
            v = packed[txid]
            own = (v >> bits) / (v & mask)
        adjusted[txid] = pkg_fee / pkg_vsize if pkg_fee / pkg_vsize < own else own
    # Every transaction by its own rate (this runs over all of them on every poll, nothing kept
    # per transaction), then the adjusted ones moved to the band of their score.
    bands = list(FEE_BANDS)
    by_band = [0] * (len(bands) + 1)
    find, eps = bisect_left, _EPS
    for v in packed.values():
        size = v & mask
        by_band[find(bands, (v >> bits) / size - eps)] += size
    for txid, score in adjusted.items():
        v = packed[txid]
        size = v & mask
        by_band[find(bands, (v >> bits) / size - eps)] -= size
        by_band[find(bands, score - eps)] += size
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
    items: list[tuple[float, int]], vsize: int, fee: int, txids: list[str]
) -> ProjectedBlock:
    rates = [r for r, _ in items]
    return ProjectedBlock(
        txids=tuple(txids),
        tx_count=len(items),
        vsize=vsize,
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
    max_failures: int = 100,
) -> list[ProjectedBlock]:
    """The next ``n_blocks`` blocks a miner would build from ``entries`` (fewer if it runs dry).

    A package that does not fit is deferred to the next block; a block is closed when
    ``max_failures`` packages in a row did not fit or less than 1,000 vB (0.1%) is left (Core's
    assembler stops similarly), or when nothing is left to try. ``entries`` is the
    :class:`MempoolModel` (or a ``{txid: Entry}`` mapping, converted).
    """
    model = as_model(entries)
    packed, deltas = model.entries, model.deltas
    limit = block_vsize if block_vsize is not None else max_block_vsize()
    margin = min(1000, limit // 1000)  # a block this close to full is closed
    if analysis is None:
        analysis = analyse(model)
    children = analysis.children
    # Only the top of the mempool goes into the heap: transactions scoring above ``cut`` hold
    # about twice the space of the projected blocks. Lower ones join only if the heap runs dry
    # (and, one by one, when an included ancestor lifts their score).
    cut = _score_cut(analysis.band_vsize, 2 * n_blocks * limit)
    heap = analysis.ranked(above=cut)
    heapq.heapify(heap)
    included: set[Any] = set()
    blocks: list[ProjectedBlock] = []
    items: list[tuple[float, int]] = []
    txids: list[Any] = []
    used = fee_total = failures = 0
    deferred: list[tuple[float, Any]] = []

    while len(blocks) < n_blocks and (heap or deferred or cut > -1.0):
        if not heap and cut > -1.0:
            heap = analysis.ranked(at_most=cut, skip=included)
            heapq.heapify(heap)
            cut = -1.0
            continue
        if not heap or failures >= max_failures or limit - used < margin:
            if not items and not heap:
                break  # only packages larger than a whole block are left
            if items:
                blocks.append(_block(items, used, fee_total, txids))
            items, txids, used, fee_total, failures = [], [], 0, 0, 0
            for d in deferred:
                heapq.heappush(heap, d)
            deferred = []
            continue
        neg, txid = heapq.heappop(heap)
        if txid in included:
            continue
        members, vsize, fee = _package(txid, model, included)
        v = packed[txid]
        rate = min(((v >> VSIZE_BITS) + deltas.get(txid, 0)) / (v & VSIZE_MASK), fee / vsize)
        if rate < -neg - _EPS:  # an ancestor went into a block: the score dropped, re-rank
            heapq.heappush(heap, (-rate, txid))
            continue
        if used + vsize > limit:
            deferred.append((-rate, txid))
            failures += 1
            continue
        failures = 0
        used += vsize
        for t in members:
            v = packed[t]
            included.add(t)
            items.append((rate, v & VSIZE_MASK))
            txids.append(t)
            fee_total += v >> VSIZE_BITS  # base fee
        for t in members:  # descendants may now score higher without these ancestors
            for c in children.get(t, ()):
                if c not in included:
                    _, cv, cf = _package(c, model, included)
                    own = model.modified_fee(c) / (packed[c] & VSIZE_MASK)
                    heapq.heappush(heap, (-min(own, cf / cv), c))
    if items and len(blocks) < n_blocks:
        blocks.append(_block(items, used, fee_total, txids))
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
