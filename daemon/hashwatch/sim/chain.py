"""The simulated block tree: active chain, forks, invalidation and best-chain selection.

Only the last few epochs are held as real Block objects (see history.py); heights below
``base`` are answered by deterministic stand-ins so a node can start at height 925,000
without building 925,000 blocks.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from . import consensus as cs
from .coinbase import Pool, build_coinbase
from .records import Block, BlockTx, header_bytes, header_hash, merkle_root


class ChainError(Exception):
    """A request the chain cannot honour (maps to an RPC error in rpc_methods)."""


class Chain:
    """Block storage plus Core's chain-selection rules (most work, first seen wins ties)."""

    def __init__(self, params: cs.ChainParams, pools: tuple[Pool, ...], seed: int) -> None:
        self.params = params
        self.pools = pools
        self.rng = random.Random(seed ^ 0x5EED)
        self.blocks: dict[str, Block] = {}
        self.children: dict[str, list[str]] = {}
        self.active: list[Block] = []
        self.base = 0
        self._seq = 0
        # Set by history.py: produces stand-in blocks below `base`.
        self.virtual_factory: Callable[[int], Block] | None = None
        self._virtual_cache: dict[int, Block] = {}
        self._virtual_index: dict[str, int] = {}
        self.synth_txs: Callable[[Block], list[BlockTx]] = lambda b: []

    # ----- lookups -------------------------------------------------------------------
    @property
    def tip(self) -> Block:
        return self.active[-1]

    @property
    def height(self) -> int:
        return self.tip.height

    def at(self, height: int) -> Block | None:
        """Active-chain block at a height (None above the tip or below 0)."""
        if height < 0 or height > self.height:
            return None
        if height >= self.base:
            return self.active[height - self.base]
        return self._virtual(height)

    def _virtual(self, height: int) -> Block:
        blk = self._virtual_cache.get(height)
        if blk is None:
            assert self.virtual_factory is not None
            blk = self.virtual_factory(height)
            if len(self._virtual_cache) > 50_000:
                self._virtual_cache.clear()
            self._virtual_cache[height] = blk
            self._virtual_index[blk.hash] = height
        return blk

    def find(self, block_hash: str) -> Block | None:
        blk = self.blocks.get(block_hash)
        if blk is not None:
            return blk
        height = self._virtual_index.get(block_hash)
        return self._virtual(height) if height is not None else None

    def is_active(self, blk: Block) -> bool:
        if blk.virtual:
            return True
        idx = blk.height - self.base
        return 0 <= idx < len(self.active) and self.active[idx] is blk

    def parent(self, blk: Block) -> Block | None:
        if blk.prev is None:
            return None
        if blk.height - 1 < self.base:
            return self._virtual(blk.height - 1)
        return self.blocks.get(blk.prev)

    def ancestor(self, blk: Block, height: int) -> Block:
        """Ancestor of blk at height (walks a fork back to the active chain)."""
        cur = blk
        while not self.is_active(cur):
            if cur.height == height:
                return cur
            nxt = self.parent(cur)
            assert nxt is not None
            cur = nxt
        found = self.at(height)
        assert found is not None and height <= cur.height
        return found

    def median_time_past(self, blk: Block) -> int:
        """Median of the times of blk and its 10 predecessors (Core's GetMedianTimePast)."""
        times = []
        cur: Block | None = blk
        for _ in range(11):
            if cur is None:
                break
            times.append(cur.time)
            cur = self.parent(cur)
        times.sort()
        return times[len(times) // 2]

    def block_txs(self, blk: Block) -> list[BlockTx]:
        """Non-coinbase transactions of a block (synthesized for history blocks)."""
        return blk.txs if blk.txs is not None else self.synth_txs(blk)

    def coinbase(self, blk: Block) -> dict:
        if blk.coinbase is None:
            fees = sum(t.fee for t in self.block_txs(blk))
            blk.coinbase = build_coinbase(
                blk.height, self.pools[blk.pool],
                cs.block_subsidy(blk.height, self.params) + fees, self.params.name, blk.nonce)
        return blk.coinbase

    # ----- building ------------------------------------------------------------------
    def next_bits(self, prev: Block) -> int:
        """GetNextWorkRequired for the block after prev (mainnet: retarget every 2016)."""
        height = prev.height + 1
        if self.params.no_retargeting or height % cs.RETARGET_INTERVAL != 0:
            return prev.bits
        first = self.ancestor(prev, height - cs.RETARGET_INTERVAL)
        return cs.calculate_next_bits(prev.bits, first.time, prev.time, self.params)

    def make_block(self, prev: Block | None, time: int, txs: list[BlockTx] | None,
                   pool: int, bits: int | None = None, ntx_hint: int = 1,
                   fee_level: float = 0.0, with_coinbase: bool = True) -> Block:
        """Create (not connect) a block on top of prev with Core's header fields."""
        height = 0 if prev is None else prev.height + 1
        if bits is None:
            bits = self.params.genesis_bits if prev is None else self.next_bits(prev)
        nonce = self.rng.getrandbits(32)
        version = 0x20000000
        if self.params.name == "main":
            version |= self.rng.getrandbits(13) << 13  # BIP320 version rolling
        blk = Block(height=height, hash="", prev=prev.hash if prev else None, time=int(time),
                    bits=bits, nonce=nonce, version=version, merkleroot="", chainwork=0,
                    pool=pool, seq=0, txs=txs, ntx_hint=ntx_hint, fee_level=fee_level)
        if txs is not None and with_coinbase:
            cb = self.coinbase(blk)
            blk.merkleroot = merkle_root([cb["txid"]] + [t.txid for t in txs])
        else:
            blk.merkleroot = header_hash(nonce.to_bytes(4, "little") + bytes(8)
                                         + height.to_bytes(8, "little"))
        blk.hash = header_hash(header_bytes(version, blk.prev, blk.merkleroot, blk.time,
                                            bits, nonce))
        blk.chainwork = (prev.chainwork if prev else 0) + cs.block_proof(bits)
        return blk

    def add(self, blk: Block) -> None:
        """Register a block in the tree (not yet connected)."""
        self._seq += 1
        blk.seq = self._seq
        self.blocks[blk.hash] = blk
        if blk.prev is not None:
            self.children.setdefault(blk.prev, []).append(blk.hash)

    def connect(self, blk: Block) -> None:
        assert blk.prev == self.tip.hash, "connect must extend the tip"
        self.active.append(blk)

    def disconnect_tip(self) -> Block:
        if self.height <= self.base:
            raise ChainError("cannot disconnect below the simulated history")
        return self.active.pop()

    # ----- forks ---------------------------------------------------------------------
    def descendants(self, blk: Block) -> list[Block]:
        out, todo = [], list(self.children.get(blk.hash, ()))
        while todo:
            child = self.blocks[todo.pop()]
            out.append(child)
            todo.extend(self.children.get(child.hash, ()))
        return out

    def invalidate(self, blk: Block) -> None:
        if blk.virtual or blk.height <= self.base:
            raise ChainError("Block is too old to invalidate in the simulator")
        blk.invalid = True
        for d in self.descendants(blk):
            d.invalid = True

    def reconsider(self, blk: Block) -> None:
        """ResetBlockFailureFlags: clear blk, its descendants and its ancestors."""
        blk.invalid = False
        for d in self.descendants(blk):
            d.invalid = False
        cur = self.parent(blk)
        while cur is not None and not cur.virtual and cur.invalid:
            cur.invalid = False
            cur = self.parent(cur)

    def leaves(self) -> list[Block]:
        return [b for h, b in self.blocks.items() if not self.children.get(h)]

    def best_candidate(self) -> Block:
        """Most-work valid leaf; the current tip wins ties, then the first seen."""
        best = self.tip if not self.tip.invalid else None
        for leaf in self.leaves():
            cand = leaf
            while cand.invalid:  # a valid ancestor of an invalid leaf may still compete
                cand = self.parent(cand)  # type: ignore[assignment]
            if best is None or cand.chainwork > best.chainwork or (
                    cand.chainwork == best.chainwork and best is not self.tip
                    and cand.seq < best.seq):
                best = cand
        assert best is not None
        return best

    def fork_point(self, blk: Block) -> Block:
        cur = blk
        while not self.is_active(cur):
            cur = self.parent(cur)  # type: ignore[assignment]
        return cur

    def path_from_fork(self, blk: Block) -> list[Block]:
        """Blocks from just above the fork point up to blk, oldest first."""
        path = []
        cur = blk
        while not self.is_active(cur):
            path.append(cur)
            cur = self.parent(cur)  # type: ignore[assignment]
        return path[::-1]

    def tips(self) -> list[dict]:
        """getchaintips: every leaf plus the active tip, highest first."""
        tips = {b.hash: b for b in self.leaves()}
        tips[self.tip.hash] = self.tip
        out = []
        for b in sorted(tips.values(), key=lambda b: (-b.height, b.seq)):
            if self.is_active(b):
                status, branchlen = "active", 0
            else:
                branchlen = b.height - self.fork_point(b).height
                status = "invalid" if b.invalid else "valid-fork"
            out.append({"height": b.height, "hash": b.hash, "branchlen": branchlen,
                        "status": status})
        return out
