"""A reference mempool for tests: Core's bookkeeping rules written plainly, no hashwatch code.

Why its own code: the model under test must be checked against something that does not share
its logic. This keeps what Core keeps (txid -> size, fee, in-mempool parents), answers
``getrawmempool`` / ``getmempoolentry`` shapes, and logs the ZMQ ``sequence`` events Core would
publish: A/R with the mempool sequence (which also counts unannounced block removals), C/D.
"""

from __future__ import annotations

import random
from decimal import Decimal
from typing import Any


class RefMempool:
    def __init__(self, seed: int = 1):
        self.rng = random.Random(seed)
        self.txs: dict[str, dict[str, Any]] = {}  # txid -> {vsize, fee, parents}
        self.sequence = 1  # Core starts at 1; events carry the value, then it increments
        self.events: list[tuple[str, str, int | None]] = []  # (label, hash, mempool seq)
        self.blocks: dict[str, list[str]] = {}  # block hash -> txids (for getblock)
        self._n = 0

    def _id(self) -> str:
        self._n += 1
        return f"{self.rng.getrandbits(256):064x}"

    # -- mutations ----------------------------------------------------------------------------

    def add(self, vsize: int | None = None, fee: int | None = None, parents: tuple = ()) -> str:
        txid = self._id()
        vsize = vsize or self.rng.randint(100, 800)
        fee = fee if fee is not None else int(vsize * self.rng.choice([1, 2, 5, 12, 40, 150]))
        self.txs[txid] = {
            "vsize": vsize,
            "fee": fee,
            "parents": tuple(p for p in parents if p in self.txs),
        }
        self.events.append(("A", txid, self.sequence))
        self.sequence += 1
        return txid

    def add_random(self) -> str:
        parents: tuple = ()
        if self.txs and self.rng.random() < 0.4:
            pool = list(self.txs)
            parents = tuple(self.rng.sample(pool, min(len(pool), self.rng.randint(1, 2))))
        return self.add(parents=parents)

    def descendants(self, txid: str) -> set[str]:
        out, stack = set(), [txid]
        while stack:
            t = stack.pop()
            for c, d in self.txs.items():
                if t in d["parents"] and c not in out:
                    out.add(c)
                    stack.append(c)
        return out

    def ancestors(self, txid: str) -> set[str]:
        out, stack = set(), [txid]
        while stack:
            for p in self.txs[stack.pop()]["parents"]:
                if p in self.txs and p not in out:
                    out.add(p)
                    stack.append(p)
        return out

    def remove(self, txid: str) -> None:
        """Eviction/expiry/conflict: the transaction and its descendants, each with an R."""
        for t in sorted(self.descendants(txid)) + [txid]:
            if t in self.txs:
                del self.txs[t]
                self.events.append(("R", t, self.sequence))
                self.sequence += 1

    def replace(self, txid: str, extra_fee: int = 1000) -> str:
        """RBF: the old transaction and its descendants leave (R), the replacement enters (A)."""
        old = self.txs[txid]
        parents = tuple(p for p in old["parents"] if p in self.txs)
        self.remove(txid)
        return self.add(old["vsize"], old["fee"] + extra_fee, parents)

    def confirm(self, txids: list[str]) -> str:
        """Mine a block with ``txids`` and all their ancestors (removed without R events)."""
        chosen: set[str] = set()
        for t in txids:
            if t in self.txs:
                chosen |= {t} | self.ancestors(t)
        block_hash = self._id()
        for t in sorted(chosen):
            del self.txs[t]
            self.sequence += 1  # Core counts block removals without announcing them
        self.blocks[block_hash] = ["00" * 32, *sorted(chosen)]  # a coinbase first
        self.events.append(("C", block_hash, None))
        return block_hash

    # -- RPC shapes ---------------------------------------------------------------------------

    def entry(self, txid: str) -> dict[str, Any]:
        d = self.txs[txid]
        anc = self.ancestors(txid)
        btc = lambda sat: Decimal(sat) / Decimal(100_000_000)  # noqa: E731
        return {  # Core's fields, so byte counts compare like for like (~450 B per entry)
            "vsize_adjusted": d["vsize"],
            "vsize": d["vsize"],
            "vsize_bip141": d["vsize"],
            "weight": d["vsize"] * 4,
            "time": 1_795_626_831,
            "height": 925_000,
            "descendantcount": 1,
            "descendantsize": d["vsize"],
            "wtxid": txid[::-1],
            "chunkweight": d["vsize"] * 4,
            "ancestorcount": len(anc) + 1,
            "ancestorsize": d["vsize"] + sum(self.txs[a]["vsize"] for a in anc),
            "fees": {
                "base": btc(d["fee"]),
                "modified": btc(d["fee"]),
                "ancestor": btc(d["fee"] + sum(self.txs[a]["fee"] for a in anc)),
            },
            "depends": sorted(p for p in d["parents"] if p in self.txs),
            "spentby": [],
            "unbroadcast": False,
        }

    def verbose(self) -> dict[str, dict[str, Any]]:
        return {t: self.entry(t) for t in self.txs}

    def listing(self) -> dict[str, Any]:
        return {"txids": list(self.txs), "mempool_sequence": self.sequence}

    def random_op(self) -> None:
        """One random change of the kinds a real mempool sees."""
        r = self.rng.random()
        if not self.txs or r < 0.5:
            self.add_random()
        elif r < 0.65:
            self.remove(self.rng.choice(list(self.txs)))
        elif r < 0.8:
            self.replace(self.rng.choice(list(self.txs)))
        else:
            pool = list(self.txs)
            self.confirm(self.rng.sample(pool, min(len(pool), self.rng.randint(1, 5))))
