"""``hashwatch status`` rows for economics: hashprice, the BTC price and margin per scenario.

Why these rows: an operator running ``status`` wants one answer first: am I making money at each
cost profile? Missing inputs are named (no price, no blocks yet) instead of printing zeros.
"""

from __future__ import annotations

from ..collect.economics import REGTEST_NOTE
from ..snapshot.store import NodeSnapshot, Snapshot
from .difficulty import format_difficulty


def _usd(v: float) -> str:
    return f"{'-' if v < 0 else ''}${abs(v):,.2f}"


def price_row(snapshot: Snapshot, now: float) -> tuple[str, str] | None:
    quote = snapshot.price
    failure = snapshot.price_error
    why = f", last fetch failed: {failure.reason}" if failure is not None else ""
    if quote is not None:
        age = quote.age_seconds(now)
        if quote.is_fresh(now):
            return "BTC price", f"{_usd(quote.usd)} ({quote.source}, {age:,.0f} s old{why})"
        return "BTC price", (
            f"none: last price is {age:,.0f} s old (max {quote.max_age_seconds:,.0f} s){why}; "
            "USD values absent"
        )
    if failure is not None:
        return "BTC price", f"none: {failure.reason}; USD values absent"
    return None


def rows(node: NodeSnapshot, snapshot: Snapshot, now: float | None = None) -> list[tuple[str, str]]:
    now = snapshot.taken_at if now is None else now  # the daemon's clock, not the wall
    out: list[tuple[str, str]] = []
    price = price_row(snapshot, now)
    if price is not None:
        out.append(price)
    section = node.economics
    if section is None:
        if node.status is not None and node.status.chain == "regtest":
            out.append(("hashprice", REGTEST_NOTE))
        else:
            out.append(("hashprice", "not computed yet (needs node status and recent blocks)"))
        return out
    usd = section.hashprice_usd_per_phs_day if section.usd_fresh(now) else None
    hp = f"{section.hashprice_btc_per_phs_day:.8f} BTC/PH/s/day"
    if usd is not None:
        hp += f" = {_usd(usd)}/PH/s/day (${usd / 1000:.4f}/TH/s/day)"
    out.append(("hashprice", hp))
    out.append((
        "hashprice inputs",
        f"difficulty {format_difficulty(section.difficulty)}, "
        f"subsidy {section.subsidy_sat / 1e8:g} BTC, "
        f"mean fees {section.mean_fee_sat / 1e8:.8f} BTC over {section.fee_blocks} blocks",
    ))
    for r in section.scenarios:
        cost = f"cost {_usd(r.hashcost_usd_per_phs_day)}"
        be_hp = f"break-even hashprice {_usd(r.breakeven_hashprice_usd_per_phs_day)}"
        if usd is not None and r.margin_usd_per_phs_day is not None:
            sign = "+" if r.margin_usd_per_phs_day >= 0 else ""
            value = (
                f"{sign}{_usd(r.margin_usd_per_phs_day)}/PH/s/day ({cost}, {be_hp}, "
                f"break-even power {r.breakeven_power_price_usd_per_kwh:.4f} $/kWh)"
            )
        else:
            value = f"unknown without a BTC price ({cost}, {be_hp})"
        out.append((f"margin {r.name}", value))
    return out
