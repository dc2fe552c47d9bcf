"""``hashwatch status`` rows for difficulty and hashrate.

Why: the operator's questions are "where is difficulty going, and when?" and "is hashrate
leaving or coming back?". Values that cannot be computed say why (regtest has no retargets,
the backfill has not reached the epoch start) instead of printing zeros.
"""

from __future__ import annotations

import time
from datetime import datetime, timezone

from ..indicators.retarget import EPOCH_BLOCKS
from ..snapshot.store import NodeSnapshot, Snapshot

_UNITS = ((1e18, "EH/s"), (1e15, "PH/s"), (1e12, "TH/s"), (1e9, "GH/s"), (1e6, "MH/s"))


def format_hashrate(hps: float) -> str:
    for scale, unit in _UNITS:
        if hps >= scale:
            return f"{hps / scale:,.2f} {unit}"
    return f"{hps:,.2f} H/s"


def format_difficulty(d: float) -> str:
    """Readable at every scale: ``126.27 T`` on mainnet, ``4.65661e-10`` on regtest.

    A fixed number of decimals would print regtest's 4.66e-10 as "0" or "0.00 T".
    """
    if d >= 1e9:
        return f"{d / 1e12:,.2f} T"
    if d >= 1e3:
        return f"{d:,.0f}"
    return f"{d:.6g}"


def format_age(seconds: float) -> str:
    """``42 s ago``; a time ahead of the local clock says so instead of ``-42 s ago``."""
    if seconds >= 0:
        return f"{seconds:,.0f} s ago"
    return f"{-seconds:,.0f} s in the future (node time ahead of this clock)"


def _when(t: float, now: float) -> str:
    stamp = datetime.fromtimestamp(t, tz=timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return f"{stamp}, in {max(0.0, t - now) / 86400:.1f} days"


def rows(node: NodeSnapshot, snapshot: Snapshot, now: float | None = None) -> list[tuple[str, str]]:
    now = time.time() if now is None else now
    view = node.difficulty
    if view is None:
        return [("difficulty", "not computed yet (headers backfill has not finished)")]
    out = [(
        "difficulty",
        f"{format_difficulty(view.difficulty)} (bits {view.bits:08x}, height {view.height:,})",
    )]
    if view.last_retarget_change_percent is not None and view.last_retarget_height is not None:
        out.append((
            "last retarget",
            f"{view.last_retarget_change_percent:+.2f}% at height {view.last_retarget_height:,}",
        ))
    if view.epoch_blocks is not None and view.blocks_until_retarget is not None:
        out.append((
            "epoch",
            f"{view.epoch_blocks:,} of {EPOCH_BLOCKS:,} blocks "
            f"({100 * view.epoch_blocks / EPOCH_BLOCKS:.1f}%), "
            f"{view.blocks_until_retarget:,} until the retarget",
        ))
    p = view.projection
    if p is None:
        out.append(("next retarget", f"no projection: {view.projection_note}"))
    else:
        how = (
            "locked in by the epoch's last block" if p.locked
            else "blended with the last 504 blocks" if p.blended
            else f"pace {p.mean_interval_seconds:.1f} s/block"
        )
        out.append((
            "next retarget",
            f"{p.change_percent:+.2f}% expected {_when(p.retarget_time, now)} ({how})",
        ))
    for w in view.windows:
        rate = format_hashrate(w.hashrate_hps) if w.hashrate_hps is not None else "n/a"
        out.append((
            f"hashrate {w.window} blocks",
            f"{rate} (block interval mean {w.mean_interval_seconds:.1f} s, "
            f"median {w.median_interval_seconds:.1f} s)",
        ))
    d = view.drawdown
    if d is None:
        out.append(("hashrate drawdown", "n/a (needs more history)"))
    else:
        out.append((
            "hashrate drawdown",
            f"{100 * d.ratio:.1f}% below the trailing peak {format_hashrate(d.peak_hps)} "
            f"({view.drawdown_window}-block hashrate); "
            + ("recovering" if d.recovering else "not recovering"),
        ))
    return out
