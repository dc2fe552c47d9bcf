"""The ``difficulty`` section of a node's snapshot, assembled from the retarget and hashrate maths.

Why a module of its own: this is where the formulas meet the snapshot's rules (which values
exist for which chain, why one is absent, the default windows), and those rules change with the
docs and metrics, not with Core's arithmetic in :mod:`.retarget` or the statistics in
:mod:`.hashrate`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from ..snapshot.store import IndicatorValue
from .hashrate import Drawdown, WindowStats, hashrate_drawdown, rolling_hashrate, window_stats
from .retarget import (
    BLEND_BLOCKS,
    CHAIN_PARAMS,
    EPOCH_BLOCKS,
    MAIN,
    Header,
    Projection,
    blocks_into_epoch,
    blocks_until_retarget,
    difficulty_from_bits,
    epoch_start,
    project_retarget,
    real_difficulty_headers,
    retarget_change_percent,
)


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
    headers = real_difficulty_headers(headers, params)  # testnet min-difficulty blocks
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
