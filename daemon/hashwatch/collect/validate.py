"""Range and type checks for node answers, in one place (pure functions, no I/O).

Why: an answer can be valid JSON-RPC and still impossible (a string where a number belongs,
a negative or NaN difficulty, a fee above the 21M BTC supply, a height of 2**63). Such a value
must never reach an indicator, a metric or SQLite. Every ``parse_*`` function reads the node's
fields through these helpers, so a bad answer raises :class:`AnswerInvalid` -- a
:class:`NodeProtocolError` (``kind="protocol"``: the job fails, the node is reported with that
kind) that is also a ``ValueError`` for callers that predate it.

The bounds are what Bitcoin allows, not what is typical, so no real answer is ever refused.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from ..node.errors import NodeProtocolError

MAX_MONEY_SAT = 21_000_000 * 100_000_000  # Core's MAX_MONEY
MAX_BLOCK_WEIGHT = 4_000_000
MAX_TX_VSIZE = MAX_BLOCK_WEIGHT // 4  # a transaction never exceeds a block
MAX_HEIGHT = 2**31 - 1  # Core stores heights as int
MAX_TIME = 2**32 - 1  # block header nTime is uint32
MAX_DIFFICULTY = 2.0**224  # pow limit of 1 / 2**256 target: ~2.7e67; anything above is absurd
MIN_DIFFICULTY = 1e-12  # regtest's minimum is 4.66e-10; subnormals and zero are impossible
MAX_FEE_RATE_SAT_VB = MAX_MONEY_SAT  # a 1 vB transaction paying all the money there is
MAX_LIST = 1_000_000  # longest list an answer may carry (getrawmempool on a huge mempool)
MAX_SUBSIDY_SAT = 50 * 100_000_000
MAX_TXS_PER_BLOCK = MAX_BLOCK_WEIGHT // 240  # ~16.7k: the smallest transaction weighs > 240


class AnswerInvalid(NodeProtocolError, ValueError):
    """A node answer that parses but cannot be true."""


def _fail(what: str, value: Any, why: str) -> AnswerInvalid:
    shown = repr(value)
    if len(shown) > 40:  # never echo a huge or hostile value into logs
        shown = shown[:37] + "..."
    return AnswerInvalid(f"invalid node answer: {what}={shown} {why}")


def check_int(value: Any, what: str, low: int, high: int) -> int:
    """An integer in [low, high]. Floats with an integral value (JSON ``5.0``) are accepted."""
    if isinstance(value, bool) or value is None:
        raise _fail(what, value, "is not an integer")
    if isinstance(value, int):
        n = value
    elif isinstance(value, (float, Decimal)):
        if not math.isfinite(value) or value != int(value):
            raise _fail(what, value, "is not an integer")
        n = int(value)
    else:
        raise _fail(what, value, "is not an integer")
    if not low <= n <= high:
        raise _fail(what, value, f"outside [{low}, {high}]")
    return n


def check_float(
    value: Any, what: str, low: float, high: float, *, low_open: bool = False
) -> float:
    """A finite number in [low, high] (or (low, high] with ``low_open``); never NaN or inf."""
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        raise _fail(what, value, "is not a number")
    x = float(value)
    if not math.isfinite(x):
        raise _fail(what, value, "is not finite")
    if x < low or x > high or (low_open and x == low):
        raise _fail(what, value, f"outside {'(' if low_open else '['}{low}, {high}]")
    return x


def check_difficulty(value: Any, what: str = "difficulty") -> float:
    """A difficulty: finite, positive, not subnormal (regtest's 4.66e-10 is the smallest)."""
    return check_float(value, what, MIN_DIFFICULTY, MAX_DIFFICULTY)


def check_height(value: Any, what: str = "height") -> int:
    return check_int(value, what, 0, MAX_HEIGHT)


def check_time(value: Any, what: str = "time") -> int:
    return check_int(value, what, 0, MAX_TIME)


def check_sat(value: Any, what: str) -> int:
    """An amount already in satoshis (``getblockstats``): 0 .. MAX_MONEY."""
    return check_int(value, what, 0, MAX_MONEY_SAT)


def check_fee(value: Any, what: str, *, signed: bool = False) -> int:
    """A BTC amount (Decimal/float from JSON) to satoshis, within +-MAX_MONEY.

    ``signed`` allows negative values (a modified fee after a negative prioritisation).
    """
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        raise _fail(what, value, "is not an amount")
    if isinstance(value, float) and not math.isfinite(value):
        raise _fail(what, value, "is not finite")
    if isinstance(value, Decimal) and not value.is_finite():
        raise _fail(what, value, "is not finite")
    d = value if isinstance(value, Decimal) else Decimal(str(value))
    sat = d * 100_000_000
    n = int(sat.to_integral_value())
    if not (-MAX_MONEY_SAT if signed else 0) <= n <= MAX_MONEY_SAT:
        raise _fail(what, value, "outside the money range")
    return n


def check_hash(value: Any, what: str = "hash") -> str:
    """A 64-hex-digit block or transaction hash, lower case as Core prints it."""
    if not isinstance(value, str) or len(value) != 64:
        raise _fail(what, value, "is not a 64-hex-digit hash")
    try:
        int(value, 16)
    except ValueError:
        raise _fail(what, value, "is not a 64-hex-digit hash") from None
    return value.lower()


def check_txid(value: Any, what: str = "txid") -> bytes:
    """A hex txid as the mempool model's key (raw bytes in display order)."""
    return bytes.fromhex(check_hash(value, what))


def check_bits(value: Any, what: str = "bits") -> int:
    """Compact target bits as Core prints them (8 hex digits) that encode a positive target."""
    if not isinstance(value, str) or len(value) != 8:
        raise _fail(what, value, "is not 8 hex digits")
    try:
        bits = int(value, 16)
    except ValueError:
        raise _fail(what, value, "is not 8 hex digits") from None
    mantissa, size = bits & 0x007FFFFF, bits >> 24
    if mantissa == 0 or bits & 0x00800000 or size > 34 or size < 1:
        raise _fail(what, value, "encodes no positive target")
    return bits


def check_bool(value: Any, what: str) -> bool:
    if not isinstance(value, bool):
        raise _fail(what, value, "is not a boolean")
    return value


def check_str(value: Any, what: str, max_len: int = 256) -> str:
    if not isinstance(value, str) or len(value) > max_len:
        raise _fail(what, value, f"is not a string of at most {max_len} characters")
    return value


def check_mapping(value: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise _fail(what, type(value).__name__, "is not an object")
    return value


def check_list(value: Any, what: str, max_len: int = MAX_LIST) -> Sequence[Any]:
    """A JSON array (``None`` reads as empty, as Core omits empty lists in some answers)."""
    if value is None:
        return ()
    if not isinstance(value, (list, tuple)) or len(value) > max_len:
        raise _fail(what, type(value).__name__, f"is not a list of at most {max_len} items")
    return value


def check_percentiles(value: Any, what: str = "feerate_percentiles") -> tuple[float, ...]:
    """Five non-decreasing, finite, non-negative fee rates (sat/vB)."""
    items = check_list(value, what, 5)
    if len(items) != 5:
        raise _fail(what, value, "does not hold 5 percentiles")
    rates = tuple(check_float(x, what, 0.0, MAX_FEE_RATE_SAT_VB) for x in items)
    if list(rates) != sorted(rates):
        raise _fail(what, value, "is not non-decreasing")
    return rates


def check_batch_ids(sent: Sequence[Any], answers: Sequence[Any]) -> None:
    """A JSON-RPC batch answer must carry each request id exactly once, and nothing else.

    For the RPC layer (``node/rpc.py``) to call before matching answers to requests by id: a
    duplicated, missing or unknown id means the answer cannot be attributed (a rotated batch
    would otherwise put one call's result under another call's name). Raises
    :class:`AnswerInvalid`.
    """
    if not isinstance(answers, (list, tuple)):
        raise _fail("batch", type(answers).__name__, "is not a list")
    if len(answers) != len(sent):
        raise _fail("batch", len(answers), f"answers for {len(sent)} requests")
    seen: set[Any] = set()
    expected = set(sent)
    for a in answers:
        if not isinstance(a, Mapping):
            raise _fail("batch item", type(a).__name__, "is not an object")
        i = a.get("id")
        if isinstance(i, (dict, list)) or i in seen or i not in expected:
            raise _fail("batch id", i, "is duplicated or unknown")
        seen.add(i)
