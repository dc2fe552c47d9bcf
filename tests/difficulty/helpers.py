"""Shared test data for the difficulty feature: synthetic header chains and the real mainnet CSV."""

from __future__ import annotations

import csv
import hashlib
import random

from hashwatch.state.headers import StoredHeader
from hashwatch.indicators.retarget import EPOCH_BLOCKS, Header, next_bits

from ..support.shared import mainnet_file

MAINNET_CSV = "headers_923327_927360.csv"  # in ../shared/mainnet beside the repository
SEED_BITS = 0x1701E2A0  # the epoch from 925,344: 149.30 T


def mainnet_headers() -> list[Header]:
    """Real (height, time, bits) 923,327..927,360; skips the test when the file is absent."""
    with mainnet_file(MAINNET_CSV).open() as f:
        rows = list(csv.DictReader(f))
    return [(int(r["height"]), int(r["time_unix"]), int(r["bits_hex_derived"], 16)) for r in rows]


def synthetic_chain(
    start: int,
    count: int,
    *,
    bits: int = SEED_BITS,
    start_time: int = 1_764_000_000,
    interval=lambda height: 600,
    retarget: bool = True,
) -> list[Header]:
    """Headers with the given per-block interval; bits follow Core's rule at every retarget."""
    out: list[Header] = []
    t = start_time
    for h in range(start, start + count):
        if out:
            t += int(interval(h))
        if retarget and out and h % EPOCH_BLOCKS == 0 and h - EPOCH_BLOCKS + 1 >= start:
            first = out[h - EPOCH_BLOCKS - start][1]
            bits = next_bits(out[-1][2], first, out[-1][1])
        out.append((h, t, bits))
    return out


def random_intervals(seed: int, mean: float):
    rng = random.Random(seed)
    return lambda height: max(1, round(rng.expovariate(1 / mean)))


def with_hashes(points: list[Header], salt: str = "") -> list[StoredHeader]:
    """StoredHeaders with fake, hash-linked hashes (``salt`` makes a different branch)."""
    out: list[StoredHeader] = []
    prev = None
    for h, t, b in points:
        digest = hashlib.sha256(f"{salt}:{h}:{t}:{b}:{prev}".encode()).hexdigest()
        out.append(StoredHeader(h, digest, prev, t, b, None))
        prev = digest
    return out
