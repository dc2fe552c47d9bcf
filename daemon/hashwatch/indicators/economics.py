"""Miner economics: hashprice, hashcost, margin and break-even, as pure functions over plain data.

Why pure: these numbers drive money decisions (curtail, renegotiate power, buy machines), so every
term must be checkable by hand and by property tests; no I/O, no clock, no config objects here.
The collector (``collect/economics.py``) feeds node status, recent blocks and the BTC price in.

Units, all per PH/s of *installed* hashrate per day:

- hashprice (BTC/PH/s/day) = 86,400 x 10^15 / (difficulty x 2^32) x (subsidy + mean fees per block).
  The first factor is the expected number of blocks one PH/s finds per day at this difficulty.
- revenue (USD) = hashprice_usd x (1 - pool_fee) x (1 - curtailment): the pool keeps its fee, and
  during curtailment (grid demand response, power caps) the fleet is off and earns nothing.
- power cost (USD) = efficiency (J/TH = W per TH/s) x 1000 TH/PH x 24 h / 1000 W/kW
  x power price x (1 + power tariff) x (1 - curtailment): switched-off machines draw no power.
- hardware (USD) = hardware price (USD/TH) x (1 + hardware tariff) x 1000 / amortisation days:
  import duties on machines, spread straight-line over their life; paid whether curtailed or not.
- hashcost = power cost + hardware + other opex (hosting, staff, ...; per installed PH/s per day).
- margin = revenue - hashcost.
- break-even power price: the USD/kWh at which margin = 0 (negative when fixed costs alone exceed
  revenue: no power price makes the fleet profitable).
- break-even hashprice: the network hashprice (USD/PH/s/day, before pool fee and curtailment) at
  which margin = 0, i.e. hashcost / ((1 - pool_fee) x (1 - curtailment)).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from ..snapshot.store import IndicatorValue
from ..units import SAT_PER_BTC

INITIAL_SUBSIDY_SAT = 50 * SAT_PER_BTC
HALVING_INTERVAL = 210_000
SECONDS_PER_DAY = 86_400
HASHES_PER_PH = 10**15
TH_PER_PH = 1000


def subsidy_sat(height: int) -> int:
    """Block subsidy at ``height`` in sats (Core's GetBlockSubsidy: one right shift per halving)."""
    if height < 0:
        raise ValueError("height must be >= 0")
    halvings = height // HALVING_INTERVAL
    if halvings >= 64:  # Core special-cases this: shifting by >= 64 is undefined in C++
        return 0
    return INITIAL_SUBSIDY_SAT >> halvings


def expected_blocks_per_phs_day(difficulty: float) -> float:
    """Blocks one PH/s finds per day on average: each hash wins with probability 1/(D x 2^32)."""
    if not difficulty > 0 or math.isinf(difficulty):
        raise ValueError("difficulty must be a positive finite number")
    return SECONDS_PER_DAY * HASHES_PER_PH / (difficulty * 2**32)


def mean_fee_sat(fees_sat: Sequence[int]) -> float | None:
    """Mean fees per block over the given blocks; None for no blocks (unknown, not zero)."""
    if not fees_sat:
        return None
    return sum(fees_sat) / len(fees_sat)


def hashprice_btc_per_phs_day(difficulty: float, subsidy: int, mean_fees: float) -> float:
    """Expected BTC per PH/s per day: expected blocks x (subsidy + mean fees), sats -> BTC."""
    if subsidy < 0 or mean_fees < 0:
        raise ValueError("subsidy and fees must be >= 0")
    return expected_blocks_per_phs_day(difficulty) * (subsidy + mean_fees) / SAT_PER_BTC


@dataclass(frozen=True)
class PriceQuote:
    """One good BTC/USD price. ``source`` is ``static`` or ``http`` (a bounded metric label)."""

    usd: float
    fetched_at: float
    source: str
    max_age_seconds: float = math.inf

    def age_seconds(self, now: float) -> float:
        return max(0.0, now - self.fetched_at)

    def is_fresh(self, now: float) -> bool:
        return self.age_seconds(now) <= self.max_age_seconds


@dataclass(frozen=True)
class PriceFailure:
    """The last price fetch failed (global ``price_error``; ``None`` there: the last one worked)."""

    reason: str
    at: float
    source: str


@dataclass(frozen=True)
class CostScenario:
    """One operator cost profile (plain data; mirrors ``config.economics.ScenarioConfig``).

    Ratios are fractions (0.25 = 25 %). A policy change is modelled as a second scenario.
    """

    name: str
    efficiency_j_per_th: float
    power_price_usd_per_kwh: float
    power_tariff_ratio: float = 0.0
    hardware_usd_per_th: float = 0.0
    hardware_tariff_ratio: float = 0.0
    hardware_amortisation_days: float = 1095.0
    curtailment_ratio: float = 0.0
    pool_fee_ratio: float = 0.0
    other_opex_usd_per_phs_day: float = 0.0

    def __post_init__(self) -> None:
        if not self.efficiency_j_per_th > 0:
            raise ValueError("efficiency_j_per_th must be > 0")
        if not 0 <= self.curtailment_ratio < 1 or not 0 <= self.pool_fee_ratio < 1:
            raise ValueError("curtailment_ratio and pool_fee_ratio must be in [0, 1)")
        if not self.hardware_amortisation_days > 0:
            raise ValueError("hardware_amortisation_days must be > 0")
        for name in ("power_price_usd_per_kwh", "power_tariff_ratio", "hardware_usd_per_th",
                     "hardware_tariff_ratio", "other_opex_usd_per_phs_day"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0")


def energy_kwh_per_phs_day(efficiency_j_per_th: float) -> float:
    """kWh one PH/s draws in a day running flat out: J/TH x 1000 TH/PH x 24 h / 1000 W/kW."""
    return efficiency_j_per_th * TH_PER_PH * 24 / 1000


def _running_share(s: CostScenario) -> float:
    return 1.0 - s.curtailment_ratio


def power_cost_usd_per_phs_day(s: CostScenario) -> float:
    """Power bill per installed PH/s per day, tariff included, curtailed hours not billed."""
    price = s.power_price_usd_per_kwh
    kwh = energy_kwh_per_phs_day(s.efficiency_j_per_th) * _running_share(s)
    return kwh * price * (1 + s.power_tariff_ratio)


def fixed_cost_usd_per_phs_day(s: CostScenario) -> float:
    """Costs that do not stop when the machines do: amortised (tariffed) hardware plus opex."""
    hardware_per_ph = s.hardware_usd_per_th * (1 + s.hardware_tariff_ratio) * TH_PER_PH
    hardware = hardware_per_ph / s.hardware_amortisation_days
    return hardware + s.other_opex_usd_per_phs_day


def hashcost_usd_per_phs_day(s: CostScenario) -> float:
    """All-in cost per installed PH/s per day (power + hardware + opex)."""
    return power_cost_usd_per_phs_day(s) + fixed_cost_usd_per_phs_day(s)


def revenue_usd_per_phs_day(s: CostScenario, hashprice_usd: float) -> float:
    """What the operator keeps of the network hashprice: after pool fee, while running."""
    return hashprice_usd * (1 - s.pool_fee_ratio) * _running_share(s)


def margin_usd_per_phs_day(s: CostScenario, hashprice_usd: float) -> float:
    """Revenue minus hashcost per installed PH/s per day (negative: mining at a loss)."""
    return revenue_usd_per_phs_day(s, hashprice_usd) - hashcost_usd_per_phs_day(s)


def breakeven_power_price_usd_per_kwh(s: CostScenario, hashprice_usd: float) -> float:
    """Power price (USD/kWh, before tariff) at which margin is zero; may be negative."""
    # power cost is linear in the price: cost = price x kwh x (1 + tariff); solve margin = 0.
    per_unit_price = energy_kwh_per_phs_day(s.efficiency_j_per_th) * _running_share(s)
    per_unit_price *= 1 + s.power_tariff_ratio
    left_for_power = revenue_usd_per_phs_day(s, hashprice_usd) - fixed_cost_usd_per_phs_day(s)
    return left_for_power / per_unit_price


def breakeven_hashprice_usd_per_phs_day(s: CostScenario) -> float:
    """Network hashprice (USD/PH/s/day) at which this scenario's margin is zero."""
    return hashcost_usd_per_phs_day(s) / ((1 - s.pool_fee_ratio) * _running_share(s))


@dataclass(frozen=True)
class ScenarioResult:
    """One scenario's numbers; USD-price-dependent ones are None without a fresh price."""

    name: str
    hashcost_usd_per_phs_day: float
    breakeven_hashprice_usd_per_phs_day: float
    margin_usd_per_phs_day: float | None
    breakeven_power_price_usd_per_kwh: float | None


def evaluate_scenario(s: CostScenario, hashprice_usd: float | None) -> ScenarioResult:
    """Every number of one scenario; margin and break-even power price need a USD hashprice."""
    margin = breakeven_power = None
    if hashprice_usd is not None:
        margin = margin_usd_per_phs_day(s, hashprice_usd)
        breakeven_power = breakeven_power_price_usd_per_kwh(s, hashprice_usd)
    return ScenarioResult(
        name=s.name,
        hashcost_usd_per_phs_day=hashcost_usd_per_phs_day(s),
        breakeven_hashprice_usd_per_phs_day=breakeven_hashprice_usd_per_phs_day(s),
        margin_usd_per_phs_day=margin,
        breakeven_power_price_usd_per_kwh=breakeven_power,
    )


@dataclass(frozen=True)
class EconomicsSection:
    """The ``economics`` snapshot section of one node.

    ``price_fetched_at``/``price_max_age_seconds`` travel with the USD numbers so a reader can
    drop them once the price they were computed from has gone stale (absent, not stale).
    """

    height: int  # the tip; subsidy is the next block's (the one being mined)
    difficulty: float
    subsidy_sat: int
    mean_fee_sat: float
    fee_blocks: int  # how many blocks the fee mean covers
    hashprice_btc_per_phs_day: float
    btc_price_usd: float | None = None
    price_fetched_at: float | None = None
    price_max_age_seconds: float = math.inf
    scenarios: tuple[ScenarioResult, ...] = ()

    @property
    def hashprice_usd_per_phs_day(self) -> float | None:
        if self.btc_price_usd is None:
            return None
        return self.hashprice_btc_per_phs_day * self.btc_price_usd

    def usd_fresh(self, now: float) -> bool:
        """True while the price behind the USD numbers is younger than its maximum age."""
        if self.btc_price_usd is None or self.price_fetched_at is None:
            return False
        return now - self.price_fetched_at <= self.price_max_age_seconds

    def values(self) -> Iterator[IndicatorValue]:
        btc = self.hashprice_btc_per_phs_day
        yield IndicatorValue("hashprice_btc_per_phs_day", btc)
        yield IndicatorValue("hashprice_btc_per_ths_day", btc / TH_PER_PH)
        usd = self.hashprice_usd_per_phs_day
        if usd is not None:
            yield IndicatorValue("btc_price_usd", float(self.btc_price_usd or 0.0))
            yield IndicatorValue("hashprice_usd_per_phs_day", usd)
            yield IndicatorValue("hashprice_usd_per_ths_day", usd / TH_PER_PH)
        for r in self.scenarios:
            labels = (("scenario", r.name),)
            yield IndicatorValue("hashcost_usd_per_phs_day", r.hashcost_usd_per_phs_day, labels)
            yield IndicatorValue(
                "breakeven_hashprice_usd_per_phs_day", r.breakeven_hashprice_usd_per_phs_day, labels
            )
            if r.margin_usd_per_phs_day is not None:
                yield IndicatorValue("margin_usd_per_phs_day", r.margin_usd_per_phs_day, labels)
            if r.breakeven_power_price_usd_per_kwh is not None:
                yield IndicatorValue(
                    "breakeven_power_price_usd_per_kwh", r.breakeven_power_price_usd_per_kwh, labels
                )


def compute_economics(
    *,
    height: int,
    difficulty: float,
    fees_sat: Sequence[int],
    scenarios: Sequence[CostScenario],
    btc_price_usd: float | None = None,
    price_fetched_at: float | None = None,
    price_max_age_seconds: float = math.inf,
) -> EconomicsSection | None:
    """The whole section from plain inputs; None when fees are unknown (no blocks) or D <= 0.

    ``fees_sat`` are the total fees of the trailing blocks; the subsidy is that of block
    ``height + 1``, the one miners are working on (it matters at a halving).
    """
    fees = mean_fee_sat(fees_sat)
    if fees is None or not 0 < difficulty < math.inf:
        return None
    subsidy = subsidy_sat(height + 1)
    btc = hashprice_btc_per_phs_day(difficulty, subsidy, fees)
    usd = None if btc_price_usd is None else btc * btc_price_usd
    return EconomicsSection(
        height=height,
        difficulty=difficulty,
        subsidy_sat=subsidy,
        mean_fee_sat=fees,
        fee_blocks=len(fees_sat),
        hashprice_btc_per_phs_day=btc,
        btc_price_usd=btc_price_usd,
        price_fetched_at=price_fetched_at if btc_price_usd is not None else None,
        price_max_age_seconds=price_max_age_seconds,
        scenarios=tuple(evaluate_scenario(s, usd) for s in scenarios),
    )
