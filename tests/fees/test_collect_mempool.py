"""The mempool job over real HTTP on loopback: full load, incremental polls, ZMQ path, bytes.

The node is the simulator. Its mempool is the reference the job's model is compared with
(``getrawmempool`` verbose, loaded afresh), and its ``sequence`` stream is taken at the source:
A/R events from the mempool as they happen, C for each block a test mines, fed to the sync
in order (or withheld, to play lost messages).
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from hashwatch.collect.context import DaemonContext
from hashwatch.collect.mempool import FeesJob, MempoolSync, fetch_estimates, make_jobs
from hashwatch.config import Config
from hashwatch.indicators.fees import FeesSection
from hashwatch.indicators.mempool_model import MempoolModel
from hashwatch.node.auth import NodeAuth
from hashwatch.node.rpc import NodeClient
from hashwatch.node.zmq import SequenceEvent
from hashwatch.sim import SimNode
from hashwatch.snapshot.store import SnapshotStore

from ..support.waiting import wait_until


@pytest.fixture
def sim(sim_factory) -> SimNode:
    return sim_factory(network="main", start_height=925_000, seed=7, rpc_user="u",
                       rpc_password="p")


class Events:
    """The node's ZMQ ``sequence`` messages in order, without the ZMQ transport."""

    def __init__(self, sim: SimNode):
        self.items: list[SequenceEvent] = []
        sim.mempool.listeners.append(self._on_mempool)

    def _on_mempool(self, txid: str, label: str, seq: int) -> None:
        self.items.append(SequenceEvent(bytes.fromhex(txid), label, seq))

    def mined(self, hashes: list[str]) -> None:
        self.items.extend(SequenceEvent(bytes.fromhex(h), "C", None) for h in hashes)

    def feed(self, sync: MempoolSync, cursor: int) -> int:
        for event in self.items[cursor:]:
            sync.on_sequence(event)
        return len(self.items)


def add(sim: SimNode, rng: random.Random, rate: float | None = None,
        parents: tuple[str, ...] = ()) -> str:
    """One transaction; ``rate`` 0 is below every block's minimum: it stays in the mempool."""
    vsize = rng.randint(100, 800)
    rate = rate if rate is not None else rng.choice([1, 2, 5, 12, 40, 150])
    return sim.mempool.add_tx(vsize, round(vsize * rate), parents, check_fee=rate > 0)


def random_op(sim: SimNode, rng: random.Random, events: Events) -> None:
    """One random change of the kinds a real mempool sees: arrival (with in-mempool parents),
    eviction with descendants, replacement by fee, a block."""
    txids = sim.mempool.txids()
    r = rng.random()
    if not txids or r < 0.5:
        parents = tuple(rng.sample(txids, min(len(txids), rng.randint(1, 2))))
        add(sim, rng, parents=parents if txids and rng.random() < 0.4 else ())
    elif r < 0.65:
        sim.mempool.remove(rng.choice(txids))
    elif r < 0.8:
        old = sim.mempool.entries[rng.choice(txids)]
        replaced = old.fee + sum(sim.mempool.entries[t].fee for t in sim.mempool.descendants(old))
        sim.mempool.replace(old.txid, replaced + 2 * old.vsize + 1000)
    else:
        events.mined(sim.mine(1))


def _client(node: SimNode) -> NodeClient:
    return NodeClient("n1", node.rpc_url, NodeAuth(user="u", password="p"))


def _ctx(node: SimNode, tmp_path: Path, now: list[float], **node_extra) -> DaemonContext:
    cfg = Config.model_validate({
        "nodes": [{"name": "n1", "url": node.rpc_url, "user": "u", "password": "p",
                   **node_extra}],
        "state_dir": str(tmp_path),
        "fees": {"spike_min_history_seconds": 3600, "estimate_targets": [2, 6]},
    })  # fmt: skip
    return DaemonContext(
        config=cfg,
        clients={"n1": _client(node)},
        store=SnapshotStore(["n1"], clock=lambda: now[0]),
        state_dir=tmp_path,
        clock=lambda: now[0],
    )


def _fresh(sim: SimNode):
    return MempoolModel.from_verbose(sim.rpc("getrawmempool", True)).normalized()


def _calls(sim: SimNode, method: str) -> int:
    return sim.stats.calls_by_method[method]


def test_sync_poll_path_random_changes_matches_fresh_load(sim):
    rng, events = random.Random(7), Events(sim)
    for _ in range(60):
        random_op(sim, rng, events)
    sync = MempoolSync(_client(sim), batch_size=7)
    sync.sync()
    assert sync.model.normalized() == _fresh(sim)
    for _ in range(5):
        for _ in range(15):
            random_op(sim, rng, events)
        sync.sync()
        assert sync.model.normalized() == _fresh(sim)
    assert _calls(sim, "getrawmempool") == 6


def test_sync_zmq_path_events_and_blocks_match_fresh_load_without_listing(sim):
    rng, events = random.Random(8), Events(sim)
    for _ in range(40):
        random_op(sim, rng, events)
    sync = MempoolSync(_client(sim), use_events=True)
    sync.sync()  # the one listing
    cursor = len(events.items)
    for _ in range(6):
        for _ in range(20):
            random_op(sim, rng, events)
        cursor = events.feed(sync, cursor)
        sync.sync()
        assert sync.model.normalized() == _fresh(sim)
    assert _calls(sim, "getrawmempool") == 1
    assert _calls(sim, "getblock") > 0  # blocks removed their txids


def test_sync_zmq_gap_triggers_one_resync(sim):
    rng = random.Random(9)
    for _ in range(20):
        add(sim, rng)
    sync = MempoolSync(_client(sim), use_events=True)
    sync.sync()
    for _ in range(5):
        add(sim, rng)  # these events are lost
    sync.on_gap("sequence", 10, 15)
    sync.sync()
    assert _calls(sim, "getrawmempool") == 2 and sync.resyncs == 1
    assert sync.model.normalized() == _fresh(sim)


def test_sync_zmq_block_disconnect_resyncs(sim):
    rng = random.Random(10)
    for _ in range(10):
        add(sim, rng)
    sync = MempoolSync(_client(sim), use_events=True)
    sync.sync()
    sync.on_sequence(SequenceEvent(b"\xdd" * 32, "D", None))
    sync.sync()
    assert _calls(sim, "getrawmempool") == 2


def test_sync_zmq_silent_drift_resyncs_after_three_polls(sim):
    rng = random.Random(11)
    sync = MempoolSync(_client(sim), use_events=True)
    sync.sync()
    for _ in range(30):
        add(sim, rng)  # the node publishes nothing we hear
    for _ in range(3):
        sync.sync()
    sync.sync()
    assert sync.model.normalized() == _fresh(sim)


def test_fetch_estimates_batch_converts_to_sat_per_vbyte(sim):
    est = fetch_estimates(_client(sim), [2, 6], ["economical", "conservative"])
    assert [(e.target, e.mode) for e in est] == [
        (2, "economical"),
        (2, "conservative"),
        (6, "economical"),
        (6, "conservative"),
    ]
    btc_per_kvb = sim.rpc("estimatesmartfee", 2, "economical")["feerate"]
    assert est[0].sat_per_vb == pytest.approx(btc_per_kvb * 100_000)  # 1 BTC/kvB = 1e5 sat/vB
    assert _calls(sim, "estimatesmartfee") == 4


def test_fees_job_spike_ratio_appears_after_min_history_and_survives_restart(sim, tmp_path):
    for _ in range(30):
        sim.mempool.add_tx(200, 200 * 10)
    now = [1_800_000_000.0]
    ctx = _ctx(sim, tmp_path, now)
    job = FeesJob(ctx, "n1")
    for _ in range(13):  # one hour of quiet 10 sat/vB mempool, one sample per 5 min
        job.run()
        now[0] += 300
    section = ctx.store.current().nodes["n1"].section("fees")
    assert isinstance(section, FeesSection) and section.spike_ratio == pytest.approx(1.0)
    job.close()
    sim.mine(1)  # a block clears the quiet ones
    assert len(sim.mempool) == 0
    for _ in range(30):
        sim.mempool.add_tx(200, 200 * 50)  # the spike
    ctx2 = _ctx(sim, tmp_path, now)
    job2 = FeesJob(ctx2, "n1")  # a restart: the baseline comes back from SQLite
    job2.run()
    section = ctx2.store.current().nodes["n1"].section("fees")
    assert section.next_block_median == pytest.approx(50.0)
    assert section.spike_baseline_sat_per_vb == pytest.approx(10.0)
    assert section.spike_ratio == pytest.approx(5.0)
    assert {(e.target, e.mode) for e in section.estimates} >= {
        (2, "economical"),
        (6, "conservative"),
    }
    job2.close()


def _bytes_of(client: NodeClient, fn) -> int:
    before = client.bytes_in_total + client.bytes_out_total
    fn()
    return client.bytes_in_total + client.bytes_out_total - before


@pytest.mark.parametrize("size", [
    10_000,
    # ~70 s: the simulator builds Core's full verbose entries for 100k transactions
    pytest.param(100_000, marks=[pytest.mark.slow, pytest.mark.timeout(300)], id="100k"),
])
def test_sync_large_mempool_one_percent_churn_moves_fraction_of_verbose_bytes(sim, size):
    rng, events = random.Random(13), Events(sim)
    churn = size // 200  # 1% churn: a block takes 0.5%, as many arrive
    for i in range(size):  # the block takes the 1 in 200 paying 20 sat/vB; the rest stays
        add(sim, rng, rate=20 if i % 200 == 0 else 0)
    client = _client(sim)
    verbose = _bytes_of(client, lambda: client.call("getrawmempool", True, timeout=120))
    listing = _bytes_of(client, lambda: client.call("getrawmempool", False, True))
    poll = MempoolSync(client, batch_size=1000)
    push = MempoolSync(client, batch_size=1000, use_events=True)
    poll.sync()
    push.sync()
    cursor = len(events.items)
    (block,) = sim.mine(1)
    events.mined([block])
    for _ in range(churn):
        add(sim, rng, rate=0)
    poll_bytes = _bytes_of(client, poll.sync)
    events.feed(push, cursor)
    push_bytes = _bytes_of(client, push.sync)
    assert len(sim.rpc("getblock", block, 1)["tx"]) == churn + 1  # coinbase and the 0.5%
    assert poll.model.normalized() == push.model.normalized() == _fresh(sim)
    # poll path: the txid listing is its floor; entries for 1% add little on top of it
    assert listing <= poll_bytes <= listing + 0.05 * verbose
    # ZMQ path: a few percent of a verbose poll
    assert push_bytes < 0.05 * verbose
    print(f"verbose={verbose} listing={listing} poll={poll_bytes} zmq={push_bytes}")


def test_make_jobs_zmq_endpoint_follows_events_from_real_publisher(sim_factory, tmp_path):
    sim = sim_factory(network="main", start_height=925_000, seed=14, rpc_user="u",
                      rpc_password="p", zmq=True)
    rng = random.Random(14)
    for _ in range(10):
        add(sim, rng)
    triggered: list[tuple[str, str | None]] = []
    now = [1_800_000_000.0]
    ctx = _ctx(sim, tmp_path, now, zmq_sequence=sim.zmq_url, zmq_hashblock=sim.zmq_url)
    ctx.trigger = lambda job, n=None: triggered.append((job, n))
    (spec,) = make_jobs(ctx)
    spec.start()
    try:

        def joined() -> bool:
            if ("chain", "n1") in triggered:
                return True
            sim.zmq.hashblock("00" * 32)
            return False

        wait_until(joined, 5)  # wait until the SUB has joined the PUB
        assert ("blocks", "n1") in triggered and ("mempool", "n1") in triggered
        spec.run()  # the one listing
        for _ in range(10):
            add(sim, rng)
        listings = _calls(sim, "getrawmempool")

        def caught_up() -> bool:
            spec.run()
            fees = ctx.store.current().nodes["n1"].section("fees")
            return fees.mempool_tx_count == len(sim.mempool)

        wait_until(caught_up, 5)
        section = ctx.store.current().nodes["n1"].section("fees")
        assert section.mempool_tx_count == 20 and section.sync_mode == "zmq"
        assert _calls(sim, "getrawmempool") == listings  # no listing: events only
    finally:
        spec.stop()
