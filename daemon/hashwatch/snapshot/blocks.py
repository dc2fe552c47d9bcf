"""Per-block facts shared by the fee, economics and pool indicators.

Why one record: fee share of reward, hashprice's mean fees and pool attribution all come from the
same recent blocks. The blocks collector (``collect/blocks.py``) fetches each block once
(``getblockstats`` + the coinbase), keeps them in SQLite, and publishes the last N as the
``blocks`` snapshot section; the indicator jobs read that section and never call the node.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from .store import IndicatorValue


@dataclass(frozen=True)
class BlockRecord:
    height: int
    hash: str
    time: int  # header time, unix seconds
    total_fee_sat: int  # getblockstats totalfee
    subsidy_sat: int  # getblockstats subsidy
    tx_count: int  # including the coinbase
    total_weight: int  # weight units
    # getblockstats feerate_percentiles: 10th, 25th, 50th, 75th, 90th, in sat/vB; None for a
    # coinbase-only block (no fee rate exists; Core answers zeros)
    feerate_percentiles_sat_per_vb: tuple[float, float, float, float, float] | None
    avg_feerate_sat_per_vb: float | None
    coinbase_text: str  # printable ASCII of the coinbase scriptSig (pool tags live here)
    payout_addresses: tuple[str, ...]  # addresses of the coinbase outputs


@dataclass(frozen=True)
class RecentBlocks:
    """The last blocks of the active chain, ascending by height (at most the configured window)."""

    blocks: tuple[BlockRecord, ...]

    def last(self, n: int) -> tuple[BlockRecord, ...]:
        return self.blocks[-n:] if n > 0 else ()

    def values(self) -> Iterator[IndicatorValue]:
        return iter(())
