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

# Metric names in the catalog (HELP text and labels live there).
_SCALARS: tuple[str, ...] = (
    "difficulty_current",
    "difficulty_last_retarget_change_percent",
    "difficulty_last_retarget_height",
    "difficulty_epoch_blocks",
    "difficulty_epoch_progress_ratio",
    "difficulty_blocks_until_retarget",
    "difficulty_projected_change_percent",
    "difficulty_seconds_until_retarget",
    "difficulty_projected_retarget_time_seconds",
    "hashrate_drawdown_ratio",
    "hashrate_recovering",
)

_WINDOWED: tuple[str, ...] = (
    "hashrate_hashes_per_second",
    "block_interval_mean_seconds",
    "block_interval_median_seconds",
)


def render(snapshot: Snapshot) -> Iterator[Metric]:
    scalars = {name: gauge(name) for name in _SCALARS}
    windowed = {name: gauge(name) for name in _WINDOWED}
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
