"""Implied hashrate, block intervals, drawdown and the recovery signal."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hashwatch.indicators.hashrate import hashrate_drawdown, rolling_hashrate, window_stats
from hashwatch.indicators.retarget import block_work, difficulty_from_bits

from .helpers import SEED_BITS, mainnet_headers, synthetic_chain


def _core_getnetworkhashps(headers, end: int, lookup: int) -> float | None:
    """Core's getnetworkhashps loop, written out the slow way as the oracle."""
    window = headers[end - lookup : end + 1]
    times = [t for _, t, _ in window]
    span = max(times) - min(times)
    if span <= 0:
        return None
    return sum(block_work(b) for _, _, b in window[1:]) / span


@given(
    st.lists(st.integers(-7200, 7200), min_size=2, max_size=60),
    st.integers(1, 20),
    st.sampled_from([0x1701E2A0, 0x1701D936, 0x1D00FFFF]),
)
def test_rolling_hashrate_any_times_equals_core_loop(
    deltas: list[int], window: int, bits: int
) -> None:
    t, headers = 1_700_000_000, []
    for i, d in enumerate(deltas):
        t += d
        headers.append((900_000 + i, t, bits if i % 7 else 0x1701D936))
    expected = [
        v for end in range(window, len(headers))
        if (v := _core_getnetworkhashps(headers, end, window)) is not None
    ]
    assert rolling_hashrate(headers, window) == pytest.approx(expected, rel=1e-12)


def test_window_stats_steady_600s_blocks_gives_difficulty_times_2_32_over_600() -> None:
    headers = synthetic_chain(925_344, 300)
    stats = window_stats(headers, 144)
    assert stats is not None
    assert stats.mean_interval_seconds == 600 and stats.median_interval_seconds == 600
    # work per block is 2^256/(target+1), 0.0015% above difficulty x 2^32
    expected = difficulty_from_bits(SEED_BITS) * 2**32 / 600
    assert stats.hashrate_hps == pytest.approx(expected, rel=2e-5)


def test_window_stats_too_few_headers_is_none() -> None:
    assert window_stats(synthetic_chain(0, 144), 144) is None


def test_window_stats_median_ignores_one_slow_block() -> None:
    headers = synthetic_chain(0, 11, interval=lambda h: 6000 if h == 5 else 600, retarget=False)
    stats = window_stats(headers, 10)
    assert stats is not None
    assert stats.median_interval_seconds == 600
    assert stats.mean_interval_seconds == (9 * 600 + 6000) / 10


def test_window_stats_mainnet_seed_epoch_about_1_07_zettahash() -> None:
    headers = [h for h in mainnet_headers() if h[0] <= 927_359]
    stats = window_stats(headers, 2016)
    assert stats is not None
    # the epoch took 14d 2h: 149.30 T x 2^32 / 604.6 s
    assert stats.mean_interval_seconds == pytest.approx(604.6, abs=0.1)
    assert stats.hashrate_hps == pytest.approx(1.0606e21, rel=1e-3)


def test_hashrate_drawdown_drop_then_half_back_is_recovering() -> None:
    series = [100.0] * 10 + [75.0] * 10 + [90.0] * 3
    d = hashrate_drawdown(series, drop_threshold_ratio=0.1, recovery_fraction=0.5)
    assert d is not None
    assert d.ratio == pytest.approx(0.10) and d.peak_hps == 100 and d.trough_hps == 75
    assert d.recovering


def test_hashrate_drawdown_still_at_trough_is_not_recovering() -> None:
    d = hashrate_drawdown([100.0, 80.0, 79.0], drop_threshold_ratio=0.1, recovery_fraction=0.5)
    assert d is not None and d.ratio == pytest.approx(0.21) and not d.recovering


def test_hashrate_drawdown_small_dip_is_not_a_drop() -> None:
    d = hashrate_drawdown([100.0, 95.0, 99.0], drop_threshold_ratio=0.1, recovery_fraction=0.5)
    assert d is not None and not d.recovering


def test_hashrate_drawdown_new_peak_ends_recovery() -> None:
    d = hashrate_drawdown([100.0, 70.0, 101.0], drop_threshold_ratio=0.1, recovery_fraction=0.5)
    assert d is not None and d.ratio == 0 and not d.recovering


def test_hashrate_drawdown_empty_series_is_none() -> None:
    assert hashrate_drawdown([], drop_threshold_ratio=0.1, recovery_fraction=0.5) is None


@given(st.lists(st.floats(1.0, 1e22), min_size=1, max_size=50))
def test_hashrate_drawdown_any_series_ratio_between_0_and_1(series: list[float]) -> None:
    d = hashrate_drawdown(series, drop_threshold_ratio=0.1, recovery_fraction=0.5)
    assert d is not None
    assert 0.0 <= d.ratio <= 1.0
    assert d.trough_hps <= d.current_hps <= d.peak_hps
    assert d.peak_hps == max(series)
