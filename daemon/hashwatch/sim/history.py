"""Synthesize a realistic recent history so the simulator can start at any height.

Only the last HISTORY_EPOCHS full epochs plus the running one become real blocks.  Their
bits are chained backwards from the requested start bits, and each epoch's block times are
drawn from exponential intervals then rescaled so that Core's retarget rule (first and last
block of the epoch, clamped) turns each epoch's bits into the next epoch's bits exactly.
Older heights are deterministic stand-ins (hash, time, chainwork interpolated).
"""

from __future__ import annotations

import math
import random

from . import consensus as cs
from .addresses import sha256d
from .chain import Chain
from .coinbase import choose_pool
from .records import Block, BlockTx

HISTORY_EPOCHS = 4  # >= 3 epochs + margin: a daemon may backfill 2 epochs + a window
MAINNET_DEFAULT_BITS = 0x1701D936  # epoch starting 923,328: 152.27 T
BLOCK_WEIGHT_FOR_TXS = 4_000_000 - 8_000


def _scaled_times(rng: random.Random, count: int, total: int) -> list[int]:
    """count cumulative offsets (first = 0) from exponential gaps, last exactly == total."""
    gaps = [rng.expovariate(1.0) for _ in range(count - 1)]
    scale = total / sum(gaps)
    out, acc = [0], 0.0
    for g in gaps:
        acc += g * scale
        out.append(round(acc))
    out[-1] = total
    return out


def build_history(chain: Chain, start_height: int, start_bits: int | None, tip_time: int,
                  seed: int, fee_level: float = 3.0, epoch_start_time: int | None = None,
                  epoch_mean_interval: float = cs.TARGET_SPACING) -> None:
    """Populate chain with blocks up to start_height whose tip has time tip_time.

    epoch_start_time pins the running epoch's first block time (so a scenario can make the
    coming retarget land on known bits); epoch_mean_interval sets how fast the running
    epoch has been so far (630 s makes the coming retarget a ~5% drop)."""
    params = chain.params
    rng = random.Random(seed)
    interval = cs.RETARGET_INTERVAL
    if params.no_retargeting:
        bits = params.pow_limit_bits
        base = max(0, start_height - HISTORY_EPOCHS * interval - 200)
        heights = range(base, start_height + 1)
        offsets = [h - start_height for h in heights]  # regtest: one block per second
        bits_of = {h: bits for h in heights}
        times = {h: tip_time + o for h, o in zip(heights, offsets, strict=True)}
        if base == 0:
            times[0] = params.genesis_time
    else:
        cur_epoch = start_height // interval
        base = max(0, (cur_epoch - HISTORY_EPOCHS) * interval)
        bits_cur = start_bits if start_bits is not None else MAINNET_DEFAULT_BITS
        epoch_bits = {cur_epoch: bits_cur}
        spans: dict[int, int] = {}
        for ep in range(cur_epoch - 1, base // interval - 1, -1):
            ratio = rng.uniform(0.975, 1.05)  # difficulty growth from ep to ep + 1
            nxt = epoch_bits[ep + 1]
            target = min(cs.bits_to_target(nxt) * 1_000_000 // round(ratio * 1_000_000),
                         params.pow_limit)
            bits = cs.target_to_bits(target)
            try:
                spans[ep] = cs.solve_timespan(bits, nxt, params)
            except ValueError:  # near the pow limit: no span hits nxt; keep it flat
                bits = nxt
                spans[ep] = cs.TARGET_TIMESPAN
            epoch_bits[ep] = bits
        # Relative times, counted forward from the base, anchored on the tip afterwards.
        rel: dict[int, int] = {}
        t = 0
        for ep in range(base // interval, cur_epoch):
            offs = _scaled_times(rng, interval, spans[ep])
            for i, o in enumerate(offs):
                rel[ep * interval + i] = t + o
            t += spans[ep] + max(1, round(rng.expovariate(interval / spans[ep])))
        first = cur_epoch * interval
        count = start_height - first + 1
        if epoch_start_time is not None and count > 1:
            offs = _scaled_times(rng, count, tip_time - epoch_start_time)
        else:
            offs, acc = [0], 0
            for _ in range(count - 1):
                acc += max(1, round(rng.expovariate(1 / epoch_mean_interval)))
                offs.append(acc)
        for i, o in enumerate(offs):
            rel[first + i] = t + o
        shift = tip_time - rel[start_height]
        times = {h: v + shift for h, v in rel.items()}
        bits_of = {h: epoch_bits[h // interval] for h in rel}
    chain.base = base
    _install_virtual(chain, base, bits_of[base], times[base], seed)
    prev = chain.virtual_factory(base - 1) if base > 0 else None  # type: ignore[misc]
    regtest = params.no_retargeting
    for h in range(base, start_height + 1):
        if regtest:
            blk = chain.make_block(prev, times[h], [], choose_pool(rng, chain.pools),
                                   bits=bits_of[h])
            if h == 0:
                blk.hash, blk.prev = params.genesis_hash, None
        else:
            level = fee_level * math.exp(rng.gauss(0, 0.35))
            blk = chain.make_block(prev, times[h], None, choose_pool(rng, chain.pools),
                                   bits=bits_of[h], ntx_hint=rng.randint(2500, 4200),
                                   fee_level=level)
        chain.add(blk)
        chain.active.append(blk)
        prev = blk
    chain.synth_txs = _make_synth(chain)


def _install_virtual(chain: Chain, base: int, base_bits: int, base_time: int,
                     seed: int) -> None:
    """Deterministic stand-ins for heights < base (never built block by block)."""
    params = chain.params
    work_before = cs.block_proof(base_bits) * base if params.no_retargeting else \
        cs.block_proof(base_bits) * base // 8

    def factory(height: int) -> Block:
        if height == 0:
            block_hash = params.genesis_hash
            time = params.genesis_time
        else:
            block_hash = factory_hash(height)
            time = params.genesis_time + (base_time - params.genesis_time) * height // base
        prev = None if height == 0 else factory_hash(height - 1)
        bits = params.genesis_bits if height == 0 else base_bits
        return Block(height=height, hash=block_hash, prev=prev, time=time, bits=bits,
                     nonce=height * 2654435761 & 0xFFFFFFFF, version=0x20000000,
                     merkleroot=sha256d(block_hash.encode())[::-1].hex(),
                     chainwork=work_before * (height + 1) // base, pool=height % len(chain.pools),
                     seq=0, txs=[] if params.no_retargeting else None,
                     ntx_hint=2000, fee_level=2.0, virtual=True)

    def factory_hash(height: int) -> str:
        if height == 0:
            return params.genesis_hash
        return sha256d(f"hashwatch-sim/{seed}/{params.name}/{height}".encode())[::-1].hex()

    chain.virtual_factory = factory


def _make_synth(chain: Chain):
    """Lazily generated, cached transaction lists for synthetic (history) blocks."""
    cache: dict[str, list[BlockTx]] = {}

    def synth(blk: Block) -> list[BlockTx]:
        txs = cache.get(blk.hash)
        if txs is not None:
            return txs
        rng = random.Random(int(blk.hash[:16], 16))
        budget_vb = int(BLOCK_WEIGHT_FOR_TXS * rng.uniform(0.93, 0.999)) // 4
        n = max(0, blk.ntx_hint - 1)  # ntx_hint counts the coinbase
        raw = [rng.lognormvariate(5.2, 0.6) for _ in range(n)]
        scale = min(1.0, budget_vb / sum(raw)) if raw else 1.0
        txs = []
        for r in raw:
            vsize = max(61, int(r * scale))
            weight = vsize * 4 - rng.randint(0, 3)
            rate = max(1.0, blk.fee_level * rng.lognormvariate(0.0, 0.9))
            txid = f"{rng.getrandbits(256):064x}"
            txs.append(BlockTx(txid, txid, vsize, weight, int(rate * vsize), (), blk.time))
        if len(cache) > 512:
            cache.clear()
        cache[blk.hash] = txs
        return txs

    return synth
