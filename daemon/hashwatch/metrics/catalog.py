"""The metric catalog: the one place each metric's name, type, unit, labels and HELP live.

Why: a metric name used to live in three places (an indicator's ``values()``, HELP tables in
``metrics/*.py``, prose in the docs) and drifted. Renderers take their families from here
(``catalog.gauge("difficulty_current")``), the README and docs/indicators.md tables are generated
from here (``python -m hashwatch.metrics.catalog --write-docs``; ``--check`` fails on drift), and
tests fail when a rendered metric is missing here or an entry here is never rendered.

``name`` is the family name without the ``hashwatch_`` prefix and without the suffix the
exposition adds (``_total`` for counters, ``_info`` for info). ``unit`` is the base unit the
name ends with ("" for counts and dimensionless values). ``rule`` marks the names alert rules
can use (the snapshot's ``IndicatorValue`` names, same words, no prefix). ``group`` is the
feature whose table lists it.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, InfoMetricFamily

from ..safetext import cap_label

PREFIX = "hashwatch_"
GAUGE, COUNTER, HISTOGRAM, INFO = "gauge", "counter", "histogram", "info"
_SUFFIX = {COUNTER: "_total", INFO: "_info"}


@dataclass(frozen=True)
class MetricDef:
    name: str
    type: str
    unit: str
    labels: tuple[str, ...]
    help: str
    group: str
    rule: bool = False
    info: tuple[str, ...] = ()  # the label keys an info metric carries as its value

    @property
    def family(self) -> str:
        """The family name as prometheus_client takes it (prefix, no suffix)."""
        return PREFIX + self.name

    @property
    def exposed(self) -> str:
        """The name as it appears in /metrics (counters end in ``_total``, info in ``_info``)."""
        return self.family + _SUFFIX.get(self.type, "")


def _m(
    name: str,
    type_: str,
    unit: str,
    labels: tuple[str, ...],
    group: str,
    *,
    help_: str,
    rule: bool = False,
    info: tuple[str, ...] = (),
) -> MetricDef:
    return MetricDef(name, type_, unit, labels, help_, group, rule, info)


# Groups in the order the docs list them: (key, title).
GROUPS: tuple[tuple[str, str], ...] = (
    ("node", "Base node status"),
    ("difficulty", "Difficulty and hashrate"),
    ("fees", "Fee pressure"),
    ("economics", "Economics"),
    ("pools", "Pools"),
    ("daemon", "The daemon itself"),
    ("alerts", "Alerting"),
)

# fmt: off
_ENTRIES: tuple[MetricDef, ...] = (
    # -- node ------------------------------------------------------------------------------------
    _m("node_up", GAUGE, "", ("node",), "node", rule=True,
       help_="1 if the last poll of the node succeeded, 0 if it failed."),
    _m("node_last_status_time_seconds", GAUGE, "seconds", ("node",), "node",
       help_="When the node's status was last read successfully, unix seconds (staleness)."),
    _m("node_last_error_info", GAUGE, "", ("node", "kind"), "node",
       help_="1 for the kind of the last failed poll while the node is down."),
    _m("node", INFO, "", ("node",), "node", info=("chain", "version", "subversion"),
       help_="Node identity: chain and version."),
    _m("node_initial_block_download", GAUGE, "", ("node",), "node", rule=True,
       help_="1 while the node is in initial block download."),
    _m("node_best_block_age_seconds", GAUGE, "seconds", ("node",), "node",
       help_="Seconds since the best block's header time (as of the scrape's snapshot)."),
    _m("node_network_sent_bytes", COUNTER, "bytes", ("node",), "node",
       help_="Bytes the node sent to peers."),
    _m("node_network_received_bytes", COUNTER, "bytes", ("node",), "node",
       help_="Bytes the node received from peers."),
    _m("node_blocks", GAUGE, "", ("node",), "node", rule=True,
       help_="Height of the node's best validated block."),
    _m("node_headers", GAUGE, "", ("node",), "node", rule=True,
       help_="Height of the best header the node knows."),
    _m("node_verification_progress_ratio", GAUGE, "ratio", ("node",), "node", rule=True,
       help_="Estimated fraction of the chain verified (0..1)."),
    _m("node_best_block_time_seconds", GAUGE, "seconds", ("node",), "node", rule=True,
       help_="Header time of the best block, unix seconds."),
    _m("node_difficulty", GAUGE, "", ("node",), "node", rule=True,
       help_="Current proof-of-work difficulty (dimensionless)."),
    _m("node_peers", GAUGE, "", ("node",), "node", rule=True,
       help_="Connected peers (inbound + outbound)."),
    _m("node_peers_inbound", GAUGE, "", ("node",), "node",
       help_="Inbound peer connections."),
    _m("node_peers_outbound", GAUGE, "", ("node",), "node",
       help_="Outbound peer connections."),
    _m("node_uptime_seconds", GAUGE, "seconds", ("node",), "node",
       help_="Seconds since bitcoind started."),
    _m("node_size_on_disk_bytes", GAUGE, "bytes", ("node",), "node",
       help_="Block and undo files on disk, bytes."),
    _m("mempool_transactions", GAUGE, "", ("node",), "node", rule=True,
       help_="Transactions in the node's mempool."),
    _m("mempool_vsize_bytes", GAUGE, "bytes", ("node",), "node", rule=True,
       help_="Sum of virtual sizes of mempool transactions, vbytes."),
    _m("mempool_usage_bytes", GAUGE, "bytes", ("node",), "node", rule=True,
       help_="Memory the mempool uses, bytes."),
    _m("mempool_max_bytes", GAUGE, "bytes", ("node",), "node",
       help_="Configured maximum mempool memory, bytes."),
    _m("mempool_min_fee_sat_per_vbyte", GAUGE, "sat_per_vbyte", ("node",), "node", rule=True,
       help_="Minimum fee rate to enter the mempool now, sat/vB."),
    _m("mempool_total_fee_sat", GAUGE, "sat", ("node",), "node", rule=True,
       help_="Total fees of all mempool transactions, satoshis."),
    # -- daemon ----------------------------------------------------------------------------------
    _m("section_age_seconds", GAUGE, "seconds", ("node", "section"), "daemon",
       help_="Seconds since each indicator section was last computed."),
    _m("build", INFO, "", (), "daemon", info=("version",),
       help_="hashwatch version."),
    # -- difficulty ------------------------------------------------------------------------------
    _m("difficulty_current", GAUGE, "", ("node",), "difficulty", rule=True,
       help_="Difficulty of the best block (as getdifficulty), dimensionless."),
    _m("difficulty_last_retarget_change_percent", GAUGE, "percent",
       ("node",), "difficulty", rule=True,
       help_="Difficulty change at the last retarget, percent (negative = easier)."),
    _m("difficulty_last_retarget_height", GAUGE, "", ("node",), "difficulty", rule=True,
       help_="Height of the block that carried the last retarget."),
    _m("difficulty_epoch_blocks", GAUGE, "", ("node",), "difficulty", rule=True,
       help_="Blocks mined after the epoch's first block (height mod 2016), absent without "
             "retargets."),
    _m("difficulty_epoch_progress_ratio", GAUGE, "ratio", ("node",), "difficulty", rule=True,
       help_="Share of the 2016-block epoch done (0..1)."),
    _m("difficulty_blocks_until_retarget", GAUGE, "", ("node",), "difficulty", rule=True,
       help_="Blocks to be mined until the retarget block."),
    _m("difficulty_projected_change_percent", GAUGE, "percent", ("node",), "difficulty", rule=True,
       help_="Projected difficulty change at the next retarget from the epoch's pace, percent "
             "(mempool.space method; fixed by Core's rule once 2015 blocks are in)."),
    _m("difficulty_seconds_until_retarget", GAUGE, "", ("node",), "difficulty", rule=True,
       help_="Expected seconds until the retarget block at the epoch's pace."),
    _m("difficulty_projected_retarget_time_seconds", GAUGE, "seconds",
       ("node",), "difficulty", rule=True,
       help_="Expected time of the retarget block, unix seconds."),
    _m("hashrate_drawdown_ratio", GAUGE, "ratio", ("node",), "difficulty", rule=True,
       help_="How far the hashrate is below its trailing peak (0..1), over the drawdown window."),
    _m("hashrate_recovering", GAUGE, "", ("node",), "difficulty", rule=True,
       help_="1 if hashrate fell by the drop threshold and has regained the recovery share, else "
             "0."),
    _m("hashrate_hashes_per_second", GAUGE, "hashes_per_second",
       ("node", "window"), "difficulty", rule=True,
       help_="Implied network hashrate over the last N blocks, hashes per second (as "
             "getnetworkhashps N)."),
    _m("block_interval_mean_seconds", GAUGE, "seconds", ("node", "window"), "difficulty", rule=True,
       help_="Mean time between the last N blocks, seconds."),
    _m("block_interval_median_seconds", GAUGE, "seconds",
       ("node", "window"), "difficulty", rule=True,
       help_="Median time between the last N blocks, seconds."),
    # -- fees ------------------------------------------------------------------------------------
    _m("mempool_histogram_vsize_bytes", GAUGE, "bytes", ("node", "le"), "fees", rule=True,
       help_="Mempool vsize (vbytes) with an ancestor-score fee rate at or below le sat/vB, "
             "cumulative."),
    _m("mempool_blocks_to_clear", GAUGE, "", ("node",), "fees", rule=True,
       help_="Full blocks needed to mine the whole mempool."),
    _m("fees_next_block_percentile_sat_per_vbyte", GAUGE, "sat_per_vbyte",
       ("node", "block", "percentile"), "fees", rule=True,
       help_="Fee-rate percentiles of projected block <block> (1 = next), weighted by vsize, "
             "sat/vB."),
    _m("fees_next_block_median_sat_per_vbyte", GAUGE, "sat_per_vbyte", ("node",), "fees", rule=True,
       help_="Median fee rate of the projected next block, weighted by vsize, sat/vB."),
    _m("fees_next_block_total_fee_sat", GAUGE, "sat", ("node", "block"), "fees", rule=True,
       help_="Total fees of projected block <block> (1 = next), satoshis."),
    _m("fees_spike_ratio", GAUGE, "ratio", ("node",), "fees", rule=True,
       help_="Next-block median fee rate over its trailing baseline "
             "(absent until enough history)."),
    _m("fees_spike_baseline_sat_per_vbyte", GAUGE, "sat_per_vbyte", ("node",), "fees", rule=True,
       help_="Median of the next-block median fee rate over the baseline window, sat/vB."),
    _m("fees_estimate_sat_per_vbyte", GAUGE, "sat_per_vbyte",
       ("node", "target", "mode"), "fees", rule=True,
       help_="The node's estimatesmartfee for <target> blocks in <mode> mode, sat/vB."),
    _m("fees_block_fee_share_ratio", GAUGE, "ratio", ("node", "window"), "fees", rule=True,
       help_="Fees over fees plus subsidy in the last <window> mined blocks (0..1)."),
    _m("fees_block_total_fee_sat", GAUGE, "sat", ("node", "window"), "fees", rule=True,
       help_="Mean total fees per mined block over the last <window> blocks, satoshis."),
    _m("fees_block_percentile_sat_per_vbyte", GAUGE, "sat_per_vbyte",
       ("node", "window", "percentile"), "fees", rule=True,
       help_="Mined blocks' fee-rate percentile (getblockstats), median over the last <window> "
             "blocks, sat/vB."),
    # -- economics -------------------------------------------------------------------------------
    _m("price_up", GAUGE, "", ("source",), "economics",
       help_="1 if a BTC/USD price younger than its maximum age is available (USD series "
             "exported), 0 if the price source failed or its last price is too old."),
    _m("btc_price_usd", GAUGE, "usd", ("source",), "economics", rule=True,
       help_="BTC price in US dollars from the configured source."),
    _m("price_age_seconds", GAUGE, "seconds", ("source",), "economics",
       help_="Seconds since the last good BTC price was fetched (kept after it goes stale)."),
    _m("hashprice_btc_per_phs_day", GAUGE, "btc_per_phs_day", ("node",), "economics", rule=True,
       help_="Expected BTC earned per PH/s per day at the current difficulty, subsidy and mean "
             "fees."),
    _m("hashprice_btc_per_ths_day", GAUGE, "btc_per_ths_day", ("node",), "economics", rule=True,
       help_="Expected BTC earned per TH/s per day (hashprice / 1000)."),
    _m("hashprice_usd_per_phs_day", GAUGE, "usd_per_phs_day", ("node",), "economics", rule=True,
       help_="Expected USD earned per PH/s per day (BTC hashprice x a fresh BTC price)."),
    _m("hashprice_usd_per_ths_day", GAUGE, "usd_per_ths_day", ("node",), "economics", rule=True,
       help_="Expected USD earned per TH/s per day."),
    _m("hashcost_usd_per_phs_day", GAUGE, "usd_per_phs_day",
       ("node", "scenario"), "economics", rule=True,
       help_="All-in cost per installed PH/s per day of a cost scenario: power with tariff "
             "(curtailed hours unbilled), amortised hardware with tariff, other opex."),
    _m("margin_usd_per_phs_day", GAUGE, "usd_per_phs_day",
       ("node", "scenario"), "economics", rule=True,
       help_="USD hashprice after pool fee and curtailment minus hashcost, per installed PH/s per "
             "day."),
    _m("breakeven_power_price_usd_per_kwh", GAUGE, "usd_per_kwh",
       ("node", "scenario"), "economics", rule=True,
       help_="Power price (before tariff) at which the scenario's margin is zero; negative when "
             "fixed costs alone exceed revenue."),
    _m("breakeven_hashprice_usd_per_phs_day", GAUGE, "usd_per_phs_day",
       ("node", "scenario"), "economics", rule=True,
       help_="Network hashprice at which the scenario's margin is zero."),
    # -- pools -----------------------------------------------------------------------------------
    _m("pools_share_ratio", GAUGE, "ratio", ("node", "pool", "window"), "pools", rule=True,
       help_="Share of the last <window> blocks mined by each identified pool."),
    _m("pools_top_share_ratio", GAUGE, "ratio", ("node", "window"), "pools", rule=True,
       help_="Share of the largest identified pool."),
    _m("pools_hhi", GAUGE, "", ("node", "window"), "pools", rule=True,
       help_="Herfindahl-Hirschman index of block producers (0..1, sum of squared shares; unknown "
             "blocks count as separate single-block miners)."),
    _m("pools_nakamoto_coefficient", GAUGE, "", ("node", "window"), "pools", rule=True,
       help_="Fewest block producers that together mined more than half of the window's blocks."),
    _m("pools_unknown_share_ratio", GAUGE, "ratio", ("node", "window"), "pools", rule=True,
       help_="Share of blocks no pool definition matched."),
    # -- daemon ----------------------------------------------------------------------------------
    _m("renderer_success", GAUGE, "", ("renderer",), "daemon",
       help_="1 if the renderer produced its metrics on this scrape, 0 if it failed."),
    _m("rpc_duration_seconds", HISTOGRAM, "seconds", ("node", "method"), "daemon",
       help_="Time for one RPC round trip (a batch counts once), by method, seconds."),
    _m("rpc_errors", COUNTER, "", ("node", "kind"), "daemon",
       help_="Failed RPC calls by error kind (unavailable, timeout, auth, warmup, rpc, protocol)."),
    _m("rpc_sent_bytes", COUNTER, "bytes", ("node",), "daemon",
       help_="Bytes sent to the node's RPC port: request lines, headers and bodies."),
    _m("rpc_received_bytes", COUNTER, "bytes", ("node",), "daemon",
       help_="Bytes received from the node's RPC port: status lines, headers and bodies."),
    _m("rpc_reconnects", COUNTER, "", ("node", "reason"), "daemon",
       help_="RPC keep-alive connections replaced: reason=idle (idle past rpc_idle_seconds, "
             "before use) or stale (closed by the node, e.g. -rpcservertimeout; request resent)."),
    _m("zmq_messages_received", COUNTER, "", ("node", "topic"), "daemon",
       help_="ZMQ messages received from the node, by topic."),
    _m("zmq_sequence_gaps", COUNTER, "", ("node", "topic"), "daemon",
       help_="Gaps in a ZMQ topic's message counter: messages the node published and we lost."),
    _m("zmq_last_message_time_seconds", GAUGE, "seconds", ("node", "topic"), "daemon",
       help_="When the last ZMQ message of the topic arrived, unix seconds (absent before one)."),
    _m("mempool_resyncs", COUNTER, "", ("node", "reason"), "daemon",
       help_="Mempool model resyncs (one txid listing each), by reason: zmq_gap, sequence_gap, "
             "sequence_reset, drift, reorg, block_gone, mode_switch."),
    _m("mempool_sequence_gaps", COUNTER, "", ("node",), "daemon",
       help_="Mempool events lost without a ZMQ counter gap, seen as a jump in the node's "
             "mempool sequence that no block explains."),
    _m("job_runs", COUNTER, "", ("node", "job"), "daemon",
       help_="Collector job runs."),
    _m("job_failures", COUNTER, "", ("node", "job"), "daemon",
       help_="Collector job runs that failed."),
    _m("job_duration_seconds", HISTOGRAM, "seconds", ("node", "job"), "daemon",
       help_="Duration of one collector job run (the poll duration), seconds."),
    _m("last_success_time_seconds", GAUGE, "seconds", ("node", "job"), "daemon",
       help_="When each collector job last succeeded, unix seconds."),
    # -- alerts ----------------------------------------------------------------------------------
    _m("alerts_firing", GAUGE, "", ("node", "rule", "severity"), "alerts",
       help_="Alert instances firing, by rule."),
    _m("alerts_pending", GAUGE, "", ("node", "rule", "severity"), "alerts",
       help_="Alert instances pending (waiting out `for`)."),
    _m("alerts_store_errors", COUNTER, "", ("kind",), "alerts",
       help_="Alert store write failures since start, by kind."),
    _m("alerts_notifications_sent", COUNTER, "", ("channel",), "alerts",
       help_="Notifications delivered, by channel."),
    _m("alerts_notifications_failed", COUNTER, "", ("channel", "reason"), "alerts",
       help_="Failed delivery attempts, by channel and reason."),
    _m("alerts_notifications_dropped", COUNTER, "", ("channel", "reason"), "alerts",
       help_="Notifications given up after the retry budget or a permanent error, by channel and "
             "reason."),
    _m("alerts_alertmanager_requests_failed", COUNTER, "", ("channel", "alertmanager", "reason"),
       "alerts",
       help_="Failed POSTs to one Alertmanager of a cluster since start, by channel, member "
             "(host:port) and reason; the notification counts as sent if another member took "
             "it."),
    _m("alerts_outbox_notifications", GAUGE, "", ("channel",), "alerts",
       help_="Notifications in the outbox not yet delivered, by channel."),
    _m("alerts_outbox_oldest_age_seconds", GAUGE, "seconds", ("channel",), "alerts",
       help_="Age of the oldest undelivered notification, by channel."),
)
# fmt: on

CATALOG: Mapping[str, MetricDef] = {m.name: m for m in _ENTRIES}


def get(name: str) -> MetricDef:
    """The entry for ``name``; ``KeyError`` naming the fix when a metric is not registered."""
    try:
        return CATALOG[name]
    except KeyError:
        raise KeyError(f"metric {name!r} is not in hashwatch/metrics/catalog.py; add it") from None


class CappedGauge(GaugeMetricFamily):
    """Label values can come from outside (pool names, tags): capped, kept distinct."""

    def add_metric(self, labels: Sequence[str], value: float, timestamp: Any = None) -> None:
        super().add_metric([cap_label(str(v)) for v in labels], value, timestamp)


def gauge(name: str) -> GaugeMetricFamily:
    """An empty gauge family for a snapshot renderer, named, documented and labelled here."""
    m = get(name)
    return CappedGauge(m.family, m.help, labels=list(m.labels))


def counter(name: str) -> CounterMetricFamily:
    m = get(name)
    return CounterMetricFamily(m.family, m.help, labels=list(m.labels))


def info(name: str, value: dict[str, str] | None = None) -> InfoMetricFamily:
    m = get(name)
    if value is not None:
        return InfoMetricFamily(m.family, m.help, value=value)
    return InfoMetricFamily(m.family, m.help, labels=list(m.labels))


_LIVE: dict[str, Any] = {COUNTER: Counter, GAUGE: Gauge, HISTOGRAM: Histogram}


def live(name: str, registry: CollectorRegistry, **kwargs: Any) -> Any:
    """A prometheus_client Counter/Gauge/Histogram (the daemon's own live metrics)."""
    m = get(name)
    return _LIVE[m.type](m.family, m.help, list(m.labels), registry=registry, **kwargs)


def main(argv: Sequence[str] | None = None) -> int:
    from .catalog_docs import main as docs_main

    return docs_main(list(sys.argv[1:] if argv is None else argv))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
