"""Block assembly the way Core's miner does it: best ancestor-score packages first.

Kept apart from the mempool bookkeeping so the algorithm is readable on its own.  The
score of a transaction is min(own fee rate, fee rate of the package of it and its not yet
selected ancestors), both per *weight* as Core's block builder ranks chunks (FeePerWeight).
Scores are refreshed lazily: a popped entry whose package changed is pushed back with its new
score.  The fit test and the stopping rule are Core's BlockAssembler::addChunks: a package fits
while the block weight stays below the limit, a misfit is skipped, and the block is closed only
after more than 1,000 misfits in a row once it is within 4,000 WU of full.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable
from typing import Protocol


class _Entry(Protocol):
    txid: str
    vsize: int
    weight: int
    fee: int
    parents: tuple[str, ...]
    children: list[str] | None
    anc_count: int
    anc_size: int
    anc_fee: int


def _package(entries: dict, tx: _Entry, selected: set[str]) -> list:
    """tx plus its in-mempool ancestors that are not selected yet."""
    if not tx.parents:
        return [tx]
    seen = {tx.txid}
    out = [tx]
    todo = list(tx.parents)
    while todo:
        p = todo.pop()
        if p in seen or p in selected:
            continue
        seen.add(p)
        e = entries[p]
        out.append(e)
        todo.extend(e.parents)
    return out


MAX_CONSECUTIVE_FAILURES = 1000
BLOCK_FULL_ENOUGH_WEIGHT_DELTA = 4000


def _score(pkg: list) -> tuple[float, int, int]:
    """(score in sat/WU, fee, vsize) of a package whose first member is the candidate."""
    fee = sum(e.fee for e in pkg)
    weight = sum(e.weight for e in pkg)
    own = pkg[0].fee / pkg[0].weight
    return min(own, fee / weight), fee, sum(e.vsize for e in pkg)


def select_packages(entries: dict, max_weight: int, min_rate_sat_kvb: float = 1.0,
                    only: Iterable | None = None) -> list[list]:
    """Packages (each parents-first) in the order Core's BlockAssembler would add them.

    ``max_weight`` is the weight available to transactions (4,000,000 less the reserve).
    """
    pool = entries.values() if only is None else only
    heap = []
    for e in pool:
        own = e.fee / e.weight
        score = own if e.anc_count == 1 else _score(_package(entries, e, set()))[0]
        heap.append((-score, e.txid))
    heapq.heapify(heap)
    selected: set[str] = set()
    packages: list[list] = []
    weight = 0
    failures = 0
    while heap:
        neg, txid = heapq.heappop(heap)
        if txid in selected:
            continue
        tx = entries[txid]
        pkg = _package(entries, tx, selected)
        if len(pkg) > 1 or tx.anc_count > 1:
            score, fee, vsize = _score(pkg)
            if score < -neg - 1e-12:
                heapq.heappush(heap, (-score, txid))
                continue
        else:
            score, fee, vsize = -neg, tx.fee, tx.vsize
        if fee * 1000 < min_rate_sat_kvb * vsize:
            break
        pkg_weight = sum(e.weight for e in pkg)
        if weight + pkg_weight >= max_weight:  # Core: reserve + block + chunk >= max fails
            failures += 1
            if (failures > MAX_CONSECUTIVE_FAILURES
                    and weight > max_weight - BLOCK_FULL_ENOUGH_WEIGHT_DELTA):
                break
            continue
        failures = 0
        pkg.sort(key=lambda e: e.anc_count)
        packages.append(pkg)
        weight += pkg_weight
        for e in pkg:
            selected.add(e.txid)
        for e in pkg:  # descendants' packages shrank: give them a fresh score
            for child in e.children or ():
                if child not in selected:
                    ce = entries[child]
                    cscore, _, _ = _score(_package(entries, ce, selected))
                    heapq.heappush(heap, (-cscore, child))
    return packages


def chunk_of(entries: dict, tx: _Entry) -> tuple[int, int]:
    """(fee sat, weight) of tx's chunk: its cluster linearized by ancestor score, chunked."""
    if not tx.parents and not tx.children:
        return tx.fee, tx.weight
    cluster: dict[str, object] = {}
    todo = [tx.txid]
    while todo:
        t = todo.pop()
        if t in cluster:
            continue
        e = entries[t]
        cluster[t] = e
        todo.extend(e.parents)
        todo.extend(e.children or ())
    packages = select_packages(entries, 1 << 62, 0.0, only=cluster.values())
    chunks: list[list] = []  # [fee, vsize, weight, members]
    for pkg in packages:
        chunks.append([sum(e.fee for e in pkg), sum(e.vsize for e in pkg),
                       sum(e.weight for e in pkg), {e.txid for e in pkg}])
        while len(chunks) > 1 and chunks[-1][0] * chunks[-2][1] > chunks[-2][0] * chunks[-1][1]:
            top = chunks.pop()
            low = chunks[-1]
            low[0] += top[0]
            low[1] += top[1]
            low[2] += top[2]
            low[3] |= top[3]
    for fee, _vsize, weight, members in chunks:
        if tx.txid in members:
            return fee, weight
    return tx.fee, tx.weight
