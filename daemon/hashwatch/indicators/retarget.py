"""Core's difficulty arithmetic, bit-exact: compact targets, ``GetDifficulty``, block work, the
retarget rule, and the running epoch's projection (as mempool.space computes it).

Why bit-exact: operators compare these numbers with ``bitcoin-cli`` and block explorers, and a
projection that ends one rounding step away from the real retarget is not trusted. So compact
encoding, the retarget rule and ``GetDifficulty`` follow Core's C++ step by step (including the
256-bit wrap and the float loop), and block work is Core's ``GetBlockProof``, which
:mod:`.hashrate` sums the way Core's chainwork does. Everything here is pure: plain ints and
floats in, frozen dataclasses out. Import from :mod:`.difficulty` or from here; both work.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache

EPOCH_BLOCKS = 2016
TARGET_SPACING_SECONDS = 600
TARGET_TIMESPAN_SECONDS = EPOCH_BLOCKS * TARGET_SPACING_SECONDS  # 1,209,600 s, two weeks
BLEND_BLOCKS = 504  # mempool.space's early-epoch window: a quarter epoch
CHANGE_MIN_PERCENT, CHANGE_MAX_PERCENT = -75.0, 300.0  # the clamp of the timespan, in percent
_U256 = (1 << 256) - 1

Header = tuple[int, int, int]  # (height, header time in unix seconds, nBits)


@dataclass(frozen=True)
class ChainParams:
    """The consensus facts the maths needs (Core's ``Consensus::Params``)."""

    pow_limit: int
    retargeting: bool = True  # False on regtest (fPowNoRetargeting)
    bip94: bool = False  # testnet4: retarget from the epoch's first block's bits
    # testnet3/4 (fPowAllowMinDifficultyBlocks): a block 20 minutes after its parent may carry
    # the pow-limit bits; those blocks say nothing about the network's difficulty
    min_difficulty_blocks: bool = False


MAIN = ChainParams(pow_limit=(1 << 224) - 1)
CHAIN_PARAMS = {
    "main": MAIN,
    "test": ChainParams(pow_limit=(1 << 224) - 1, min_difficulty_blocks=True),
    "testnet4": ChainParams(pow_limit=(1 << 224) - 1, bip94=True, min_difficulty_blocks=True),
    "signet": ChainParams(pow_limit=0x377AE << 216),
    "regtest": ChainParams(pow_limit=(1 << 255) - 1, retargeting=False),
}


# -- compact targets (arith_uint256::SetCompact / GetCompact) ---------------------------------


def bits_to_target(bits: int) -> int:
    """The 256-bit target of compact ``bits``; ValueError where Core rejects a block's nBits."""
    if not 0 <= bits <= 0xFFFFFFFF:
        raise ValueError(f"bits {bits!r} is not a 32-bit value")
    size, word = bits >> 24, bits & 0x007FFFFF
    if size <= 3:
        target = word >> (8 * (3 - size))
    else:
        target = (word << (8 * (size - 3))) & _U256
    negative = word != 0 and bits & 0x00800000
    overflow = word != 0 and (
        size > 34 or (word > 0xFF and size > 33) or (word > 0xFFFF and size > 32)
    )
    if negative or overflow or target == 0:
        raise ValueError(f"bits {bits:#010x} is negative, zero or overflows 256 bits")
    return target


def target_to_bits(target: int) -> int:
    """The compact form of ``target``: 3 significant bytes, rounded down, sign bit kept clear."""
    if not 0 <= target <= _U256:
        raise ValueError("target must be a 256-bit unsigned integer")
    size = (target.bit_length() + 7) // 8
    compact = target << (8 * (3 - size)) if size <= 3 else target >> (8 * (size - 3))
    if compact & 0x00800000:
        compact >>= 8
        size += 1
    return compact | (size << 24)


def difficulty_from_bits(bits: int) -> float:
    """Core's ``GetDifficulty``: the 0x1d00ffff target over this one, by the same float steps."""
    shift = (bits >> 24) & 0xFF
    diff = 0x0000FFFF / (bits & 0x00FFFFFF)
    while shift < 29:
        diff *= 256.0
        shift += 1
    while shift > 29:
        diff /= 256.0
        shift -= 1
    return diff


@lru_cache(maxsize=256)
def block_work(bits: int) -> int:
    """Expected hashes for one block (Core's ``GetBlockProof``: 2^256 / (target + 1))."""
    return (1 << 256) // (bits_to_target(bits) + 1)


def next_bits(
    last_bits: int,
    first_time: int,
    last_time: int,
    params: ChainParams = MAIN,
    first_bits: int | None = None,
) -> int:
    """Core's ``CalculateNextWorkRequired``: the bits of the block after an epoch's last block.

    ``first_time`` is the epoch's FIRST block (2015 intervals, Core's off-by-one), the timespan
    is clamped to [1/4, 4] x two weeks, and the target capped at the pow limit.
    """
    if not params.retargeting:
        return last_bits
    timespan = min(
        max(last_time - first_time, TARGET_TIMESPAN_SECONDS // 4), TARGET_TIMESPAN_SECONDS * 4
    )
    base = first_bits if params.bip94 and first_bits is not None else last_bits
    target = ((bits_to_target(base) * timespan) & _U256) // TARGET_TIMESPAN_SECONDS
    return target_to_bits(min(target, params.pow_limit))


def real_difficulty_headers(headers: Sequence[Header], params: ChainParams) -> list[Header]:
    """``headers`` with each minimum-difficulty block given its epoch's real bits.

    Core's ``GetNextWorkRequired`` on chains with the 20-minute rule walks back past blocks
    that carry the pow-limit bits (stopping at the epoch's first block) and uses the bits found
    there: that is the difficulty the network is really at. Doing the same here keeps one
    minimum-difficulty tip from reading as a 99.99% difficulty drop and a hashrate collapse.
    A min-difficulty block with no earlier real bits in the fetched history keeps its own.
    """
    if not params.min_difficulty_blocks:
        return list(headers)
    limit_bits = target_to_bits(params.pow_limit)
    out: list[Header] = []
    real: int | None = None
    for height, time, bits in headers:
        if height % EPOCH_BLOCKS == 0 or bits != limit_bits:
            real = bits
            out.append((height, time, bits))
        else:
            out.append((height, time, real if real is not None else bits))
    return out


def retarget_change_percent(old_bits: int, new_bits: int) -> float:
    """Difficulty change from ``old_bits`` to ``new_bits`` in percent (exact ratio of targets)."""
    return float((Fraction(bits_to_target(old_bits), bits_to_target(new_bits)) - 1) * 100)


# -- epochs and the projection ----------------------------------------------------------------


def epoch_of(height: int) -> int:
    return height // EPOCH_BLOCKS


def epoch_start(height: int) -> int:
    """Height of the first block of ``height``'s epoch (the block that carried the retarget)."""
    return height - height % EPOCH_BLOCKS


def blocks_into_epoch(height: int) -> int:
    """Blocks after the epoch's first block up to ``height`` (mempool.space's blocksInEpoch)."""
    return height % EPOCH_BLOCKS


def blocks_until_retarget(height: int) -> int:
    """Blocks still to be mined until the retarget block (next multiple of 2016) exists."""
    return EPOCH_BLOCKS - height % EPOCH_BLOCKS


@dataclass(frozen=True)
class Projection:
    change_percent: float
    mean_interval_seconds: float  # the pace the retarget date is extrapolated with
    seconds_until_retarget: float
    retarget_time: float  # unix seconds
    locked: bool  # 2015 blocks in: Core's rule on real times decides; ``next_bits`` is final
    blended: bool  # early epoch: the previous epoch's last quarter was blended in
    next_bits: int | None = None


def project_retarget(
    *,
    height: int,
    epoch_start_time: int,
    tip_time: int,
    now: float,
    tip_bits: int,
    previous_change_percent: float | None = None,
    window_start_time: int | None = None,
    params: ChainParams = MAIN,
    epoch_start_bits: int | None = None,
) -> Projection:
    """The running epoch's retarget, the way mempool.space estimates it.

    change = (600 / (elapsed since the epoch's first block / (blocks so far + 1)) - 1) x 100,
    clamped to [-75, +300]. Under 503 blocks in, the time of the 504-block window ending at the
    tip (``window_start_time`` = time of block height-503) is used instead, its part before the
    epoch rescaled by the previous retarget, so a few lucky blocks do not swing the estimate.
    With 2015 blocks in, the next block's bits are fixed by the last block's time; Core's rule
    gives them exactly. Retarget date = now + remaining blocks x the running pace.
    """
    blocks_in = blocks_into_epoch(height)
    remaining = blocks_until_retarget(height)
    elapsed = max(0.0, now - epoch_start_time)
    pace = elapsed / blocks_in if blocks_in else float(TARGET_SPACING_SECONDS)
    bits: int | None = None
    blended = False
    if blocks_in == EPOCH_BLOCKS - 1:
        bits = next_bits(tip_bits, epoch_start_time, tip_time, params, epoch_start_bits)
        change = retarget_change_percent(tip_bits, bits)
    elif (
        blocks_in < BLEND_BLOCKS - 1
        and window_start_time is not None
        and previous_change_percent is not None
    ):
        before = (epoch_start_time - window_start_time) * (1 + previous_change_percent / 100)
        span = elapsed + before
        pace = span / (BLEND_BLOCKS - 1)
        change = _pct(span / BLEND_BLOCKS)
        blended = True
    else:
        change = _pct((now - epoch_start_time) / (blocks_in + 1))
    seconds = remaining * pace
    return Projection(
        change_percent=min(max(change, CHANGE_MIN_PERCENT), CHANGE_MAX_PERCENT),
        mean_interval_seconds=pace,
        seconds_until_retarget=seconds,
        retarget_time=now + seconds,
        locked=bits is not None,
        blended=blended,
        next_bits=bits,
    )


def _pct(mean_interval: float) -> float:
    if mean_interval <= 0:
        return CHANGE_MAX_PERCENT
    return (TARGET_SPACING_SECONDS / mean_interval - 1) * 100

