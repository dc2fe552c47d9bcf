"""Consensus arithmetic of the simulator against Core's own test vectors."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from hashwatch.sim import consensus as cs


def test_calculate_next_bits_matches_core_pow_tests_vectors() -> None:
    # src/test/pow_tests.cpp: get_next_work, _pow_limit, _lower_limit_actual, _upper_limit_actual
    assert cs.calculate_next_bits(0x1D00FFFF, 1261130161, 1262152739) == 0x1D00D86A
    assert cs.calculate_next_bits(0x1D00FFFF, 1231006505, 1233061996) == 0x1D00FFFF
    assert cs.calculate_next_bits(0x1C05A3F4, 1279008237, 1279297671) == 0x1C0168FD
    assert cs.calculate_next_bits(0x1C387F6F, 1263163443, 1269211443) == 0x1D00E1FD


def test_calculate_next_bits_mainnet_925344_lands_on_real_bits() -> None:
    # epoch 923,328 .. 925,343 with the real first/last block times
    assert cs.calculate_next_bits(0x1701D936, 1762972230, 1764205903) == 0x1701E2A0
    assert round(cs.difficulty(0x1701E2A0) / 1e12, 2) == 149.30
    assert round(cs.difficulty(0x1701D936) / 1e12, 2) == 152.27


def test_calculate_next_bits_clamps_timespan_to_quarter_and_four_times() -> None:
    fast = cs.calculate_next_bits(0x1701D936, 0, 1)
    quarter = cs.calculate_next_bits(0x1701D936, 0, cs.TARGET_TIMESPAN // 4)
    slow = cs.calculate_next_bits(0x1701D936, 0, 10**9)
    four = cs.calculate_next_bits(0x1701D936, 0, cs.TARGET_TIMESPAN * 4)
    assert fast == quarter and slow == four
    assert cs.bits_to_target(four) > cs.bits_to_target(0x1701D936) * 3


def test_regtest_never_retargets() -> None:
    assert cs.calculate_next_bits(0x207FFFFF, 0, 10, cs.REGTEST) == 0x207FFFFF


@given(st.integers(min_value=1, max_value=cs.POW_LIMIT_MAIN))
def test_target_to_bits_round_trip_is_a_truncation(target: int) -> None:
    bits = cs.target_to_bits(target)
    back = cs.bits_to_target(bits)
    assert back <= target
    assert cs.target_to_bits(back) == bits
    assert (target - back) * 2**16 < target * 2  # keeps at least 15-16 significant bits


def test_bits_to_target_handles_sign_and_overflow_like_set_compact() -> None:
    assert cs.bits_to_target(0x01803456) == 0  # negative
    assert cs.bits_to_target(0xFF123456) == 0  # overflow
    assert cs.bits_to_target(0x05009234) == 0x92340000
    assert cs.target_to_bits(0x80) == 0x02008000


def test_difficulty_and_block_proof_regtest_match_fixture() -> None:
    # Core prints doubles with 16 significant digits
    assert format(cs.difficulty(0x207FFFFF), ".16g") == "4.656542373906925e-10"
    assert cs.block_proof(0x207FFFFF) == 2
    assert cs.difficulty(0x1D00FFFF) == 1.0


def test_block_subsidy_halves_on_schedule() -> None:
    assert cs.block_subsidy(0) == 50 * cs.COIN
    assert cs.block_subsidy(209_999) == 50 * cs.COIN
    assert cs.block_subsidy(840_000) == 312_500_000
    assert cs.block_subsidy(150, cs.REGTEST) == 25 * cs.COIN
    assert cs.block_subsidy(64 * 210_000) == 0


def test_solve_timespan_hits_requested_bits() -> None:
    span = cs.solve_timespan(0x1701CDFB, 0x1701D936)
    assert cs.calculate_next_bits(0x1701CDFB, 0, span) == 0x1701D936
