"""P1, P4 and P5 on a real Bitcoin Core (regtest), when ``BITCOIND=/path/to/bitcoind`` is set.

Why: the simulator is a model; Core's own JSON encoder, HTTP server and ZMQ publisher are the
real costs. The node runs in a temporary datadir (on tmpfs when /dev/shm exists: the wallet
syncs its database per transaction, ~20 ms each on a disk) with ``-zmqpubsequence`` /
``-zmqpubhashblock`` on loopback; a wallet mines 2,200 blocks (for P4's 2,016) and splits coins
into many confirmed outputs (``sendmany`` with 2,000 outputs per transaction), so that each
benchmark transaction spends its own confirmed coin: one input, two outputs, built with
``createrawtransaction``, signed by the wallet and sent with ``sendrawtransaction`` in batches
of 500 (~1 ms a transaction, against 40-100 ms for the wallet's own coin selection once it holds
thousands of coins). Differences from the simulator runs: mempools are smaller (what can be
built in a couple of minutes) and churn is arrivals only (a regtest mempool loses
transactions only to blocks).
"""

from __future__ import annotations

import hashlib
import math
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
MAX_MEMPOOL = {True: 2_000, False: 100_000}  # quick, full
SEND_BATCH = 500
FAN_OUT = 2_000  # outputs per sendmany (~62 kvB, under the 100 kvB standardness limit)
COIN_SAT = 1_000_000
OP_TRUE_SPK = bytes([0x00, 0x20]) + hashlib.sha256(b"\x51").digest()  # P2WSH(OP_TRUE)
TX_VSIZE = 96  # one P2WSH(OP_TRUE) input with its one-item witness, one P2WSH output


def _varint(n: int) -> bytes:
    if n < 0xFD:
        return bytes([n])
    if n <= 0xFFFF:
        return b"\xfd" + n.to_bytes(2, "little")
    return b"\xfe" + n.to_bytes(4, "little")


def _tx(inputs: list[tuple[str, int]], outputs: list[tuple[int, bytes]],
        witness: bool = True) -> str:
    """Serialize a version-2 transaction; inputs spend P2WSH(OP_TRUE) (witness: the script)."""
    body = _varint(len(inputs)) + b"".join(
        bytes.fromhex(t)[::-1] + v.to_bytes(4, "little") + b"\x00" + b"\xfd\xff\xff\xff"
        for t, v in inputs)
    body += _varint(len(outputs)) + b"".join(
        value.to_bytes(8, "little") + _varint(len(spk)) + spk for value, spk in outputs)
    version, locktime = (2).to_bytes(4, "little"), bytes(4)
    if not (witness and inputs):
        return (version + body + locktime).hex()
    wit = b"".join(b"\x01\x01\x51" for _ in inputs)
    return (version + b"\x00\x01" + body + wit + locktime).hex()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RegtestNode:
    """A throwaway regtest bitcoind with the interface the benchmarks use on the simulator."""

    def __init__(self, bitcoind: str, work: Path):
        self.bitcoind = bitcoind
        shm = Path("/dev/shm")
        self._tmp = tempfile.TemporaryDirectory(prefix="hw-bench-bitcoind-",
                                                dir=shm if shm.is_dir() else work)
        self.datadir = Path(self._tmp.name)
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
            # regtest checks the whole mempool after every transaction (-checkmempool=1) and
            # the block index on every block: O(mempool) per transaction, not what a mainnet
            # node does (default 0 there)
            "-checkmempool=0", "-checkblockindex=0",
        ]
        self.proc: subprocess.Popen[bytes] | None = None
        self.client: NodeClient | None = None
        self.address = ""
        self.coins: list[tuple[str, int]] = []  # confirmed COIN outputs not spent yet

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
        """Mine the chain and create ``coins`` confirmed anyone-can-spend outputs of 0.01 BTC.

        The outputs pay to P2WSH(OP_TRUE) (standard to create and to spend): the benchmark's
        transactions are then serialized here without signatures and sent with
        ``sendrawtransaction``, keeping the wallet (whose per-transaction cost grows with its
        size: 64 s for 2,500 payments at 10k coins) out of the measurement loop.
        """
        while int(self.rpc("getblockcount")) < CHAIN_BLOCKS:
            n = min(500, CHAIN_BLOCKS - int(self.rpc("getblockcount")))
            self.rpc("generatetoaddress", n, self.address)
        made = 0
        while made < coins:
            count = min(FAN_OUT, coins - made)
            unsigned = _tx([], [(COIN_SAT, OP_TRUE_SPK)] * count, witness=False)
            funded = self.rpc("fundrawtransaction", unsigned,
                              {"changePosition": count, "fee_rate": 2}, False)
            signed = self.rpc("signrawtransactionwithwallet", funded["hex"])
            txid = self.rpc("sendrawtransaction", signed["hex"], 0)
            self.coins += [(txid, v) for v in range(count)]
            made += count
            if (made // FAN_OUT) % 10 == 0:  # keep unconfirmed change chains short
                self.rpc("generatetoaddress", 2, self.address)
        self.rpc("generatetoaddress", 2, self.address)
        assert int(self.rpc("getmempoolinfo")["size"]) == 0, "fan-out not confirmed"

    def _send(self, rates: list[int]) -> None:
        """One transaction per rate (sat/vB), each spending its own confirmed coin."""
        assert self.client is not None
        if len(self.coins) < len(rates):
            raise RuntimeError(f"out of coins: {len(self.coins)} left, {len(rates)} wanted")
        coins, self.coins = self.coins[:len(rates)], self.coins[len(rates):]
        self.client.batch([
            ("sendrawtransaction", (_tx([(t, v)], [(COIN_SAT - math.ceil(r * TX_VSIZE),
                                                    OP_TRUE_SPK)]), 0))
            for (t, v), r in zip(coins, rates, strict=True)])

    def churn(self, n: int, chunk: int | None = None, between: Any = None) -> dict[str, int]:
        """``n`` new transactions at assorted fee rates (arrivals only: see module doc)."""
        step, sent = chunk or SEND_BATCH, 0
        while sent < n:
            count = min(step, n - sent)
            self._send([1 + (sent + i) % 50 for i in range(count)])
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
        self._tmp.cleanup()


def real_sizes(sizes: Sizes) -> list[int]:
    """P1 mempool sizes on the real node: the simulator's up to what regtest builds in minutes
    (each transaction costs ~0.2 ms to send once -checkmempool is off; 100k take ~30 s)."""
    quick = sizes.poll_mempools[0] < 10_000
    return [n for n in sizes.poll_mempools if n <= MAX_MEMPOOL[quick]] or [MAX_MEMPOOL[quick]]


def run(bitcoind: str, sizes: Sizes, log_dir: Path, keys: list[str]) -> list[Row]:
    mempools = real_sizes(sizes)
    churns = {n: max(1, round(n * sizes.churn)) for n in mempools}
    # naive, polling and ZMQ rounds each add one churn, plus the switches between paths
    need = max(mempools) + sum(c * (3 * sizes.poll_rounds(n) + 2) for n, c in churns.items())
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="hw-bench-regtest-") as tmp:
        work = Path(tmp)
        node = RegtestNode(bitcoind, work).start()
        try:
            node.prepare(coins=need + 100)
            if "P4" in keys:
                m = bench_backfill.measure(node, sizes.backfill_blocks, sizes.backfill_rounds, work)
                rows += bench_backfill.rows(m, sizes.backfill_blocks, id="P4 regtest backfill",
                                            where=" (bitcoind regtest)")
            if "P1" in keys:
                for n in mempools:
                    node.fill(n)
                    rounds = sizes.poll_rounds(n)
                    naive = bench_poll.measure_naive(node, churns[n], rounds)
                    state = work / f"state-{n}"
                    state.mkdir(exist_ok=True)
                    hw = bench_poll.measure_hashwatch(node, churns[n], rounds, state)
                    rows += bench_poll.make_rows(n, naive, hw, sizes, tag=" regtest",
                                                 churn_text="arrivals only, bitcoind")
            if "P5" in keys:
                size = int(node.rpc("getmempoolinfo")["size"])
                started = time.perf_counter()
                zmq = bench_latency.measure(node, work, True, sizes)
                poll = bench_latency.measure(node, work, False, sizes)
                rows += bench_latency.rows(
                    zmq, poll, sizes, f"bitcoind regtest, {size:,} tx mempool at the start, "
                    f"{time.perf_counter() - started:.0f} s",
                    id="P5 regtest block latency", where=" (bitcoind regtest)")
        finally:
            node.stop()
            for log in work.glob("*.log"):
                (log_dir / f"regtest-{log.name}").write_bytes(log.read_bytes())
    return rows
