"""Bitcoin Core's consensus arithmetic, re-implemented for the simulator.

The simulator is a test oracle: this module must not import anything from the daemon
(``hashwatch.indicators``, ``hashwatch.node``), so that a wrong formula there cannot agree
with itself here.  Everything follows ``src/arith_uint256.cpp``, ``src/pow.cpp``,
``src/validation.cpp`` (subsidy) and ``src/rpc/blockchain.cpp`` (difficulty) of Bitcoin Core.
"""

from __future__ import annotations

from dataclasses import dataclass

COIN = 100_000_000
MASK256 = (1 << 256) - 1
RETARGET_INTERVAL = 2016
TARGET_TIMESPAN = 14 * 24 * 60 * 60  # 1,209,600 s
TARGET_SPACING = 600

POW_LIMIT_MAIN = 0x00000000FFFF0000000000000000000000000000000000000000000000000000
POW_LIMIT_REGTEST = 0x7FFFFF0000000000000000000000000000000000000000000000000000000000


@dataclass(frozen=True)
class ChainParams:
    """The handful of consensus parameters that differ between mainnet and regtest."""

    name: str  # Core's chain name as getblockchaininfo reports it: "main" or "regtest"
    pow_limit: int
    pow_limit_bits: int
    no_retargeting: bool
    halving_interval: int
    genesis_hash: str
    genesis_time: int
    genesis_bits: int


MAIN = ChainParams(
    name="main",
    pow_limit=POW_LIMIT_MAIN,
    pow_limit_bits=0x1D00FFFF,
    no_retargeting=False,
    halving_interval=210_000,
    genesis_hash="000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f",
    genesis_time=1231006505,
    genesis_bits=0x1D00FFFF,
)
REGTEST = ChainParams(
    name="regtest",
    pow_limit=POW_LIMIT_REGTEST,
    pow_limit_bits=0x207FFFFF,
    no_retargeting=True,
    halving_interval=150,
    genesis_hash="0f9188f13cb7b2c71f2a335e3a4fc328bf5beb436012afca590b1a11466e2206",
    genesis_time=1296688602,
    genesis_bits=0x207FFFFF,
)


def params_for(network: str) -> ChainParams:
    """Map a user-facing network name to its parameters ("main"/"mainnet", "regtest")."""
    if network in ("main", "mainnet"):
        return MAIN
    if network == "regtest":
        return REGTEST
    raise ValueError(f"unknown network {network!r} (expected 'main' or 'regtest')")


def bits_to_target(bits: int) -> int:
    """Decode compact nBits like arith_uint256::SetCompact; negative/overflow decode to 0."""
    size = bits >> 24
    word = bits & 0x007FFFFF
    if size <= 3:
        target = word >> (8 * (3 - size))
    else:
        target = word << (8 * (size - 3))
    negative = word != 0 and (bits & 0x00800000) != 0
    overflow = word != 0 and (
        size > 34 or (word > 0xFF and size > 33) or (word > 0xFFFF and size > 32)
    )
    if negative or overflow:
        return 0
    return target & MASK256


def target_to_bits(target: int) -> int:
    """Encode a target like arith_uint256::GetCompact (rounds down to 3 significant bytes)."""
    size = (target.bit_length() + 7) // 8
    if size <= 3:
        compact = (target << (8 * (3 - size))) & 0xFFFFFFFF
    else:
        compact = target >> (8 * (size - 3))
    # The 0x00800000 bit is the sign: if set, divide the mantissa by 256 and bump the exponent.
    if compact & 0x00800000:
        compact >>= 8
        size += 1
    return (compact | (size << 24)) & 0xFFFFFFFF


def difficulty(bits: int) -> float:
    """Core's GetDifficulty: a double computed from nBits alone (not the pow limit)."""
    shift = (bits >> 24) & 0xFF
    diff = float(0x0000FFFF) / float(bits & 0x00FFFFFF)
    while shift < 29:
        diff *= 256.0
        shift += 1
    while shift > 29:
        diff /= 256.0
        shift -= 1
    return diff


def block_proof(bits: int) -> int:
    """Expected hashes for one block at these bits: 2**256 / (target + 1), as GetBlockProof."""
    target = bits_to_target(bits)
    if target == 0:
        return 0
    return ((~target & MASK256) // (target + 1)) + 1


def calculate_next_bits(last_bits: int, first_block_time: int, last_block_time: int,
                        params: ChainParams = MAIN) -> int:
    """CalculateNextWorkRequired: retarget from the epoch's first and last block times.

    Core measures 2015 intervals (first block of the epoch to its last block), not 2016:
    the well-known off-by-one is kept on purpose.
    """
    if params.no_retargeting:
        return last_bits
    timespan = last_block_time - first_block_time
    timespan = max(TARGET_TIMESPAN // 4, min(TARGET_TIMESPAN * 4, timespan))
    new_target = bits_to_target(last_bits)
    new_target = (new_target * timespan) & MASK256
    new_target //= TARGET_TIMESPAN
    if new_target > params.pow_limit:
        new_target = params.pow_limit
    return target_to_bits(new_target)


def block_subsidy(height: int, params: ChainParams = MAIN) -> int:
    """GetBlockSubsidy in satoshis: 50 BTC halved every halving_interval blocks."""
    halvings = height // params.halving_interval
    if halvings >= 64:
        return 0
    return (50 * COIN) >> halvings


def target_hex(bits: int) -> str:
    """The 64-hex target string that getblockheader/getmininginfo report."""
    return f"{bits_to_target(bits):064x}"


def bits_hex(bits: int) -> str:
    return f"{bits:08x}"


def chainwork_hex(work: int) -> str:
    return f"{work:064x}"


def solve_timespan(prev_bits: int, next_bits: int, params: ChainParams = MAIN) -> int:
    """Smallest epoch timespan (s) for which Core's rule turns prev_bits into next_bits.

    Used to synthesize history that retargets into a chosen difficulty exactly.  Raises
    ValueError if no timespan inside the [1/4, 4] clamp reaches next_bits.
    """
    prev_target = bits_to_target(prev_bits)
    want = bits_to_target(next_bits)
    guess = max(TARGET_TIMESPAN // 4, -(-want * TARGET_TIMESPAN // prev_target) - 2)
    for span in range(guess, min(TARGET_TIMESPAN * 4, guess + 100_000) + 1):
        got = calculate_next_bits(prev_bits, 0, span, params)
        if got == next_bits:
            return span
        if bits_to_target(got) > want:
            break
    raise ValueError(f"no timespan retargets {prev_bits:#x} into {next_bits:#x}")
