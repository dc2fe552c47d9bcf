"""Difficulty and hashrate indicators: the one import path for the whole feature.

Why this module only re-exports: the maths is three modules with one job each --
:mod:`.retarget` (Core's bit-exact compact targets, retarget rule and the running epoch's
projection), :mod:`.hashrate` (implied hashrate, block intervals, drawdown and recovery) and
:mod:`.difficulty_view` (the snapshot's ``difficulty`` section built from both). Callers, docs
and older code name ``hashwatch.indicators.difficulty``; every name they used is still here.
The home modules import each other, never this one, so there is no import cycle.
"""

from __future__ import annotations

from .difficulty_view import DifficultyView, build_view
from .hashrate import Drawdown, WindowStats, hashrate_drawdown, rolling_hashrate, window_stats
from .retarget import (
    BLEND_BLOCKS,
    CHAIN_PARAMS,
    CHANGE_MAX_PERCENT,
    CHANGE_MIN_PERCENT,
    EPOCH_BLOCKS,
    MAIN,
    TARGET_SPACING_SECONDS,
    TARGET_TIMESPAN_SECONDS,
    ChainParams,
    Header,
    Projection,
    bits_to_target,
    block_work,
    blocks_into_epoch,
    blocks_until_retarget,
    difficulty_from_bits,
    epoch_of,
    epoch_start,
    next_bits,
    project_retarget,
    retarget_change_percent,
    target_to_bits,
)

__all__ = [
    # retarget: compact targets, Core's retarget rule, epochs and the projection
    "BLEND_BLOCKS", "CHAIN_PARAMS", "CHANGE_MAX_PERCENT", "CHANGE_MIN_PERCENT", "EPOCH_BLOCKS",
    "MAIN", "TARGET_SPACING_SECONDS", "TARGET_TIMESPAN_SECONDS", "ChainParams", "Header",
    "Projection", "bits_to_target", "block_work", "blocks_into_epoch", "blocks_until_retarget",
    "difficulty_from_bits", "epoch_of", "epoch_start", "next_bits", "project_retarget",
    "retarget_change_percent", "target_to_bits",
    # hashrate: implied hashrate, block intervals, drawdown and the recovery signal
    "Drawdown", "WindowStats", "hashrate_drawdown", "rolling_hashrate", "window_stats",
    # difficulty_view: the snapshot's difficulty section
    "DifficultyView", "build_view",
]
