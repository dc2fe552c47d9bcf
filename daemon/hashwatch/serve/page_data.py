"""The page's view model: plain cards of label/value strings, tables, bars and chart series.

Why one module for every read: the page must show the numbers ``/metrics`` and ``hashwatch
status`` show, so it reads the same snapshot sections with the same accessors (``usd_fresh``,
``next_block_median``, the projection) and the status formatters; keeping every read here means
a change to a section's shape is adapted in one place. Pure: snapshot (+ history, alerts) in,
dataclasses of plain text out; escaping is the renderer's job (text here is raw).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence

from ..indicators.difficulty_view import DifficultyView
from ..indicators.economics import TH_PER_PH, EconomicsSection, ScenarioResult
from ..indicators.fees import FeesSection, le_label
from ..indicators.pools import PoolsSection
from ..indicators.retarget import EPOCH_BLOCKS
from ..snapshot.history import History, Sample
from ..snapshot.store import NodeSnapshot, Snapshot
from ..status.difficulty import format_difficulty, format_hashrate
from ..status.economics import price_row
from .page_alerts import AlertsView
from .page_model import Bar, Card, Chart, NodeView, PageView, Row, Table, sat, usd, utc

# The fixed set of series kept in memory for the charts (see snapshot/history.py).
SERIES = (
    "difficulty",
    "projected_change_percent",
    "hashrate_hps",
    "next_block_median_sat_per_vb",
    "mempool_vsize_bytes",
    "hashprice_btc_per_phs_day",
    "hashprice_usd_per_phs_day",
    "peers",
)


# -- history ----------------------------------------------------------------------------------


def history_samples(snapshot: Snapshot) -> Iterator[Sample]:
    """What the in-memory history records from each snapshot (nodes that are up only)."""
    for name, node in snapshot.nodes.items():
        if not node.up or node.status is None:
            continue
        yield "peers", name, float(node.status.connections)
        view = node.section("difficulty")
        if isinstance(view, DifficultyView):
            yield "difficulty", name, view.difficulty
            if view.projection is not None:
                yield "projected_change_percent", name, view.projection.change_percent
            if view.windows and view.windows[0].hashrate_hps is not None:
                yield "hashrate_hps", name, view.windows[0].hashrate_hps
        fees = node.section("fees")
        if isinstance(fees, FeesSection):
            yield "mempool_vsize_bytes", name, float(fees.mempool_vsize_bytes)
            if fees.next_block_median is not None:
                yield "next_block_median_sat_per_vb", name, fees.next_block_median
        econ = node.section("economics")
        if isinstance(econ, EconomicsSection):
            yield "hashprice_btc_per_phs_day", name, econ.hashprice_btc_per_phs_day
            hp = econ.hashprice_usd_per_phs_day
            if hp is not None and econ.usd_fresh(snapshot.taken_at):
                yield "hashprice_usd_per_phs_day", name, hp


def _chart(history: History | None, key: str, node: str, title: str, fmt: str, now: float,
           refs: Sequence[tuple[float, str]] = ()) -> Chart:
    points = tuple(history.points(key, node, now)) if history is not None else ()
    return Chart(key, title, points, fmt, tuple(refs))


# -- cards ------------------------------------------------------------------------------------


def node_card(node: NodeSnapshot, now: float) -> Card:
    s = node.status
    if not node.up or s is None:
        return Card("node", "Node", (Row("state", "state", "DOWN"),
                                     Row("error", f"error ({node.last_error_kind or '?'})",
                                         node.last_error or "")))
    rows = [
        Row("state", "state", "up"),
        Row("chain", "chain", s.chain),
        Row("version", "version", f"{s.subversion} ({s.version})"),
        Row("blocks", "blocks / headers", f"{s.blocks:,} / {s.headers:,}"),
        Row("best-block", "best block", f"{utc(s.best_block_time)} "
                                        f"({max(0.0, now - s.best_block_time):,.0f} s ago)"),
        Row("ibd", "initial block download", "yes" if s.initial_block_download else "no"),
        Row("progress", "verification", f"{s.verification_progress * 100:.2f} %"),
        Row("peers", "peers", f"{s.connections} ({s.connections_in} in, "
                              f"{s.connections_out} out)"),
        Row("mempool", "mempool", f"{s.mempool_tx_count:,} tx, {s.mempool_vsize_bytes:,} vB, "
                                  f"min fee {s.mempool_min_fee_sat_per_vb:.2f} sat/vB"),
        Row("uptime", "uptime", f"{s.uptime_seconds / 3600:,.1f} h"),
    ]
    if s.warnings:
        rows.append(Row("warnings", "warnings", s.warnings))
    return Card("node", "Node", tuple(rows))


def difficulty_card(view: object, name: str, history: History | None, now: float) -> Card:
    if not isinstance(view, DifficultyView):
        return Card("difficulty", "Difficulty", note="not computed yet (headers backfill)")
    rows = [Row("difficulty", "difficulty",
                f"{format_difficulty(view.difficulty)} (height {view.height:,})")]
    if view.last_retarget_change_percent is not None and view.last_retarget_height is not None:
        rows.append(Row("last-retarget", "last retarget",
                        f"{view.last_retarget_change_percent:+.2f}% at height "
                        f"{view.last_retarget_height:,}"))
    bars: tuple[Bar, ...] = ()
    if view.epoch_blocks is not None and view.blocks_until_retarget is not None:
        rows.append(Row("epoch", "epoch", f"{view.epoch_blocks:,} of {EPOCH_BLOCKS:,} blocks, "
                                          f"{view.blocks_until_retarget:,} to go"))
        bars = (Bar("epoch progress", view.epoch_blocks / EPOCH_BLOCKS,
                    f"{100 * view.epoch_blocks / EPOCH_BLOCKS:.1f}%"),)
    p = view.projection
    if p is None:
        rows.append(Row("next-retarget", "next retarget", f"no projection: {view.projection_note}"))
    else:
        rows.append(Row("next-retarget", "next retarget", f"{p.change_percent:+.2f}%"))
        rows.append(Row("retarget-date", "expected",
                        f"{utc(p.retarget_time)}, in {max(0.0, p.retarget_time - now) / 86400:.1f}"
                        f" days" + (" (locked in)" if p.locked else "")))
    charts = (_chart(history, "projected_change_percent", name, "projected change, 24 h",
                     "percent", now),) if p is not None else ()
    return Card("difficulty", "Difficulty", tuple(rows), bars=bars, charts=charts)


def hashrate_card(view: object, name: str, history: History | None, now: float) -> Card:
    if not isinstance(view, DifficultyView):
        return Card("hashrate", "Hashrate", note="not computed yet (headers backfill)")
    heads = ("blocks", "hashrate", "mean interval", "median interval")
    table = Table("hashrate-windows", heads, tuple(
        (str(w.window), format_hashrate(w.hashrate_hps) if w.hashrate_hps is not None else "n/a",
         f"{w.mean_interval_seconds:.0f} s", f"{w.median_interval_seconds:.0f} s")
        for w in view.windows))
    d = view.drawdown
    rows: tuple[Row, ...]
    if d is None:
        rows = (Row("drawdown", "drawdown from peak", "n/a (needs more history)"),)
    else:
        rows = (Row("drawdown", "drawdown from peak",
                    f"{100 * d.ratio:.1f}% below {format_hashrate(d.peak_hps)} "
                    f"({view.drawdown_window}-block)"),
                Row("recovering", "recovering", "yes" if d.recovering else "no"))
    title = f"hashrate ({view.windows[0].window} blocks), 24 h" if view.windows else "hashrate"
    charts = (_chart(history, "hashrate_hps", name, title, "hashrate", now),)
    if not view.windows:
        return Card("hashrate", "Hashrate", rows, note="fewer blocks than the smallest window")
    return Card("hashrate", "Hashrate", rows, (table,), charts=charts)


def fees_card(fees: object, name: str, history: History | None, now: float) -> Card:
    if not isinstance(fees, FeesSection):
        return Card("fees", "Fee pressure", note="not computed yet (first mempool load pending)")
    rows = [Row("mempool", "mempool", f"{fees.mempool_tx_count:,} tx, "
                                      f"{fees.mempool_vsize_bytes / 1e6:.2f} MvB, "
                                      f"{fees.blocks_to_clear} blocks to clear")]
    if fees.spike_ratio is not None and fees.spike_baseline_sat_per_vb is not None:
        rows.append(Row("spike", "spike ratio", f"{fees.spike_ratio:.2f}x the baseline "
                                                f"{fees.spike_baseline_sat_per_vb:.1f} sat/vB"))
    else:
        rows.append(Row("spike", "spike ratio", "not enough history yet"))
    for w in fees.block_windows:
        rows.append(Row(f"fee-share-{w.window}", f"fee share, last {w.window}",
                        f"{w.fee_share_ratio * 100:.2f}% of reward ({sat(w.mean_total_fee_sat)}"
                        f" per block)"))
    bands = Table("fee-bands", ("block", "p10", "p25", "median", "p75", "p90", "fees"), tuple(
        (f"+{i}", *(f"{r:.1f}" for r in b.percentiles_sat_per_vb), sat(b.total_fee_sat))
        for i, b in enumerate(fees.projected, start=1)))
    cats, sizes, below = [], [], 0
    for le, cumulative in fees.histogram:
        cats.append(le_label(le) if not math.isinf(le) else "more")
        sizes.append(max(0, cumulative - below))
        below = max(below, cumulative)
    hist = Chart("histogram", "mempool vsize by fee rate (sat/vB)",
                 tuple((float(i), float(v)) for i, v in enumerate(sizes)), "mvb", kind="bars",
                 categories=tuple(cats))
    median = _chart(history, "next_block_median_sat_per_vb", name, "next-block median, 24 h",
                    "satvb", now)
    if not fees.projected:
        rows.append(Row("next-block", "next block", "mempool empty"))
    return Card("fees", "Fee pressure", tuple(rows), (bands,) if fees.projected else (),
                charts=(hist, median))


def economics_card(econ: object, name: str, history: History | None, now: float,
                   taken_at: float) -> Card:
    """``taken_at``: USD freshness is judged at the snapshot's time, as /metrics judges it."""
    if not isinstance(econ, EconomicsSection):
        return Card("economics", "Economics", note="not computed yet (needs recent blocks)")
    fresh_usd = econ.hashprice_usd_per_phs_day if econ.usd_fresh(taken_at) else None
    btc = econ.hashprice_btc_per_phs_day
    rows = [Row("hashprice-btc", "hashprice BTC",
                f"{btc:.8f} BTC/PH/s/day ({btc / TH_PER_PH:.11f}/TH/s)")]
    if fresh_usd is not None:
        rows.append(Row("hashprice-usd", "hashprice USD",
                        f"{usd(fresh_usd)}/PH/s/day (${fresh_usd / TH_PER_PH:.4f}/TH/s)"))
    else:
        rows.append(Row("hashprice-usd", "hashprice USD", "unknown without a fresh BTC price"))
    def margin(r: ScenarioResult) -> tuple[str, str]:
        if fresh_usd is None or r.margin_usd_per_phs_day is None:
            return "n/a", "n/a"
        power = r.breakeven_power_price_usd_per_kwh
        return usd(r.margin_usd_per_phs_day), "n/a" if power is None else f"${power:.4f}"

    table = Table("scenarios", ("scenario", "hashcost", "break-even", "margin", "power b/e kWh"),
                  tuple((r.name, usd(r.hashcost_usd_per_phs_day),
                         usd(r.breakeven_hashprice_usd_per_phs_day), *margin(r))
        for r in econ.scenarios))
    refs = tuple((r.breakeven_hashprice_usd_per_phs_day, f"break-even {r.name}")
                 for r in econ.scenarios)
    chart = _chart(history, "hashprice_usd_per_phs_day", name, "hashprice $/PH/s/day, 24 h",
                   "usd", now, refs)
    if not econ.scenarios:
        return Card("economics", "Economics (per PH/s per day)", tuple(rows), charts=(chart,),
                    note="no cost scenarios configured (economics.scenarios)")
    return Card("economics", "Economics (per PH/s per day)", tuple(rows), (table,),
                charts=(chart,), note="USD figures per installed PH/s per day")


def pools_card(pools: object) -> Card:
    if not isinstance(pools, PoolsSection):
        return Card("pools", "Pools", note="not computed yet (needs recent blocks)")
    if not pools.windows:
        return Card("pools", "Pools", note="fewer blocks than the smallest window")
    c = pools.windows[0]
    bars = tuple(Bar(pool, share, f"{share * 100:.1f}%")
                 for pool, share in list(c.shares.items())[:8])
    bars += (Bar("unknown", c.unknown_share, f"{c.unknown_share * 100:.1f}%"),)
    table = Table("concentration", ("window", "top pool", "HHI", "Nakamoto", "unknown"), tuple(
        (f"{w.window} blocks", f"{w.top_share * 100:.1f}%", f"{w.hhi:.3f}",
         str(w.nakamoto_coefficient), f"{w.unknown_share * 100:.1f}%") for w in pools.windows))
    return Card("pools", f"Pools (last {c.window} blocks)", bars=bars, tables=(table,))


def node_view(name: str, node: NodeSnapshot, history: History | None, now: float,
              taken_at: float) -> NodeView:
    cards = [node_card(node, now)]
    if node.up and node.status is not None:
        cards += [
            difficulty_card(node.section("difficulty"), name, history, now),
            hashrate_card(node.section("difficulty"), name, history, now),
            fees_card(node.section("fees"), name, history, now),
            economics_card(node.section("economics"), name, history, now, taken_at),
            pools_card(node.section("pools")),
        ]
    return NodeView(name, node.up, tuple(cards))


def build_view(snapshot: Snapshot, history: History | None, now: float,
               alerts: AlertsView | None = None, refresh_seconds: int = 15) -> PageView:
    """The whole page from one snapshot: the same one /metrics renders at that moment."""
    price = price_row(snapshot, snapshot.taken_at)
    return PageView(
        generated=utc(now),
        refresh_seconds=refresh_seconds,
        nodes=tuple(node_view(n, ns, history, now, snapshot.taken_at)
                    for n, ns in sorted(snapshot.nodes.items())),
        alerts=alerts,
        price=Row("btc-price", price[0], price[1]) if price is not None else None,
    )
