"""Hashprice, hashcost, margin and break-even: hand-computed values and properties."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hashwatch.indicators import economics as econ
from hashwatch.indicators.economics import CostScenario, compute_economics
from hashwatch.metrics.catalog import CATALOG

from .econ_helpers import SEED_DIFFICULTY


@pytest.mark.parametrize(
    ("height", "sats"),
    [(0, 5_000_000_000), (209_999, 5_000_000_000), (210_000, 2_500_000_000),
     (840_000, 312_500_000), (925_344, 312_500_000), (1_050_000, 156_250_000),
     (64 * 210_000, 0)],
)
def test_subsidy_sat_at_halving_boundaries_matches_core(height: int, sats: int) -> None:
    assert econ.subsidy_sat(height) == sats


def test_expected_blocks_per_phs_day_at_seed_difficulty_matches_network_share() -> None:
    # Network hashrate = D x 2^32 / 600 s; one PH/s gets 144 blocks/day x (1e15 / network).
    network = SEED_DIFFICULTY * 2**32 / 600
    assert econ.expected_blocks_per_phs_day(SEED_DIFFICULTY) == pytest.approx(144 * 1e15 / network)
    assert econ.expected_blocks_per_phs_day(SEED_DIFFICULTY) == pytest.approx(1.347381e-4, rel=1e-6)


def test_expected_blocks_per_phs_day_nonpositive_difficulty_raises() -> None:
    with pytest.raises(ValueError):
        econ.expected_blocks_per_phs_day(0.0)


def test_hashprice_btc_per_phs_day_seed_figures_near_34_usd() -> None:
    # The seed: difficulty 149.30 T, BTC near $80.5k, low fees (0.025 BTC per block).
    btc = econ.hashprice_btc_per_phs_day(SEED_DIFFICULTY, 312_500_000, 2_500_000)
    assert btc == pytest.approx(1.3473815e-4 * 3.15, rel=1e-6)
    assert btc * 80_500 == pytest.approx(34.17, abs=0.01)
    assert 33.5 < btc * 80_500 < 34.5


def test_hashprice_btc_per_phs_day_nov3_report_matches_published_btc_value() -> None:
    # 2025-11-03: difficulty 155.97 T, reported 0.00040577 BTC/PH/s/day (fees ~0.021 BTC/block).
    btc = econ.hashprice_btc_per_phs_day(155.97e12, 312_500_000, 2_110_000)
    assert btc == pytest.approx(0.00040577, rel=2e-3)


def test_mean_fee_sat_no_blocks_is_none() -> None:
    assert econ.mean_fee_sat([]) is None
    assert econ.mean_fee_sat([1, 2, 6]) == 3


# Hand-computed scenario: 20 J/TH, $0.05/kWh, 25 % power tariff, 10 % curtailment,
# hardware $15/TH + 25 % tariff over 1000 days, 2 % pool fee, $2 other opex.
#   energy 20 x 24 = 480 kWh/PH/day; power 480 x 0.9 x 0.05 x 1.25 = 27.00
#   hardware 15 x 1.25 x 1000 / 1000 = 18.75; hashcost = 27 + 18.75 + 2 = 47.75
#   at hashprice $50: revenue 50 x 0.98 x 0.9 = 44.10; margin = -3.65
#   break-even power = (44.10 - 20.75) / (480 x 0.9 x 1.25) = 23.35 / 540
#   break-even hashprice = 47.75 / (0.98 x 0.9)
FULL = CostScenario(
    name="full", efficiency_j_per_th=20, power_price_usd_per_kwh=0.05, power_tariff_ratio=0.25,
    hardware_usd_per_th=15, hardware_tariff_ratio=0.25, hardware_amortisation_days=1000,
    curtailment_ratio=0.1, pool_fee_ratio=0.02, other_opex_usd_per_phs_day=2,
)
PLAIN = CostScenario(name="plain", efficiency_j_per_th=20, power_price_usd_per_kwh=0.05)


def test_hashcost_usd_per_phs_day_all_terms_hand_computed() -> None:
    assert econ.energy_kwh_per_phs_day(20) == 480
    assert econ.power_cost_usd_per_phs_day(FULL) == pytest.approx(27.0)
    assert econ.fixed_cost_usd_per_phs_day(FULL) == pytest.approx(20.75)
    assert econ.hashcost_usd_per_phs_day(FULL) == pytest.approx(47.75)


def test_margin_usd_per_phs_day_all_terms_hand_computed() -> None:
    assert econ.margin_usd_per_phs_day(FULL, 50.0) == pytest.approx(-3.65)


def test_breakeven_power_price_usd_per_kwh_all_terms_hand_computed() -> None:
    assert econ.breakeven_power_price_usd_per_kwh(FULL, 50.0) == pytest.approx(23.35 / 540)


def test_breakeven_hashprice_usd_per_phs_day_all_terms_hand_computed() -> None:
    assert econ.breakeven_hashprice_usd_per_phs_day(FULL) == pytest.approx(47.75 / 0.882)


def test_scenario_plain_at_seed_hashprice_hand_computed() -> None:
    # 20 J/TH at $0.05: 480 kWh x 0.05 = $24.00; at $34.17 hashprice the margin is $10.17.
    assert econ.hashcost_usd_per_phs_day(PLAIN) == pytest.approx(24.0)
    assert econ.margin_usd_per_phs_day(PLAIN, 34.17) == pytest.approx(10.17)
    assert econ.breakeven_power_price_usd_per_kwh(PLAIN, 34.17) == pytest.approx(34.17 / 480)
    assert econ.breakeven_hashprice_usd_per_phs_day(PLAIN) == pytest.approx(24.0)


def test_breakeven_power_price_fixed_costs_exceed_revenue_is_negative() -> None:
    s = CostScenario(name="x", efficiency_j_per_th=20, power_price_usd_per_kwh=0.05,
                     other_opex_usd_per_phs_day=40)
    assert econ.breakeven_power_price_usd_per_kwh(s, 30.0) < 0


@pytest.mark.parametrize(
    "kwargs",
    [{"efficiency_j_per_th": 0}, {"curtailment_ratio": 1.0}, {"pool_fee_ratio": 1.0},
     {"power_price_usd_per_kwh": -0.01}, {"hardware_amortisation_days": 0}],
)
def test_cost_scenario_out_of_domain_raises(kwargs: dict) -> None:
    base = {"name": "x", "efficiency_j_per_th": 20, "power_price_usd_per_kwh": 0.05}
    with pytest.raises(ValueError):
        CostScenario(**{**base, **kwargs})


ratios = st.floats(min_value=0, max_value=0.95)
scenarios = st.builds(
    CostScenario,
    name=st.just("s"),
    efficiency_j_per_th=st.floats(min_value=5, max_value=150),
    power_price_usd_per_kwh=st.floats(min_value=0, max_value=0.5),
    power_tariff_ratio=st.floats(min_value=0, max_value=2),
    hardware_usd_per_th=st.floats(min_value=0, max_value=50),
    hardware_tariff_ratio=st.floats(min_value=0, max_value=2),
    hardware_amortisation_days=st.floats(min_value=100, max_value=3000),
    curtailment_ratio=ratios,
    pool_fee_ratio=st.floats(min_value=0, max_value=0.1),
    other_opex_usd_per_phs_day=st.floats(min_value=0, max_value=20),
)
hashprices = st.floats(min_value=0.5, max_value=1000)


def _with_power_price(s: CostScenario, price: float) -> CostScenario:
    return CostScenario(**{**s.__dict__, "power_price_usd_per_kwh": price})


@given(scenarios, hashprices)
def test_margin_usd_per_phs_day_at_breakeven_power_price_is_zero(
    s: CostScenario, hp: float
) -> None:
    be = econ.breakeven_power_price_usd_per_kwh(s, hp)
    if be >= 0:
        at_be = _with_power_price(s, be)
        assert econ.margin_usd_per_phs_day(at_be, hp) == pytest.approx(0, abs=1e-9 * (1 + hp))


@given(scenarios)
def test_margin_usd_per_phs_day_at_breakeven_hashprice_is_zero(s: CostScenario) -> None:
    be = econ.breakeven_hashprice_usd_per_phs_day(s)
    scale = 1 + econ.hashcost_usd_per_phs_day(s)
    assert econ.margin_usd_per_phs_day(s, be) == pytest.approx(0, abs=1e-9 * scale)


@given(scenarios, hashprices, st.floats(min_value=0, max_value=0.5), st.floats(0, 0.5))
def test_margin_usd_per_phs_day_higher_power_price_never_raises_margin(
    s: CostScenario, hp: float, p1: float, p2: float
) -> None:
    lo, hi = sorted((p1, p2))
    assert econ.margin_usd_per_phs_day(_with_power_price(s, hi), hp) <= (
        econ.margin_usd_per_phs_day(_with_power_price(s, lo), hp)
    )


@given(scenarios, hashprices, hashprices)
def test_margin_usd_per_phs_day_higher_hashprice_never_lowers_margin(
    s: CostScenario, h1: float, h2: float
) -> None:
    lo, hi = sorted((h1, h2))
    assert econ.margin_usd_per_phs_day(s, hi) >= econ.margin_usd_per_phs_day(s, lo)


@given(scenarios, st.floats(min_value=0.01, max_value=1))
def test_hashcost_usd_per_phs_day_tariff_never_lowers_cost(s: CostScenario, extra: float) -> None:
    tariffed = CostScenario(**{**s.__dict__, "power_tariff_ratio": s.power_tariff_ratio + extra})
    assert econ.hashcost_usd_per_phs_day(tariffed) >= econ.hashcost_usd_per_phs_day(s)


@given(st.floats(min_value=1e9, max_value=1e18), st.integers(0, 5_000_000_000),
       st.integers(0, 100_000_000))
def test_hashprice_btc_per_phs_day_doubling_difficulty_halves_it(
    d: float, sub: int, fee: int
) -> None:
    one = econ.hashprice_btc_per_phs_day(d, sub, fee)
    two = econ.hashprice_btc_per_phs_day(2 * d, sub, fee)
    assert two == pytest.approx(one / 2, rel=1e-12, abs=1e-300)


def test_compute_economics_no_blocks_is_none() -> None:
    assert compute_economics(height=1, difficulty=1e12, fees_sat=[], scenarios=[]) is None


def test_compute_economics_without_price_usd_values_absent() -> None:
    section = compute_economics(height=925_400, difficulty=SEED_DIFFICULTY,
                                fees_sat=[2_500_000] * 144, scenarios=[PLAIN])
    assert section is not None
    names = {v.name for v in section.values()}
    assert "hashprice_btc_per_phs_day" in names
    assert "hashcost_usd_per_phs_day" in names
    assert not names & {"hashprice_usd_per_phs_day", "margin_usd_per_phs_day",
                        "breakeven_power_price_usd_per_kwh", "btc_price_usd"}
    assert section.scenarios[0].margin_usd_per_phs_day is None


def test_compute_economics_seed_with_price_gives_margin_per_scenario() -> None:
    section = compute_economics(height=925_400, difficulty=SEED_DIFFICULTY,
                                fees_sat=[2_000_000, 3_000_000], scenarios=[PLAIN, FULL],
                                btc_price_usd=80_500, price_fetched_at=0.0)
    assert section is not None
    assert section.subsidy_sat == 312_500_000 and section.mean_fee_sat == 2_500_000
    assert section.hashprice_usd_per_phs_day == pytest.approx(34.166, abs=0.01)
    margins = {v.labels: v.value for v in section.values() if v.name == "margin_usd_per_phs_day"}
    assert margins[(("scenario", "plain"),)] == pytest.approx(34.166 - 24.0, abs=0.01)
    assert (("scenario", "full"),) in margins


def test_compute_economics_subsidy_is_next_blocks_at_halving() -> None:
    section = compute_economics(height=1_049_999, difficulty=1e14, fees_sat=[0], scenarios=[])
    assert section is not None and section.subsidy_sat == 156_250_000


def test_economics_section_usd_fresh_after_max_age_false() -> None:
    section = compute_economics(height=1, difficulty=1e12, fees_sat=[0], scenarios=[],
                                btc_price_usd=80_000, price_fetched_at=100.0,
                                price_max_age_seconds=60)
    assert section is not None
    assert section.usd_fresh(160.0) and not section.usd_fresh(161.0)


def test_economics_section_values_names_are_in_the_contract() -> None:
    section = compute_economics(height=925_400, difficulty=SEED_DIFFICULTY, fees_sat=[1],
                                scenarios=[FULL], btc_price_usd=80_500, price_fetched_at=0.0)
    assert section is not None
    for v in section.values():
        assert CATALOG[v.name].rule, v.name
        assert math.isfinite(v.value)
