"""Collectors one by one against the node's own answers: header backfill (collect/headers.py)
vs ``getblockheader``, the blocks job vs ``getblockstats`` and the decoded coinbase, pools from
real coinbases, and ``hashwatch backfill`` end to end."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from hashwatch.collect.blocks import BlocksJob, coinbase_text
from hashwatch.collect.context import DaemonContext
from hashwatch.collect.headers import backfill
from hashwatch.collect.pools import builtin_definitions
from hashwatch.config import Config
from hashwatch.indicators.pools import UNKNOWN, PoolIdentifier
from hashwatch.node.auth import NodeAuth
from hashwatch.node.rpc import NodeClient
from hashwatch.snapshot.store import SnapshotStore
from hashwatch.state.headers import HeadersStore

from .helpers import NODE, rates

PAID_BLOCKS = 4


@pytest.fixture(scope="module")
def chain(backend) -> Any:
    """The module's node with a few blocks that carry payments, and one empty block."""
    backend.fan_out(PAID_BLOCKS * 30 + 10)
    for i in range(PAID_BLOCKS):
        backend.pay_many(rates(30, seed=200 + i))
        backend.mine(1)
    backend.mine(1)
    backend.first_paid = backend.rpc("getblockcount") - PAID_BLOCKS
    return backend


def _client(b) -> NodeClient:
    return NodeClient(NODE, b.rpc_url, NodeAuth(cookie_file=b.cookie_path), timeout=10)


def _ctx(b, state: Path, window: int) -> DaemonContext:
    cfg = Config.model_validate({
        "nodes": [{"name": NODE, "url": b.rpc_url, "cookie_file": str(b.cookie_path)}],
        "state_dir": str(state), "fees": {"block_window": window}})
    return DaemonContext(config=cfg, clients={NODE: _client(b)}, store=SnapshotStore([NODE]),
                         state_dir=state)


def _header_matches(b, stored) -> None:
    h = b.rpc("getblockheader", b.rpc("getblockhash", stored.height))
    assert stored.hash == h["hash"]
    assert stored.prev_hash == h.get("previousblockhash")
    assert stored.time == h["time"]
    assert stored.bits == int(h["bits"], 16)
    if stored.chainwork is not None:
        assert int(stored.chainwork, 16) == int(h["chainwork"], 16)


@pytest.mark.parametrize("batch_size", [1, 7, 500])
def test_header_backfill_equals_getblockheader_at_every_height(chain, tmp_path, batch_size):
    client = _client(chain)
    with HeadersStore(tmp_path / "h.sqlite3") as store:
        result = backfill(client, store, blocks_needed=10_000, batch_size=batch_size)
        tip = chain.rpc("getblockcount")
        assert result.tip_height == tip and result.chain == "regtest"
        assert store.bounds() == (0, tip) and store.count() == tip + 1
        for stored in store.all():
            _header_matches(chain, stored)
    client.close()


def test_header_backfill_fetches_only_new_blocks_then_matches(chain, tmp_path):
    client = _client(chain)
    with HeadersStore(tmp_path / "h.sqlite3") as store:
        backfill(client, store, blocks_needed=50)
        chain.mine(3)
        result = backfill(client, store, blocks_needed=50)
        assert result.fetched == 3
        tip = chain.rpc("getblockcount")
        assert store.bounds() == (tip - 49, tip)
        for stored in store.all()[-5:]:
            _header_matches(chain, stored)
    client.close()


def test_backfill_command_end_to_end(chain, tmp_path):
    cfg = tmp_path / "hashwatch.yaml"
    cfg.write_text(yaml.safe_dump({
        "nodes": [{"name": NODE, "url": chain.rpc_url, "network": "regtest",
                   "cookie_file": str(chain.cookie_path)}],
        "state_dir": str(tmp_path / "state")}))
    out = subprocess.run([sys.executable, "-m", "hashwatch", "backfill", "-c", str(cfg)],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    with HeadersStore(tmp_path / "state" / f"headers-{NODE}.sqlite3") as store:
        tip = store.tip()
        assert tip is not None and tip.hash == chain.rpc("getbestblockhash")
        _header_matches(chain, store.get(tip.height - 1))


FIELDS = {  # BlockRecord attribute -> getblockstats field
    "hash": "blockhash", "time": "time", "total_fee_sat": "totalfee",
    "subsidy_sat": "subsidy", "tx_count": "txs", "total_weight": "total_weight",
}


@pytest.fixture(scope="module")
def records(chain, tmp_path_factory) -> list:
    window = chain.rpc("getblockcount") - chain.first_paid + 2  # paid, empty, later, one before
    ctx = _ctx(chain, tmp_path_factory.mktemp("blocks"), window=window)
    job = BlocksJob(ctx, NODE)
    job.run()
    out = list(ctx.store.current().nodes[NODE].section("blocks").blocks)
    job.close()
    return out


@pytest.mark.parametrize("attr", list(FIELDS))
def test_block_records_equal_getblockstats(chain, records, attr):
    assert len(records) == chain.rpc("getblockcount") - chain.first_paid + 2
    for r in records:
        stats = chain.rpc("getblockstats", r.height)
        assert getattr(r, attr) == stats[FIELDS[attr]], (r.height, attr)


def test_block_percentiles_and_average_equal_getblockstats(chain, records):
    paid = 0
    for r in records:
        stats = chain.rpc("getblockstats", r.height)
        if stats["txs"] > 1:
            assert r.feerate_percentiles_sat_per_vb is not None
            assert list(r.feerate_percentiles_sat_per_vb) == stats["feerate_percentiles"]
            assert r.avg_feerate_sat_per_vb == stats["avgfeerate"]
            paid += 1
        else:  # Core answers zeros for a coinbase-only block: no fee rate, not a rate of zero
            assert r.feerate_percentiles_sat_per_vb is None
            assert r.avg_feerate_sat_per_vb is None
    assert paid >= PAID_BLOCKS  # the windows hold blocks with payments, not only coinbases


def test_coinbase_text_and_payout_equal_the_decoded_coinbase(chain, records):
    for r in records:
        block = chain.rpc("getblock", r.hash, 2)
        cb = block["tx"][0]
        assert r.coinbase_text == coinbase_text(cb["vin"][0]["coinbase"])
        addrs = tuple(v["scriptPubKey"]["address"] for v in cb["vout"]
                      if "address" in v["scriptPubKey"])
        assert r.payout_addresses == addrs
        if chain.kind == "real":  # regtest mines to the harness wallet's address
            assert chain.address in r.payout_addresses


def test_pools_identify_real_coinbases_as_unknown_consistently(chain, records):
    if chain.kind != "real":
        pytest.skip("the simulator's coinbases carry simulated pool tags")
    ident = PoolIdentifier(builtin_definitions())
    for r in records:
        assert ident.identify(r.coinbase_text, r.payout_addresses) == UNKNOWN, r.coinbase_text


def test_blocks_job_drops_reorged_blocks_and_refetches(chain, tmp_path):
    ctx = _ctx(chain, tmp_path, window=6)
    job = BlocksJob(ctx, NODE)
    job.run()
    tip_hash = chain.rpc("getbestblockhash")
    chain.rpc("invalidateblock", tip_hash)
    try:
        new = chain.mine_other(1)[0]
        assert new != tip_hash
        job.run()
        blocks = ctx.store.current().nodes[NODE].section("blocks").blocks
        assert blocks[-1].hash == new and blocks[-1].height == chain.rpc("getblockcount")
        assert tip_hash not in {b.hash for b in blocks}
    finally:
        chain.rpc("reconsiderblock", tip_hash)
    job.close()
