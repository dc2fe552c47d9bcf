"""The ``economics`` job: hashprice and cost scenarios per node, from data already in the snapshot.

Why no RPC here: difficulty and height come from the node status the chain job stored, fees from
the ``blocks`` section, the price from the global ``price`` quote. This job only joins them and
hands them to the pure functions in ``indicators/economics.py``, so it is cheap to run often and
cannot hang on a node.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from ..config.economics import EconomicsConfig, ScenarioConfig
from ..indicators.economics import CostScenario, EconomicsSection, compute_economics
from ..snapshot.store import Snapshot
from .context import DaemonContext, JobSpec

log = logging.getLogger("hashwatch.collect.economics")

# Why economics is absent on regtest: its difficulty is the minimum (4.66e-10) and a CPU mines a
# block in milliseconds, so hashprice would read ~2e21 BTC/PH/s/day and every margin would be
# absurd. No series is better than a true-looking impossible one; testnet4/signet keep theirs
# (their difficulty is real, their coins are worthless: the USD price is mainnet's).
REGTEST_NOTE = (
    "absent on regtest: minimum difficulty makes hashprice meaningless (~2e21 BTC/PH/s/day)"
)


def to_scenarios(configs: Sequence[ScenarioConfig]) -> tuple[CostScenario, ...]:
    """Config models -> plain data for the indicator functions (same field names)."""
    return tuple(CostScenario(**c.model_dump()) for c in configs)


def economics_from_snapshot(
    snapshot: Snapshot,
    node: str,
    config: EconomicsConfig,
    now: float,
    scenarios: Sequence[CostScenario] | None = None,
) -> tuple[EconomicsSection | None, str]:
    """The node's section, or None and the reason it cannot be computed yet.

    A price is used only while fresh; without one the USD numbers are left out, not zeroed.
    """
    ns = snapshot.nodes.get(node)
    if ns is None or not ns.up or ns.status is None:
        return None, "node_down"
    if ns.status.chain == "regtest":
        return None, "regtest"  # see REGTEST_NOTE
    blocks = ns.blocks
    if blocks is None or not blocks.blocks:
        return None, "no_blocks"
    fees = [b.total_fee_sat for b in blocks.last(config.fee_window_blocks)]
    quote = snapshot.price
    usd = fetched_at = None
    max_age = float("inf")
    if quote is not None and quote.is_fresh(now):
        usd, fetched_at, max_age = quote.usd, quote.fetched_at, quote.max_age_seconds
    section = compute_economics(
        height=ns.status.blocks,
        difficulty=float(ns.status.difficulty),
        fees_sat=fees,
        scenarios=to_scenarios(config.scenarios) if scenarios is None else scenarios,
        btc_price_usd=usd,
        price_fetched_at=fetched_at,
        price_max_age_seconds=max_age,
    )
    return section, "ok" if section is not None else "bad_difficulty"


class EconomicsJob:
    """Recomputes one node's section; logs once when it starts or stops being computable."""

    def __init__(self, ctx: DaemonContext, node: str):
        self.ctx = ctx
        self.node = node
        self.config = ctx.config.economics
        self.scenarios = to_scenarios(self.config.scenarios)
        self._state = "init"

    def run(self) -> None:
        now = self.ctx.clock()
        section, state = economics_from_snapshot(
            self.ctx.store.current(), self.node, self.config, now, self.scenarios
        )
        if section is not None and section.btc_price_usd is not None:
            state = "ok_usd"
        if state != self._state:
            if section is None:
                log.info("event=economics_skipped node=%s reason=%s", self.node, state)
            else:
                log.info(
                    "event=economics_computed node=%s hashprice_btc_per_phs_day=%.8f usd=%s",
                    self.node,
                    section.hashprice_btc_per_phs_day,
                    "absent" if section.btc_price_usd is None else "present",
                )
            self._state = state
        self.ctx.store.set_section(self.node, "economics", section)


def make_jobs(ctx: DaemonContext) -> list[JobSpec]:
    """One ``economics`` job per node, at the chain poll interval (it only reads the snapshot)."""
    interval = ctx.config.polling.chain_seconds
    return [
        JobSpec("economics", name, interval, EconomicsJob(ctx, name).run)
        for name in (n.name for n in ctx.config.nodes)
    ]
