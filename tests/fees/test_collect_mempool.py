"""The mempool job over real HTTP on loopback: full load, incremental polls, ZMQ path, bytes."""

from __future__ import annotations

import struct
import time
from pathlib import Path

import pytest
import zmq

from hashwatch.collect.context import DaemonContext
from hashwatch.collect.mempool import FeesJob, MempoolSync, fetch_estimates, make_jobs
from hashwatch.config import Config
from hashwatch.indicators.fees import FeesSection
from hashwatch.indicators.mempool_model import MempoolModel
from hashwatch.node.auth import NodeAuth
from hashwatch.node.rpc import NodeClient
from hashwatch.node.zmq import SequenceEvent
from hashwatch.snapshot.store import SnapshotStore

from .fakenode import FakeNode
from .refpool import RefMempool


def _client(node: FakeNode) -> NodeClient:
    return NodeClient("n1", node.url, NodeAuth(user="u", password="p"))


def _ctx(node: FakeNode, tmp_path: Path, now: list[float], **node_extra) -> DaemonContext:
    cfg = Config.model_validate({
        "nodes": [{"name": "n1", "url": node.url, "user": "u", "password": "p", **node_extra}],
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


def _fresh(ref: RefMempool):
    return MempoolModel.from_verbose(ref.verbose()).normalized()


def _feed(sync: MempoolSync, ref: RefMempool, cursor: int) -> int:
    for label, h, seq in ref.events[cursor:]:
        sync.on_sequence(SequenceEvent(bytes.fromhex(h), label, seq))
    return len(ref.events)


def test_sync_poll_path_random_changes_matches_fresh_load():
    ref = RefMempool(7)
    for _ in range(60):
        ref.random_op()
    with FakeNode(ref) as node:
        sync = MempoolSync(_client(node), batch_size=7)
        sync.sync()
        assert sync.model.normalized() == _fresh(ref)
        for _ in range(5):
            for _ in range(15):
                ref.random_op()
            sync.sync()
            assert sync.model.normalized() == _fresh(ref)
        assert node.calls["getrawmempool"] == 6


def test_sync_zmq_path_events_and_blocks_match_fresh_load_without_listing():
    ref = RefMempool(8)
    for _ in range(40):
        ref.random_op()
    with FakeNode(ref) as node:
        sync = MempoolSync(_client(node), use_events=True)
        sync.sync()  # the one listing
        cursor = len(ref.events)
        for _ in range(6):
            for _ in range(20):
                ref.random_op()
            cursor = _feed(sync, ref, cursor)
            sync.sync()
            assert sync.model.normalized() == _fresh(ref)
        assert node.calls["getrawmempool"] == 1
        assert node.calls["getblock"] > 0  # blocks removed their txids


def test_sync_zmq_gap_triggers_one_resync():
    ref = RefMempool(9)
    for _ in range(20):
        ref.add_random()
    with FakeNode(ref) as node:
        sync = MempoolSync(_client(node), use_events=True)
        sync.sync()
        for _ in range(5):
            ref.add_random()  # these events are lost
        sync.on_gap("sequence", 10, 15)
        sync.sync()
        assert node.calls["getrawmempool"] == 2 and sync.resyncs == 1
        assert sync.model.normalized() == _fresh(ref)


def test_sync_zmq_block_disconnect_resyncs():
    ref = RefMempool(10)
    for _ in range(10):
        ref.add_random()
    with FakeNode(ref) as node:
        sync = MempoolSync(_client(node), use_events=True)
        sync.sync()
        sync.on_sequence(SequenceEvent(b"\xdd" * 32, "D", None))
        sync.sync()
        assert node.calls["getrawmempool"] == 2


def test_sync_zmq_silent_drift_resyncs_after_three_polls():
    ref = RefMempool(11)
    with FakeNode(ref) as node:
        sync = MempoolSync(_client(node), use_events=True)
        sync.sync()
        for _ in range(30):
            ref.add_random()  # the node publishes nothing we hear
        for _ in range(3):
            sync.sync()
        sync.sync()
        assert sync.model.normalized() == _fresh(ref)


def test_fetch_estimates_batch_converts_to_sat_per_vbyte():
    with FakeNode() as node:
        est = fetch_estimates(_client(node), [2, 6], ["economical", "conservative"])
    assert [(e.target, e.mode) for e in est] == [
        (2, "economical"),
        (2, "conservative"),
        (6, "economical"),
        (6, "conservative"),
    ]
    assert abs(est[0].sat_per_vb - 40.0) < 1e-9  # 0.0004 BTC/kvB
    assert node.calls["estimatesmartfee"] == 4


def test_fees_job_spike_ratio_appears_after_min_history_and_survives_restart(tmp_path):
    ref = RefMempool(12)
    for _ in range(30):
        ref.add(vsize=200, fee=200 * 10)
    now = [1_800_000_000.0]
    with FakeNode(ref) as node:
        ctx = _ctx(node, tmp_path, now)
        job = FeesJob(ctx, "n1")
        for _ in range(13):  # one hour of quiet 10 sat/vB mempool, one sample per 5 min
            job.run()
            now[0] += 300
        section = ctx.store.current().nodes["n1"].section("fees")
        assert isinstance(section, FeesSection) and section.spike_ratio == pytest.approx(1.0)
        job.close()
        ref.confirm(list(ref.txs))  # a block clears the quiet ones
        for _ in range(30):
            ref.add(vsize=200, fee=200 * 50)  # the spike
        ctx2 = _ctx(node, tmp_path, now)
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


@pytest.mark.parametrize("size", [10_000, pytest.param(100_000, marks=pytest.mark.slow, id="100k")])
def test_sync_large_mempool_one_percent_churn_moves_fraction_of_verbose_bytes(size):
    ref = RefMempool(13)
    for _ in range(size):
        ref.add()
    with FakeNode(ref) as node:
        client = _client(node)
        verbose = _bytes_of(client, lambda: client.call("getrawmempool", True, timeout=120))
        listing = _bytes_of(client, lambda: client.call("getrawmempool", False, True))
        poll = MempoolSync(client, batch_size=1000)
        push = MempoolSync(client, batch_size=1000, use_events=True)
        poll.sync()
        push.sync()
        cursor = len(ref.events)
        churn = size // 200  # 1% churn: a block takes 0.5%, as many arrive
        block = ref.confirm(list(ref.txs)[:churn])
        for _ in range(churn):
            ref.add()
        poll_bytes = _bytes_of(client, poll.sync)
        _feed(push, ref, cursor)
        push_bytes = _bytes_of(client, push.sync)
        assert block in ref.blocks
        assert poll.model.normalized() == push.model.normalized() == _fresh(ref)
    # poll path: the txid listing is its floor; entries for 1% add little on top of it
    assert listing <= poll_bytes <= listing + 0.05 * verbose
    # ZMQ path: a few percent of a verbose poll
    assert push_bytes < 0.05 * verbose
    print(f"verbose={verbose} listing={listing} poll={poll_bytes} zmq={push_bytes}")


def test_make_jobs_zmq_endpoint_follows_events_from_real_publisher(tmp_path):
    ref = RefMempool(14)
    for _ in range(10):
        ref.add_random()
    zctx = zmq.Context.instance()
    pub = zctx.socket(zmq.PUB)
    pub.setsockopt(zmq.LINGER, 0)
    port = pub.bind_to_random_port("tcp://127.0.0.1")
    endpoint = f"tcp://127.0.0.1:{port}"
    triggered: list[tuple[str, str | None]] = []
    now = [1_800_000_000.0]
    counter = {"sequence": 0, "hashblock": 0}

    def publish(topic: str, body: bytes) -> None:
        pub.send_multipart([topic.encode(), body, struct.pack("<I", counter[topic])])
        counter[topic] += 1

    try:
        with FakeNode(ref) as node:
            ctx = _ctx(node, tmp_path, now, zmq_sequence=endpoint, zmq_hashblock=endpoint)
            ctx.trigger = lambda job, n=None: triggered.append((job, n))
            (spec,) = make_jobs(ctx)
            spec.start()
            try:
                deadline = time.monotonic() + 5  # wait until the SUB has joined the PUB
                while ("chain", "n1") not in triggered and time.monotonic() < deadline:
                    publish("hashblock", b"\x00" * 32)
                    time.sleep(0.02)
                assert ("blocks", "n1") in triggered and ("mempool", "n1") in triggered
                spec.run()  # the one listing
                cursor = len(ref.events)
                for _ in range(10):
                    ref.add_random()
                for label, h, seq in ref.events[cursor:]:
                    publish("sequence", bytes.fromhex(h) + label.encode() + struct.pack("<Q", seq))
                listings = node.calls["getrawmempool"]
                deadline = time.monotonic() + 5
                while time.monotonic() < deadline:
                    spec.run()
                    section = ctx.store.current().nodes["n1"].section("fees")
                    if section.mempool_tx_count == len(ref.txs):
                        break
                    time.sleep(0.02)
                assert section.mempool_tx_count == 20 and section.sync_mode == "zmq"
                assert node.calls["getrawmempool"] == listings  # no listing: events only
            finally:
                spec.stop()
    finally:
        pub.close()
