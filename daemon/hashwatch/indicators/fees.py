"""Fee pressure: the ``fees`` snapshot section and the pure maths behind it.

Why these numbers: fees are the part of a miner's revenue that moves in hours, not years. The
mempool tells what is waiting (count, size, total fees, histogram), the projected blocks tell
what the next blocks would pay, ``estimatesmartfee`` gives the node's own view, mined blocks
tell what was actually paid (fee share of the reward), and the spike ratio compares the next
block's median fee rate with its trailing baseline so a fee spike is one number to alert on.

Every value that cannot be computed is absent (``None`` / left out), never zero.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from statistics import median
from typing import Any

from ..snapshot.blocks import BlockRecord
from ..snapshot.store import IndicatorValue
from .mempool_model import Entry, as_model
from .mempool_projection import (
    PERCENTILES,
    ProjectedBlock,
    analyse,
    blocks_to_clear,
    histogram,
    project_blocks,
)

BLOCK_WINDOWS = (1, 6, 144)
MODES = ("economical", "conservative")


@dataclass(frozen=True)
class FeeEstimate:
    target: int
    mode: str
    sat_per_vb: float


@dataclass(frozen=True)
class BlockFeeWindow:
    """Mined-block fees over the last ``window`` blocks (from ``getblockstats``)."""

    window: int
    fee_share_ratio: float  # sum(fees) / sum(fees + subsidy)
    mean_total_fee_sat: float  # mean fees per block
    # median over the window of each percentile, over the blocks that have fee rates (not
    # coinbase-only ones); None when no block of the window has any
    percentiles_sat_per_vb: tuple[float, ...] | None


@dataclass(frozen=True)
class FeesSection:
    """Everything fee-related for one node at one poll."""

    mempool_tx_count: int
    mempool_vsize_bytes: int
    mempool_total_fee_sat: int
    blocks_to_clear: int
    histogram: tuple[tuple[float, int], ...]  # (le sat/vB, cumulative vsize), last le = inf
    projected: tuple[ProjectedBlock, ...]  # next blocks, best first
    estimates: tuple[FeeEstimate, ...] = ()
    block_windows: tuple[BlockFeeWindow, ...] = ()
    spike_ratio: float | None = None
    spike_baseline_sat_per_vb: float | None = None
    sync_mode: str = "poll"  # "poll" or "zmq": how the mempool model is kept in sync

    @property
    def next_block_median(self) -> float | None:
        return self.projected[0].median_sat_per_vb if self.projected else None

    def values(self) -> Iterator[IndicatorValue]:
        yield IndicatorValue("mempool_total_fee_sat", float(self.mempool_total_fee_sat))
        yield IndicatorValue("mempool_blocks_to_clear", float(self.blocks_to_clear))
        for le, vsize in self.histogram:
            yield IndicatorValue(
                "mempool_histogram_vsize_bytes", float(vsize), (("le", le_label(le)),)
            )
        for i, block in enumerate(self.projected, start=1):
            b = str(i)
            for p, rate in zip(PERCENTILES, block.percentiles_sat_per_vb, strict=False):
                yield IndicatorValue(
                    "fees_next_block_percentile_sat_per_vbyte",
                    rate,
                    (("block", b), ("percentile", str(p))),
                )
            yield IndicatorValue(
                "fees_next_block_total_fee_sat", float(block.total_fee_sat), (("block", b),)
            )
        if self.next_block_median is not None:
            yield IndicatorValue("fees_next_block_median_sat_per_vbyte", self.next_block_median)
        if self.spike_ratio is not None:
            yield IndicatorValue("fees_spike_ratio", self.spike_ratio)
        if self.spike_baseline_sat_per_vb is not None:
            yield IndicatorValue(
                "fees_spike_baseline_sat_per_vbyte", self.spike_baseline_sat_per_vb
            )
        for est in self.estimates:
            yield IndicatorValue(
                "fees_estimate_sat_per_vbyte",
                est.sat_per_vb,
                (("target", str(est.target)), ("mode", est.mode)),
            )
        for w in self.block_windows:
            label = (("window", str(w.window)),)
            yield IndicatorValue("fees_block_fee_share_ratio", w.fee_share_ratio, label)
            yield IndicatorValue("fees_block_total_fee_sat", w.mean_total_fee_sat, label)
            for p, rate in zip(PERCENTILES, w.percentiles_sat_per_vb or (), strict=False):
                yield IndicatorValue(
                    "fees_block_percentile_sat_per_vbyte",
                    rate,
                    (("window", str(w.window)), ("percentile", str(p))),
                )


def le_label(le: float) -> str:
    """Prometheus ``le`` label text: ``5``, ``12.5``, ``+Inf``."""
    if math.isinf(le):
        return "+Inf"
    return str(int(le)) if float(le).is_integer() else repr(float(le))


def parse_estimate(target: int, mode: str, raw: Any) -> FeeEstimate | None:
    """An ``estimatesmartfee`` answer to sat/vB; ``None`` when the node has no estimate.

    Core answers BTC/kvB: x 1e8 sat/BTC / 1000 vB/kvB = x 100,000.
    """
    if not isinstance(raw, Mapping) or raw.get("feerate") is None or raw.get("errors"):
        return None
    rate = float(raw["feerate"]) * 100_000
    if not math.isfinite(rate) or rate <= 0:
        return None
    return FeeEstimate(target, mode, rate)


def block_fee_windows(
    blocks: Sequence[BlockRecord], windows: Sequence[int] = BLOCK_WINDOWS
) -> tuple[BlockFeeWindow, ...]:
    """Fee share of the reward and mean fees per block over the last ``w`` blocks.

    A window is left out until that many consecutive blocks are known (no partial windows that
    would read as a fall or a rise). Percentiles of a window are the median of the per-block
    ``getblockstats`` percentiles (the last block's own for window 1); coinbase-only blocks
    have none and are left out of that median (absent for a window of only such blocks).
    """
    out = []
    for w in windows:
        if w <= 0 or len(blocks) < w:
            continue
        last = blocks[-w:]
        fees = sum(b.total_fee_sat for b in last)
        reward = fees + sum(b.subsidy_sat for b in last)
        if reward <= 0:
            continue
        rated = [b.feerate_percentiles_sat_per_vb for b in last]
        known = [p for p in rated if p is not None]
        pcts = (
            tuple(float(median(p[i] for p in known)) for i in range(len(PERCENTILES)))
            if known
            else None
        )
        out.append(BlockFeeWindow(w, fees / reward, fees / w, pcts))
    return tuple(out)


def spike_baseline(
    samples: Sequence[tuple[float, float]],
    now: float,
    window_seconds: float,
    min_history_seconds: float,
) -> float | None:
    """Median of the (time, next-block median) samples within the window before ``now``.

    ``None`` until the samples in the window span at least ``min_history_seconds``: a baseline
    from ten minutes of history would call any normal swing a spike.
    """
    inside = [v for t, v in samples if now - window_seconds <= t <= now and v > 0]
    times = [t for t, v in samples if now - window_seconds <= t <= now and v > 0]
    if not inside or now - min(times) < min_history_seconds:
        return None
    return float(median(inside))


def spike_ratio(current_median: float | None, baseline: float | None) -> float | None:
    """Current next-block median over its baseline; ``None`` if either is missing."""
    if current_median is None or baseline is None or baseline <= 0:
        return None
    return current_median / baseline


def build_section(
    entries: Mapping[Any, Entry],
    *,
    n_blocks: int = 3,
    block_vsize: int = 998_000,
    estimates: Sequence[FeeEstimate] = (),
    recent_blocks: Sequence[BlockRecord] = (),
    sync_mode: str = "poll",
) -> FeesSection:
    """The section from the mempool model (or ``{txid: Entry}``) and the other inputs (no spike
    yet)."""
    model = as_model(entries)
    analysis = analyse(model)
    count, vsize, fee = model.totals()
    return FeesSection(
        mempool_tx_count=count,
        mempool_vsize_bytes=vsize,
        mempool_total_fee_sat=fee,
        blocks_to_clear=blocks_to_clear(vsize, block_vsize),
        histogram=histogram(analysis),
        projected=tuple(project_blocks(model, n_blocks, block_vsize, analysis)),
        estimates=tuple(estimates),
        block_windows=block_fee_windows(recent_blocks),
        sync_mode=sync_mode,
    )


def with_spike(
    section: FeesSection,
    samples: Sequence[tuple[float, float]],
    now: float,
    window_seconds: float,
    min_history_seconds: float,
) -> FeesSection:
    """``section`` with the spike baseline and ratio from the stored samples."""
    baseline = spike_baseline(samples, now, window_seconds, min_history_seconds)
    return dataclasses.replace(
        section,
        spike_baseline_sat_per_vb=baseline,
        spike_ratio=spike_ratio(section.next_block_median, baseline),
    )
