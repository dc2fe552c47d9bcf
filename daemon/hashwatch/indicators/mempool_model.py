"""A compact copy of the node's mempool, kept in sync at the cost of the change.

Why: a mainnet mempool holds 100k-300k+ transactions and ``getrawmempool true`` moves ~500 bytes
per transaction every time. This model keeps what the fee indicators need per transaction as
one small tuple ``(vsize, fee_sat, modified_fee_sat, parents)`` and is updated from diffs: a txid
listing (poll path) or ZMQ ``sequence`` events (push path), plus ``getmempoolentry`` for new
txids only.

Ancestor data (ancestor fee and size) is *derived* here from the parent links instead of being
copied from Core: Core's ancestor fields change whenever an ancestor confirms or is replaced, so
a copy taken when a transaction arrived goes stale, while the parent links stay true (a parent
that left the mempool is simply no longer in the model and is ignored). That is what makes an
incrementally maintained model equal to a fresh full load.

Pure code: no I/O. The collector (``collect/mempool.py``) does the fetching.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any, NamedTuple

SAT_PER_BTC = 100_000_000


class Entry(NamedTuple):
    """One mempool transaction, as compact as a tuple (NamedTuple adds no per-instance dict)."""

    vsize: int  # sigop-adjusted vsize, the size block building uses
    fee_sat: int  # base fee
    modified_fee_sat: int  # fee with prioritisetransaction deltas: what miners rank by
    parents: tuple[str, ...]  # in-mempool parents when the entry was fetched


def btc_to_sat(value: Any) -> int:
    """BTC amount (Decimal from the RPC layer, or float/str) to integer satoshis, exactly."""
    return int((Decimal(str(value)) * SAT_PER_BTC).to_integral_value())


def parse_entry(raw: Mapping[str, Any]) -> Entry:
    """A ``getmempoolentry`` result (or one value of ``getrawmempool true``) to an :class:`Entry`.

    ``vsize_adjusted`` is preferred when present (newer Core deprecates ``vsize`` but both carry
    the sigop-adjusted size); older nodes and the simulator only send ``vsize``.
    """
    vsize = int(raw.get("vsize_adjusted", raw.get("vsize", 0)))
    if vsize <= 0:
        raise ValueError("mempool entry without a positive vsize")
    fees = raw.get("fees")
    if isinstance(fees, Mapping):
        base = btc_to_sat(fees["base"])
        modified = btc_to_sat(fees.get("modified", fees["base"]))
    else:  # very old nodes: top-level "fee"/"modifiedfee"
        base = btc_to_sat(raw["fee"])
        modified = btc_to_sat(raw.get("modifiedfee", raw["fee"]))
    parents = tuple(sorted(str(p) for p in raw.get("depends", ())))
    return Entry(vsize, base, modified, parents)


class MempoolModel:
    """txid -> :class:`Entry`, plus the node's mempool sequence the model reflects.

    ``sequence`` follows ``getrawmempool false true``: the number the node gives its *next*
    add or removal.

    ``pending`` holds txids known to be in the mempool (from a listing or a ZMQ ``A`` event)
    whose entries are not fetched yet; the collector fetches them in one batch and calls
    :meth:`add_entries`. A removal cancels a pending fetch.
    """

    __slots__ = ("entries", "pending", "sequence")

    def __init__(self, entries: dict[str, Entry] | None = None, sequence: int | None = None):
        self.entries: dict[str, Entry] = entries if entries is not None else {}
        self.pending: set[str] = set()
        self.sequence = sequence

    @classmethod
    def from_verbose(cls, raw: Mapping[str, Mapping[str, Any]], sequence: int | None = None):
        """A fresh full load from ``getrawmempool true`` (the reference the diffs must match)."""
        return cls({txid: parse_entry(v) for txid, v in raw.items()}, sequence)

    def __len__(self) -> int:
        return len(self.entries)

    # -- poll path ------------------------------------------------------------------------------

    def diff(self, txids: Iterable[str]) -> tuple[list[str], list[str]]:
        """(new txids, gone txids) of a ``getrawmempool`` listing against the model."""
        listed = set(txids)
        known = self.entries.keys() | self.pending
        return sorted(listed - known), sorted(known - listed)

    def apply_listing(self, txids: Iterable[str], sequence: int | None = None) -> list[str]:
        """Make the model's txid set equal the listing; return the txids whose entries to fetch."""
        new, gone = self.diff(txids)
        self.remove(gone)
        self.pending.update(new)
        if sequence is not None:
            self.sequence = sequence
        return sorted(self.pending)

    # -- shared by both paths -------------------------------------------------------------------

    def remove(self, txids: Iterable[str]) -> int:
        """Drop transactions (confirmed, replaced, evicted, expired); unknown txids are ignored."""
        n = 0
        for txid in txids:
            if self.entries.pop(txid, None) is not None:
                n += 1
            self.pending.discard(txid)
        return n

    def add_pending(self, txid: str) -> None:
        """A transaction entered the mempool (ZMQ ``A``); its entry is fetched later."""
        if txid not in self.entries:
            self.pending.add(txid)

    def add_entries(self, fetched: Mapping[str, Entry | None]) -> None:
        """Store fetched entries; ``None`` means the node no longer had it (drop the txid)."""
        for txid, entry in fetched.items():
            if txid not in self.pending and txid in self.entries:
                continue  # already known (fetched twice); entries of a txid never change
            self.pending.discard(txid)
            if entry is not None:
                self.entries[txid] = entry

    def apply_event(self, label: str, txid: str, mempool_sequence: int | None) -> str:
        """Apply one ZMQ ``sequence`` event; return what the caller must do next.

        ``A``/``R`` carry the node's mempool sequence. Core numbers each add/removal with the
        counter's value and then increments it, and ``getrawmempool false true`` answers the
        next value: events numbered below the listing's sequence are already reflected in it
        and are skipped (``"stale"``). ``C`` (block
        connected) returns ``"block"``: block inclusion removes transactions without ``R``
        events, so the caller removes the block's txids. ``D`` (block disconnected) returns
        ``"resync"``: transactions come back with parent links the model cannot rebuild.
        """
        if label in ("A", "R"):
            if (
                self.sequence is not None
                and mempool_sequence is not None
                and mempool_sequence < self.sequence
            ):
                return "stale"
            if label == "A":
                self.add_pending(txid)
            else:
                self.remove((txid,))
            if mempool_sequence is not None:
                self.sequence = mempool_sequence + 1  # the next number, as a listing gives it
            return "applied"
        if label == "C":
            return "block"
        if label == "D":
            return "resync"
        return "ignored"

    def normalized(self) -> dict[str, Entry]:
        """The entries with parent links limited to transactions still in the model.

        Equal for an incrementally maintained model and a fresh load of the same mempool
        (Core's ``depends`` lists in-mempool parents only).
        """
        entries = self.entries
        out = {}
        for txid, e in entries.items():
            if e.parents and not all(p in entries for p in e.parents):
                e = e._replace(parents=tuple(p for p in e.parents if p in entries))
            out[txid] = e
        return out

    # -- totals ---------------------------------------------------------------------------------

    def totals(self) -> tuple[int, int, int]:
        """(transaction count, total vsize, total base fee in sat) over the fetched entries."""
        vsize = fee = 0
        for e in self.entries.values():
            vsize += e.vsize
            fee += e.fee_sat
        return len(self.entries), vsize, fee
