"""Config keys of the fees feature: fee estimates, projected blocks, spike baseline, block window.

See docs/config-fees.yaml for the commented YAML fragment.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from .secrets import StrictModel


class FeesConfig(StrictModel):
    """``fees:`` section. Defaults suit mainnet; every key is optional."""

    # estimatesmartfee targets (blocks) and modes; one metric series per pair
    estimate_targets: list[int] = Field(default=[1, 3, 6, 144], max_length=16)
    estimate_modes: list[Literal["economical", "conservative"]] = ["economical", "conservative"]
    # estimates change per block, not per second: refresh at most this often
    estimate_seconds: float = Field(default=60.0, gt=0, le=3600)
    # projected blocks (1 = only the next block)
    projected_blocks: int = Field(default=3, ge=1, le=8)
    # weight kept free for the coinbase when projecting blocks (Core's -blockreservedweight)
    block_reserved_weight: int = Field(default=8000, ge=0, le=400_000)
    # how many recent blocks the shared `blocks` collector keeps (fees, economics, pools use them)
    block_window: int = Field(default=1008, ge=1, le=10_000)
    # fee-spike baseline: median of next-block medians over this window ...
    spike_baseline_seconds: float = Field(default=7 * 86400, gt=0, le=90 * 86400)
    # ... absent until this much history is stored
    spike_min_history_seconds: float = Field(default=3600, ge=0, le=90 * 86400)
    # one stored baseline sample per this many seconds
    spike_sample_seconds: float = Field(default=300, gt=0, le=86400)
    # getmempoolentry calls per HTTP batch
    entry_batch_size: int = Field(default=1000, ge=1, le=10_000)

    @field_validator("estimate_targets")
    @classmethod
    def _targets(cls, v: list[int]) -> list[int]:
        for t in v:
            if not 1 <= t <= 1008:
                raise ValueError(f"estimate target {t} is outside 1..1008 (Core's range)")
        return sorted(set(v))
