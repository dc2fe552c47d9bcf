"""End to end against the simulator over real HTTP: pool shares and hashprice from sim blocks.

The simulator picks a pool per block by its own seeded shares and writes that pool's real tag
and payout address into the coinbase; it is the oracle here. Blocks are fetched over JSON-RPC
with our NodeClient (batched getblockstats + getblock verbosity 2) and turned into BlockRecords
by the production parser, then fed through the economics and pools jobs.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from hashwatch.snapshot.blocks import RecentBlocks
from hashwatch.collect import economics as econ_job
from hashwatch.collect import pools as pools_job
from hashwatch.collect.blocks import STATS_FIELDS, make_record
from hashwatch.collect.context import DaemonContext
from hashwatch.indicators.economics import expected_blocks_per_phs_day
from hashwatch.indicators.pools import UNKNOWN
from hashwatch.metrics import SnapshotCollector
from hashwatch.metrics import pools as pools_metrics
from hashwatch.node.auth import NodeAuth
from hashwatch.node.rpc import NodeClient
from hashwatch.sim.node import SimNode
from hashwatch.snapshot.store import SnapshotStore

from ..support.shared import mainnet_file
from .econ_helpers import FakeClock, config, status

MINED = 144  # new blocks on top of the simulated history; windows 48 and 144 over them
WINDOWS = (48, 144)
FEE_WINDOW = 24  # the simulator builds each history block's transactions on demand: keep it short
Fetched = tuple[RecentBlocks, float, int]


@pytest.fixture(scope="module")
def sim() -> Iterator[SimNode]:
    node = SimNode(network="main", start_height=925_000, seed=7)
    node.start()
    try:
        yield node
    finally:
        node.stop()


def _fetch(sim: SimNode, depth: int, coinbases: bool) -> Fetched:
    """The last ``depth`` blocks over HTTP, plus the node's difficulty and tip height."""
    client = NodeClient("sim", sim.rpc_url, NodeAuth(cookie_file=sim.cookie_path))
    try:
        info = client.call("getblockchaininfo")
        tip = int(info["blocks"])
        heights = list(range(tip - depth + 1, tip + 1))
        stats = client.batch([("getblockstats", (h, list(STATS_FIELDS))) for h in heights])
        txs: list = [None] * depth
        if coinbases:  # verbosity 2 is cheap here: mined blocks on an empty mempool
            blocks = client.batch([("getblock", (s["blockhash"], 2)) for s in stats])
            txs = [b["tx"][0] for b in blocks]
    finally:
        client.close()
    records = tuple(make_record(s, tx) for s, tx in zip(stats, txs, strict=True))
    return RecentBlocks(records), float(info["difficulty"]), tip


@pytest.fixture(scope="module")
def history(sim: SimNode) -> Fetched:
    """Fee stats of the simulated history (full blocks with fees), before anything is mined."""
    return _fetch(sim, FEE_WINDOW, coinbases=False)


@pytest.fixture(scope="module")
def mined(sim: SimNode, history: Fetched) -> Fetched:
    """MINED new blocks; the simulator picks each block's pool and writes its coinbase."""
    sim.mine(MINED)
    return _fetch(sim, MINED, coinbases=True)


def _truth(sim: SimNode, heights: range) -> Counter:
    """Who the simulator says mined each block (its own pool table)."""
    names = Counter()
    for h in heights:
        blk = sim.chain.at(h)
        pool = sim.pools[blk.pool] if blk.pool >= 0 else None
        names[pool.name if pool is not None and pool.tag else UNKNOWN] += 1
    return names


def _nakamoto(counts: Counter) -> int:
    """Oracle: fewest producers above half, unknown blocks counted one miner each."""
    n = sum(counts.values())
    sizes = sorted([c for p, c in counts.items() if p != UNKNOWN] + [1] * counts[UNKNOWN],
                   reverse=True)
    total = 0
    for k, c in enumerate(sizes, 1):
        total += c
        if 2 * total > n:
            return k
    raise AssertionError("unreachable")


def _run(fetched: Fetched, **sections: object) -> SnapshotStore:
    recent, difficulty, tip = fetched
    clock = FakeClock()
    store = SnapshotStore(["n1"], clock=clock)
    store.update_node("n1", up=True, status=status(tip, difficulty))
    store.set_section("n1", "blocks", recent)
    ctx = DaemonContext(config=config(**sections), clients={}, store=store,
                        state_dir=Path("."), clock=clock)
    for job in econ_job.make_jobs(ctx) + pools_job.make_jobs(ctx):
        job.run()
    return store


@pytest.mark.parametrize("definitions", ["builtin", "pools-v2"])
def test_pools_job_sim_blocks_shares_match_simulator(
    sim: SimNode, mined: Fetched, definitions: str
) -> None:
    pools: dict[str, object] = {"windows": list(WINDOWS)}
    if definitions == "pools-v2":
        pools["definitions_file"] = str(mainnet_file("pools-v2.json"))
    store = _run(mined, pools=pools)
    tip = mined[2]
    section = store.current().nodes["n1"].section("pools")
    registry = CollectorRegistry()
    registry.register(SnapshotCollector(store.current, [("pools", pools_metrics.render)]))
    for window in WINDOWS:
        truth = _truth(sim, range(tip - window + 1, tip + 1))
        got = section.window(window)
        assert got is not None and got.blocks == window
        assert dict(got.shares) == {p: c / window for p, c in truth.items() if p != UNKNOWN}
        assert got.unknown_share == truth[UNKNOWN] / window
        assert got.nakamoto_coefficient == _nakamoto(truth)
        labels = {"node": "n1", "window": str(window)}
        assert registry.get_sample_value("hashwatch_pools_nakamoto_coefficient", labels) == (
            _nakamoto(truth))
        assert len(truth) >= 5  # the sim's tags really spread blocks over several pools


def test_economics_job_sim_blocks_hashprice_from_node_fees(history: Fetched) -> None:
    recent, difficulty, _ = history
    store = _run(history, economics={"fee_window_blocks": FEE_WINDOW})
    section = store.current().nodes["n1"].section("economics")
    fees = [b.total_fee_sat for b in recent.blocks]
    mean = sum(fees) / FEE_WINDOW
    expected = expected_blocks_per_phs_day(difficulty) * (312_500_000 + mean) / 1e8
    assert section.fee_blocks == FEE_WINDOW
    assert section.hashprice_btc_per_phs_day == pytest.approx(expected, rel=1e-12)
    assert sum(fees) > 0  # the history blocks carry fees, so they are really in the mean
