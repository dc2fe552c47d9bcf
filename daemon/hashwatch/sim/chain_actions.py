"""SimNode's chain actions: mining blocks, reorgs, invalidate/reconsider, and their side effects.

Why a mixin of their own: every way the tip moves has to keep the chain, the mempool (confirmed
transactions out, disconnected ones back in) and the ZMQ notifications in step, under the
node's lock. Keeping those paths together makes that bookkeeping reviewable in one place, apart
from the node's lifecycle and RPC plumbing. :class:`~.node.SimNode` is the only user.
"""

from __future__ import annotations

import random
import threading

from . import consensus as cs
from .chain import Chain
from .clock import SimClock
from .coinbase import Pool, choose_pool
from .history import BLOCK_WEIGHT_FOR_TXS
from .mempool import Mempool
from .records import Block, BlockTx
from .zmqpub import ZmqPublisher


class ChainActions:
    """Mining and reorg methods; the state they touch is created by SimNode.__init__."""

    chain: Chain
    mempool: Mempool
    clock: SimClock
    params: cs.ChainParams
    pools: tuple[Pool, ...]
    rng: random.Random
    lock: threading.RLock
    zmq: ZmqPublisher | None
    reference_bits: int
    hashrate_factor: float
    last_template: tuple[int, int] | None

    def mean_interval(self) -> float:
        """Expected seconds to the next block at the current hashrate factor."""
        bits = self.chain.next_bits(self.chain.tip)
        ratio = cs.difficulty(bits) / cs.difficulty(self.reference_bits)
        return cs.TARGET_SPACING * ratio / self.hashrate_factor

    def _publish_connect(self, blk: Block) -> None:
        if self.zmq:
            self.zmq.block_connected(blk.hash)
            self.zmq.hashblock(blk.hash)

    def _connect_new(self, time_: float, address: str | None = None) -> Block:
        chain = self.chain
        prev = chain.tip
        t = max(int(time_), chain.median_time_past(prev) + 1)
        entries = self.mempool.select(BLOCK_WEIGHT_FOR_TXS)
        txs = [e.as_block_tx() for e in entries]
        pool = choose_pool(self.rng, self.pools)
        blk = chain.make_block(prev, t, txs, pool, with_coinbase=False)
        if address:
            blk.extra["payout"] = address
        self._finish_block(blk, txs)
        chain.add(blk)
        chain.connect(blk)
        self.mempool.remove_for_block([t.txid for t in txs])
        self.last_template = (sum(t.weight for t in txs) + 8000, len(txs))
        self._publish_connect(blk)
        return blk

    def _finish_block(self, blk: Block, txs: list[BlockTx]) -> None:
        from .coinbase import build_coinbase
        from .records import header_bytes, header_hash, merkle_root

        pool = (Pool("generatetoaddress", "", blk.extra["payout"], 0.0)
                if "payout" in blk.extra else self.pools[blk.pool])
        value = cs.block_subsidy(blk.height, self.params) + sum(t.fee for t in txs)
        blk.coinbase = build_coinbase(blk.height, pool, value, self.params.name, blk.nonce)
        if "payout" in blk.extra:
            blk.pool = -1
        blk.merkleroot = merkle_root([blk.coinbase["txid"]] + [t.txid for t in txs])
        blk.hash = header_hash(header_bytes(blk.version, blk.prev, blk.merkleroot, blk.time,
                                            blk.bits, blk.nonce))

    def mine(self, n: int = 1, interval: float | None = None, at: float | None = None,
             address: str | None = None) -> list[str]:
        """Append n blocks; times from the hashrate schedule unless interval/at is given."""
        hashes = []
        with self.lock:
            for i in range(n):
                tip = self.chain.tip
                if at is not None and i == 0:
                    t = at
                elif interval is not None:
                    t = tip.time + interval
                elif self.params.no_retargeting:
                    t = self.clock.now()
                else:
                    t = tip.time + self.rng.expovariate(1.0 / self.mean_interval())
                blk = self._connect_new(t, address)
                if blk.time > self.clock.now():
                    self.clock.set(blk.time)
                hashes.append(blk.hash)
        return hashes

    def _disconnect_to(self, fork: Block) -> list[BlockTx]:
        txs: list[BlockTx] = []
        while self.chain.tip is not fork:
            blk = self.chain.disconnect_tip()
            if self.zmq:
                self.zmq.block_disconnected(blk.hash)
            txs = list(self.chain.block_txs(blk)) + txs
        return txs

    def _activate_best(self) -> None:
        best = self.chain.best_candidate()
        if best is self.chain.tip:
            return
        fork = self.chain.fork_point(best)
        path = self.chain.path_from_fork(best)
        back = self._disconnect_to(fork)
        self.mempool.readd(back)
        for blk in path:
            self.chain.connect(blk)
            self.mempool.remove_for_block([t.txid for t in self.chain.block_txs(blk)])
            self._publish_connect(blk)

    def reorg(self, depth: int, new_blocks: int | None = None) -> list[str]:
        """Replace the last `depth` blocks by `new_blocks` (default depth + 1) new ones."""
        new_blocks = depth + 1 if new_blocks is None else new_blocks
        if depth < 1 or new_blocks <= depth:
            raise ValueError("reorg needs depth >= 1 and more new blocks than replaced")
        with self.lock:
            fork = self.chain.at(self.chain.height - depth)
            assert fork is not None  # depth < height: checked by the caller's chain
            old_tip_time = self.chain.tip.time
            self.mempool.readd(self._disconnect_to(fork))
            end = max(self.clock.now(), old_tip_time + 1)
            span = end - fork.time
            hashes = []
            for i in range(new_blocks):
                blk = self._connect_new(fork.time + span * (i + 1) / new_blocks)
                hashes.append(blk.hash)
            return hashes

    def invalidate(self, blk: Block) -> None:
        with self.lock:
            self.chain.invalidate(blk)
            self._activate_best()

    def reconsider(self, blk: Block) -> None:
        with self.lock:
            self.chain.reconsider(blk)
            self._activate_best()
