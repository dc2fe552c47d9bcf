"""Market-side boards: fees and mempool, economics, pools."""

from __future__ import annotations

from typing import Any

from .common import SAT, SATVB, SPIKE_STEPS, m, sc, scenario_var, stat, ts
from .model import custom_var, dashboard, node_var, panel, row, target


def fees() -> dict[str, Any]:
    hist = 'sum by (le) (' + m("hashwatch_mempool_histogram_vsize_bytes") + ')'
    items = [
        row("Now"),
        stat("Next-block median", m("hashwatch_fees_next_block_median_sat_per_vbyte"), SATVB,
             "Median fee rate of the next projected block.", decimals=1,
             steps=(("green", None), ("orange", 20), ("red", 100))),
        stat("Spike ratio", m("hashwatch_fees_spike_ratio"), "suffix:x",
             "Next-block median over its trailing baseline.", steps=SPIKE_STEPS, decimals=2),
        stat("Mempool min fee", m("hashwatch_mempool_min_fee_sat_per_vbyte"), SATVB,
             "Lowest fee rate the node's mempool accepts.", decimals=2),
        stat("Blocks to clear", m("hashwatch_mempool_blocks_to_clear"), "none",
             "Full blocks needed to mine the whole mempool.", decimals=1,
             steps=(("green", None), ("orange", 10))),
        stat("Mempool transactions", m("hashwatch_mempool_transactions"), "short",
             "Transactions in the mempool."),
        stat("Mempool fees", m("hashwatch_mempool_total_fee_sat"), SAT,
             "Sum of fees of all mempool transactions.", decimals=0),
        row("Distribution"),
        panel("heatmap", "Mempool by fee rate", [target(hist, "{{le}}", fmt="heatmap")],
              unit="decbytes", w=16, h=10,
              description="Virtual size of the mempool in each fee-rate band (sat/vB, upper "
              "bound) over time; the exporter's cumulative bands are de-accumulated.",
              options={"calculate": False, "cellGap": 1,
                       "yAxis": {"axisPlacement": "left", "unit": SATVB},
                       "rowsFrame": {"layout": "le"},
                       "color": {"mode": "scheme", "scheme": "Oranges", "scale": "exponential",
                                 "exponent": 0.5, "steps": 64, "fill": "dark-orange"},
                       "cellValues": {"unit": "decbytes"},
                       "tooltip": {"show": True, "yHistogram": False},
                       "legend": {"show": True}}),
        panel("bargauge", "Mempool by fee rate now", [
            target(hist, "{{le}} sat/vB", fmt="heatmap", instant=True)],
              unit="decbytes", w=8, h=10,
              description="Current virtual size per fee-rate band (sat/vB, upper bound)."),
        ts("Next block fee percentiles", [
            target(m("hashwatch_fees_next_block_percentile_sat_per_vbyte", 'block="1"'),
                   "p{{percentile}} {{node}}"),
        ], SATVB, "Fee rates of the next projected block (10th to 90th percentile).",
            custom={"scaleDistribution": {"type": "log", "log": 2}}),
        ts("Median of the next three blocks", [
            target(m("hashwatch_fees_next_block_percentile_sat_per_vbyte", 'percentile="50"'),
                   "block {{block}} {{node}}"),
        ], SATVB, "Median fee rate of projected blocks 1, 2 and 3."),
        ts("Fee spike ratio", [target(m("hashwatch_fees_spike_ratio"), "{{node}}")],
           "suffix:x",
           "Next-block median over its trailing baseline; the alert needs 3x and 20 sat/vB.",
           steps=SPIKE_STEPS, threshold_style="line", min=0),
        ts("Fee estimates", [
            target(m("hashwatch_fees_estimate_sat_per_vbyte"),
                   "{{target}} blocks {{mode}} {{node}}"),
        ], SATVB, "estimatesmartfee per confirmation target and mode."),
        row("Blocks"),
        ts("Fee share of block reward", [
            target(m("hashwatch_fees_block_fee_share_ratio"), "last {{window}} {{node}}"),
        ], "percentunit", "Fees over (subsidy + fees) in recent blocks.", min=0, max=1),
        ts("Fees per block", [
            target(m("hashwatch_fees_block_total_fee_sat"), "mean last {{window}} {{node}}"),
            target(m("hashwatch_fees_next_block_total_fee_sat"), "projected block {{block}}"),
        ], SAT, "Mean fees of recent blocks and total fees of the projected next blocks."),
        ts("Mempool size", [
            target(m("hashwatch_mempool_vsize_bytes"), "vsize {{node}}"),
            target(m("hashwatch_mempool_usage_bytes"), "memory {{node}}"),
            target(m("hashwatch_mempool_max_bytes"), "memory limit {{node}}"),
        ], "decbytes", "Virtual size and memory use of the mempool against -maxmempool."),
        ts("Mempool transactions and backlog", [
            target(m("hashwatch_mempool_transactions"), "transactions {{node}}"),
            target(m("hashwatch_mempool_blocks_to_clear"), "blocks to clear {{node}}"),
        ], "short", "Transaction count and how many full blocks the mempool holds."),
    ]
    return dashboard("hashwatch-fees", "hashwatch / Fees and mempool",
                     "Fee-rate histogram, next-block percentiles, spike ratio, estimates.",
                     items, [node_var()])


def economics() -> dict[str, Any]:
    items = [
        row("Revenue"),
        stat("BTC price", 'hashwatch_btc_price_usd', "currencyUSD",
             "Price from the configured source; absent without one.", legend="BTC/USD"),
        stat("Price age", 'hashwatch_price_age_seconds', "s", "Age of the last price.",
             legend="age", steps=(("green", None), ("orange", 600), ("red", 3600))),
        stat("Hashprice (USD)", m("hashwatch_hashprice_usd_per_phs_day"), "currencyUSD",
             "USD per PH/s per day.", decimals=2),
        stat("Hashprice (BTC)", m("hashwatch_hashprice_btc_per_phs_day"), "currencyBTC",
             "BTC per PH/s per day.", decimals=6),
        stat("Hashprice per TH", m("hashwatch_hashprice_usd_per_ths_day"), "currencyUSD",
             "USD per TH/s per day.", decimals=4),
        stat("Hashprice per TH (BTC)", m("hashwatch_hashprice_btc_per_ths_day"), "currencyBTC",
             "BTC per TH/s per day.", decimals=8),
        row("Cost scenarios"),
        ts("Hashprice vs hashcost", [
            target(m("hashwatch_hashprice_usd_per_phs_day"), "hashprice {{node}}"),
            target(sc("hashwatch_hashcost_usd_per_phs_day"), "hashcost {{scenario}}"),
        ], "currencyUSD", "Revenue and cost per PH/s per day; where hashcost crosses above, "
            "that scenario mines at a loss."),
        ts("Margin", [target(sc("hashwatch_margin_usd_per_phs_day"), "{{scenario}}")],
           "currencyUSD", "Hashprice minus hashcost per PH/s per day.",
           steps=(("red", None), ("green", 0)), threshold_style="area"),
        panel("bargauge", "Margin now", [
            target(sc("hashwatch_margin_usd_per_phs_day"), "{{scenario}}", instant=True)],
              unit="currencyUSD", w=8, h=8, steps=(("red", None), ("green", 0)),
              description="Current margin per scenario, USD per PH/s per day."),
        ts("Break-even power price", [
            target(sc("hashwatch_breakeven_power_price_usd_per_kwh"), "{{scenario}}"),
        ], "currencyUSD", "Power price (USD/kWh) at which the scenario's margin is zero.", w=8),
        ts("Break-even hashprice", [
            target(sc("hashwatch_breakeven_hashprice_usd_per_phs_day"), "{{scenario}}"),
            target(m("hashwatch_hashprice_usd_per_phs_day"), "hashprice {{node}}"),
        ], "currencyUSD", "Hashprice each scenario needs to break even, against the current one.",
            w=8),
        ts("BTC price", [target("hashwatch_btc_price_usd", "BTC/USD")], "currencyUSD",
           "Price from the configured source.", w=24, h=6),
    ]
    return dashboard("hashwatch-economics", "hashwatch / Economics",
                     "Hashprice against hashcost per cost scenario, margin and break-even.",
                     items, [node_var(), scenario_var()])


def pools() -> dict[str, Any]:
    share = m("hashwatch_pools_share_ratio", 'window="$window"')
    items = [
        row("Concentration"),
        panel("piechart", "Pool shares", [target(share, "{{pool}}", instant=True)],
              unit="percentunit", w=12, h=10,
              description="Share of the last $window blocks per pool (coinbase tag / payout "
              "address match)."),
        stat("Top pool share", m("hashwatch_pools_top_share_ratio", 'window="$window"'),
             "percentunit", "Share of the largest pool; the alert fires at 40% over 1008 blocks.",
             steps=(("green", None), ("orange", 0.3), ("red", 0.4)), w=6, h=5),
        stat("Nakamoto coefficient", m("hashwatch_pools_nakamoto_coefficient", 'window="$window"'),
             "none", "Fewest pools that together mine more than half of the blocks.",
             steps=(("red", None), ("orange", 3), ("green", 4)), w=6, h=5),
        stat("HHI", m("hashwatch_pools_hhi", 'window="$window"'), "none",
             "Herfindahl-Hirschman index of pool shares (higher: more concentrated).",
             decimals=3, w=6, h=5),
        stat("Unknown share", m("hashwatch_pools_unknown_share_ratio", 'window="$window"'),
             "percentunit", "Blocks no pool tag or address matched.", w=6, h=5,
             steps=(("green", None), ("orange", 0.1))),
        ts("Pool shares over time", [target(f"topk(10, {share})", "{{pool}}")], "percentunit",
           "The ten largest pools' shares over the selected window.", min=0,
           steps=(("green", None), ("red", 0.4)), threshold_style="line"),
        ts("Nakamoto coefficient and top share", [
            target(m("hashwatch_pools_nakamoto_coefficient"), "nakamoto {{window}}"),
            target(m("hashwatch_pools_top_share_ratio") + " * 10", "top share x10 {{window}}"),
        ], "none", "Nakamoto coefficient per window; top share scaled by 10 to share the axis.",
            steps=(("red", None), ("green", 3)), threshold_style="line"),
    ]
    variables = [node_var(), custom_var("window", "Blocks", ["144", "1008"], "1008")]
    return dashboard("hashwatch-pools", "hashwatch / Pools",
                     "Pool shares, top share, HHI and Nakamoto coefficient.", items, variables)
