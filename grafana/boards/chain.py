"""Chain-side boards: overview, difficulty and hashrate, node and daemon health."""

from __future__ import annotations

from typing import Any

from .common import (
    AGE_STEPS,
    CHANGE_STEPS,
    DROP_STEPS,
    OK_MAP,
    RI,
    SATVB,
    SPIKE_STEPS,
    UP_MAP,
    YESNO_MAP,
    m,
    sc,
    scenario_var,
    stat,
    ts,
)
from .model import GREEN, dashboard, node_var, panel, row, target


def overview() -> dict[str, Any]:
    items = [
        row("Node"),
        stat("Node", m("hashwatch_node_up"), "none", "1 when the last poll of the node succeeded.",
             steps=(("red", None), ("green", 1)), mappings=UP_MAP),
        stat("Height", m("hashwatch_node_blocks"), "none", "Blocks in the node's best chain."),
        stat("Best block age", m("hashwatch_node_best_block_age_seconds"), "s",
             "Time since the best block's timestamp; an hour without a block is rare.",
             steps=AGE_STEPS),
        stat("Alerts firing",
             "sum(hashwatch_alerts_firing)", "none",
             "Built-in alert instances firing now (absent when alerting is off).",
             legend="firing",
             steps=(("green", None), ("orange", 1))),
        stat("Peers", m("hashwatch_node_peers"), "none", "Connections of the node.",
             steps=(("red", None), ("orange", 1), ("green", 8))),
        stat("Mempool", m("hashwatch_mempool_vsize_bytes"), "decbytes",
             "Virtual size of the node's mempool."),
        row("The three indicators"),
        stat("Projected difficulty change", m("hashwatch_difficulty_projected_change_percent"),
             "percent", "Difficulty change at the next retarget if blocks keep coming at the "
             "epoch's pace (mempool.space method).", steps=CHANGE_STEPS, decimals=2, w=6, h=5),
        stat("Next-block median fee", m("hashwatch_fees_next_block_median_sat_per_vbyte"), SATVB,
             "Median fee rate of the next projected block.", decimals=1, w=6, h=5,
             steps=(("green", None), ("orange", 20), ("red", 100))),
        stat("Fee spike", m("hashwatch_fees_spike_ratio"), "suffix:x",
             "Next-block median over its trailing baseline; alert at 3x and 20 sat/vB.",
             steps=SPIKE_STEPS, decimals=2, w=6, h=5),
        stat("Hashprice", m("hashwatch_hashprice_usd_per_phs_day"), "currencyUSD",
             "Expected revenue per PH/s per day (subsidy + recent fees) at the current price.",
             decimals=2, w=6, h=5),
        ts("Difficulty: projected vs last retarget", [
            target(m("hashwatch_difficulty_projected_change_percent"), "projected {{node}}"),
            target(m("hashwatch_difficulty_last_retarget_change_percent"),
                   "last retarget {{node}}"),
        ], "percent", "How the running epoch's projection moves against the last real retarget.",
            steps=DROP_STEPS, threshold_style="line", w=8),
        ts("Fees: next block and spike", [
            target(m("hashwatch_fees_next_block_median_sat_per_vbyte"), "median {{node}}"),
            target(m("hashwatch_fees_next_block_percentile_sat_per_vbyte",
                     'block="1",percentile="90"'), "p90 {{node}}"),
        ], SATVB, "Median and 90th percentile fee rate of the next projected block.", w=8),
        ts("Margin per scenario", [
            target(sc("hashwatch_margin_usd_per_phs_day"), "{{scenario}}"),
        ], "currencyUSD", "Hashprice minus hashcost per PH/s per day for each cost scenario; "
            "below zero every PH/s loses money.", steps=(("red", None), ("green", 0)),
            threshold_style="area", w=8),
    ]
    return dashboard("hashwatch-overview", "hashwatch / Overview",
                     "Node state and the three indicators: difficulty, fees, economics.",
                     items, [node_var(), scenario_var()])


def difficulty() -> dict[str, Any]:
    items = [
        row("Epoch"),
        panel("gauge", "Epoch progress", [target(m("hashwatch_difficulty_epoch_progress_ratio"))],
              unit="percentunit", min=0, max=1, w=4, h=6,
              description="Share of the 2016-block epoch already mined."),
        stat("Blocks in epoch", m("hashwatch_difficulty_epoch_blocks"), "none",
             "Blocks mined since the epoch's first block.", h=6),
        stat("Blocks until retarget", m("hashwatch_difficulty_blocks_until_retarget"), "none",
             "Blocks left before the next retarget.", h=6),
        stat("Projected change", m("hashwatch_difficulty_projected_change_percent"), "percent",
             "Projected difficulty change at the next retarget.", steps=CHANGE_STEPS,
             decimals=2, h=6),
        stat("Projected retarget", m("hashwatch_difficulty_projected_retarget_time_seconds") +
             " * 1000", "dateTimeAsIso", "When the retarget block is expected (local time).",
             h=6),
        stat("Time to retarget", m("hashwatch_difficulty_seconds_until_retarget"), "dtdurations",
             "Remaining blocks times the epoch's average block interval.", h=6),
        row("Retargets"),
        stat("Difficulty", m("hashwatch_difficulty_current"), "short",
             "Current difficulty.", decimals=3, w=6),
        stat("Last retarget change", m("hashwatch_difficulty_last_retarget_change_percent"),
             "percent", "Change at the last retarget (seed: 925344, -1.95%).",
             steps=DROP_STEPS, decimals=2, w=6),
        stat("Last retarget height", m("hashwatch_difficulty_last_retarget_height"), "none",
             "Height of the block that started the current epoch.", w=6),
        stat("Hashrate recovering", m("hashwatch_hashrate_recovering"), "none",
             "1 when the implied hashrate climbs back after a drawdown.", mappings=YESNO_MAP, w=6),
        ts("Retarget history", [
            target(m("hashwatch_difficulty_last_retarget_change_percent"), "{{node}}"),
        ], "percent", "Change at each retarget (steps when a retarget happens).",
            steps=DROP_STEPS, threshold_style="line",
            custom={"lineInterpolation": "stepAfter"}),
        ts("Projected change over the epoch", [
            target(m("hashwatch_difficulty_projected_change_percent"), "{{node}}"),
        ], "percent", "How the projection for the next retarget evolves as blocks arrive.",
            steps=CHANGE_STEPS, threshold_style="line"),
        ts("Difficulty", [target(m("hashwatch_difficulty_current"), "{{node}}")], "short",
           "Difficulty over time.", custom={"lineInterpolation": "stepAfter"}),
        row("Hashrate"),
        ts("Implied hashrate", [
            target(m("hashwatch_hashrate_hashes_per_second"), "{{window}} blocks {{node}}"),
        ], "Hs", "Difficulty x 2^32 / mean block interval over 144, 1008 and 2016 blocks."),
        ts("Block interval", [
            target(m("hashwatch_block_interval_mean_seconds"), "mean {{window}} {{node}}"),
            target(m("hashwatch_block_interval_median_seconds"), "median {{window}} {{node}}"),
        ], "s", "Mean and median block interval per window; the target is 600 s.",
            steps=(("green", None), ("orange", 600)), threshold_style="line"),
        ts("Hashrate drawdown", [target(m("hashwatch_hashrate_drawdown_ratio"), "{{node}}")],
           "percentunit", "How far the implied hashrate sits below its trailing peak; "
           "the alert fires at 10% for an hour.", min=0,
           steps=(("green", None), ("orange", 0.05), ("red", 0.1)), threshold_style="line",
           w=24),
    ]
    return dashboard("hashwatch-difficulty", "hashwatch / Difficulty and hashrate",
                     "Epoch progress, projected retarget, retarget history, implied hashrate.",
                     items, [node_var()])


def health() -> dict[str, Any]:
    calls = f'sum by (node) (rate({m("hashwatch_rpc_duration_seconds_count")}[{RI}]))'
    runs = f'sum by (job) (rate({m("hashwatch_job_runs_total")}[{RI}]))'
    outbox = "sum(hashwatch_alerts_outbox_notifications)"
    items = [
        row("Node"),
        stat("Node", m("hashwatch_node_up"), "none", "1 when the last poll succeeded.",
             steps=(("red", None), ("green", 1)), mappings=UP_MAP),
        panel("table", "Node info", [target(m("hashwatch_node_info"), fmt="table", instant=True)],
              unit="none", w=8, h=4, description="Chain and version the node reports.",
              transformations=[{"id": "organize", "options": {
                  "excludeByName": {"Time": True, "Value": True, "__name__": True,
                                    "job": True, "instance": True}}}]),
        stat("Verification", m("hashwatch_node_verification_progress_ratio"), "percentunit",
             "Verification progress of the chain.", decimals=2,
             steps=(("orange", None), ("green", 0.9999))),
        stat("IBD", m("hashwatch_node_initial_block_download"), "none",
             "1 while the node is in initial block download.", mappings=YESNO_MAP,
             steps=(("green", None), ("orange", 1))),
        stat("Uptime", m("hashwatch_node_uptime_seconds"), "dtdurations", "Node uptime."),
        ts("Blocks and headers", [
            target(m("hashwatch_node_headers") + " - " + m("hashwatch_node_blocks"),
                   "headers ahead {{node}}"),
        ], "none", "Headers the node knows but has not validated yet (0 when synced).", w=8),
        ts("Best block age", [target(m("hashwatch_node_best_block_age_seconds"), "{{node}}")],
           "s", "Time since the best block; warning after an hour.", steps=AGE_STEPS,
           threshold_style="line", w=8),
        ts("Peers", [target(m("hashwatch_node_peers"), "peers {{node}}")],
           "none", "Connections of the node.", w=8),
        ts("P2P traffic", [
            target(f'rate({m("hashwatch_node_network_received_bytes_total")}[{RI}])',
                   "in {{node}}"),
            target(f'rate({m("hashwatch_node_network_sent_bytes_total")}[{RI}])', "out {{node}}"),
        ], "Bps", "Node network traffic from getnettotals.", w=8),
        ts("Mempool memory", [
            target(m("hashwatch_mempool_usage_bytes") + " / " + m("hashwatch_mempool_max_bytes"),
                   "{{node}}"),
        ], "percentunit", "Mempool memory use against -maxmempool; near 100% the node evicts.",
            steps=(("green", None), ("orange", 0.8)), threshold_style="line", max=1, w=8),
        ts("Chain tip", [
            target(m("hashwatch_node_difficulty"), "difficulty {{node}}"),
        ], "short", "Difficulty of the tip as the node reports it.", w=8,
            custom={"lineInterpolation": "stepAfter"}),
        row("RPC"),
        ts("RPC latency p95", [target(
            "histogram_quantile(0.95, sum by (le, method) (rate("
            f'{m("hashwatch_rpc_duration_seconds_bucket")}[{RI}])))', "{{method}}")],
           "s", "95th percentile RPC call duration per method.", w=8),
        ts("RPC calls", [target(
            f'sum by (method) (rate({m("hashwatch_rpc_duration_seconds_count")}[{RI}]))',
            "{{method}}")], "reqps", "RPC calls per second per method.", w=8),
        ts("RPC errors", [target(
            f'sum by (kind) (rate({m("hashwatch_rpc_errors_total")}[{RI}])) '
            f"or on() (0 * sum({calls}))", "{{kind}}")],
           "reqps", "Failed RPC calls per second by kind (0 while calls succeed).",
           steps=(("green", None), ("red", 0.01)), w=8),
        ts("RPC bytes", [
            target(f'rate({m("hashwatch_rpc_received_bytes_total")}[{RI}])', "received {{node}}"),
            target(f'rate({m("hashwatch_rpc_sent_bytes_total")}[{RI}])', "sent {{node}}"),
        ], "Bps", "Bytes hashwatch exchanges with the node's RPC.", w=8),
        row("Daemon"),
        ts("Job runs", [target(runs, "{{job}}")], "ops", "Collector job runs per second.", w=8),
        ts("Job failures", [target(
            f'sum by (job) (rate({m("hashwatch_job_failures_total")}[{RI}])) '
            f"or (0 * {runs})", "{{job}}")], "ops",
           "Failed collector job runs per second (0 while jobs succeed).",
           steps=(("green", None), ("red", 0.01)), w=8),
        ts("Job duration p95", [target(
            "histogram_quantile(0.95, sum by (le, job) (rate("
            f'{m("hashwatch_job_duration_seconds_bucket")}[{RI}])))', "{{job}}")],
           "s", "95th percentile collector job duration.", w=8),
        ts("Since last success", [target(
            "time() - " + m("hashwatch_last_success_time_seconds"), "{{job}}")],
           "s", "Seconds since each job last succeeded.",
           steps=(("green", None), ("orange", 300)), threshold_style="line", w=8),
        ts("Section age", [target(m("hashwatch_section_age_seconds"), "{{section}}")], "s",
           "Age of each snapshot section; the alert fires past 10 minutes.",
           steps=(("green", None), ("red", 600)), threshold_style="line", w=8),
        panel("stat", "Renderers", [target("min by (renderer) (hashwatch_renderer_success)",
                                           "{{renderer}}")],
              unit="none", w=8, h=8, mappings=OK_MAP,
              steps=(("red", None), ("green", 1)),
              description="1 when each metrics renderer produced its metrics on the last scrape."),
        row("Alerts"),
        ts("Alerts firing", [target(
            "sum by (severity) (hashwatch_alerts_firing)", "{{severity}}")], "none",
           "Built-in alert instances firing, by severity.", w=6,
           steps=(("green", None), ("orange", 1)), threshold_style="line"),
        ts("Notifications sent", [target(
            f"sum by (channel) (rate(hashwatch_alerts_notifications_sent_total[{RI}]))",
            "{{channel}}")], "ops", "Notifications delivered per second by channel.", w=6),
        ts("Notifications failed", [
            target(f"sum by (channel, reason) (rate("
                   f"hashwatch_alerts_notifications_failed_total[{RI}])) "
                   f"or on() (0 * {outbox})", "failed {{channel}} {{reason}}"),
            target(f"sum by (channel, reason) (rate("
                   f"hashwatch_alerts_notifications_dropped_total[{RI}])) "
                   f"or on() (0 * {outbox})", "dropped {{channel}} {{reason}}"),
        ], "ops", "Failed delivery attempts (retried) and notifications given up, per second "
            "(0 while deliveries succeed).", steps=(("green", None), ("red", 0.001)), w=6),
        ts("Outbox", [target("sum by (channel) (hashwatch_alerts_outbox_notifications)",
                             "{{channel}}")], "none",
           "Notifications waiting in the durable outbox (retried with backoff).",
           steps=(("green", None), ("orange", 10)), threshold_style="line", w=6),
        panel("table", "Build", [target("hashwatch_build_info", fmt="table", instant=True)],
              unit="none", w=24, h=4, description="hashwatch version serving /metrics.",
              steps=GREEN, transformations=[{"id": "organize", "options": {
                  "excludeByName": {"Time": True, "Value": True, "__name__": True}}}]),
    ]
    return dashboard("hashwatch-health", "hashwatch / Node and daemon health",
                     "Node sync and peers, RPC latency and errors, collector jobs, alerting.",
                     items, [node_var()])
