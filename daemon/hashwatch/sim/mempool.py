"""The simulated mempool: entries with Core's ancestor/descendant bookkeeping, RBF,
size-limit eviction with the rolling minimum fee, and the mempool sequence counter.

Amounts are integer satoshis; fee rates are sat/kvB internally (Core's CFeeRate unit).
Everything here runs under the node's lock; listeners (ZMQ) are called synchronously.
"""

from __future__ import annotations

import gc
import heapq
import math
import random
from collections.abc import Callable
from dataclasses import dataclass

from .mining import chunk_of, select_packages
from .records import BlockTx

ROLLING_FEE_HALFLIFE = 12 * 3600
ENTRY_OVERHEAD = 660  # bytes of "usage" beyond the weight, calibrated on a real node
ANCESTOR_LIMIT = 64


class MempoolError(Exception):
    """A transaction the mempool refuses (Core's reject reason in the message)."""


@dataclass
class FeeRateDist:
    """Lognormal arrival fee rates (sat/vB): median x multiplier, floored at `floor`."""

    median: float = 2.0
    sigma: float = 1.0
    floor: float = 1.0
    multiplier: float = 1.0

    def sample(self, rng: random.Random) -> float:
        return max(self.floor, self.median * self.multiplier
                   * math.exp(rng.gauss(0.0, self.sigma)))


class Entry:
    __slots__ = ("txid", "wtxid", "vsize", "weight", "fee", "time", "height", "parents",
                 "children", "anc_count", "anc_size", "anc_fee", "desc_count", "desc_size",
                 "desc_fee")

    def __init__(self, txid: str, wtxid: str, vsize: int, weight: int, fee: int, time: int,
                 height: int, parents: tuple[str, ...]) -> None:
        self.txid = txid
        self.wtxid = wtxid
        self.vsize = self.anc_size = self.desc_size = vsize
        self.weight = weight
        self.fee = self.anc_fee = self.desc_fee = fee
        self.time = time
        self.height = height
        self.parents = parents
        self.children: list[str] | None = None
        self.anc_count = self.desc_count = 1

    def as_block_tx(self) -> BlockTx:
        return BlockTx(self.txid, self.wtxid, self.vsize, self.weight, self.fee,
                       self.parents, self.time)


Listener = Callable[[str, str, int], None]  # (txid, "A" | "R", mempool sequence)


class Mempool:
    def __init__(self, rng: random.Random, now: Callable[[], float],
                 tip_height: Callable[[], int], maxmempool: int = 300_000_000,
                 minrelay: int = 100, incremental: int = 100) -> None:
        self.rng, self._now, self._tip_height = rng, now, tip_height
        self.entries: dict[str, Entry] = {}
        self.total_vsize = 0
        self.total_fee = 0
        self.usage = 64
        self.sequence = 1
        self.maxmempool = maxmempool
        self.minrelay = minrelay  # sat/kvB
        self.incremental = incremental  # sat/kvB
        self.rolling_min = 0.0
        self._last_rolling_update = 0.0
        self._block_since_bump = False
        self.listeners: list[Listener] = []
        self.default_dist = FeeRateDist()

    # ----- queries -------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.entries)

    def __contains__(self, txid: str) -> bool:
        return txid in self.entries

    def txids(self) -> list[str]:
        return list(self.entries)

    def min_fee(self) -> int:
        """Core's GetMinFee (sat/kvB) with the rolling fee's half-life decay."""
        if not self._block_since_bump or self.rolling_min == 0:
            return round(self.rolling_min)
        now = self._now()
        if now > self._last_rolling_update + 10:
            halflife: float = ROLLING_FEE_HALFLIFE
            if self.usage < self.maxmempool / 4:
                halflife /= 4
            elif self.usage < self.maxmempool / 2:
                halflife /= 2
            self.rolling_min /= 2 ** ((now - self._last_rolling_update) / halflife)
            self._last_rolling_update = now
            if self.rolling_min < self.incremental / 2:
                self.rolling_min = 0.0
                return 0
        return max(round(self.rolling_min), self.incremental)

    def mempoolminfee(self) -> int:
        return max(self.min_fee(), self.minrelay)

    def ancestors(self, e: Entry) -> set[str]:
        out: set[str] = set()
        todo = list(e.parents)
        while todo:
            p = todo.pop()
            if p not in out:
                out.add(p)
                todo.extend(self.entries[p].parents)
        return out

    def descendants(self, e: Entry) -> set[str]:
        out: set[str] = set()
        todo = list(e.children or ())
        while todo:
            c = todo.pop()
            if c not in out:
                out.add(c)
                todo.extend(self.entries[c].children or ())
        return out

    def chunk(self, e: Entry) -> tuple[int, int]:
        return chunk_of(self.entries, e)

    def select(self, max_weight: int, min_rate: float = 1.0) -> list[Entry]:
        """Transactions for the next block, in block order."""
        return [e for pkg in select_packages(self.entries, max_weight, min_rate) for e in pkg]

    # ----- adding --------------------------------------------------------------------
    def _new_txid(self) -> str:
        return f"{self.rng.getrandbits(256):064x}"

    def _insert(self, e: Entry) -> None:
        if e.parents:
            anc = self.ancestors(e)
            if len(anc) + 1 > ANCESTOR_LIMIT:
                raise MempoolError("too-long-mempool-chain")
            e.anc_count = len(anc) + 1
            for a in anc:
                ae = self.entries[a]
                e.anc_size += ae.vsize
                e.anc_fee += ae.fee
                ae.desc_count += 1
                ae.desc_size += e.vsize
                ae.desc_fee += e.fee
            for p in e.parents:
                pe = self.entries[p]
                if pe.children is None:
                    pe.children = []
                pe.children.append(e.txid)
        self.entries[e.txid] = e
        self.total_vsize += e.vsize
        self.total_fee += e.fee
        self.usage += e.weight + ENTRY_OVERHEAD
        seq = self.sequence
        self.sequence += 1
        for listener in self.listeners:
            listener(e.txid, "A", seq)

    def add_tx(self, vsize: int, fee_sat: int, parents: tuple[str, ...] | list[str] = (),
               weight: int | None = None, txid: str | None = None,
               check_fee: bool = True) -> str:
        """Accept one transaction (parents must be in the mempool); returns its txid."""
        vsize = int(vsize)
        if vsize < 60:
            raise MempoolError("tx-size-small")
        parents = tuple(dict.fromkeys(parents))
        for p in parents:
            if p not in self.entries:
                raise MempoolError(f"missing-inputs: parent {p} not in mempool")
        if check_fee and fee_sat * 1000 < self.mempoolminfee() * vsize:
            raise MempoolError("mempool min fee not met")
        txid = txid or self._new_txid()
        if txid in self.entries:
            raise MempoolError("txn-already-in-mempool")
        w = weight if weight is not None else vsize * 4 - self.rng.randint(0, 3)
        e = Entry(txid, self._new_txid(), vsize, w, int(fee_sat), int(self._now()),
                  self._tip_height(), parents)
        self._insert(e)
        self.trim()
        return txid

    def add_random(self, n: int, feerate_dist: FeeRateDist | Callable | None = None,
                   child_fraction: float = 0.0) -> list[str]:
        """n arrivals with fee rates from the distribution; below-min-fee ones are dropped.

        The cyclic GC is paused meanwhile: 300k new objects would trigger many full
        collections for nothing (entries hold no cycles)."""
        was_enabled = gc.isenabled()
        gc.disable()
        try:
            return self._add_random(n, feerate_dist, child_fraction)
        finally:
            if was_enabled:
                gc.enable()

    def _add_random(self, n: int, feerate_dist: FeeRateDist | Callable | None,
                    child_fraction: float) -> list[str]:
        dist = feerate_dist or self.default_dist
        rng = self.rng
        minfee = self.mempoolminfee() / 1000  # sat/vB
        now, height = int(self._now()), self._tip_height()
        added: list[str] = []
        recent: list[str] = []
        getbits, lognorm, gauss, rand = rng.getrandbits, rng.lognormvariate, rng.gauss, rng.random
        if isinstance(dist, FeeRateDist):
            scale, sigma, floor = dist.median * dist.multiplier, dist.sigma, dist.floor
            sample = None
        else:
            sample = dist
        entries, listeners = self.entries, self.listeners
        exp = math.exp
        n_vsize = n_fee = n_usage = 0
        for _ in range(n):
            vsize = int(lognorm(5.1, 0.55))
            vsize = 110 if vsize < 110 else (100_000 if vsize > 100_000 else vsize)
            rate = sample(rng) if sample else max(floor, scale * exp(gauss(0.0, sigma)))
            if rate < minfee:
                continue
            fee = int(rate * vsize)
            if child_fraction and recent and rand() < child_fraction:
                cand = recent[int(rand() * len(recent))]
                if cand in entries and entries[cand].anc_count < 24:
                    e = Entry(f"{getbits(256):064x}", f"{getbits(256):064x}", vsize,
                              vsize * 4 - getbits(2), fee, now, height, (cand,))
                    self._insert(e)
                    added.append(e.txid)
                    continue
            txid = f"{getbits(256):064x}"
            weight = vsize * 4 - getbits(2)
            e = Entry(txid, txid[32:] + txid[:32], vsize, weight, fee, now, height, ())
            entries[txid] = e
            n_vsize += vsize
            n_fee += fee
            n_usage += weight + ENTRY_OVERHEAD
            seq = self.sequence
            self.sequence = seq + 1
            for listener in listeners:
                listener(txid, "A", seq)
            added.append(txid)
            if child_fraction:
                recent.append(txid)
                if len(recent) > 64:
                    recent.pop(0)
        self.total_vsize += n_vsize
        self.total_fee += n_fee
        self.usage += n_usage
        self.trim()
        return added

    def readd(self, txs: list[BlockTx]) -> None:
        """Put a disconnected block's transactions back (reorg; limits bypassed like Core)."""
        height = self._tip_height()
        for t in txs:
            if t.txid in self.entries:
                continue
            parents = tuple(p for p in t.parents if p in self.entries)
            self._insert(Entry(t.txid, t.wtxid, t.vsize, t.weight, t.fee,
                               t.time or int(self._now()), height, parents))

    # ----- removing ------------------------------------------------------------------
    def _remove_set(self, txids: set[str], label: str | None) -> None:
        """Remove a closed-under-descendants set; label "R" notifies, None is silent."""
        for txid in txids:
            e = self.entries[txid]
            if e.parents:
                for a in self.ancestors(e) - txids:
                    ae = self.entries[a]
                    ae.desc_count -= 1
                    ae.desc_size -= e.vsize
                    ae.desc_fee -= e.fee
            if e.children:
                for d in self.descendants(e) - txids:
                    de = self.entries[d]
                    de.anc_count -= 1
                    de.anc_size -= e.vsize
                    de.anc_fee -= e.fee
        for txid in txids:
            e = self.entries[txid]
            for p in e.parents:
                pe = self.entries.get(p)
                if pe is not None and pe.children and p not in txids:
                    pe.children.remove(txid)
            for c in e.children or ():
                if c not in txids:
                    ce = self.entries[c]
                    ce.parents = tuple(x for x in ce.parents if x != txid)
        order = sorted(txids, key=lambda t: self.entries[t].anc_count)
        for txid in order:
            e = self.entries.pop(txid)
            self.total_vsize -= e.vsize
            self.total_fee -= e.fee
            self.usage -= e.weight + ENTRY_OVERHEAD
            seq = self.sequence
            self.sequence += 1
            if label:
                for listener in self.listeners:
                    listener(txid, label, seq)

    def remove(self, txid: str) -> list[str]:
        """Remove a transaction and its descendants (conflict/expiry); returns removed ids."""
        e = self.entries.get(txid)
        if e is None:
            raise MempoolError("Transaction not in mempool")
        gone = self.descendants(e) | {txid}
        self._remove_set(gone, "R")
        return sorted(gone)

    def remove_for_block(self, txids: list[str]) -> None:
        """Block inclusion: the sequence advances but no "R" is published (like Core)."""
        present = {t for t in txids if t in self.entries}
        # Children of confirmed txs stay; closing under descendants is not required here.
        if present:
            self._remove_set(present, None)
        self._block_since_bump = True

    def replace(self, txid: str, fee_sat: int, vsize: int | None = None) -> str:
        """RBF: a conflicting tx paying more replaces txid and its descendants."""
        old = self.entries.get(txid)
        if old is None:
            raise MempoolError("Transaction not in mempool")
        conflicts = self.descendants(old) | {txid}
        vsize = vsize or old.vsize
        replaced_fees = sum(self.entries[t].fee for t in conflicts)
        if fee_sat * old.vsize <= old.fee * vsize:
            raise MempoolError("insufficient fee: new feerate not higher than replaced")
        if fee_sat * 1000 < replaced_fees * 1000 + self.incremental * vsize:
            raise MempoolError("insufficient fee: must pay for replaced txs + incremental relay")
        parents = old.parents
        self._remove_set(conflicts, "R")
        return self.add_tx(vsize, fee_sat, parents, check_fee=False)

    def trim(self) -> None:
        """TrimToSize: evict the lowest descendant-score packages, bump the rolling fee."""
        if self.usage <= self.maxmempool:
            return
        heap = []
        for e in self.entries.values():
            heap.append((max(e.fee / e.vsize, e.desc_fee / e.desc_size), e.txid))
        heapq.heapify(heap)
        while self.usage > self.maxmempool and heap:
            score, txid = heapq.heappop(heap)
            found = self.entries.get(txid)
            if found is None:
                continue
            e = found
            now = max(e.fee / e.vsize, e.desc_fee / e.desc_size)
            if abs(now - score) > 1e-12:
                heapq.heappush(heap, (now, txid))
                continue
            removed_rate = e.desc_fee * 1000 / e.desc_size + self.incremental
            if removed_rate > self.rolling_min:
                self.rolling_min = removed_rate
                self._last_rolling_update = self._now()
                self._block_since_bump = False
            self._remove_set(self.descendants(e) | {txid}, "R")
