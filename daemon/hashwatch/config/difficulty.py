"""Config keys of the difficulty feature (owned by that feature; see docs/config-difficulty.yaml).

Why these knobs: the history window decides how much the first start backfills (and how much
the SQLite store keeps); the hashrate windows become the bounded ``window`` label; the drawdown
and recovery settings decide how eagerly a hashrate drop and its recovery are flagged.
"""

from __future__ import annotations

from pydantic import Field, field_validator, model_validator

from .secrets import StrictModel

EPOCH_BLOCKS = 2016


class DifficultyConfig(StrictModel):
    """``difficulty:`` section of hashwatch.yaml."""

    # Headers kept locally: at least two epochs (the running one and the previous retarget)
    # plus the drawdown's peak lookback and window.
    history_blocks: int = Field(default=6048, ge=2 * EPOCH_BLOCKS, le=200_000)
    hashrate_windows: tuple[int, ...] = Field(default=(144, 1008, 2016), min_length=1, max_length=6)
    # Hashrate for the drawdown is taken over this many blocks (one week by default: a 144-block
    # hashrate swings about +-8% by luck alone, which would read as drawdowns).
    drawdown_window_blocks: int = Field(default=1008, ge=6, le=20_160)
    # The trailing peak is searched over this many blocks back from the tip.
    peak_lookback_blocks: int = Field(default=4032, ge=1, le=100_000)
    # A drop counts once the hashrate fell this far below the peak (0.10 = 10%) ...
    drop_threshold_ratio: float = Field(default=0.10, gt=0, lt=1)
    # ... and "recovering" once this share of the lost hashrate has come back.
    recovery_fraction: float = Field(default=0.5, gt=0, le=1)
    # Headers per batched RPC request during backfill.
    batch_size: int = Field(default=500, ge=1, le=5000)

    @field_validator("hashrate_windows")
    @classmethod
    def _windows(cls, v: tuple[int, ...]) -> tuple[int, ...]:
        if any(w < 1 or w > 100_000 for w in v):
            raise ValueError("each window must be from 1 to 100000 blocks")
        if len(set(v)) != len(v):
            raise ValueError("windows must be distinct")
        return tuple(sorted(v))

    @model_validator(mode="after")
    def _history_covers_windows(self) -> DifficultyConfig:
        needed = max(
            max(self.hashrate_windows) + 1,
            self.drawdown_window_blocks + self.peak_lookback_blocks + 1,
        )
        if self.history_blocks < needed:
            raise ValueError(
                f"history_blocks ({self.history_blocks}) must be at least {needed}: the largest "
                "hashrate window + 1, and drawdown_window_blocks + peak_lookback_blocks + 1"
            )
        return self
