"""Block and transaction records shared by the chain, the mempool and the RPC layer."""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import NamedTuple

from .addresses import sha256d


class BlockTx(NamedTuple):
    """A transaction as far as the simulator models it (no scripts, just sizes and fee)."""

    txid: str
    wtxid: str
    vsize: int
    weight: int
    fee: int  # satoshis
    parents: tuple[str, ...] = ()
    time: int = 0


def tx_base_size(weight: int) -> int:
    """Non-witness bytes of a typical segwit tx of this weight (a P2WPKH-like split)."""
    return weight // 5


def tx_total_size(weight: int) -> int:
    """Serialized size incl. witness: weight = 3 * base + total."""
    return weight - 3 * tx_base_size(weight)


@dataclass(slots=True, eq=False)
class Block:
    """One block of the simulated block tree (active chain or a fork)."""

    height: int
    hash: str
    prev: str | None
    time: int
    bits: int
    nonce: int
    version: int
    merkleroot: str
    chainwork: int
    pool: int  # index into the node's pool table
    seq: int  # arrival order; Core prefers the first-seen tip among equal work
    txs: list[BlockTx] | None = None  # None: synthetic history, generated on demand
    ntx_hint: int = 1
    fee_level: float = 0.0  # synthetic history: typical fee rate (sat/vB) of the block
    coinbase: dict | None = None
    invalid: bool = False  # failed (invalidateblock) or descends from a failed block
    virtual: bool = False  # deterministic stand-in for old history (before the model's base)
    extra: dict = field(default_factory=dict)


def header_bytes(version: int, prev: str | None, merkleroot: str, time: int, bits: int,
                 nonce: int) -> bytes:
    """The 80-byte header; hashes are stored in display (reversed) hex like Core's RPC."""
    prev_raw = bytes.fromhex(prev)[::-1] if prev else b"\x00" * 32
    return (struct.pack("<i", version) + prev_raw + bytes.fromhex(merkleroot)[::-1]
            + struct.pack("<III", time & 0xFFFFFFFF, bits, nonce))


def header_hash(header: bytes) -> str:
    return sha256d(header)[::-1].hex()


def merkle_root(txids: list[str]) -> str:
    """Bitcoin's merkle root over txids given in display order."""
    layer = [bytes.fromhex(t)[::-1] for t in txids]
    if not layer:
        return "00" * 32
    while len(layer) > 1:
        if len(layer) % 2:
            layer.append(layer[-1])
        layer = [sha256d(layer[i] + layer[i + 1]) for i in range(0, len(layer), 2)]
    return layer[0][::-1].hex()
