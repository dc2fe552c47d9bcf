"""``hashwatch status`` rows for fee pressure: the mempool, the next block, estimates, spike.

Why these rows: they answer "is it worth mining now, and is that unusual?" at a glance; the
full histogram and every percentile stay in the metrics.
"""

from __future__ import annotations

from ..snapshot.store import NodeSnapshot, Snapshot


def _sat(v: float) -> str:
    return f"{v / 1e8:.8f} BTC" if v >= 1e6 else f"{v:,.0f} sat"


def rows(node: NodeSnapshot, snapshot: Snapshot) -> list[tuple[str, str]]:
    section = node.fees
    if section is None:
        return [("fees", "not computed yet (first mempool load pending)")]
    out = [
        (
            "mempool",
            f"{section.mempool_tx_count:,} tx, {section.mempool_vsize_bytes / 1e6:.2f} MvB, "
            f"{_sat(section.mempool_total_fee_sat)} fees, "
            f"{section.blocks_to_clear} blocks to clear (sync: {section.sync_mode})",
        )
    ]
    for i, b in enumerate(section.projected, start=1):
        p10, p25, p50, p75, p90 = b.percentiles_sat_per_vb
        out.append((
            f"projected block {i}",
            f"median {p50:.1f} sat/vB (p10 {p10:.1f}, p90 {p90:.1f}), {b.tx_count:,} tx, "
            f"{b.vsize / 1e6:.3f} MvB, fees {_sat(b.total_fee_sat)}",
        ))  # fmt: skip
    if section.spike_ratio is not None and section.spike_baseline_sat_per_vb is not None:
        out.append((
            "fee spike",
            f"{section.spike_ratio:.2f}x the baseline median "
            f"{section.spike_baseline_sat_per_vb:.1f} sat/vB",
        ))  # fmt: skip
    else:
        out.append(("fee spike", "not enough history yet"))
    if section.estimates:
        text = ", ".join(
            f"{e.target} blk {e.mode[:4]} {e.sat_per_vb:.1f}" for e in section.estimates
        )
        out.append(("estimatesmartfee", f"{text} sat/vB"))
    for w in section.block_windows:
        rate = (
            f"median rate {w.percentiles_sat_per_vb[2]:.1f} sat/vB"
            if w.percentiles_sat_per_vb is not None
            else "no fee rate (coinbase-only blocks)"
        )
        out.append((
            f"mined fees last {w.window}",
            f"{w.fee_share_ratio * 100:.2f}% of reward, {_sat(w.mean_total_fee_sat)} per block, "
            f"{rate}",
        ))  # fmt: skip
    return out
