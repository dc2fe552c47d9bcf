"""Difficulty and hashrate: Core's compact targets and retarget rule, the running epoch's
projection (as mempool.space computes it), implied hashrate, drawdown and recovery.

Why bit-exact: operators compare these numbers with ``bitcoin-cli`` and block explorers, and a
projection that ends one rounding step away from the real retarget is not trusted. So compact
encoding, the retarget rule and ``GetDifficulty`` follow Core's C++ step by step (including the
256-bit wrap and the float loop), and hashrate counts work as Core's chainwork does, so
``hashrate{window="144"}`` equals ``getnetworkhashps 144``. Everything here is pure: plain ints
and floats in, frozen dataclasses out.
"""

from __future__ import annotations

import statistics
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from itertools import pairwise

from ..snapshot import IndicatorValue

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


MAIN = ChainParams(pow_limit=(1 << 224) - 1)
CHAIN_PARAMS = {
    "main": MAIN,
    "test": MAIN,
    "testnet4": ChainParams(pow_limit=(1 << 224) - 1, bip94=True),
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


# -- hashrate, intervals, drawdown ------------------------------------------------------------


def rolling_hashrate(headers: Sequence[Header], window: int) -> list[float]:
    """Implied hashrate (H/s) for each run of ``window`` blocks, oldest first.

    Like Core's ``getnetworkhashps``: the work of the last ``window`` blocks over the spread
    (max - min) of the ``window + 1`` header times ending there; header times are not monotonic.
    Windows whose times do not spread are skipped. Equals difficulty x 2^32 / mean interval
    to within 0.002% while difficulty is constant.
    """
    if window < 1 or len(headers) <= window:
        return []
    times = [h[1] for h in headers]
    prefix = [0]
    for h in headers:
        prefix.append(prefix[-1] + block_work(h[2]))
    highs: deque[int] = deque()
    lows: deque[int] = deque()
    out: list[float] = []
    for i, t in enumerate(times):
        while highs and times[highs[-1]] <= t:
            highs.pop()
        while lows and times[lows[-1]] >= t:
            lows.pop()
        highs.append(i)
        lows.append(i)
        if highs[0] < i - window:
            highs.popleft()
        if lows[0] < i - window:
            lows.popleft()
        span = times[highs[0]] - times[lows[0]]
        if i >= window and span > 0:
            out.append((prefix[i + 1] - prefix[i + 1 - window]) / span)
    return out


@dataclass(frozen=True)
class WindowStats:
    window: int
    hashrate_hps: float | None
    mean_interval_seconds: float
    median_interval_seconds: float


def window_stats(headers: Sequence[Header], window: int) -> WindowStats | None:
    """Hashrate and block interval over the last ``window`` blocks; None without enough data."""
    if window < 1 or len(headers) <= window:
        return None
    last = headers[-(window + 1) :]
    intervals = [b[1] - a[1] for a, b in pairwise(last)]
    rates = rolling_hashrate(last, window)
    return WindowStats(
        window=window,
        hashrate_hps=rates[-1] if rates else None,
        mean_interval_seconds=(last[-1][1] - last[0][1]) / window,
        median_interval_seconds=float(statistics.median(intervals)),
    )


@dataclass(frozen=True)
class Drawdown:
    ratio: float  # 1 - current / trailing peak, 0..1
    peak_hps: float
    trough_hps: float  # lowest since the peak
    current_hps: float
    recovering: bool


def hashrate_drawdown(
    series: Sequence[float], *, drop_threshold_ratio: float, recovery_fraction: float
) -> Drawdown | None:
    """Drawdown of the last value of ``series`` from its peak, and whether it is recovering.

    Recovering means: since the peak the hashrate fell by at least ``drop_threshold_ratio``
    (a real drop, not noise), and has since regained at least ``recovery_fraction`` of what it
    lost, without yet making a new peak. That is the "idle capacity coming back" signal.
    """
    if not series or max(series) <= 0:
        return None
    peak_at = max(range(len(series)), key=series.__getitem__)
    peak, current = series[peak_at], series[-1]
    trough = min(series[peak_at:])
    drop = 1 - trough / peak
    recovering = (
        drop >= drop_threshold_ratio
        and current < peak
        and current - trough >= recovery_fraction * (peak - trough)
    )
    return Drawdown(max(0.0, 1 - current / peak), peak, trough, current, recovering)


# -- the snapshot section ---------------------------------------------------------------------


@dataclass(frozen=True)
class DifficultyView:
    """The ``difficulty`` section of a node's snapshot: every value of docs/indicators.md.

    ``None`` means "cannot be computed" (too little history, no retargets on this chain) and the
    value is left out of ``values()`` and the metrics; ``projection_note`` says why.
    """

    chain: str
    height: int
    tip_time: int
    bits: int
    difficulty: float
    retargeting: bool
    last_retarget_height: int | None
    last_retarget_change_percent: float | None
    epoch_blocks: int | None
    blocks_until_retarget: int | None
    projection: Projection | None
    projection_note: str
    windows: tuple[WindowStats, ...]
    drawdown: Drawdown | None
    drawdown_window: int
    computed_at: float

    @property
    def epoch_progress_ratio(self) -> float | None:
        return None if self.epoch_blocks is None else self.epoch_blocks / EPOCH_BLOCKS

    def values(self) -> Iterator[IndicatorValue]:
        yield IndicatorValue("difficulty_current", self.difficulty)
        optional = (
            ("difficulty_last_retarget_change_percent", self.last_retarget_change_percent),
            ("difficulty_last_retarget_height", self.last_retarget_height),
            ("difficulty_epoch_blocks", self.epoch_blocks),
            ("difficulty_epoch_progress_ratio", self.epoch_progress_ratio),
            ("difficulty_blocks_until_retarget", self.blocks_until_retarget),
        )
        for name, value in optional:
            if value is not None:
                yield IndicatorValue(name, float(value))
        p = self.projection
        if p is not None:
            yield IndicatorValue("difficulty_projected_change_percent", p.change_percent)
            yield IndicatorValue("difficulty_seconds_until_retarget", p.seconds_until_retarget)
            yield IndicatorValue("difficulty_projected_retarget_time_seconds", p.retarget_time)
        for w in self.windows:
            labels = (("window", str(w.window)),)
            if w.hashrate_hps is not None:
                yield IndicatorValue("hashrate_hashes_per_second", w.hashrate_hps, labels)
            yield IndicatorValue("block_interval_mean_seconds", w.mean_interval_seconds, labels)
            yield IndicatorValue("block_interval_median_seconds", w.median_interval_seconds, labels)
        if self.drawdown is not None:
            yield IndicatorValue("hashrate_drawdown_ratio", self.drawdown.ratio)
            yield IndicatorValue("hashrate_recovering", 1.0 if self.drawdown.recovering else 0.0)


def build_view(
    headers: Sequence[Header],
    now: float,
    *,
    chain: str,
    windows: Sequence[int] = (144, 1008, 2016),
    drawdown_window: int = 1008,
    peak_lookback: int = 4032,
    drop_threshold_ratio: float = 0.10,
    recovery_fraction: float = 0.5,
) -> DifficultyView | None:
    """Every difficulty indicator from contiguous ascending ``headers`` ending at the tip."""
    if not headers:
        return None
    first = headers[0][0]
    if any(h[0] != first + i for i, h in enumerate(headers)):
        raise ValueError("headers must be contiguous and ascending by height")
    params = CHAIN_PARAMS.get(chain, MAIN)
    height, tip_time, bits = headers[-1]

    def at(h: int) -> Header | None:
        return headers[h - first] if first <= h <= height else None

    start = epoch_start(height)
    first_of_epoch, before_epoch = at(start), at(start - 1)
    last_change = None
    if params.retargeting and first_of_epoch and before_epoch:
        last_change = retarget_change_percent(before_epoch[2], first_of_epoch[2])
    projection, note = None, ""
    if not params.retargeting:
        note = f"{chain} has no difficulty retargets (fPowNoRetargeting): nothing to project"
    elif first_of_epoch is None:
        note = f"history does not reach the epoch's first block {start}: backfill incomplete"
    else:
        window_start = at(height - (BLEND_BLOCKS - 1))
        projection = project_retarget(
            height=height,
            epoch_start_time=first_of_epoch[1],
            tip_time=tip_time,
            now=now,
            tip_bits=bits,
            previous_change_percent=last_change,
            window_start_time=window_start[1] if window_start else None,
            params=params,
            epoch_start_bits=first_of_epoch[2],
        )
    stats = tuple(s for s in (window_stats(headers, w) for w in windows) if s is not None)
    series = rolling_hashrate(headers[-(peak_lookback + drawdown_window + 1) :], drawdown_window)
    return DifficultyView(
        chain=chain,
        height=height,
        tip_time=tip_time,
        bits=bits,
        difficulty=difficulty_from_bits(bits),
        retargeting=params.retargeting,
        last_retarget_height=start if last_change is not None else None,
        last_retarget_change_percent=last_change,
        epoch_blocks=blocks_into_epoch(height) if params.retargeting else None,
        blocks_until_retarget=blocks_until_retarget(height) if params.retargeting else None,
        projection=projection,
        projection_note=note,
        windows=stats,
        drawdown=hashrate_drawdown(
            series, drop_threshold_ratio=drop_threshold_ratio, recovery_fraction=recovery_fraction
        ),
        drawdown_window=drawdown_window,
        computed_at=now,
    )
