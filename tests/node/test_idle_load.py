"""RPC calls per minute on an idle node, by method, with the default polling intervals.

Found on a real node: 51 calls/min on an idle node, 112 ``getblockhash`` in 5 minutes (the
blocks job compared 16 stored hashes with the chain on every run). Now the headers and blocks
jobs ask ``getbestblockhash`` and stop there while it has not changed. The jobs run on a virtual
clock exactly as the scheduler would run them (every ``interval`` seconds, no jitter) for five
minutes, after a warm-up that fills the headers and blocks windows; the simulator counts the
calls it serves. docs/rpc-calls.md has the same table.
"""

from __future__ import annotations

from collections import Counter

import pytest

from hashwatch.config import Config
from hashwatch.daemon import Daemon

from ..support.waiting import wait_for

MINUTES = 5
# calls per 5 minutes on an idle node (no blocks, no transactions): 4 polls/min of the chain
# batch, 6/min of the mempool job, 2/min of headers and blocks, estimates once a minute
EXPECTED = {
    "poll": {
        "getblockchaininfo": 20, "getnetworkinfo": 20, "getmempoolinfo": 20, "uptime": 20,
        "getnettotals": 20,                     # chain: one batch of 5 every 15 s
        "getbestblockhash": 30 + 10 + 10,       # mempool reorg check, headers, blocks
        "getrawmempool": 30,                    # mempool: the txid listing every 10 s
        "estimatesmartfee": 40,                 # one batch of 8 every 60 s
    },
    "zmq": {
        "getblockchaininfo": 20, "getnetworkinfo": 20, "getmempoolinfo": 20 + 30, "uptime": 20,
        "getnettotals": 20,                     # chain; + the mempool drift check every 10 s
        "getbestblockhash": 10 + 10,            # headers, blocks
        "estimatesmartfee": 40,
    },
}
BOUND_PER_MINUTE = {"poll": 50, "zmq": 45}  # calls; HTTP requests are fewer (batches)


@pytest.mark.parametrize("mode", ["poll", "zmq"])
def test_idle_node_rpc_calls_per_minute_by_method(sim_factory, tmp_path, mode):
    sim = sim_factory(start_height=925_000, seed=4, mempool_size=500, zmq=mode == "zmq")
    node = {"name": "n1", "url": sim.rpc_url, "cookie_file": str(sim.cookie_path)}
    if mode == "zmq":
        node.update(zmq_sequence=sim.zmq_url, zmq_hashblock=sim.zmq_url)
    now = [sim.clock.now()]
    config = Config.model_validate({
        "nodes": [node], "state_dir": str(tmp_path / "state"), "alerts": {"enabled": False},
        "fees": {"block_window": 144},
    })
    daemon = Daemon(config, clock=lambda: now[0], serve_metrics=False)
    specs = [s for s in daemon.jobs if s.node == "n1"]
    try:
        for spec in specs:
            if spec.start is not None:
                spec.start()
        mempool = next(s for s in specs if s.name == "mempool")
        if mode == "zmq":
            listener = mempool.start.__closure__[1].cell_contents  # the job's ZmqListener
            wait_for(lambda: listener.running, timeout=10, what="ZMQ listener running")
        for _ in range(3):  # warm-up: headers and the blocks window complete, a first listing
            for spec in specs:
                daemon.run_job_now(spec.name, "n1")
            now[0] += 60
        section = daemon.store.current().nodes["n1"].section("blocks")
        assert section is not None and len(section.blocks) == 144
        sim.stats.reset()
        start = now[0]
        for second in range(MINUTES * 60):
            now[0] = start + second
            for spec in specs:
                if second % spec.interval == 0:
                    daemon.run_job_now(spec.name, "n1")
        calls = Counter(sim.stats.calls_by_method)
        requests = sim.stats.requests
        fees = daemon.store.current().nodes["n1"].section("fees")
    finally:
        daemon.stop()
    assert fees is not None and fees.sync_mode == mode
    assert dict(calls) == EXPECTED[mode]
    per_minute = sum(calls.values()) / MINUTES
    assert per_minute <= BOUND_PER_MINUTE[mode]
    assert calls["getblockhash"] == 0  # was 112 in 5 minutes on a real idle node
    print(f"{mode}: {per_minute:.0f} calls/min, {requests / MINUTES:.0f} HTTP requests/min")
