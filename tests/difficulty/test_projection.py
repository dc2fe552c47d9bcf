"""Epochs and the running epoch's projection: mempool.space's vectors, Core's lock-in, real data."""

from __future__ import annotations

from datetime import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hashwatch.indicators.retarget import (
    EPOCH_BLOCKS,
    blocks_into_epoch,
    blocks_until_retarget,
    epoch_of,
    epoch_start,
    next_bits,
    project_retarget,
    retarget_change_percent,
)

from .helpers import mainnet_headers


def _t(text: str) -> int:
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp())


def test_epoch_functions_seed_retarget_height_starts_epoch_459() -> None:
    assert epoch_of(925_344) == 459 and epoch_start(925_344) == 925_344
    assert blocks_into_epoch(925_344) == 0 and blocks_until_retarget(925_344) == 2016
    assert epoch_start(927_359) == 925_344 and blocks_until_retarget(927_359) == 1


@given(st.integers(0, 10**7))
def test_epoch_functions_any_height_parts_add_up(height: int) -> None:
    assert epoch_start(height) + blocks_into_epoch(height) == height
    assert blocks_into_epoch(height) + blocks_until_retarget(height) == EPOCH_BLOCKS
    assert epoch_start(height) == epoch_of(height) * EPOCH_BLOCKS


def test_project_retarget_mempool_vector_normal_epoch_matches() -> None:
    # mempool.space's own test vector 1 (height 830027, mid-epoch, no blending)
    now = _t("2024-02-11T22:43:01Z")
    p = project_retarget(
        height=830_027,
        epoch_start_time=_t("2024-02-02T15:42:06Z"),
        tip_time=now,
        now=now,
        tip_bits=0x17034219,
        previous_change_percent=7.333505241141637,
        window_start_time=_t("2024-02-08T14:43:05Z"),
    )
    assert p.change_percent == pytest.approx(8.512745140778843, rel=1e-12)
    assert not p.blended and not p.locked
    # mempool.space floors the pace to whole ms: 565 blocks x 553.311 s
    assert p.seconds_until_retarget == pytest.approx(312_620.715, abs=0.565)
    assert p.retarget_time * 1000 == pytest.approx(1_708_004_001_715, abs=565)


def test_project_retarget_mempool_vector_early_epoch_blends_previous_quarter() -> None:
    # mempool.space's test vector 2 (height 750134: 182 blocks in, blended with 504-block window)
    now = _t("2022-08-19T14:03:53Z")
    p = project_retarget(
        height=750_134,
        epoch_start_time=_t("2022-08-18T11:07:00Z"),
        tip_time=now,
        now=now,
        tip_bits=0x1709A7AF,
        previous_change_percent=0.6280047707459726,
        window_start_time=_t("2022-08-16T03:16:54Z"),
    )
    assert p.blended
    assert p.change_percent == pytest.approx(1.0420538959004633, rel=1e-12)
    assert p.mean_interval_seconds * 1000 == pytest.approx(594_992, abs=1)
    assert p.seconds_until_retarget == pytest.approx(1_091_215.328, abs=1.834)


def test_project_retarget_early_epoch_without_window_uses_epoch_pace() -> None:
    p = project_retarget(
        height=2016 * 10 + 99, epoch_start_time=0, tip_time=50_000, now=60_000,
        tip_bits=0x1D00FFFF, previous_change_percent=None, window_start_time=None,
    )
    assert not p.blended
    assert p.change_percent == pytest.approx((600 / (60_000 / 100) - 1) * 100)


def test_project_retarget_2015_blocks_in_locks_to_core_rule() -> None:
    bits = 0x1701D936
    p = project_retarget(
        height=2016 * 10 + 2015, epoch_start_time=1_000_000, tip_time=1_000_000 + 1_300_000,
        now=1_000_000 + 1_400_000, tip_bits=bits,
    )
    assert p.locked and p.next_bits == next_bits(bits, 1_000_000, 2_300_000)
    assert p.change_percent == retarget_change_percent(bits, p.next_bits)  # `now` plays no part
    assert p.seconds_until_retarget == pytest.approx(1_400_000 / 2015)  # one block to go


@given(
    st.integers(0, 10**7),
    st.integers(0, 2_000_000_000),
    st.integers(-10**6, 10**8),
    st.integers(-10**6, 10**8),
    st.none() | st.floats(-75, 300),
    st.none() | st.integers(0, 10**6),
)
def test_project_retarget_any_input_change_within_clamp(
    height: int, start: int, tip_dt: int, now_dt: int, prev: float | None, window_back: int | None
) -> None:
    p = project_retarget(
        height=height, epoch_start_time=start, tip_time=start + tip_dt, now=start + now_dt,
        tip_bits=0x1701E2A0, previous_change_percent=prev,
        window_start_time=None if window_back is None else start - window_back,
    )
    assert -75.0 <= p.change_percent <= 300.0
    assert p.seconds_until_retarget >= 0
    assert p.retarget_time >= start + now_dt


@given(st.integers(1, 2014), st.floats(0.5, 2.0))
def test_project_retarget_faster_blocks_project_increase(blocks_in: int, speed: float) -> None:
    # blocks arriving at exactly 600/speed s (now = the tip's time plus one interval) project
    # a change of speed - 1 once past the blending range
    if blocks_in < 503:
        return
    interval = 600 / speed
    start = 1_700_000_000
    now = start + (blocks_in + 1) * interval
    p = project_retarget(
        height=2016 * 400 + blocks_in, epoch_start_time=start, tip_time=int(now - interval),
        now=now, tip_bits=0x1701E2A0,
    )
    expected = min(max((speed - 1) * 100, -75), 300)
    assert p.change_percent == pytest.approx(expected, rel=1e-9, abs=1e-9)


def _replay(headers: list[tuple[int, int, int]], epoch: int) -> list[tuple[int, object]]:
    """Project at every block of the epoch starting at ``epoch``, with now = that block's time."""
    by = {h: (t, b) for h, t, b in headers}
    prev = retarget_change_percent(by[epoch - 1][1], by[epoch][1])
    out = []
    for h in range(epoch, epoch + EPOCH_BLOCKS):
        window = by.get(h - 503)
        out.append((h, project_retarget(
            height=h, epoch_start_time=by[epoch][0], tip_time=by[h][0], now=by[h][0],
            tip_bits=by[h][1], previous_change_percent=prev,
            window_start_time=window[0] if window else None,
        )))
    return out


def test_project_retarget_mainnet_replay_ends_at_real_925344_retarget() -> None:
    headers = mainnet_headers()
    replay = _replay(headers, 923_328)
    real = retarget_change_percent(0x1701D936, 0x1701E2A0)
    final = replay[-1][1]
    assert final.locked and final.next_bits == 0x1701E2A0
    assert final.change_percent == real and round(real, 2) == -1.95
    # from mid-epoch on, the estimate stays close to what really happened
    for height, p in replay[1008:]:
        assert abs(p.change_percent - real) < 1.5, height


def test_project_retarget_mainnet_replay_ends_at_real_927360_retarget() -> None:
    replay = _replay(mainnet_headers(), 925_344)
    assert replay[-1][1].next_bits == 0x1701E63A
