"""Compact targets, difficulty and Core's retarget rule: Core's own vectors and properties."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hashwatch.indicators.retarget import (
    CHAIN_PARAMS,
    MAIN,
    TARGET_TIMESPAN_SECONDS,
    bits_to_target,
    block_work,
    difficulty_from_bits,
    next_bits,
    retarget_change_percent,
    target_to_bits,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "core"
POW_LIMIT = MAIN.pow_limit

targets = st.integers(1, 256).flatmap(lambda n: st.integers(1 << (n - 1), (1 << n) - 1))
mainnet_targets = st.integers(1 << 150, POW_LIMIT)
times = st.integers(1_231_006_505, 4_000_000_000)


@pytest.mark.parametrize(
    ("case", "last_bits", "first_time", "last_time", "expected"),
    [
        # src/test/pow_tests.cpp, the four CalculateNextWorkRequired cases
        ("get_next_work", 0x1D00FFFF, 1261130161, 1262152739, 0x1D00D86A),
        ("get_next_work_pow_limit", 0x1D00FFFF, 1231006505, 1233061996, 0x1D00FFFF),
        ("get_next_work_lower_limit_actual", 0x1C05A3F4, 1279008237, 1279297671, 0x1C0168FD),
        ("get_next_work_upper_limit_actual", 0x1C387F6F, 1263163443, 1269211443, 0x1D00E1FD),
    ],
)
def test_next_bits_core_pow_vectors_reproduce_exactly(
    case: str, last_bits: int, first_time: int, last_time: int, expected: int
) -> None:
    assert next_bits(last_bits, first_time, last_time, MAIN) == expected, case


def test_next_bits_mainnet_retargets_925344_and_927360_match_real_bits() -> None:
    from .helpers import mainnet_headers

    by_height = {h: (t, b) for h, t, b in mainnet_headers()}
    for retarget in (925_344, 927_360):
        first_time = by_height[retarget - 2016][0]
        last_time, last_bits = by_height[retarget - 1]
        assert next_bits(last_bits, first_time, last_time) == by_height[retarget][1]
    assert by_height[925_344][1] == 0x1701E2A0


def test_retarget_change_percent_seed_retarget_is_minus_1_95() -> None:
    change = retarget_change_percent(0x1701D936, 0x1701E2A0)
    assert round(change, 2) == -1.95
    assert difficulty_from_bits(0x1701E2A0) == pytest.approx(149.30e12, rel=1e-4)


def test_difficulty_from_bits_regtest_fixture_matches_core_bit_for_bit() -> None:
    answer = json.loads((FIXTURES / "getblockheader_verbose.json").read_text())["response"]
    header = answer["result"]
    # Core prints doubles with 16 significant digits (UniValue); the float itself is the same.
    assert float(f"{difficulty_from_bits(int(header['bits'], 16)):.16g}") == header["difficulty"]
    assert hex(bits_to_target(int(header["bits"], 16)))[2:] == header["target"].lstrip("0")


def test_difficulty_from_bits_genesis_is_one() -> None:
    assert difficulty_from_bits(0x1D00FFFF) == 1.0


@given(targets)
def test_target_to_bits_any_target_round_trips_to_its_truncation(target: int) -> None:
    bits = target_to_bits(target)
    decoded = bits_to_target(bits)
    size = bits >> 24
    assert decoded <= target
    assert target - decoded < 1 << max(0, 8 * (size - 3))  # only bytes below the top 3 are lost
    assert target_to_bits(decoded) == bits
    assert not bits & 0x00800000  # the sign bit is never set


@given(st.integers(0, 0xFFFFFFFF))
def test_bits_to_target_any_valid_bits_normalise_to_same_target(bits: int) -> None:
    try:
        target = bits_to_target(bits)
    except ValueError:
        return
    assert bits_to_target(target_to_bits(target)) == target


@pytest.mark.parametrize("bits", [0x01803456, 0x04923456, 0x00000000, 0x01003456, 0xFF123456])
def test_bits_to_target_negative_zero_or_overflow_raises(bits: int) -> None:
    # Core's SetCompact vectors: negative (0x01803456, 0x04923456), zero, overflow (0xff123456)
    with pytest.raises(ValueError):
        bits_to_target(bits)


@pytest.mark.parametrize(
    ("bits", "target"),
    [(0x01123456, 0x12), (0x02123456, 0x1234), (0x03123456, 0x123456),
     (0x04123456, 0x12345600), (0x05009234, 0x92340000), (0x20123456, 0x123456 << 232)],
)
def test_bits_to_target_core_setcompact_vectors(bits: int, target: int) -> None:
    assert bits_to_target(bits) == target


@given(mainnet_targets, mainnet_targets)
def test_difficulty_from_bits_larger_target_means_lower_difficulty(a: int, b: int) -> None:
    ba, bb = target_to_bits(a), target_to_bits(b)
    if bits_to_target(ba) < bits_to_target(bb):
        assert difficulty_from_bits(ba) > difficulty_from_bits(bb)


@given(mainnet_targets, times, st.integers(-10**7, 10**8))
def test_next_bits_any_timespan_stays_within_quarter_and_four_times(
    target: int, first: int, span: int
) -> None:
    last_bits = target_to_bits(target)
    old = bits_to_target(last_bits)
    new = bits_to_target(next_bits(last_bits, first, first + span))
    assert new <= min(4 * old, POW_LIMIT)
    quarter = old * (TARGET_TIMESPAN_SECONDS // 4) // TARGET_TIMESPAN_SECONDS
    assert new >= bits_to_target(target_to_bits(quarter)) or new == POW_LIMIT


@given(mainnet_targets, times, st.integers(4 * TARGET_TIMESPAN_SECONDS, 10**9))
def test_next_bits_timespan_beyond_clamp_equals_clamp(target: int, first: int, span: int) -> None:
    bits = target_to_bits(target)
    assert next_bits(bits, first, first + span) == next_bits(
        bits, first, first + 4 * TARGET_TIMESPAN_SECONDS
    )
    assert next_bits(bits, first, first - span) == next_bits(
        bits, first, first + TARGET_TIMESPAN_SECONDS // 4
    )


@given(mainnet_targets, times, st.integers(0, 10**7), st.integers(0, 10**7))
def test_next_bits_longer_timespan_never_harder(target: int, first: int, a: int, b: int) -> None:
    bits = target_to_bits(target)
    short, long_ = sorted((a, b))
    assert bits_to_target(next_bits(bits, first, first + short)) <= bits_to_target(
        next_bits(bits, first, first + long_)
    )


def test_next_bits_regtest_never_retargets() -> None:
    assert next_bits(0x207FFFFF, 0, 10**9, CHAIN_PARAMS["regtest"]) == 0x207FFFFF


def test_next_bits_testnet4_uses_first_block_bits() -> None:
    t4 = CHAIN_PARAMS["testnet4"]
    # last block is a min-difficulty block; BIP94 retargets from the epoch's first block
    bits = next_bits(0x1D00FFFF, 0, TARGET_TIMESPAN_SECONDS, t4, first_bits=0x1C05A3F4)
    assert bits == 0x1C05A3F4


def test_block_work_genesis_bits_is_core_value() -> None:
    # Core: GetBlockProof for 0x1d00ffff = 0x100010001 (chainwork of block 1 is 0x200020002)
    assert block_work(0x1D00FFFF) == 0x100010001
