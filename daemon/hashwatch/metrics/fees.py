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

from ..indicators.fees import le_label
from ..indicators.mempool_projection import PERCENTILES
from ..snapshot.store import Snapshot
from . import gauge, nodes_up


def render(snapshot: Snapshot) -> Iterator[Metric]:
    hist = gauge("mempool_histogram_vsize_bytes")
    clear = gauge("mempool_blocks_to_clear")
    pct = gauge("fees_next_block_percentile_sat_per_vbyte")
    median = gauge("fees_next_block_median_sat_per_vbyte")
    total = gauge("fees_next_block_total_fee_sat")
    spike = gauge("fees_spike_ratio")
    baseline = gauge("fees_spike_baseline_sat_per_vbyte")
    estimate = gauge("fees_estimate_sat_per_vbyte")
    share = gauge("fees_block_fee_share_ratio")
    block_total = gauge("fees_block_total_fee_sat")
    block_pct = gauge("fees_block_percentile_sat_per_vbyte")
    for name, ns in nodes_up(snapshot):
        section = ns.fees
        if section is None:
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
