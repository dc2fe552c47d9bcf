"""Prometheus rendering of the BTC price and each node's ``economics`` section.

Why the freshness checks here: a scrape can come minutes after the economics job ran; the USD
series must vanish the moment the price behind them passes its maximum age, not at the next job
run. BTC-denominated and cost-only series (hashcost, break-even hashprice) do not depend on the
price and stay. The price is daemon-wide, so its series carry a ``source`` label, not ``node``.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.metrics_core import Metric

from ..indicators.economics import TH_PER_PH
from ..snapshot.store import Snapshot
from . import gauge, nodes_up


def render(snapshot: Snapshot, now: float | None = None) -> Iterator[Metric]:
    """``now`` defaults to the snapshot's own time (the daemon's clock, as base metrics do)."""
    now = snapshot.taken_at if now is None else now
    yield from _price(snapshot, now)
    yield from _economics(snapshot, now)


def _price(snapshot: Snapshot, now: float) -> Iterator[Metric]:
    quote = snapshot.price
    failure = snapshot.price_error
    up = gauge("price_up")
    price = gauge("btc_price_usd")
    age = gauge("price_age_seconds")
    if quote is not None:
        fresh = quote.is_fresh(now)
        up.add_metric([quote.source], 1.0 if fresh else 0.0)
        age.add_metric([quote.source], quote.age_seconds(now))
        if fresh:
            price.add_metric([quote.source], quote.usd)
    elif failure is not None:
        up.add_metric([failure.source], 0.0)
    yield up
    yield price
    yield age


def _economics(snapshot: Snapshot, now: float) -> Iterator[Metric]:
    hp_btc = gauge("hashprice_btc_per_phs_day")
    hp_btc_th = gauge("hashprice_btc_per_ths_day")
    hp_usd = gauge("hashprice_usd_per_phs_day")
    hp_usd_th = gauge("hashprice_usd_per_ths_day")
    cost = gauge("hashcost_usd_per_phs_day")
    margin = gauge("margin_usd_per_phs_day")
    be_power = gauge("breakeven_power_price_usd_per_kwh")
    be_hp = gauge("breakeven_hashprice_usd_per_phs_day")
    for name, ns in nodes_up(snapshot):
        section = ns.economics
        if section is None:
            continue
        hp_btc.add_metric([name], section.hashprice_btc_per_phs_day)
        hp_btc_th.add_metric([name], section.hashprice_btc_per_phs_day / TH_PER_PH)
        usd = section.hashprice_usd_per_phs_day if section.usd_fresh(now) else None
        if usd is not None:
            hp_usd.add_metric([name], usd)
            hp_usd_th.add_metric([name], usd / TH_PER_PH)
        for r in section.scenarios:
            labels = [name, r.name]
            cost.add_metric(labels, r.hashcost_usd_per_phs_day)
            be_hp.add_metric(labels, r.breakeven_hashprice_usd_per_phs_day)
            if usd is not None and r.margin_usd_per_phs_day is not None:
                margin.add_metric(labels, r.margin_usd_per_phs_day)
            if usd is not None and r.breakeven_power_price_usd_per_kwh is not None:
                be_power.add_metric(labels, r.breakeven_power_price_usd_per_kwh)
    yield from (hp_btc, hp_btc_th, hp_usd, hp_usd_th, cost, margin, be_power, be_hp)
