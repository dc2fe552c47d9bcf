"""Difficulty and hashrate metrics, rendered from each node's ``difficulty`` section.

Why typed here and not generic over ``values()``: every family needs its own HELP text and unit,
and a value the view could not compute (no projection on regtest, too little history) must be
absent, never zero. Families are yielded even when empty so HELP/TYPE stay stable.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.metrics_core import Metric

from ..snapshot.store import Snapshot
from . import gauge, nodes_up

# (metric name, help text)
_SCALARS: tuple[tuple[str, str], ...] = (
    ("difficulty_current", "Difficulty of the best block (as getdifficulty), dimensionless."),
    ("difficulty_last_retarget_change_percent",
     "Difficulty change at the last retarget, percent (negative = easier)."),
    ("difficulty_last_retarget_height", "Height of the block that carried the last retarget."),
    ("difficulty_epoch_blocks",
     "Blocks mined after the epoch's first block (height mod 2016), absent without retargets."),
    ("difficulty_epoch_progress_ratio", "Share of the 2016-block epoch done (0..1)."),
    ("difficulty_blocks_until_retarget", "Blocks to be mined until the retarget block."),
    ("difficulty_projected_change_percent",
     "Projected difficulty change at the next retarget from the epoch's pace, percent "
     "(mempool.space method; fixed by Core's rule once 2015 blocks are in)."),
    ("difficulty_seconds_until_retarget",
     "Expected seconds until the retarget block at the epoch's pace."),
    ("difficulty_projected_retarget_time_seconds",
     "Expected time of the retarget block, unix seconds."),
    ("hashrate_drawdown_ratio",
     "How far the hashrate is below its trailing peak (0..1), over the drawdown window."),
    ("hashrate_recovering",
     "1 if hashrate fell by the drop threshold and has regained the recovery share, else 0."),
)

_WINDOWED: tuple[tuple[str, str], ...] = (
    ("hashrate_hashes_per_second",
     "Implied network hashrate over the last N blocks, hashes per second (as getnetworkhashps N)."),
    ("block_interval_mean_seconds", "Mean time between the last N blocks, seconds."),
    ("block_interval_median_seconds", "Median time between the last N blocks, seconds."),
)


def render(snapshot: Snapshot) -> Iterator[Metric]:
    scalars = {name: gauge(name, doc) for name, doc in _SCALARS}
    windowed = {name: gauge(name, doc, ("node", "window")) for name, doc in _WINDOWED}
    for name, node in nodes_up(snapshot):
        view = node.difficulty
        if view is None:
            continue
        for value in view.values():
            if value.labels:
                windowed[value.name].add_metric([name, dict(value.labels)["window"]], value.value)
            else:
                scalars[value.name].add_metric([name], value.value)
    yield from scalars.values()
    yield from windowed.values()
