"""The mempool model kept by the ``mempool`` job equals ``getrawmempool true`` — over ZMQ
``sequence`` events and by polling — after hundreds of payments, blocks, and (real node)
wallet ``bumpfee`` replacements."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hashwatch.collect import mempool as mempool_jobs
from hashwatch.collect.context import DaemonContext
from hashwatch.collect.mempool import FeesJob
from hashwatch.indicators.mempool_model import txid_key
from hashwatch.node.auth import NodeAuth
from hashwatch.node.rpc import NodeClient
from hashwatch.snapshot.store import SnapshotStore

from .helpers import NODE, node_config, node_mempool, rates, sat, wait_for

MODES = ["zmq", "poll"]


class Synced:
    """A started ``mempool`` job (with its ZMQ listener in zmq mode) on one backend."""

    def __init__(self, backend: Any, state: Path, zmq: bool):
        cfg = node_config(backend, state, zmq=zmq)
        client = NodeClient(NODE, backend.rpc_url, NodeAuth(cookie_file=backend.cookie_path),
                            timeout=30)
        self.ctx = DaemonContext(config=cfg, clients={NODE: client},
                                 store=SnapshotStore([NODE]), state_dir=state)
        (self.spec,) = mempool_jobs.make_jobs(self.ctx)
        self.job: FeesJob = self.spec.run.__self__  # type: ignore[attr-defined]
        self.spec.start()
        self.backend, self.zmq = backend, zmq

    def equal_to_node(self, timeout: float = 30) -> None:
        """Run the job until its model equals the node's mempool (fails after ``timeout``)."""
        def same() -> bool:
            self.job.run()
            return self.job.sync.model.normalized() == node_mempool(self.backend)

        wait_for(same, timeout, "model == getrawmempool")
        section = self.ctx.store.current().nodes[NODE].section("fees")
        info = self.backend.rpc("getmempoolinfo")
        assert section.mempool_tx_count == info["size"]
        assert section.mempool_vsize_bytes == info["bytes"]
        assert section.mempool_total_fee_sat == sat(info["total_fee"])
        assert section.sync_mode == ("zmq" if self.zmq else "poll")

    def close(self) -> None:
        self.spec.stop()
        self.ctx.clients[NODE].close()


@pytest.fixture(scope="module")
def funded(backend) -> Any:
    backend.fan_out(1_400)  # every payment below spends its own coin
    return backend


@pytest.fixture(params=MODES)
def synced(request, funded, tmp_path) -> Iterator[Synced]:
    s = Synced(funded, tmp_path, zmq=request.param == "zmq")
    try:
        s.equal_to_node()
        yield s
    finally:
        s.close()


def test_model_equals_node_after_hundreds_of_payments(synced):
    synced.backend.pay_many(rates(300, seed=21))
    synced.equal_to_node()
    assert len(synced.job.sync.model) >= 300


def test_model_equals_node_after_blocks(synced):
    b = synced.backend
    b.pay_many(rates(100, seed=22))
    synced.equal_to_node()
    b.mine(1)
    synced.equal_to_node()
    b.pay_many(rates(50, seed=23))
    b.mine(1)
    b.pay_many(rates(50, seed=24))
    synced.equal_to_node()


def test_zmq_path_follows_events_without_relisting(synced):
    """On the ZMQ path, payments and blocks are applied from events: no resync, no drift."""
    if not synced.zmq:
        pytest.skip("polling relists every time by design")
    b = synced.backend
    before = synced.job.sync.resyncs
    for seed in range(3):
        b.pay_many(rates(60, seed=30 + seed))
        synced.equal_to_node()
        b.mine(1)
    synced.equal_to_node()
    assert synced.job.sync.use_events and synced.job.sync.resyncs == before


def test_model_equals_node_after_bumpfee_replacements(synced):
    b = synced.backend
    if b.kind != "real":
        pytest.skip("the simulator has no wallet to bump fees with")
    dest = b.rpc("getnewaddress")
    originals = b.batch([("sendtoaddress", (dest, 0.001, "", "", False, True, None, "unset",
                                            False, 2)) for _ in range(25)])
    synced.equal_to_node()
    bumped = [b.rpc("bumpfee", t, {"fee_rate": 25})["txid"] for t in originals[:15]]
    synced.equal_to_node()
    model = synced.job.sync.model
    keys = set(synced.job.sync.model.normalized())
    assert len(keys) == len(model)
    raw = b.rpc("getrawmempool")
    assert not set(originals[:15]) & set(raw) and set(bumped) <= set(raw)
    # bump a replacement again: a chain of replacements ends in one transaction
    again = b.rpc("bumpfee", bumped[0], {"fee_rate": 60})["txid"]
    synced.equal_to_node()
    assert again in b.rpc("getrawmempool") and bumped[0] not in b.rpc("getrawmempool")


def test_model_equals_node_after_child_pays_for_parent_chains(synced):
    """Unconfirmed chains (change spent again): parents links equal Core's ``depends``."""
    b = synced.backend
    if b.kind != "real":
        pytest.skip("chains come from the wallet spending its own unconfirmed change")
    dest = b.rpc("getnewaddress")
    parent = b.rpc("sendtoaddress", dest, 0.004, "", "", False, True, None, "unset", False, 1)
    tx = b.rpc("gettransaction", parent)["details"]
    vout = next(d["vout"] for d in tx if d["category"] == "receive")
    raw = b.rpc("createrawtransaction", [{"txid": parent, "vout": vout}],
                [{b.rpc("getnewaddress"): "0.0035"}])  # 0.0005 BTC fee: CPFP at ~450 sat/vB
    child = b.rpc("sendrawtransaction",
                  b.rpc("signrawtransactionwithwallet", raw)["hex"])
    synced.equal_to_node()
    entries = synced.job.sync.model.normalized()
    assert entries[txid_key(child)].parents == (txid_key(parent),)
