"""Prometheus rendering of each node's ``fees`` section (and nothing else).

Why gauges with an ``le`` label for the histogram: the mempool histogram is a point-in-time
distribution (vsize waiting at or below each fee band), not a stream of observations, so
``_sum``/``_count`` of a Prometheus histogram would have no meaning; the ``le`` values are the
fixed fee bands (39 series per node). ``mempool_total_fee_sat`` is rendered by the base
renderer (from ``getmempoolinfo``); this module does not render it twice.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.metrics_core import Metric

from ..indicators.fees import FeesSection, le_label
from ..indicators.mempool_projection import PERCENTILES
from ..snapshot.store import Snapshot
from . import gauge, nodes_up


def render(snapshot: Snapshot) -> Iterator[Metric]:
    hist = gauge(
        "mempool_histogram_vsize_bytes",
        "Mempool vsize (vbytes) with an ancestor-score fee rate at or below le sat/vB, cumulative.",
        ("node", "le"),
    )
    clear = gauge("mempool_blocks_to_clear", "Full blocks needed to mine the whole mempool.")
    pct = gauge(
        "fees_next_block_percentile_sat_per_vbyte",
        "Fee-rate percentiles of projected block <block> (1 = next), weighted by vsize, sat/vB.",
        ("node", "block", "percentile"),
    )
    median = gauge(
        "fees_next_block_median_sat_per_vbyte",
        "Median fee rate of the projected next block, weighted by vsize, sat/vB.",
    )
    total = gauge(
        "fees_next_block_total_fee_sat",
        "Total fees of projected block <block> (1 = next), satoshis.",
        ("node", "block"),
    )
    spike = gauge(
        "fees_spike_ratio",
        "Next-block median fee rate over its trailing baseline (absent until enough history).",
    )
    baseline = gauge(
        "fees_spike_baseline_sat_per_vbyte",
        "Median of the next-block median fee rate over the baseline window, sat/vB.",
    )
    estimate = gauge(
        "fees_estimate_sat_per_vbyte",
        "The node's estimatesmartfee for <target> blocks in <mode> mode, sat/vB.",
        ("node", "target", "mode"),
    )
    share = gauge(
        "fees_block_fee_share_ratio",
        "Fees over fees plus subsidy in the last <window> mined blocks (0..1).",
        ("node", "window"),
    )
    block_total = gauge(
        "fees_block_total_fee_sat",
        "Mean total fees per mined block over the last <window> blocks, satoshis.",
        ("node", "window"),
    )
    block_pct = gauge(
        "fees_block_percentile_sat_per_vbyte",
        "Mined blocks' fee-rate percentile (getblockstats), median over the last <window> "
        "blocks, sat/vB.",
        ("node", "window", "percentile"),
    )
    for name, ns in nodes_up(snapshot):
        section = ns.section("fees")  # type: ignore[attr-defined]
        if not isinstance(section, FeesSection):
            continue
        clear.add_metric([name], float(section.blocks_to_clear))
        for le, vsize in section.histogram:
            hist.add_metric([name, le_label(le)], float(vsize))
        for i, block in enumerate(section.projected, start=1):
            for p, rate in zip(PERCENTILES, block.percentiles_sat_per_vb, strict=False):
                pct.add_metric([name, str(i), str(p)], rate)
            total.add_metric([name, str(i)], float(block.total_fee_sat))
        if section.next_block_median is not None:
            median.add_metric([name], section.next_block_median)
        if section.spike_ratio is not None:
            spike.add_metric([name], section.spike_ratio)
        if section.spike_baseline_sat_per_vb is not None:
            baseline.add_metric([name], section.spike_baseline_sat_per_vb)
        for est in section.estimates:
            estimate.add_metric([name, str(est.target), est.mode], est.sat_per_vb)
        for w in section.block_windows:
            share.add_metric([name, str(w.window)], w.fee_share_ratio)
            block_total.add_metric([name, str(w.window)], w.mean_total_fee_sat)
            for p, rate in zip(PERCENTILES, w.percentiles_sat_per_vb or (), strict=False):
                block_pct.add_metric([name, str(w.window), str(p)], rate)
    yield from (
        hist,
        clear,
        pct,
        median,
        total,
        spike,
        baseline,
        estimate,
        share,
        block_total,
        block_pct,
    )
