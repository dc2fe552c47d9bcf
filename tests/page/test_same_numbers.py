"""The page shows the numbers /metrics exports and `hashwatch status` prints: one snapshot.

The daemon's real jobs run once against the simulator (as `hashwatch status` runs them), then
/metrics and / are read over HTTP from the same, now fixed, snapshot.
"""

from __future__ import annotations

import pytest

from hashwatch.daemon import Daemon
from hashwatch.serve.page_model import usd, utc
from hashwatch.status import difficulty as status_difficulty
from hashwatch.status import economics as status_economics

from ..support.scrape import scrape, value
from .pagekit import daemon_config, get_page, row_value, table_rows


@pytest.fixture
def settled(sim_factory, tmp_path):
    """A daemon serving HTTP whose jobs ran to completion once; nothing changes after."""
    sim = sim_factory(start_height=925_300)
    sim.mine(44, interval=3000)  # a slow end of epoch: the retarget at 925,344 drops difficulty
    sim.mempool.add_random(3000)
    daemon = Daemon(daemon_config(sim, tmp_path), clock=sim.clock.now)
    daemon.server.start()
    try:
        for spec in daemon.jobs:
            daemon.run_job_now(spec.name, spec.node)
        for _ in range(20):  # the blocks job fetches a slice per run, as in `hashwatch backfill`
            daemon.run_job_now("blocks", "n1")
        daemon.run_job_now("economics", "n1")
        daemon.run_job_now("pools", "n1")
        yield daemon
    finally:
        daemon.stop()


def test_page_numbers_equal_metrics_and_status(settled):
    port = settled.server.port
    m = scrape(port)
    page = get_page(port)
    snap = settled.store.current()
    node = snap.nodes["n1"]
    status = "\n".join(v for _, v in status_difficulty.rows(node, snap, settled.clock())
                       + status_economics.rows(node, snap))

    change = value(m, "hashwatch_difficulty_projected_change_percent", node="n1")
    assert change is not None
    assert row_value(page, "next-retarget") == f"{change:+.2f}%"
    assert f"{change:+.2f}% expected" in status
    when = value(m, "hashwatch_difficulty_projected_retarget_time_seconds", node="n1")
    assert row_value(page, "retarget-date").startswith(utc(when))

    last = value(m, "hashwatch_difficulty_last_retarget_change_percent", node="n1")
    assert row_value(page, "last-retarget") == f"{last:+.2f}% at height 925,344"

    hp = value(m, "hashwatch_hashprice_usd_per_phs_day", node="n1")
    assert hp is not None
    assert row_value(page, "hashprice-usd").startswith(f"{usd(hp)}/PH/s/day")
    assert f"= {usd(hp)}/PH/s/day" in status
    btc = value(m, "hashwatch_hashprice_btc_per_phs_day", node="n1")
    assert row_value(page, "hashprice-btc").startswith(f"{btc:.8f} BTC/PH/s/day")
    scenarios = {r[0]: r for r in table_rows(page, "scenarios")}
    for name in ("texas-0.045", "tariff-2025"):
        cost = value(m, "hashwatch_hashcost_usd_per_phs_day", node="n1", scenario=name)
        be = value(m, "hashwatch_breakeven_hashprice_usd_per_phs_day", node="n1", scenario=name)
        margin = value(m, "hashwatch_margin_usd_per_phs_day", node="n1", scenario=name)
        assert scenarios[name][1:4] == [usd(cost), usd(be), usd(margin)]

    bands = table_rows(page, "fee-bands")
    for p, cell in zip((10, 25, 50, 75, 90), bands[0][1:6], strict=True):
        rate = value(m, "hashwatch_fees_next_block_percentile_sat_per_vbyte", node="n1",
                     block="1", percentile=str(p))
        assert cell == f"{rate:.1f}"

    share = value(m, "hashwatch_pools_share_ratio", node="n1", pool="Foundry USA", window="144")
    assert share is not None
    assert '<span class="bar-label">Foundry USA</span>' in page
    assert f"{share * 100:.1f}%" in page.split("Foundry USA</span>", 1)[1][:200]

    blocks = value(m, "hashwatch_node_blocks", node="n1")
    assert row_value(page, "blocks").startswith(f"{int(blocks):,} / ")

