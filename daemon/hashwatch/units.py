"""Bitcoin amount units as Core reports them, converted exactly (pure, no I/O).

Why one place: Core sends amounts in BTC (parsed as ``Decimal`` by the RPC layer) and relay fee
rates in BTC/kvB; every feature wants satoshis and sat/vB, with no float rounding on the way.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

SAT_PER_BTC = 100_000_000


def btc_to_sat(value: Any) -> int:
    """BTC amount (Decimal from the RPC layer, or float/str) to integer satoshis, exactly."""
    if type(value) is Decimal:  # the RPC layer's type: the product is exact, no str round trip
        sat = value * SAT_PER_BTC
        n = int(sat)
        return n if n == sat else int(sat.to_integral_value())
    return int((Decimal(str(value)) * SAT_PER_BTC).to_integral_value())


def btc_per_kvb_to_sat_per_vb(value: Any) -> float:
    """Core reports relay fees in BTC/kvB; 1 BTC/kvB = 100,000 sat/vB."""
    return float(Decimal(str(value)) * SAT_PER_BTC / 1000)
