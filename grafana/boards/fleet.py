"""The fleet board: every site and node at a glance, network-wide indicators aggregated.

Why a board of its own: the other boards show one node's view (pick a site and a node); an
operator of twenty sites first wants "which node is unwell" (per site and node) and "what does
the network do" (one line per network, whichever daemons report it). Network-wide panels use
the median over the selected nodes, joined to ``network`` through hashwatch_node_info, the same
identity the alert rules and Alertmanager routes use (docs/fleet.md).
"""

from __future__ import annotations

from typing import Any

from .common import AGE_STEPS, CHANGE_STEPS, SATVB, SPIKE_STEPS, UP_MAP, m, network, stat, ts
from .model import dashboard, node_var, panel, row, target


def fleet() -> dict[str, Any]:
    up = m("hashwatch_node_up")
    items = [
        row("Sites and nodes"),
        stat("Nodes up", f"sum({up})", "none", "Nodes answering their daemons, all sites.",
             legend="up", steps=(("red", None), ("green", 1))),
        stat("Nodes down", f"count({up} == 0) or on() vector(0) * count({up})", "none",
             "Nodes whose daemon cannot reach them (zero while every node answers).",
             legend="down", steps=(("green", None), ("red", 1))),
        stat("Daemons", f"count(count by (site, instance) ({up}))", "none",
             "hashwatch daemons reporting (an HA pair counts twice).", legend="daemons"),
        stat("Sites", f"count(count by (site) ({up}))", "none", "Sites reporting.",
             legend="sites"),
        panel("table", "Nodes by site", [
            target(up, fmt="table", instant=True),
        ], unit="none", description="Every node of every site as each daemon sees it: 1 up, "
          "0 down (an HA pair shows the node twice, once per daemon).",
            mappings=UP_MAP, w=12, h=8),
        ts("Best block age by site", [
            target(f"max by (site, node) ({m('hashwatch_node_best_block_age_seconds')})",
                   "{{site}} {{node}}"),
        ], "s", "Seconds since each node's best block; a node far above the others is stuck.",
            steps=AGE_STEPS, threshold_style="line", w=12, h=8),
        row("The network (one line per network, all selected nodes)"),
        stat("Projected difficulty change",
             network("hashwatch_difficulty_projected_change_percent"), "percent",
             "Median over the selected nodes of the next retarget's projected change.",
             legend="{{network}}", steps=CHANGE_STEPS, decimals=2, w=6, h=5),
        stat("Last retarget change",
             network("hashwatch_difficulty_last_retarget_change_percent"), "percent",
             "Difficulty change at the last retarget (the same on every node of a network).",
             legend="{{network}}", steps=CHANGE_STEPS, decimals=2, w=6, h=5),
        stat("Next-block median fee",
             network("hashwatch_fees_next_block_median_sat_per_vbyte"), SATVB,
             "Median over the selected nodes of the next projected block's median fee rate.",
             legend="{{network}}", decimals=1, w=6, h=5,
             steps=(("green", None), ("orange", 20), ("red", 100))),
        stat("Fee spike", network("hashwatch_fees_spike_ratio"), "suffix:x",
             "Next-block median over its trailing baseline, median over nodes.",
             legend="{{network}}", steps=SPIKE_STEPS, decimals=2, w=6, h=5),
        ts("Projected difficulty change", [
            target(network("hashwatch_difficulty_projected_change_percent"), "{{network}}"),
        ], "percent", "One line per network, whatever the number of sites reporting it.",
            steps=CHANGE_STEPS, threshold_style="line", w=8),
        ts("Implied hashrate", [
            target(network("hashwatch_hashrate_hashes_per_second", by="network, window"),
                   "{{network}} {{window}} blocks"),
        ], "Hs", "Implied network hashrate per averaging window, median over nodes.", w=8),
        ts("Mempool blocks to clear", [
            target(network("hashwatch_mempool_blocks_to_clear"), "{{network}}"),
        ], "none", "Full blocks the mempool would fill, median over nodes (mempools differ a "
            "little from node to node).", w=8),
        row("Alerts"),
        ts("Built-in alerts firing by rule", [
            target("max by (rule) (hashwatch_alerts_firing)", "{{rule}}"),
        ], "none", "Alert instances firing per rule; max over daemons because N daemons hold the "
            "same network alert (Alertmanager notifies it once).", w=12),
        ts("Notifications sent by channel", [
            target("sum by (channel) "
                   "(rate(hashwatch_alerts_notifications_sent_total[$__rate_interval]))",
                   "{{channel}}"),
        ], "ops", "Deliveries per second, all daemons (Alertmanager re-sends included).", w=12),
    ]
    return dashboard("hashwatch-fleet", "hashwatch / Fleet",
                     "All sites and nodes; network-wide indicators aggregated by network.",
                     items, [node_var()])
