"""Address <-> scriptPubKey for coinbase outputs (bech32 v0 and base58check), stdlib only.

The simulator's coinbases pay real-looking addresses so pool identification by payout
address can be exercised; the script hex must agree with the address like Core's does.
"""

from __future__ import annotations

import hashlib

_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_BECH = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"


def sha256d(data: bytes) -> bytes:
    return hashlib.sha256(hashlib.sha256(data).digest()).digest()


def _polymod(values: list[int]) -> int:
    gen = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)
    chk = 1
    for v in values:
        top = chk >> 25
        chk = (chk & 0x1FFFFFF) << 5 ^ v
        for i in range(5):
            chk ^= gen[i] if (top >> i) & 1 else 0
    return chk


def _hrp_expand(hrp: str) -> list[int]:
    return [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]


def _convertbits(data: bytes | list[int], frombits: int, tobits: int, pad: bool) -> list[int]:
    acc = bits = 0
    out: list[int] = []
    maxv = (1 << tobits) - 1
    for value in data:
        acc = (acc << frombits) | value
        bits += frombits
        while bits >= tobits:
            bits -= tobits
            out.append((acc >> bits) & maxv)
    if pad and bits:
        out.append((acc << (tobits - bits)) & maxv)
    return out


def bech32_encode_v0(hrp: str, program: bytes) -> str:
    """Segwit v0 address (bech32, BIP173) for a 20- or 32-byte witness program."""
    data = [0] + _convertbits(program, 8, 5, True)
    polymod = _polymod(_hrp_expand(hrp) + data + [0] * 6) ^ 1
    checksum = [(polymod >> 5 * (5 - i)) & 31 for i in range(6)]
    return hrp + "1" + "".join(_BECH[d] for d in data + checksum)


def _bech32_decode_v0(addr: str) -> bytes:
    hrp, _, rest = addr.lower().rpartition("1")
    data = [_BECH.index(c) for c in rest]
    if _polymod(_hrp_expand(hrp) + data) != 1 or data[0] != 0:
        raise ValueError(f"not a bech32 v0 address: {addr}")
    return bytes(_convertbits(data[1:-6], 5, 8, False))


def _base58check_decode(addr: str) -> bytes:
    num = 0
    for c in addr:
        num = num * 58 + _B58.index(c)
    raw = num.to_bytes(25, "big")
    if sha256d(raw[:-4])[:4] != raw[-4:]:
        raise ValueError(f"bad base58 checksum: {addr}")
    return raw[:-4]


def script_for_address(addr: str) -> tuple[str, str, str]:
    """(script hex, asm, Core's type name) for a P2PKH, P2SH or P2WPKH/P2WSH address."""
    if addr[:3].lower() in ("bc1", "tb1") or addr.lower().startswith("bcrt1"):
        prog = _bech32_decode_v0(addr)
        kind = "witness_v0_keyhash" if len(prog) == 20 else "witness_v0_scripthash"
        return f"00{len(prog):02x}{prog.hex()}", f"0 {prog.hex()}", kind
    payload = _base58check_decode(addr)
    version, h160 = payload[0], payload[1:]
    if version in (0x00, 0x6F):
        return (f"76a914{h160.hex()}88ac",
                f"OP_DUP OP_HASH160 {h160.hex()} OP_EQUALVERIFY OP_CHECKSIG", "pubkeyhash")
    return f"a914{h160.hex()}87", f"OP_HASH160 {h160.hex()} OP_EQUAL", "scripthash"


# Output descriptor checksum (Core's descriptor.cpp), so "desc" fields look like Core's.
_INPUT_CHARSET = (
    "0123456789()[],'/*abcdefgh@:$%{}IJKLMNOPQRSTUVWXYZ&+-.;<=>?!^_|~ijklmnopqrstuvwxyz"
    "ABCDEFGH`#\"\\ "
)
_CHECKSUM_CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"


def _desc_polymod(c: int, val: int) -> int:
    c0 = c >> 35
    c = ((c & 0x7FFFFFFFF) << 5) ^ val
    for bit, g in enumerate((0xF5DEE51989, 0xA9FDCA3312, 0x1BAB10E32D, 0x3706B1677A,
                             0x644D626FFD)):
        if c0 & (1 << bit):
            c ^= g
    return c


def descriptor_checksum(desc: str) -> str:
    c, cls, clscount = 1, 0, 0
    for ch in desc:
        pos = _INPUT_CHARSET.find(ch)
        if pos < 0:
            return ""
        c = _desc_polymod(c, pos & 31)
        cls = cls * 3 + (pos >> 5)
        clscount += 1
        if clscount == 3:
            c = _desc_polymod(c, cls)
            cls, clscount = 0, 0
    if clscount > 0:
        c = _desc_polymod(c, cls)
    for _ in range(8):
        c = _desc_polymod(c, 0)
    c ^= 1
    return "".join(_CHECKSUM_CHARSET[(c >> (5 * (7 - j))) & 31] for j in range(8))
