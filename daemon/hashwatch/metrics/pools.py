"""Prometheus rendering of each node's ``pools`` section.

Why bounded: ``pool`` label values are only pools that mined a block in the window (at most the
window size, in practice a few dozen), already sanitized by the identifier; unknown blocks are
one ``pools_unknown_share_ratio`` series, not a pool label.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.metrics_core import Metric

from ..snapshot.store import Snapshot
from . import gauge, nodes_up


def render(snapshot: Snapshot) -> Iterator[Metric]:
    share = gauge("pools_share_ratio")
    top = gauge("pools_top_share_ratio")
    hhi = gauge("pools_hhi")
    nakamoto = gauge("pools_nakamoto_coefficient")
    unknown = gauge("pools_unknown_share_ratio")
    for name, ns in nodes_up(snapshot):
        section = ns.pools
        if section is None:
            continue
        for c in section.windows:
            w = str(c.window)
            for pool, ratio in c.shares.items():
                share.add_metric([name, pool, w], ratio)
            top.add_metric([name, w], c.top_share)
            hhi.add_metric([name, w], c.hhi)
            nakamoto.add_metric([name, w], float(c.nakamoto_coefficient))
            unknown.add_metric([name, w], c.unknown_share)
    yield from (share, top, hhi, nakamoto, unknown)
