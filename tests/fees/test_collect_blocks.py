"""The shared blocks collector: parsing Core's answers, SQLite, reorgs, the getblock fallback."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

from hashwatch.collect.blocks import (
    BlocksJob,
    coinbase_text,
    contiguous_tail,
    make_jobs,
    make_record,
    payout_addresses,
)
from hashwatch.collect.context import DaemonContext
from hashwatch.config import Config
from hashwatch.node.auth import NodeAuth
from hashwatch.node.rpc import NodeClient
from hashwatch.snapshot.blocks import RecentBlocks
from hashwatch.snapshot.store import SnapshotStore
from hashwatch.state.blocks import BlockStore

from .fakenode import FakeNode

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "core"


def _fx(name: str) -> dict:
    return json.loads((FIXTURES / f"{name}.json").read_text(), parse_float=Decimal)["response"][
        "result"
    ]


def _ctx(node: FakeNode, tmp_path: Path, window: int = 10) -> DaemonContext:
    cfg = Config.model_validate({
        "nodes": [{"name": "n1", "url": node.url, "user": "u", "password": "p"}],
        "state_dir": str(tmp_path),
        "fees": {"block_window": window},
    })  # fmt: skip
    client = NodeClient("n1", node.url, NodeAuth(user="u", password="p"))
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


def test_blocks_job_fetches_window_once_and_publishes_section(tmp_path):
    with FakeNode(chain_height=30) as node:
        ctx = _ctx(node, tmp_path, window=10)
        job = BlocksJob(ctx, "n1")
        job.run()
        blocks = _section(ctx).blocks
        assert [b.height for b in blocks] == list(range(21, 31))
        assert blocks[-1].coinbase_text.endswith("/TestPool/")
        assert blocks[-1].payout_addresses == ("bc1qpoola",)
        stats_calls = node.calls["getblockstats"]
        node.mine(2)
        job.run()
        assert [b.height for b in _section(ctx).blocks] == list(range(23, 33))
        assert node.calls["getblockstats"] == stats_calls + 2  # only the new blocks
        job.close()


def test_blocks_job_reorg_drops_from_fork_point_and_refetches(tmp_path):
    with FakeNode(chain_height=30) as node:
        ctx = _ctx(node, tmp_path, window=10)
        job = BlocksJob(ctx, "n1")
        job.run()
        node.reorg(3)
        job.run()
        blocks = _section(ctx).blocks
        assert [b.height for b in blocks] == list(range(21, 31))
        assert [b.hash[0] for b in blocks[-4:]] == ["a", "b", "b", "b"]
        assert blocks[-1].coinbase_text.endswith("/OtherPool/")
        job.close()


def test_blocks_job_restart_reads_sqlite_instead_of_node(tmp_path):
    with FakeNode(chain_height=20) as node:
        ctx = _ctx(node, tmp_path, window=8)
        job = BlocksJob(ctx, "n1")
        job.run()
        job.close()
        before = node.calls["getblockstats"]
        ctx2 = _ctx(node, tmp_path, window=8)
        (spec,) = make_jobs(ctx2)
        spec.run()
        assert node.calls["getblockstats"] == before
        assert len(_section(ctx2).blocks) == 8
        spec.stop()


def test_blocks_job_without_getrawtransaction_falls_back_to_getblock_2(tmp_path):
    with FakeNode(chain_height=12) as node:
        node.methods_missing.add("getrawtransaction")
        ctx = _ctx(node, tmp_path, window=5)
        job = BlocksJob(ctx, "n1")
        job.run()
        blocks = _section(ctx).blocks
        assert len(blocks) == 5 and all(b.payout_addresses == ("bc1qpoola",) for b in blocks)
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
