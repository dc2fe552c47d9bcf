"""P1, P4 and P5 on a real Bitcoin Core (regtest), when ``BITCOIND=/path/to/bitcoind`` is set.

Why: the simulator is a model; Core's own JSON encoder, HTTP server and ZMQ publisher are the
real costs. The node runs in a temporary datadir with ``-zmqpubsequence``/``-zmqpubhashblock``
on loopback; a wallet mines 2,200 blocks (for P4's 2,016) and splits coins into many confirmed
outputs so that each benchmark transaction spends a confirmed coin (``-spendzeroconfchange=0``
keeps the wallet off long unconfirmed chains). Differences from the simulator runs: mempools
are smaller (wallet transactions are slow to make) and churn is arrivals only (a regtest
mempool loses transactions only to blocks).
"""

from __future__ import annotations

import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from hashwatch.node.auth import NodeAuth
from hashwatch.node.errors import NodeError
from hashwatch.node.rpc import NodeClient

from . import bench_backfill, bench_latency, bench_poll
from .common import Row, Sizes, die_with_parent, wait_for

CHAIN_BLOCKS = 2_200
MAX_MEMPOOL = {True: 1_000, False: 5_000}  # quick, full
SEND_BATCH = 250


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RegtestNode:
    """A throwaway regtest bitcoind with the interface the benchmarks use on the simulator."""

    def __init__(self, bitcoind: str, work: Path):
        self.bitcoind, self.datadir = bitcoind, work / "bitcoind"
        self.datadir.mkdir(parents=True, exist_ok=True)
        port, zmq_port = _free_port(), _free_port()
        self.rpc_url = f"http://127.0.0.1:{port}/"
        self.zmq_url = f"tcp://127.0.0.1:{zmq_port}"
        self.cookie_path = self.datadir / "regtest" / ".cookie"
        self.args = [
            bitcoind, "-regtest", f"-datadir={self.datadir}", "-server=1", "-listen=0",
            f"-rpcport={port}", "-rpcbind=127.0.0.1", "-rpcallowip=127.0.0.1",
            f"-zmqpubsequence={self.zmq_url}", f"-zmqpubhashblock={self.zmq_url}",
            "-fallbackfee=0.0001", "-spendzeroconfchange=0", "-printtoconsole=0",
            "-maxmempool=1000", "-rpcworkqueue=64",
        ]
        self.proc: subprocess.Popen[bytes] | None = None
        self.client: NodeClient | None = None
        self.address = ""

    def start(self) -> RegtestNode:
        self.proc = subprocess.Popen(self.args, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, preexec_fn=die_with_parent)
        wait_for(self.cookie_path.exists, 60, "bitcoind's cookie file")
        self.client = NodeClient("regtest", self.rpc_url, NodeAuth(cookie_file=self.cookie_path),
                                 timeout=600)

        def ready() -> bool:
            try:
                self.rpc("getblockchaininfo")
                return True
            except NodeError:
                return False

        wait_for(ready, 120, "bitcoind to answer RPCs", step=0.2)
        self.rpc("createwallet", "bench")
        self.address = self.rpc("getnewaddress")
        return self

    def rpc(self, method: str, *params: Any) -> Any:
        assert self.client is not None
        return self.client.call(method, *params)

    def prepare(self, coins: int) -> None:
        """Mine the chain and split coins into ``coins`` confirmed outputs of 0.01 BTC."""
        while int(self.rpc("getblockcount")) < CHAIN_BLOCKS:
            n = min(500, CHAIN_BLOCKS - int(self.rpc("getblockcount")))
            self.rpc("generatetoaddress", n, self.address)
        assert self.client is not None
        for start in range(0, coins, 1_000):
            count = min(1_000, coins - start)
            addresses = self.client.batch([("getnewaddress", ())] * count)
            self.rpc("sendmany", "", {a: 0.01 for a in addresses})
        self.rpc("generatetoaddress", 1, self.address)

    def churn(self, n: int, chunk: int | None = None, between: Any = None) -> dict[str, int]:
        """``n`` new wallet transactions at assorted fee rates (arrivals only: see module doc)."""
        assert self.client is not None
        step, sent = chunk or SEND_BATCH, 0
        while sent < n:
            count = min(step, n - sent)
            calls = [("sendtoaddress", (self.address, 0.001, "", "", False, True, None, "unset",
                                        False, 1 + (sent + i) % 50)) for i in range(count)]
            self.client.batch(calls)
            sent += count
            if between is not None:
                between(sent)
        return {"events": n, "size": int(self.rpc("getmempoolinfo")["size"])}

    def fill(self, n: int) -> None:
        have = int(self.rpc("getmempoolinfo")["size"])
        if n > have:
            self.churn(n - have)

    def height(self) -> int:
        return int(self.rpc("getblockcount"))

    def mine(self) -> int:
        self.rpc("generatetoaddress", 1, self.address)
        return self.height()

    def stop(self) -> None:
        if self.proc is None:
            return
        try:
            self.rpc("stop")
            self.proc.wait(60)
        except (NodeError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait(10)
        if self.client is not None:
            self.client.close()
        self.proc = None


def run(bitcoind: str, sizes: Sizes, log_dir: Path, keys: list[str]) -> list[Row]:
    quick = sizes.poll_mempools[0] < 10_000
    size = min(MAX_MEMPOOL[quick], sizes.poll_mempools[0])
    churn, rounds = max(1, round(size * sizes.churn)), sizes.poll_rounds(size)
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="hw-bench-regtest-") as tmp:
        work = Path(tmp)
        node = RegtestNode(bitcoind, work).start()
        try:
            node.prepare(coins=size + churn * (2 * rounds + 2) + 100)
            if "P4" in keys:
                m = bench_backfill.measure(node, sizes.backfill_blocks, sizes.backfill_rounds, work)
                rows += bench_backfill.rows(m, sizes.backfill_blocks, id="P4 regtest backfill",
                                            where=" (bitcoind regtest)")
            if "P1" in keys:
                node.fill(size)
                naive = bench_poll.measure_naive(node, churn, rounds)
                state = work / "state"
                state.mkdir(exist_ok=True)
                hw = bench_poll.measure_hashwatch(node, churn, rounds, state)
                rows += bench_poll.make_rows(size, naive, hw, sizes, tag=" regtest",
                                             churn_text="arrivals only")
            if "P5" in keys:
                started = time.perf_counter()
                zmq = bench_latency.measure(node, work, True, sizes)
                poll = bench_latency.measure(node, work, False, sizes)
                rows += bench_latency.rows(
                    zmq, poll, sizes, f"bitcoind regtest, {time.perf_counter() - started:.0f} s",
                    id="P5 regtest block latency", where=" (bitcoind regtest)")
        finally:
            node.stop()
            for log in work.glob("*.log"):
                (log_dir / f"regtest-{log.name}").write_bytes(log.read_bytes())
    return rows
