"""A compact copy of the node's mempool, kept in sync at the cost of the change.

Why: a mainnet mempool holds 100k-300k+ transactions and ``getrawmempool true`` moves ~500 bytes
per transaction every time. This model keeps what the fee indicators need per transaction and is
updated from diffs: a txid listing (poll path) or ZMQ ``sequence`` events (push path), plus
``getmempoolentry`` for new txids only.

Why this layout: at 300k transactions every byte per transaction is 300 kB of resident memory.
Each transaction costs one dict slot, its txid as 32 raw ``bytes`` (a third of a 64-character
hex ``str``) and one int packing ``base fee << 32 | weight``. The weight is the sigop-adjusted
weight block building counts (Core fills blocks by weight, not by rounded-up vsize); the vsize
Core reports is derived from it exactly, ``(weight + 3) // 4``. The rare extras live in side dicts
keyed the same way: ``parents`` for transactions with in-mempool parents and ``deltas`` for
``prioritisetransaction`` deltas (modified fee - base fee). Txids are converted from hex only at
the edges (the RPC listing, ``getblock``, ``getmempoolentry``); ZMQ ``sequence`` messages
already carry the raw 32 bytes in display order, i.e. ``bytes.fromhex(txid)``, so no conversion
is needed there. The model reads as a ``Mapping[bytes, Entry]`` (``model[txid].vsize``); the
projection's hot loops use the packed dicts directly.

Ancestor data (ancestor fee and size) is *derived* here from the parent links instead of being
copied from Core: Core's ancestor fields change whenever an ancestor confirms or is replaced, so
a copy taken when a transaction arrived goes stale, while the parent links stay true (a parent
that left the mempool is simply no longer in the model and is ignored). That is what makes an
incrementally maintained model equal to a fresh full load.

Pure code: no I/O. The collector (``collect/mempool.py``) does the fetching.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Hashable, Iterable, Iterator, Mapping
from itertools import filterfalse
from typing import Any, NamedTuple

from ..collect.validate import (
    MAX_BLOCK_WEIGHT,
    MAX_TX_VSIZE,
    check_fee,
    check_int,
    check_list,
    check_txid,
)
from ..units import btc_to_sat  # noqa: F401  (re-exported: tests read amounts with it)

VSIZE_BITS = 32  # packed value: base fee << VSIZE_BITS | sigop-adjusted weight
VSIZE_MASK = (1 << VSIZE_BITS) - 1  # the weight field (the name predates weight packing)
WEIGHT_BITS, WEIGHT_MASK = VSIZE_BITS, VSIZE_MASK

txid_key = bytes.fromhex  # hex txid (as RPC shows it) -> the model's key


class Entry(NamedTuple):
    """One mempool transaction as read from the model (or parsed from an RPC answer)."""

    vsize: int  # sigop-adjusted vsize, the size block building uses
    fee_sat: int  # base fee
    modified_fee_sat: int  # fee with prioritisetransaction deltas: what miners rank by
    parents: tuple[bytes, ...]  # in-mempool parents when the entry was fetched
    weight: int = 0  # sigop-adjusted weight; 0 = unknown, taken as 4 * vsize

    @property
    def block_weight(self) -> int:
        """The weight block assembly counts for this transaction."""
        return self.weight or 4 * self.vsize


def adjusted_weight(vsize: int, weight: int | None) -> int:
    """The sigop-adjusted weight from Core's ``vsize`` (adjusted) and ``weight`` (BIP141).

    Core's vsize is ``ceil(max(weight, sigops * 20) / 4)``. When ``weight`` rounds up to the
    vsize the transaction is not sigop-heavy and its weight is the adjusted weight; otherwise
    (sigop-heavy, or no weight given) the adjusted weight is ``4 * vsize`` (sigops * 20 is a
    multiple of 4).
    """
    if weight and (weight + 3) // 4 == vsize:
        return weight
    return 4 * vsize


def parse_entry(raw: Mapping[str, Any]) -> Entry:
    """A ``getmempoolentry`` result (or one value of ``getrawmempool true``) to an :class:`Entry`.

    ``vsize_adjusted`` is preferred when present (newer Core deprecates ``vsize`` but both carry
    the sigop-adjusted size); older nodes and the simulator only send ``vsize``. Parents come
    back as model keys (raw txid bytes), sorted.
    """
    vsize = check_int(raw.get("vsize_adjusted", raw.get("vsize")), "vsize", 1, MAX_TX_VSIZE)
    weight = raw.get("weight")
    weight = None if weight is None else check_int(weight, "weight", 1, MAX_BLOCK_WEIGHT)
    fees = raw.get("fees")
    if isinstance(fees, Mapping):
        base = check_fee(fees.get("base"), "fees.base")
        raw_base, raw_modified = fees["base"], fees.get("modified", fees["base"])
        # usually no prioritisation: skip the second conversion when the amounts are equal
        modified = base if raw_modified == raw_base else check_fee(
            raw_modified, "fees.modified", signed=True
        )
    else:  # very old nodes: top-level "fee"/"modifiedfee"
        base = check_fee(raw.get("fee"), "fee")
        modified = check_fee(raw.get("modifiedfee", raw.get("fee")), "modifiedfee", signed=True)
    depends = raw.get("depends")
    parents = tuple(sorted(check_txid(p, "depends") for p in check_list(depends, "depends")))
    return Entry(vsize, base, modified, parents, adjusted_weight(vsize, weight))


class MempoolModel(Mapping[Hashable, Entry]):
    """txid -> transaction (read as :class:`Entry`), plus the mempool sequence it reflects.

    Keys are raw txid bytes (``txid_key(hex)``) in the daemon; the model itself accepts any
    hashable key, so tests can name transactions. Storage:

    - ``entries``: txid -> ``base fee << VSIZE_BITS | vsize`` (see :func:`pack`);
    - ``parents``: txid -> in-mempool parents when fetched, only for transactions that have any;
    - ``deltas``: txid -> modified fee - base fee, only where they differ.

    ``sequence`` follows ``getrawmempool false true``: the number the node gives its *next*
    add or removal.

    ``pending`` holds txids known to be in the mempool (from a listing or a ZMQ ``A`` event)
    whose entries are not fetched yet; the collector fetches them in one batch and calls
    :meth:`add_entries`. A removal cancels a pending fetch.
    """

    __slots__ = ("entries", "parents", "deltas", "pending", "sequence")

    def __init__(self, entries: Mapping[Any, Entry] | None = None, sequence: int | None = None):
        self.entries: dict[Any, int] = {}
        self.parents: dict[Any, tuple[Any, ...]] = {}
        self.deltas: dict[Any, int] = {}
        self.pending: set[Any] = set()
        self.sequence = sequence
        if entries:
            for txid, entry in entries.items():
                self._put(txid, entry)

    @classmethod
    def from_verbose(
        cls, raw: Mapping[str, Mapping[str, Any]], sequence: int | None = None
    ) -> MempoolModel:
        """A fresh full load from ``getrawmempool true`` (the reference the diffs must match)."""
        return cls({txid_key(txid): parse_entry(v) for txid, v in raw.items()}, sequence)

    # -- reading ----------------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.entries)

    def __iter__(self) -> Iterator[Any]:
        return iter(self.entries)

    def __contains__(self, txid: object) -> bool:
        return txid in self.entries

    def __getitem__(self, txid: Any) -> Entry:
        packed = self.entries[txid]
        fee = packed >> VSIZE_BITS
        weight = packed & VSIZE_MASK
        return Entry(
            (weight + 3) >> 2,
            fee,
            fee + self.deltas.get(txid, 0),
            self.parents.get(txid, ()),
            weight,
        )

    def modified_fee(self, txid: Any) -> int:
        return (self.entries[txid] >> VSIZE_BITS) + self.deltas.get(txid, 0)

    def _put(self, txid: Any, entry: Entry) -> None:
        self.entries[txid] = pack(entry.block_weight, entry.fee_sat)
        if entry.parents:
            self.parents[txid] = entry.parents
        elif self.parents:
            self.parents.pop(txid, None)
        if entry.modified_fee_sat != entry.fee_sat:
            self.deltas[txid] = entry.modified_fee_sat - entry.fee_sat
        elif self.deltas:
            self.deltas.pop(txid, None)

    # -- poll path ------------------------------------------------------------------------------

    def diff(self, txids: Iterable[Any]) -> tuple[list[Any], list[Any]]:
        """(new txids, gone txids) of a ``getrawmempool`` listing (as model keys) vs the model."""
        listed = txids if isinstance(txids, (set, frozenset)) else set(txids)
        return self._diff(listed)

    def _diff(self, listed: set[Any] | frozenset[Any]) -> tuple[list[Any], list[Any]]:
        # C-level set and filter operations, and no copy of the model's 300k keys
        entries, pending = self.entries, self.pending
        diff = listed.difference(entries)
        new = diff if isinstance(diff, set) else set(diff)  # a frozenset listing: small copy
        if pending:
            new = new.difference(pending)  # also right for a frozenset listing
        in_listing = listed.__contains__
        gone = list(filterfalse(in_listing, entries))
        if pending:
            gone += filterfalse(in_listing, pending)
        return sorted(new), sorted(gone)

    def apply_listing(self, txids: Iterable[Any], sequence: int | None = None) -> list[Any]:
        """Make the model's txid set equal the listing; return the txids whose entries to fetch."""
        owned = not isinstance(txids, (set, frozenset))
        listed: set[Any] | frozenset[Any] = (
            txids if isinstance(txids, (set, frozenset)) else set(txids)
        )
        if not self.entries and not self.pending:
            # a first load: everything is new (the listing's own set when we built it)
            self.pending = listed if isinstance(listed, set) and owned else set(listed)
        else:
            new, gone = self._diff(listed)
            self.remove(gone)
            self.pending.update(new)
        if sequence is not None:
            self.sequence = sequence
        return sorted(self.pending)

    # -- shared by both paths -------------------------------------------------------------------

    def remove(self, txids: Iterable[Any]) -> int:
        """Drop transactions (confirmed, replaced, evicted, expired); unknown txids are ignored."""
        entries, parents, deltas, pending = self.entries, self.parents, self.deltas, self.pending
        n = 0
        for txid in txids:
            if entries.pop(txid, None) is not None:
                n += 1
                if parents:
                    parents.pop(txid, None)
                if deltas:
                    deltas.pop(txid, None)
            pending.discard(txid)
        return n

    def add_pending(self, txid: Any) -> None:
        """A transaction entered the mempool (ZMQ ``A``); its entry is fetched later."""
        if txid not in self.entries:
            self.pending.add(txid)

    def add_entries(self, fetched: Mapping[Any, Entry | None]) -> None:
        """Store fetched entries; ``None`` means the node no longer had it (drop the txid)."""
        entries, pending = self.entries, self.pending
        for txid, entry in fetched.items():
            if txid not in pending and txid in entries:
                continue  # already known (fetched twice); entries of a txid never change
            pending.discard(txid)
            if entry is not None:
                self._put(txid, entry)
        if not pending:
            self.pending = set()  # after a full load, give back the big empty hash table

    def apply_event(self, label: str, txid: Any, mempool_sequence: int | None) -> str:
        """Apply one ZMQ ``sequence`` event; return what the caller must do next.

        ``A``/``R`` carry the node's mempool sequence. Core numbers each add/removal with the
        counter's value and then increments it, and ``getrawmempool false true`` answers the
        next value: events numbered below the listing's sequence are already reflected in it
        and are skipped (``"stale"``). ``C`` (block connected) returns ``"block"``: block
        inclusion removes transactions without ``R`` events, so the caller removes the block's
        txids. ``D`` (block disconnected) returns ``"resync"``: transactions come back with
        parent links the model cannot rebuild.
        """
        if label in ("A", "R"):
            before = self.sequence
            self.apply_events(deque(((txid, label, mempool_sequence),)))
            if before is not None and mempool_sequence is not None and mempool_sequence < before:
                return "stale"
            return "applied"
        if label == "C":
            return "block"
        if label == "D":
            return "resync"
        return "ignored"

    def apply_events(
        self, events: deque[Any]  # of (hash, label, mempool sequence): node.zmq.SequenceEvent
    ) -> tuple[int, tuple[Any, str, int | None] | None]:
        """Apply ``(hash, label, mempool sequence)`` events from the left of ``events``.

        The bulk form of :meth:`apply_event` (one call per poll, not per event): A/R events are
        applied (or skipped as stale) and popped until the queue is empty or a ``C``/``D`` event
        comes up, which is popped and returned for the caller to act on (see
        :meth:`apply_event`). Returns (events popped, that block event or ``None``).
        """
        entries, pending, parents, deltas = self.entries, self.pending, self.parents, self.deltas
        seq = self.sequence
        pop = events.popleft
        n = 0
        try:
            while events:
                event = pop()
                n += 1
                txid, label, number = event
                if label == "A":
                    if seq is not None and number is not None and number < seq:
                        continue  # stale: the listing already reflects it
                    if txid not in entries:
                        pending.add(txid)
                elif label == "R":
                    if seq is not None and number is not None and number < seq:
                        continue
                    if entries.pop(txid, None) is not None:
                        if parents:
                            parents.pop(txid, None)
                        if deltas:
                            deltas.pop(txid, None)
                    pending.discard(txid)
                elif label in ("C", "D"):
                    return n, event
                else:
                    continue  # unknown labels are ignored
                if number is not None:
                    seq = number + 1  # the next number, as a listing gives it
            return n, None
        finally:
            self.sequence = seq

    def normalized(self) -> dict[Any, Entry]:
        """The entries with parent links limited to transactions still in the model.

        Equal for an incrementally maintained model and a fresh load of the same mempool
        (Core's ``depends`` lists in-mempool parents only).
        """
        entries = self.entries
        out = {}
        for txid in entries:
            e = self[txid]
            if e.parents and not all(p in entries for p in e.parents):
                e = e._replace(parents=tuple(p for p in e.parents if p in entries))
            out[txid] = e
        return out

    # -- totals ---------------------------------------------------------------------------------

    def totals(self) -> tuple[int, int, int]:
        """(transaction count, total vsize, total base fee in sat) over the fetched entries."""
        values = self.entries.values()
        mask = VSIZE_MASK
        vsize = sum((v & mask) + 3 >> 2 for v in values)  # Core's vsize: weight rounded up
        weight = sum(v & mask for v in values)
        fee = (sum(values) - weight) >> VSIZE_BITS  # exact: the sum of fee << VSIZE_BITS
        return len(self.entries), vsize, fee


def pack(weight: int, fee_sat: int) -> int:
    """``fee << VSIZE_BITS | weight`` as one int (fee may be any int, weight 1 .. 2**32 - 1)."""
    if not 0 < weight <= VSIZE_MASK:
        raise ValueError(f"weight {weight} out of range")
    return fee_sat << VSIZE_BITS | weight


def as_model(entries: Mapping[Any, Entry]) -> MempoolModel:
    """The model itself, or a model built from a plain ``{txid: Entry}`` mapping."""
    return entries if isinstance(entries, MempoolModel) else MempoolModel(entries)
