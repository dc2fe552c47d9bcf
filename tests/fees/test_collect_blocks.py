"""The shared blocks collector: parsing Core's answers, SQLite, reorgs, the getblock fallback.

The jobs run against the simulator over real HTTP; every simulated block is mined by one test
pool, so its coinbase tag and payout address are known.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from hashwatch.snapshot.blocks import RecentBlocks
from hashwatch.state.blocks import BlockStore
from hashwatch.collect.blocks import (
    BlocksJob,
    coinbase_text,
    contiguous_tail,
    make_jobs,
    make_record,
    payout_addresses,
)
from hashwatch.config import Config
from hashwatch.collect.context import DaemonContext
from hashwatch.node.auth import NodeAuth
from hashwatch.node.rpc import NodeClient
from hashwatch.sim import SimNode
from hashwatch.sim.coinbase import DEFAULT_POOLS, Pool
from hashwatch.snapshot.store import SnapshotStore

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "core"


def _fx(name: str) -> dict:
    return json.loads((FIXTURES / f"{name}.json").read_text(), parse_float=Decimal)["response"][
        "result"
    ]


TEST_POOL = Pool("TestPool", "/TestPool/", DEFAULT_POOLS[0].address, 1.0)
TIP = 925_030


@pytest.fixture
def sim(sim_factory) -> SimNode:
    return sim_factory(network="main", start_height=TIP, seed=5, pools=(TEST_POOL,),
                       rpc_user="u", rpc_password="p")


def _ctx(node: SimNode, tmp_path: Path, window: int = 10) -> DaemonContext:
    cfg = Config.model_validate({
        "nodes": [{"name": "n1", "url": node.rpc_url, "user": "u", "password": "p"}],
        "state_dir": str(tmp_path),
        "fees": {"block_window": window},
    })  # fmt: skip
    client = NodeClient("n1", node.rpc_url, NodeAuth(user="u", password="p"))
    return DaemonContext(
        config=cfg, clients={"n1": client}, store=SnapshotStore(["n1"]), state_dir=tmp_path
    )


def _section(ctx: DaemonContext) -> RecentBlocks:
    section = ctx.store.current().nodes["n1"].section("blocks")
    assert isinstance(section, RecentBlocks)
    return section


def test_coinbase_text_keeps_printable_runs_of_pool_tag():
    script = (b"\x03\xa0\x1d\x0e" + b"/Foundry USA Pool #dropgold/" + b"\x00\x01\xfe" + b"xy").hex()
    assert coinbase_text(script) == "/Foundry USA Pool #dropgold/ xy"
    assert coinbase_text("zz") == ""


def test_make_record_core_fixtures_fill_every_field():
    stats = _fx("getblockstats")
    coinbase = _fx("getblock_v2")["tx"][0]
    record = make_record(stats, coinbase)
    assert record.height == 102 and record.total_fee_sat == 601_670
    assert record.subsidy_sat == 5_000_000_000 and record.tx_count == 15
    assert record.feerate_percentiles_sat_per_vb == (2.0, 4.0, 60.0, 235.0, 601.0)
    assert record.payout_addresses == payout_addresses(coinbase)
    assert record.payout_addresses[0].startswith("bcrt1q")


def _calls(sim: SimNode, method: str) -> int:
    return sim.stats.calls_by_method[method]


def test_blocks_job_fetches_window_once_and_publishes_section(tmp_path, sim):
    ctx = _ctx(sim, tmp_path, window=10)
    job = BlocksJob(ctx, "n1")
    job.run()
    blocks = _section(ctx).blocks
    assert [b.height for b in blocks] == list(range(TIP - 9, TIP + 1))
    assert "/TestPool/" in blocks[-1].coinbase_text
    assert blocks[-1].payout_addresses == (TEST_POOL.address,)
    stats_calls = _calls(sim, "getblockstats")
    sim.mine(2)
    job.run()
    assert [b.height for b in _section(ctx).blocks] == list(range(TIP - 7, TIP + 3))
    assert _calls(sim, "getblockstats") == stats_calls + 2  # only the new blocks
    job.close()


def test_blocks_job_reorg_drops_from_fork_point_and_refetches(tmp_path, sim):
    ctx = _ctx(sim, tmp_path, window=10)
    job = BlocksJob(ctx, "n1")
    job.run()
    before = [b.hash for b in _section(ctx).blocks]
    new = sim.reorg(3)  # the last 3 blocks replaced by 4 others
    job.run()
    blocks = _section(ctx).blocks
    assert [b.height for b in blocks] == list(range(TIP - 8, TIP + 2))
    assert [b.hash for b in blocks[-4:]] == new
    assert [b.hash for b in blocks[:-4]] == before[1:-3]  # below the fork point: kept
    assert "/TestPool/" in blocks[-1].coinbase_text
    job.close()


def test_blocks_job_restart_reads_sqlite_instead_of_node(tmp_path, sim):
    ctx = _ctx(sim, tmp_path, window=8)
    job = BlocksJob(ctx, "n1")
    job.run()
    job.close()
    before = _calls(sim, "getblockstats")
    ctx2 = _ctx(sim, tmp_path, window=8)
    (spec,) = make_jobs(ctx2)
    spec.run()
    assert _calls(sim, "getblockstats") == before
    assert len(_section(ctx2).blocks) == 8
    spec.stop()


def test_blocks_job_without_getrawtransaction_falls_back_to_getblock_2(tmp_path, sim):
    sim.hide_methods("getrawtransaction")
    ctx = _ctx(sim, tmp_path, window=5)
    job = BlocksJob(ctx, "n1")
    job.run()
    blocks = _section(ctx).blocks
    assert len(blocks) == 5 and all(b.payout_addresses == (TEST_POOL.address,) for b in blocks)
    assert _calls(sim, "getrawtransaction") >= 1 and _calls(sim, "getblock") >= 5
    job.close()


def test_contiguous_tail_hole_cuts_the_section(tmp_path):
    store = BlockStore(tmp_path / "b.sqlite3")
    stats = _fx("getblockstats")
    records = [
        make_record({**stats, "height": h, "blockhash": f"{h:064x}"}, None) for h in (1, 2, 4, 5)
    ]
    store.put(records)
    assert [r.height for r in contiguous_tail(store.load(0, 5), 5)] == [4, 5]
    assert contiguous_tail(store.load(0, 5), 6) == ()
    store.close()


def test_coinbase_text_keeps_utf8_pool_tags():
    # F2Pool signs with "七彩神仙鱼": UTF-8 runs must survive next to ASCII tags and pushed bytes.
    script = "03481d0e" + "七彩神仙鱼".encode().hex() + "00ff" + b"/F2Pool/".hex() + "01"
    assert coinbase_text(script) == "七彩神仙鱼 /F2Pool/"
