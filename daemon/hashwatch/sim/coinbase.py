"""The simulator's own pool table and coinbase transactions.

Each simulated block is "mined" by a pool chosen by hashrate share with the seeded RNG;
its coinbase carries the BIP34 height push, the pool's ASCII tag and pays the pool's
address, so the daemon's pool identification sees what it would see on mainnet.
"""

from __future__ import annotations

import random
import struct
from dataclasses import dataclass

from .addresses import bech32_encode_v0, descriptor_checksum, script_for_address, sha256d


@dataclass(frozen=True)
class Pool:
    """A mining pool as the simulator knows it: how it tags and pays its coinbases."""

    name: str
    tag: str  # ASCII (or UTF-8) marker placed in the coinbase scriptSig; "" = untagged
    address: str  # mainnet payout address
    share: float  # fraction of blocks


# Tags and addresses are those the pools really use on mainnet (public chain data);
# the shares are rounded late-2025 figures.  The last entry stands for unknown miners.
DEFAULT_POOLS: tuple[Pool, ...] = (
    Pool("Foundry USA", "/Foundry USA Pool #dropgold/",
         "bc1qxhmdufsvnuaaaer4ynz88fspdsxq2h9e9cetdj", 0.29),
    Pool("AntPool", "/AntPool/", "12dRugNcdxK39288NjcDV4GX7rMsKCGn6B", 0.18),
    Pool("ViaBTC", "/ViaBTC/", bech32_encode_v0("bc", sha256d(b"viabtc")[:20]), 0.12),
    Pool("F2Pool", "F2Pool", "1KFHE7w8BhaENAswwryaoccDb6qcT6DbYY", 0.10),
    Pool("MARA Pool", "MARA Pool", "15MdAHnkxt9TMC2Rj595hsg8Hnv693pPBB", 0.06),
    Pool("SpiderPool", "SpiderPool", "125m2H43pwKpSZjLhMQHneuTwTJN5qRyYu", 0.08),
    Pool("Luxor", "/LUXOR/", "1MkCDCzHpBsYQivp8MxjY5AkTGG1f2baoe", 0.03),
    Pool("SECPOOL", "SecPool", "3Awm3FNpmwrbvAFVThRUFqgpbVuqWisni9", 0.04),
    Pool("OCEAN", "OCEAN.XYZ", "37dvwZZoT3D7RXpTCpN2yKzMmNs2i2Fd1n", 0.02),
    Pool("unknown", "", "", 0.08),
)

WITNESS_COMMITMENT_PREFIX = "6a24aa21a9ed"


def choose_pool(rng: random.Random, pools: tuple[Pool, ...]) -> int:
    """Index of the pool that finds the next block, drawn by share."""
    return rng.choices(range(len(pools)), weights=[p.share for p in pools])[0]


def bip34_push(height: int) -> bytes:
    """The height as CScript() << height serializes it (BIP34), padded like Core for h<=16."""
    if height == 0:
        return b"\x00\x00"
    if 1 <= height <= 16:
        return bytes([0x50 + height, 0x00])
    raw = height.to_bytes((height.bit_length() + 8) // 8, "little")  # keep sign bit clear
    return bytes([len(raw)]) + raw


def _varint(n: int) -> bytes:
    if n < 0xFD:
        return bytes([n])
    if n <= 0xFFFF:
        return b"\xfd" + struct.pack("<H", n)
    return b"\xfe" + struct.pack("<I", n)


def payout_address(pool: Pool, height: int, network: str) -> str:
    """The pool's address; unknown miners and regtest get a deterministic fresh bech32."""
    if network == "regtest":
        return bech32_encode_v0("bcrt", sha256d(pool.name.encode())[:20])
    if pool.address:
        return pool.address
    return bech32_encode_v0("bc", sha256d(b"unknown-miner" + str(height).encode())[:20])


def build_coinbase(height: int, pool: Pool, value_sat: int, network: str,
                   extranonce: int) -> dict:
    """A segwit coinbase (Core's layout: payout + witness commitment) and its ids/sizes."""
    script_sig = bip34_push(height)
    if pool.tag:
        script_sig += pool.tag.encode("utf-8")
    script_sig += struct.pack("<I", extranonce & 0xFFFFFFFF)
    script_sig = script_sig[:100]
    address = payout_address(pool, height, network)
    spk_hex, asm, kind = script_for_address(address)
    commitment = WITNESS_COMMITMENT_PREFIX + sha256d(script_sig).hex()
    outputs = [(value_sat, bytes.fromhex(spk_hex)), (0, bytes.fromhex(commitment))]
    body_in = (b"\x00" * 32 + b"\xff\xff\xff\xff" + _varint(len(script_sig)) + script_sig
               + b"\xff\xff\xff\xff")
    body_out = _varint(len(outputs)) + b"".join(
        struct.pack("<q", v) + _varint(len(s)) + s for v, s in outputs)
    version, locktime = struct.pack("<i", 2), b"\x00\x00\x00\x00"
    stripped = version + b"\x01" + body_in + body_out + locktime
    witness = b"\x01\x20" + b"\x00" * 32
    full = version + b"\x00\x01" + b"\x01" + body_in + body_out + witness + locktime
    weight = len(stripped) * 3 + len(full)
    return {
        "txid": sha256d(stripped)[::-1].hex(),
        "hash": sha256d(full)[::-1].hex(),
        "hex": full.hex(),
        "size": len(full),
        "stripped_size": len(stripped),
        "weight": weight,
        "vsize": (weight + 3) // 4,
        "script_sig": script_sig.hex(),
        "value": value_sat,
        "address": address,
        "spk_hex": spk_hex,
        "spk_asm": asm,
        "spk_type": kind,
        "commitment": commitment,
    }


def describe_output(address: str | None, spk_hex: str, asm: str, kind: str) -> dict:
    """scriptPubKey object as getblock verbosity 2 renders it."""
    desc = f"addr({address})" if address else f"raw({spk_hex})"
    out = {"asm": asm, "desc": f"{desc}#{descriptor_checksum(desc)}", "hex": spk_hex}
    if address:
        out["address"] = address
    out["type"] = kind
    return out
