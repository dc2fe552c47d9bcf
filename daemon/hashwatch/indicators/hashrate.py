"""Implied hashrate, block intervals, drawdown from the trailing peak, and the recovery signal.

Why apart from :mod:`.retarget`: these are statistics over a run of headers (what the miners
are doing), not Core's consensus arithmetic (what the chain will require), and they change for
different reasons. Hashrate counts work as Core's chainwork does, so
``hashrate{window="144"}`` equals ``getnetworkhashps 144``. Pure: headers in, numbers and
frozen dataclasses out.
"""

from __future__ import annotations

import statistics
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

from .retarget import Header, block_work


def rolling_hashrate(headers: Sequence[Header], window: int) -> list[float]:
    """Implied hashrate (H/s) for each run of ``window`` blocks, oldest first.

    Like Core's ``getnetworkhashps``: the work of the last ``window`` blocks over the spread
    (max - min) of the ``window + 1`` header times ending there; header times are not monotonic.
    Windows whose times do not spread are skipped. Equals difficulty x 2^32 / mean interval
    to within 0.002% while difficulty is constant.
    """
    if window < 1 or len(headers) <= window:
        return []
    times = [h[1] for h in headers]
    prefix = [0]
    for h in headers:
        prefix.append(prefix[-1] + block_work(h[2]))
    highs: deque[int] = deque()
    lows: deque[int] = deque()
    out: list[float] = []
    for i, t in enumerate(times):
        while highs and times[highs[-1]] <= t:
            highs.pop()
        while lows and times[lows[-1]] >= t:
            lows.pop()
        highs.append(i)
        lows.append(i)
        if highs[0] < i - window:
            highs.popleft()
        if lows[0] < i - window:
            lows.popleft()
        span = times[highs[0]] - times[lows[0]]
        if i >= window and span > 0:
            out.append((prefix[i + 1] - prefix[i + 1 - window]) / span)
    return out


@dataclass(frozen=True)
class WindowStats:
    window: int
    hashrate_hps: float | None
    mean_interval_seconds: float
    median_interval_seconds: float


def window_stats(headers: Sequence[Header], window: int) -> WindowStats | None:
    """Hashrate and block interval over the last ``window`` blocks; None without enough data."""
    if window < 1 or len(headers) <= window:
        return None
    last = headers[-(window + 1) :]
    intervals = [b[1] - a[1] for a, b in pairwise(last)]
    rates = rolling_hashrate(last, window)
    return WindowStats(
        window=window,
        hashrate_hps=rates[-1] if rates else None,
        mean_interval_seconds=(last[-1][1] - last[0][1]) / window,
        median_interval_seconds=float(statistics.median(intervals)),
    )


@dataclass(frozen=True)
class Drawdown:
    ratio: float  # 1 - current / trailing peak, 0..1
    peak_hps: float
    trough_hps: float  # lowest since the peak
    current_hps: float
    recovering: bool


def hashrate_drawdown(
    series: Sequence[float], *, drop_threshold_ratio: float, recovery_fraction: float
) -> Drawdown | None:
    """Drawdown of the last value of ``series`` from its peak, and whether it is recovering.

    Recovering means: since the peak the hashrate fell by at least ``drop_threshold_ratio``
    (a real drop, not noise), and has since regained at least ``recovery_fraction`` of what it
    lost, without yet making a new peak. That is the "idle capacity coming back" signal.
    """
    if not series or max(series) <= 0:
        return None
    peak_at = max(range(len(series)), key=series.__getitem__)
    peak, current = series[peak_at], series[-1]
    trough = min(series[peak_at:])
    drop = 1 - trough / peak
    recovering = (
        drop >= drop_threshold_ratio
        and current < peak
        and current - trough >= recovery_fraction * (peak - trough)
    )
    return Drawdown(max(0.0, 1 - current / peak), peak, trough, current, recovering)
